package share

import (
	"encoding/base64"
	"testing"
)

// Every token the app makes is well-formed; whatever else a stranger sends is either refused or exactly the
// shape of one (16 characters that decode to 12 bytes and encode back to themselves).
func FuzzWellFormed(f *testing.F) {
	for _, s := range []string{newToken(), newToken(), "", "t", "abcdefghijklmnop", "abcdefghijklmno=", "../../etc/passwd", "ÄÖÜäöüabcdefghij", "abcdefghijklmnopq"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !WellFormed(newToken()) {
			t.Fatal("a made token is not well-formed")
		}
		if !WellFormed(s) {
			return
		}
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(b) != tokenBytes {
			t.Fatalf("%q is well-formed but decodes to %d bytes (%v)", s, len(b), err)
		}
		if len(s) != 16 {
			t.Fatalf("%q is well-formed but %d characters long", s, len(s))
		}
	})
}
