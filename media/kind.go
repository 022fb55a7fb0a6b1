package media

import (
	"fmt"
	"mime"
	"strings"

	"github.com/salesapp/scrm/backend/platform"
)

// Kind is what an upload is for; it decides which content types and sizes are allowed. Its values are
// stored (uploads.kind) and must not change.
type Kind string

// The kinds of upload.
const (
	KindImage Kind = "image"
	KindPDF   Kind = "pdf"
	KindVideo Kind = "video"
)

// MiB is a mebibyte, for the size limits.
const MiB = 1 << 20

// limits is what one kind allows.
type limits struct {
	maxBytes int64
	types    []string
}

func kindLimits(k Kind) (limits, bool) {
	// A switch rather than a package-level map: the table stays immutable by construction.
	switch k {
	case KindImage:
		return limits{10 * MiB, []string{"image/jpeg", "image/png", "image/webp", "image/gif"}}, true
	case KindPDF:
		return limits{50 * MiB, []string{"application/pdf"}}, true
	case KindVideo:
		return limits{500 * MiB, []string{"video/mp4", "video/quicktime"}}, true
	}
	return limits{}, false
}

// MaxBytes is the largest object of this kind, or 0 for an unknown kind.
func (k Kind) MaxBytes() int64 {
	l, _ := kindLimits(k)
	return l.maxBytes
}

// ContentTypes lists the content types this kind allows (a fresh slice), or nil for an unknown kind.
func (k Kind) ContentTypes() []string {
	l, _ := kindLimits(k)
	return append([]string(nil), l.types...)
}

// CheckUpload checks a declared content type and size against kind and returns the content type in the
// form the storage will be told (lowercase, without parameters), which is what clients must send.
// Refusals are platform.Invalid on "content_type" or "size".
func CheckUpload(kind Kind, contentType string, size int64) (string, error) {
	l, ok := kindLimits(kind)
	if !ok {
		return "", platform.Invalid("content_type", fmt.Sprintf("unknown upload kind %q", string(kind)))
	}
	ct := normalizeType(contentType)
	allowed := false
	for _, t := range l.types {
		allowed = allowed || t == ct
	}
	if !allowed {
		return "", platform.Invalid("content_type",
			fmt.Sprintf("a %s upload must be one of %s", kind, strings.Join(l.types, ", ")))
	}
	if size <= 0 {
		return "", platform.Invalid("size", "size must be positive")
	}
	if size > l.maxBytes {
		return "", platform.Invalid("size", fmt.Sprintf("a %s upload may be at most %d MiB", kind, l.maxBytes/MiB))
	}
	return ct, nil
}

// normalizeType lowercases a media type and drops its parameters, so "Image/PNG; x=y" and "image/png"
// are one type; anything unparsable comes back as "" and is refused by the allow-list.
func normalizeType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ""
	}
	return mt
}

// extension is the file extension keys of this content type get; the allow-lists above are the domain.
func extension(ct string) string {
	switch ct {
	case "image/jpeg":
		return "jpg"
	case "image/png":
		return "png"
	case "image/webp":
		return "webp"
	case "image/gif":
		return "gif"
	case "application/pdf":
		return "pdf"
	case "video/mp4":
		return "mp4"
	case "video/quicktime":
		return "mov"
	}
	return "bin"
}
