package delta

import (
	"testing"
)

// A cursor is the one thing a device sends back that the server made: whatever bytes arrive decode to
// ErrBadCursor or to a cursor that encodes and decodes to itself, with no negative position, never a panic.
func FuzzDecodeCursor(f *testing.F) {
	c := testCursor()
	f.Add(c.Encode())
	f.Add(v1(c))
	c.Pending = []Position{{Xid: 10}, {Xid: 20, Seq: 3}, {Xid: 1 << 40}}
	f.Add(c.Encode())
	for _, s := range []string{"", "AA", "Ag", "____", "AQ", "not a cursor"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := DecodeCursor(s)
		if err != nil {
			if err != ErrBadCursor {
				t.Fatalf("%q: %v, want ErrBadCursor", s, err)
			}
			return
		}
		if got.After.Xid < 0 || got.After.Seq < 0 {
			t.Fatalf("%q decodes to a negative position %+v", s, got.After)
		}
		for _, p := range got.Pending {
			if p.Xid < 0 || p.Seq < 0 {
				t.Fatalf("%q decodes to a negative pending position %+v", s, p)
			}
		}
		enc := got.Encode()
		again, err := DecodeCursor(enc)
		if err != nil {
			t.Fatalf("%q decodes, but its encoding %q does not: %v", s, enc, err)
		}
		if again.Encode() != enc {
			t.Fatalf("%q: encoding is not stable: %q then %q", s, enc, again.Encode())
		}
	})
}
