package wecom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"strings"
)

// errXML is a message that is not the flat XML WeCom sends, or that declares a DOCTYPE or entities.
var errXML = errors.New("wecom: malformed or unsafe XML")

// maxFields bounds the elements read from one message.
const maxFields = 256

// parseFlat reads WeCom's <xml><Name>value</Name>...</xml>: the text of each child of the root, by
// element name (nested elements are kept by their own name, the first one winning). It refuses any
// directive (<!DOCTYPE>, <!ENTITY>): encoding/xml never expands them, but a message that declares one is
// not WeCom's.
func parseFlat(b []byte) (map[string]string, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	fields := make(map[string]string)
	depth := 0
	var name string
	var text strings.Builder
	sawRoot := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errXML
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, errXML
		case xml.ProcInst:
			if t.Target != "xml" || sawRoot {
				return nil, errXML
			}
		case xml.StartElement:
			depth++
			if depth == 1 {
				if sawRoot {
					return nil, errXML
				}
				sawRoot = true
			}
			if depth > 8 || len(fields) >= maxFields {
				return nil, errXML
			}
			name = t.Name.Local
			text.Reset()
		case xml.CharData:
			if depth >= 2 {
				text.Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, errXML
			}
		case xml.EndElement:
			if depth >= 2 && name == t.Name.Local {
				if _, seen := fields[name]; !seen {
					fields[name] = text.String()
				}
			}
			name = ""
			text.Reset()
			depth--
		}
	}
	if !sawRoot {
		return nil, errXML
	}
	return fields, nil
}

// dedupKey names one callback whatever WeCom resends: for external-contact and external-chat changes (no
// MsgId; FromUserName is "sys") the event, change type, user, external user or chat and time; else the
// MsgId; else the hash of the whole message.
func dedupKey(f map[string]string, plaintext []byte) string {
	switch ev := f["Event"]; ev {
	case "change_external_contact", "change_external_chat":
		other := f["ExternalUserID"]
		if other == "" {
			other = f["ChatId"]
		}
		return strings.Join([]string{"ev", ev, f["ChangeType"], f["UserID"], other, f["CreateTime"]}, "|")
	}
	if id := f["MsgId"]; id != "" {
		return "msg|" + id
	}
	sum := sha256.Sum256(plaintext)
	return "sha256|" + hex.EncodeToString(sum[:])
}
