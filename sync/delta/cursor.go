package delta

import (
	"encoding/base64"
	"encoding/binary"
	"hash/fnv"
	"math"

	"github.com/google/uuid"
)

// RulesVersion numbers the rules that decide what is in a scope. A cursor made under other rules is
// reset: the replica it continues was built by rules that no longer hold.
const RulesVersion = 1

// The cursor's own layouts. Version 1 (a position only, fenced at the snapshot's xmin) is still read:
// it means what a version 2 cursor at that position waiting for nothing means.
const (
	cursorV1 = 1
	cursorV2 = 2
)

// Bounds of a cursor. The app stores it and sends it back (PullRequest.cursor allows 512 characters), so
// it stays within MaxCursorBytes however many transactions were in progress when it was made: it waits
// for at most MaxPending of them, fewer when their ids are far apart (see Cursor.Encode).
const (
	MaxCursorBytes = 384 // 512 characters of unpadded base64
	MaxPending     = 64
)

// Position is a place in the change order: (transaction id, sequence). Transaction ids are xid8 values,
// which never wrap around, carried as int64 (they stay far below 2^63).
type Position struct {
	Xid int64
	Seq int64
}

// Less orders positions.
func (p Position) Less(o Position) bool {
	return p.Xid < o.Xid || (p.Xid == o.Xid && p.Seq < o.Seq)
}

// Cursor is what a device sends back with its next pull. It is opaque to the app.
//
// It says which change rows the device has: every row at or before After in (xid, seq) order, except
// those of the Pending transactions, of which it has the rows up to their Seq. A Pending transaction
// was still in progress when a pull read past its id (or a page ended inside it): its rows are sent when
// it commits, whatever came after it meanwhile, and nothing already sent is sent again. Rows of a
// transaction that commits later always carry its own id, which is either Pending or after After.
type Cursor struct {
	Epoch    int32
	Rules    int32
	Tenant   uuid.UUID
	Employee uuid.UUID
	// Device is a hash of the device id: a cursor is not passed between devices.
	Device uint32
	After  Position
	// Pending are the transactions below After.Xid the device still waits for, in ascending xid order,
	// each with the sequence number up to which it has their rows (0: none yet).
	Pending []Position
	// LastMutation is the device's last mutation whose effects the replica holds.
	LastMutation uint64
}

// Has reports whether the device holding the cursor has the change row at pos (or a later state of it).
func (c Cursor) Has(pos Position) bool {
	for _, p := range c.Pending {
		if p.Xid == pos.Xid {
			return pos.Seq <= p.Seq
		}
	}
	return !c.After.Less(pos)
}

// Bounded returns the cursor as Encode writes it: waiting for at most MaxPending transactions and
// encoded in at most MaxCursorBytes. Past that it keeps the oldest transactions and moves After back to
// the first one it drops: the rows committed since then are sent again (as the old fence at the
// snapshot's xmin did for every row), none is skipped. Thousands of transactions in progress at once
// thus cost resends of what committed after the 64th oldest, not an unbounded cursor.
func (c Cursor) Bounded() Cursor {
	for n := min(len(c.Pending), MaxPending); ; n-- {
		after := c.After
		if n < len(c.Pending) {
			after = Position{Xid: c.Pending[n].Xid}
		}
		if n == 0 || encodedLen(c.Pending[:n], after) <= MaxCursorBytes {
			if n == len(c.Pending) {
				return c
			}
			out := c
			out.Pending, out.After = append([]Position(nil), c.Pending[:n]...), after
			if n == 0 {
				out.Pending = nil
			}
			return out
		}
	}
}

// encodedLen is the length of a cursor's bytes as Encode writes them.
func encodedLen(pending []Position, after Position) int {
	n := cursorFixedLen + uvarintLen(uint64(len(pending)))
	var prev int64
	for _, p := range pending {
		n += uvarintLen(uint64(p.Xid-prev)) + uvarintLen(uint64(p.Seq))
		prev = p.Xid
	}
	return n + uvarintLen(uint64(after.Xid-prev)) + uvarintLen(uint64(after.Seq))
}

// cursorFixedLen is the fixed part of a version 2 cursor: layout, epoch, rules, tenant, employee,
// device and last mutation.
const cursorFixedLen = 1 + 4 + 4 + 16 + 16 + 4 + 8

