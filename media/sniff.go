package media

import (
	"bytes"
	"encoding/binary"
	"net/http"
)

// sniffLen is how much of an object Finalize reads to check its bytes; http.DetectContentType looks at
// no more than this either.
const sniffLen = 512

// bytesMatchType reports whether head (the first bytes of an object) looks like content type ct. It is a
// check of the file's magic, not a full parse: it stops a renamed executable or HTML page from being
// served as an image, PDF or video, which is what matters for content that customers open.
func bytesMatchType(ct string, head []byte) bool {
	switch ct {
	case "image/jpeg", "image/png", "image/gif", "image/webp":
		return http.DetectContentType(head) == ct
	case "application/pdf":
		// Readers tolerate junk before the header, but nothing we produce or expect has any, and a strict
		// prefix leaves no room for polyglot files.
		return bytes.HasPrefix(head, []byte("%PDF-"))
	case "video/mp4", "video/quicktime":
		// Both are ISO base media files: phones write "qt  " (iPhone .mov) or isom/mp42 (Android) as the
		// brand, and clients label them loosely, so either type accepts any brand after a valid ftyp box.
		return hasFtypBox(head)
	}
	return false
}

// hasFtypBox reports whether head starts with an ISO BMFF "ftyp" box: a 32-bit size (at least the 16
// bytes of size, type, major brand and minor version), the type "ftyp", and a printable major brand.
func hasFtypBox(head []byte) bool {
	if len(head) < 16 || string(head[4:8]) != "ftyp" {
		return false
	}
	size := binary.BigEndian.Uint32(head[:4])
	if size < 16 || size%4 != 0 {
		return false
	}
	for _, c := range head[8:12] {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}
