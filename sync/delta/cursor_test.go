package delta

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func testCursor() Cursor {
	return Cursor{Epoch: 3, Rules: RulesVersion, Tenant: uuid.New(), Employee: uuid.New(), Device: DeviceHash("dev-1"),
		After: Position{Xid: 1<<40 + 900, Seq: 77}, LastMutation: 12}
}

// v1 encodes a cursor as the engine did before cursors kept the transactions in progress.
func v1(c Cursor) string {
	b := []byte{cursorV1}
	b = binary.BigEndian.AppendUint32(b, uint32(c.Epoch))
	b = binary.BigEndian.AppendUint32(b, uint32(c.Rules))
	b = append(b, c.Tenant[:]...)
	b = append(b, c.Employee[:]...)
	b = binary.BigEndian.AppendUint32(b, c.Device)
	b = binary.BigEndian.AppendUint64(b, uint64(c.After.Xid))
	b = binary.BigEndian.AppendUint64(b, uint64(c.After.Seq))
	b = binary.BigEndian.AppendUint64(b, c.LastMutation)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestCursorRoundTripsWithTheTransactionsItWaitsFor(t *testing.T) {
	t.Parallel()
	c := testCursor()
	c.Pending = []Position{{Xid: 1 << 40, Seq: 0}, {Xid: 1<<40 + 3, Seq: 12}, {Xid: 1<<40 + 899}}
	got, err := DecodeCursor(c.Encode())
	require.NoError(t, err)
	require.Equal(t, c, got)

	// What it says the device has.
	for pos, has := range map[Position]bool{
		{Xid: 1<<40 - 5, Seq: 9}:      true,  // below the oldest it waits for
		{Xid: 1 << 40, Seq: 1}:        false, // waited for
		{Xid: 1<<40 + 1, Seq: 4}:      true,  // between: finished when read
		{Xid: 1<<40 + 3, Seq: 12}:     true,  // a page ended inside it
		{Xid: 1<<40 + 3, Seq: 13}:     false, // its rows after that
		{Xid: 1<<40 + 900, Seq: 77}:   true,  // the position itself
		{Xid: 1<<40 + 900, Seq: 78}:   false,
		{Xid: 1<<40 + 901, Seq: 1}:    false,
		{Xid: 1<<40 + 899, Seq: 1000}: false,
	} {
		require.Equal(t, has, got.Has(pos), "%v", pos)
	}

	// One waiting for nothing is as small as before.
	c.Pending = nil
	require.LessOrEqual(t, len(c.Encode()), len(v1(c)))
	got, err = DecodeCursor(c.Encode())
	require.NoError(t, err)
	require.Equal(t, c, got)
}

// A cursor made before this layout goes on from where it was: it was never past the snapshot's xmin, so
// it waits for no transaction.
func TestCursorOfTheFirstLayoutIsRead(t *testing.T) {
	t.Parallel()
	c := testCursor()
	got, err := DecodeCursor(v1(c))
	require.NoError(t, err)
	require.Equal(t, c, got)
	require.Empty(t, got.Pending)

	bad := c
	bad.After.Xid = -1
	_, err = DecodeCursor(v1(bad))
	require.ErrorIs(t, err, ErrBadCursor, "a negative xid")
	_, err = DecodeCursor(v1(c)[:len(v1(c))-3])
	require.ErrorIs(t, err, ErrBadCursor, "too short")
}

func TestCursorRefusesGarbage(t *testing.T) {
	t.Parallel()
	c := testCursor()
	c.Pending = []Position{{Xid: 1 << 40}, {Xid: 1<<40 + 3, Seq: 12}}
	valid := c.Encode()
	raw, err := base64.RawURLEncoding.DecodeString(valid)
	require.NoError(t, err)
	enc := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	// tail builds the variable part of a version 2 cursor on c's fixed part.
	tail := func(vs ...uint64) string {
		b := slices.Clone(raw[:cursorFixedLen])
		for _, v := range vs {
			b = binary.AppendUvarint(b, v)
		}
		return enc(b)
	}
	otherVersion := slices.Clone(raw)
	otherVersion[0] = 9
	for name, s := range map[string]string{
		"empty":                    "",
		"not base64":               "garbage!",
		"base64 of junk":           enc([]byte("garbage")),
		"too short":                enc(raw[:len(raw)-1]),
		"trailing bytes":           enc(append(slices.Clone(raw), 0)),
		"another layout":           enc(otherVersion),
		"longer than 512":          valid + string(make([]byte, 600)),
		"too many pending":         tail(MaxPending + 1),
		"pending not ascending":    tail(2, 10, 0, 0, 0, 5, 0),
		"a pending xid of 0":       tail(1, 0, 0, 5, 0),
		"after not above pending":  tail(1, 10, 0, 0, 0),
		"an xid past 2^63":         tail(0, math.MaxInt64+1, 0),
		"xids adding up past 2^63": tail(2, math.MaxInt64-1, 0, 5, 0, 1, 0),
		"a sequence past 2^63":     tail(0, 5, math.MaxInt64+1),
		"a truncated varint":       enc(append(raw[:cursorFixedLen:cursorFixedLen], 0, 0x80)),
	} {
		_, err := DecodeCursor(s)
		require.ErrorIs(t, err, ErrBadCursor, name)
	}
	_, err = DecodeCursor(tail(0, 5, 0))
	require.NoError(t, err, "the smallest valid variable part")
}

// However many transactions were in progress, the cursor stays within 512 characters: it waits for
// the oldest it can carry and moves its position back to the first one it drops. What it then says the
// device has is never more than the device has.
func TestCursorStaysBoundedWithThousandsOfTransactionsInProgress(t *testing.T) {
	t.Parallel()
	for name, gap := range map[string]int64{"close together": 3, "far apart": 1 << 49} {
		c := testCursor()
		c.After = Position{Xid: 5000*gap + 10, Seq: 4}
		for i := range int64(5000) {
			c.Pending = append(c.Pending, Position{Xid: 1 + i*gap, Seq: i % 3})
		}
		s := c.Encode()
		require.LessOrEqual(t, len(s), 512, name)
		got, err := DecodeCursor(s)
		require.NoError(t, err, name)
		require.Equal(t, c.Bounded(), got, name)
		require.NotEmpty(t, got.Pending, name)
		require.LessOrEqual(t, len(got.Pending), MaxPending, name)
		require.Equal(t, c.Pending[:len(got.Pending)], got.Pending, "%s: the oldest are kept", name)
		require.Equal(t, Position{Xid: c.Pending[len(got.Pending)].Xid}, got.After, "%s: from the first dropped on, all is wanted again", name)
		for _, p := range c.Pending {
			for _, pos := range []Position{{Xid: p.Xid, Seq: p.Seq}, {Xid: p.Xid, Seq: p.Seq + 1}, {Xid: p.Xid + 1, Seq: 1}, {Xid: p.Xid - 1, Seq: 1}} {
				if got.Has(pos) {
					require.True(t, c.Has(pos), "%s: the bounded cursor claims %v", name, pos)
				}
			}
		}
	}
	close := testCursor()
	close.After = Position{Xid: 100, Seq: 1}
	for i := range int64(MaxPending) {
		close.Pending = append(close.Pending, Position{Xid: 10 + i})
	}
	require.Equal(t, close, close.Bounded(), "64 close together fit")
}

// advance is what a page teaches the cursor: xmin 22, xmax 100, transactions 40 and 60 in progress.
func TestCursorAdvance(t *testing.T) {
	t.Parallel()
	start := Cursor{After: Position{Xid: 30, Seq: 5}, Pending: []Position{{Xid: 10}, {Xid: 20, Seq: 3}, {Xid: 25}}}
	v := view{xmin: 10, xmax: 100, xip: []int64{10, 40, 60}} // 10 is still open; 20 and 25 committed since
	later := view{xmin: 40, xmax: 100, xip: []int64{40, 60}}
	standby := view{xmin: 22, xmax: 100, standby: true}
	for name, tc := range map[string]struct {
		v    view
		last *Position
		want Cursor
	}{
		"every row read": {v, nil,
			Cursor{After: Position{Xid: 100}, Pending: []Position{{Xid: 10}, {Xid: 40}, {Xid: 60}}}},
		"a full page ending after the position": {v, &Position{Xid: 50, Seq: 8},
			Cursor{After: Position{Xid: 50, Seq: 8}, Pending: []Position{{Xid: 10}, {Xid: 40}}}},
		"a full page ending inside a pending transaction": {v, &Position{Xid: 20, Seq: 9},
			Cursor{After: start.After, Pending: []Position{{Xid: 10}, {Xid: 20, Seq: 9}, {Xid: 25}}}},
		"a full page ending inside a pending transaction, an older one done": {later, &Position{Xid: 25, Seq: 2},
			Cursor{After: start.After, Pending: []Position{{Xid: 25, Seq: 2}}}},
		// A standby's snapshot lists nothing in progress: what is below xmin is done, the rest may not be.
		"every row read on a standby": {standby, nil,
			Cursor{After: start.After, Pending: []Position{{Xid: 25}}}},
		"a full page on a standby": {standby, &Position{Xid: 50, Seq: 8},
			Cursor{After: start.After, Pending: []Position{{Xid: 25}}}},
		"a full page inside a pending transaction on a standby": {standby, &Position{Xid: 20, Seq: 9},
			Cursor{After: start.After, Pending: []Position{{Xid: 20, Seq: 9}, {Xid: 25}}}},
	} {
		require.Equal(t, tc.want, start.advance(tc.v, tc.last), name)
	}
	// From the first pull: everything in progress below xmax is waited for; on a standby, the cursor
	// stops at xmin.
	require.Equal(t, Cursor{After: Position{Xid: 100}, Pending: []Position{{Xid: 10}, {Xid: 40}, {Xid: 60}}}, Cursor{}.advance(v, nil))
	require.Equal(t, Cursor{After: Position{Xid: 22}}, Cursor{}.advance(standby, nil))
	require.Equal(t, Cursor{After: Position{Xid: 22}}, Cursor{}.advance(standby, &Position{Xid: 70, Seq: 1}))
}