// cursorV1Len is the length of a version 1 cursor.
const cursorV1Len = 1 + 4 + 4 + 16 + 16 + 4 + 8 + 8 + 8

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// Encode makes the opaque string, of the cursor as Bounded makes it. The layout (version 2): the fixed
// part, then the number of pending transactions, the oldest pending xid and each next one as the
// difference from the one before, each with its sequence number, and last After as the difference
// from the newest pending xid (from 0 when none) and its sequence number, all as uvarints.
func (c Cursor) Encode() string {
	c = c.Bounded()
	b := make([]byte, 0, MaxCursorBytes)
	b = append(b, cursorV2)
	b = binary.BigEndian.AppendUint32(b, uint32(c.Epoch))
	b = binary.BigEndian.AppendUint32(b, uint32(c.Rules))
	b = append(b, c.Tenant[:]...)
	b = append(b, c.Employee[:]...)
	b = binary.BigEndian.AppendUint32(b, c.Device)
	b = binary.BigEndian.AppendUint64(b, c.LastMutation)
	b = binary.AppendUvarint(b, uint64(len(c.Pending)))
	var prev int64
	for _, p := range c.Pending {
		b = binary.AppendUvarint(b, uint64(p.Xid-prev))
		b = binary.AppendUvarint(b, uint64(p.Seq))
		prev = p.Xid
	}
	b = binary.AppendUvarint(b, uint64(c.After.Xid-prev))
	b = binary.AppendUvarint(b, uint64(c.After.Seq))
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a cursor string; one it did not make is ErrBadCursor.
func DecodeCursor(s string) (Cursor, error) {
	if len(s) > base64.RawURLEncoding.EncodedLen(MaxCursorBytes) {
		return Cursor{}, ErrBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return Cursor{}, ErrBadCursor
	}
	switch b[0] {
	case cursorV1:
		return decodeV1(b)
	case cursorV2:
		return decodeV2(b)
	}
	return Cursor{}, ErrBadCursor
}

func decodeHeader(b []byte) (c Cursor) {
	c.Epoch = int32(binary.BigEndian.Uint32(b[1:]))
	c.Rules = int32(binary.BigEndian.Uint32(b[5:]))
	copy(c.Tenant[:], b[9:25])
	copy(c.Employee[:], b[25:41])
	c.Device = binary.BigEndian.Uint32(b[41:])
	return c
}

// decodeV1 reads a cursor made before cursors kept the transactions in progress: its position was
// never past the snapshot's xmin, below which every transaction had finished, so it waits for none.
func decodeV1(b []byte) (Cursor, error) {
	if len(b) != cursorV1Len {
		return Cursor{}, ErrBadCursor
	}
	c := decodeHeader(b)
	c.After.Xid = int64(binary.BigEndian.Uint64(b[45:]))
	c.After.Seq = int64(binary.BigEndian.Uint64(b[53:]))
	c.LastMutation = binary.BigEndian.Uint64(b[61:])
	if c.After.Xid < 0 || c.After.Seq < 0 {
		return Cursor{}, ErrBadCursor
	}
	return c, nil
}

func decodeV2(b []byte) (Cursor, error) {
	if len(b) < cursorFixedLen {
		return Cursor{}, ErrBadCursor
	}
	c := decodeHeader(b)
	c.LastMutation = binary.BigEndian.Uint64(b[45:])
	r := b[cursorFixedLen:]
	next := func() (int64, bool) {
		v, n := binary.Uvarint(r)
		if n <= 0 || v > math.MaxInt64 {
			return 0, false
		}
		r = r[n:]
		return int64(v), true
	}
	count, ok := next()
	if !ok || count > MaxPending {
		return Cursor{}, ErrBadCursor
	}
	if count > 0 {
		c.Pending = make([]Position, count)
	}
	var prev int64
	for i := range c.Pending {
		d, ok1 := next()
		seq, ok2 := next()
		// Ascending, each above the one before (the first above 0).
		if !ok1 || !ok2 || d == 0 || d > math.MaxInt64-prev {
			return Cursor{}, ErrBadCursor
		}
		prev += d
		c.Pending[i] = Position{Xid: prev, Seq: seq}
	}
	d, ok1 := next()
	seq, ok2 := next()
	// After is above every pending xid, and nothing follows it.
	if !ok1 || !ok2 || (count > 0 && d == 0) || d > math.MaxInt64-prev || len(r) != 0 {
		return Cursor{}, ErrBadCursor
	}
	c.After = Position{Xid: prev + d, Seq: seq}
	return c, nil
}

// DeviceHash is the device id as a cursor carries it.
func DeviceHash(deviceID string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(deviceID))
	return h.Sum32()
}
