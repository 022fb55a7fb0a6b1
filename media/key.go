package media

import (
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// UploadPurpose is the purpose segment of keys that clients upload to by presigned request. Finalize
// accepts only these, so a client cannot point it at (and, by declaring nonsense, delete) an object the
// server generated.
const UploadPurpose = "upload"

// FilePurpose is the purpose segment of finalized uploads: Finalize copies each accepted upload to a new
// key of this purpose, which no upload ticket names, so the bytes that were checked cannot be replaced
// through a ticket still valid (tickets stay valid UploadTTL, past the finalize).
const FilePurpose = "file"

// PlatformPrefix starts the keys of platform-tier objects: the SaaS operator's, readable by every tenant.
const PlatformPrefix = "platform/"

// TenantKey returns a new key for an object of tenant: t/<tenant>/<purpose>/<uuidv7>.<ext>. Purpose is a
// short lowercase word ("upload", "qrcode", "poster", "thumb") and ext a short lowercase extension
// without the dot; both come from code, never from clients, so TenantKey panics when they are malformed.
func TenantKey(tenantID uuid.UUID, purpose string, ext string) string {
	mustKeyParts(purpose, ext)
	return "t/" + tenantID.String() + "/" + purpose + "/" + newName() + "." + ext
}

// PlatformKey returns a new key for a platform-tier object: platform/<purpose>/<uuidv7>.<ext>. It panics
// on a malformed purpose or ext, like TenantKey.
func PlatformKey(purpose string, ext string) string {
	mustKeyParts(purpose, ext)
	return PlatformPrefix + purpose + "/" + newName() + "." + ext
}

func mustKeyParts(purpose, ext string) {
	if !validPurpose(purpose) {
		panic(fmt.Sprintf("media: key purpose %q is not a short lowercase word", purpose))
	}
	if !validExt(ext) {
		panic(fmt.Sprintf("media: key extension %q is not 1-8 lowercase letters or digits", ext))
	}
}

// newName is time-ordered (UUIDv7) so that listings of a prefix come out roughly in upload order.
func newName() string { return uuid.Must(uuid.NewV7()).String() }

// validPurpose accepts [a-z][a-z0-9]* with single inner hyphens, at most 32 characters.
func validPurpose(s string) bool {
	if s == "" || len(s) > 32 || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && s[i-1] != '-':
		default:
			return false
		}
	}
	return true
}

func validExt(s string) bool {
	if s == "" || len(s) > 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// validName accepts the last key segment: [A-Za-z0-9._-], at most 128 characters, not starting with a
// dot (so never "." or ".."): a URL that a browser or proxy normalizes must name the same object.
func validName(s string) bool {
	if s == "" || len(s) > 128 || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// keyScope is who an object belongs to, read from its key.
type keyScope struct {
	platform bool
	tenant   uuid.UUID
	purpose  string
	name     string
}

// IsPlatformFile reports whether key is a finalized platform upload (FinalizePlatform's answer).
func IsPlatformFile(key string) bool {
	sc, ok := parseKey(key)
	return ok && sc.platform && sc.purpose == FilePurpose
}

// parseKey reads a key made by TenantKey or PlatformKey. It is strict on purpose: tenant ids must be in
// canonical form and no segment may be empty or a dot segment, so that one object has exactly one
// spelling and prefix checks cannot be fooled by "t/A/../B/x" or "t/A//x".
func parseKey(key string) (keyScope, bool) {
	parts := strings.Split(key, "/")
	switch {
	case len(parts) == 4 && parts[0] == "t":
		id, err := uuid.Parse(parts[1])
		if err != nil || id.String() != parts[1] || id == uuid.Nil || !validPurpose(parts[2]) || !validName(parts[3]) {
			return keyScope{}, false
		}
		return keyScope{tenant: id, purpose: parts[2], name: parts[3]}, true
	case len(parts) == 3 && parts[0]+"/" == PlatformPrefix:
		if !validPurpose(parts[1]) || !validName(parts[2]) {
			return keyScope{}, false
		}
		return keyScope{platform: true, purpose: parts[1], name: parts[2]}, true
	}
	return keyScope{}, false
}
