package wecom

import (
	"bytes"
	"testing"
)

// parseFlat reads what WeCom decrypted to, and a tenant's leaked key lets anyone send it anything: any
// bytes parse to an error or to at most maxFields fields, a message declaring a directive is refused,
// and the de-dup key of what parses is the same every time (a resend is found).
func FuzzParseFlat(f *testing.F) {
	for _, s := range []string{
		`<xml><ToUserName><![CDATA[ww1]]></ToUserName><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_contact]]></Event><ChangeType>add_external_contact</ChangeType><UserID>zhangsan</UserID><ExternalUserID>woAJ2GCAAA</ExternalUserID><CreateTime>1403610513</CreateTime></xml>`,
		`<xml><MsgId>42</MsgId></xml>`, `<!DOCTYPE xml [<!ENTITY x "boom">]><xml><MsgId>&x;</MsgId></xml>`,
		`<?xml version="1.0"?><xml><A><B>1</B></A></xml>`, `<xml>`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fields, err := parseFlat(b)
		if err != nil {
			return
		}
		if len(fields) > maxFields {
			t.Fatalf("%d fields, more than %d", len(fields), maxFields)
		}
		if bytes.Contains(b, []byte("<!DOCTYPE")) && !bytes.Contains(b, []byte("<![CDATA[")) {
			t.Fatalf("a message declaring a DOCTYPE parsed: %q", b)
		}
		again, err := parseFlat(b)
		if err != nil || dedupKey(fields, b) != dedupKey(again, b) {
			t.Fatalf("parsing %q twice does not name it the same", b)
		}
	})
}
