package wecomtest

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/salesapp/scrm/backend/wecom/wecomapi"
)

// Media is a temporary media the server accepted (media/upload).
type Media struct {
	ID, Type, Filename, ContentType string
	Data                            []byte
	ExpiresAt                       time.Time
}

// Uploads returns the media uploaded, in order.
func (s *Server) Uploads() []Media {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.media)
}

// mediaValid reports whether id names an image media that still works (the caller holds the lock).
func (s *Server) mediaValid(id string) bool {
	for _, m := range s.media {
		if m.ID == id {
			return m.Type == "image" && s.clock.Before(m.ExpiresAt)
		}
	}
	return false
}

// mediaUpload takes a multipart form with the file in "media", as WeCom does: images JPG or PNG of 6 bytes
// to 10 MiB.
func (s *Server) mediaUpload(w http.ResponseWriter, r *http.Request) {
	typ := r.URL.Query().Get("type")
	if typ != "image" && typ != "voice" && typ != "video" && typ != "file" {
		writeErrcode(w, CodeInvalidMediaType, "invalid media type")
		return
	}
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		writeErrcode(w, CodeInvalidParameter, "not a multipart form")
		return
	}
	f, hdr, err := r.FormFile("media")
	if err != nil {
		writeErrcode(w, CodeInvalidParameter, "no media in the form")
		return
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	ct := hdr.Header.Get("Content-Type")
	switch {
	case err != nil:
		writeErrcode(w, CodeInvalidParameter, "cannot read the media")
		return
	case len(data) < 6 || (typ == "image" && len(data) > wecomapi.MaxImageBytes):
		writeErrcode(w, CodeInvalidMediaSize, "invalid file size")
		return
	case typ == "image" && ct != "image/jpeg" && ct != "image/png":
		writeErrcode(w, CodeInvalidMediaType, "invalid media type")
		return
	}
	m := Media{ID: s.nextID("media-" + strings.Repeat("x", 8)), Type: typ, Filename: hdr.Filename, ContentType: ct, Data: data,
		ExpiresAt: s.clock.Add(wecomapi.MediaTTL)}
	s.media = append(s.media, m)
	writeAPIJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "type": typ, "media_id": m.ID,
		"created_at": s.clock.Unix()})
}
