package delta

import (
	"encoding/base64"
	"encoding/binary"
	"hash/fnv"

	"github.com/google/uuid"
)

// RulesVersion numbers the rules that decide what is in a scope. A cursor made under other rules is
// reset: the replica it continues was built by rules that no longer hold.
const RulesVersion = 1

// cursorVersion is the cursor's own layout.
const cursorVersion = 1

// Position is a place in the change order: (transaction id, sequence).
type Position struct {
	Xid int64
	Seq int64
}

// Less orders positions.
func (p Position) Less(o Position) bool {
	return p.Xid < o.Xid || (p.Xid == o.Xid && p.Seq < o.Seq)
}

// Cursor is what a device sends back with its next pull. It is opaque to the app.
type Cursor struct {
	Epoch    int32
	Rules    int32
	Tenant   uuid.UUID
	Employee uuid.UUID
	// Device is a hash of the device id: a cursor is not passed between devices.
	Device uint32
	After  Position
	// LastMutation is the device's last mutation whose effects the replica holds.
	LastMutation uint64
}

const cursorLen = 1 + 4 + 4 + 16 + 16 + 4 + 8 + 8 + 8

// Encode makes the opaque string.
func (c Cursor) Encode() string {
	b := make([]byte, 0, cursorLen)
	b = append(b, cursorVersion)
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

// DecodeCursor reads a cursor string; one it did not make is ErrBadCursor.
func DecodeCursor(s string) (Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != cursorLen || b[0] != cursorVersion {
		return Cursor{}, ErrBadCursor
	}
	var c Cursor
	b = b[1:]
	c.Epoch = int32(binary.BigEndian.Uint32(b))
	c.Rules = int32(binary.BigEndian.Uint32(b[4:]))
	copy(c.Tenant[:], b[8:24])
	copy(c.Employee[:], b[24:40])
	c.Device = binary.BigEndian.Uint32(b[40:])
	c.After.Xid = int64(binary.BigEndian.Uint64(b[44:]))
	c.After.Seq = int64(binary.BigEndian.Uint64(b[52:]))
	c.LastMutation = binary.BigEndian.Uint64(b[60:])
	if c.After.Xid < 0 || c.After.Seq < 0 {
		return Cursor{}, ErrBadCursor
	}
	return c, nil
}

// DeviceHash is the device id as a cursor carries it.
func DeviceHash(deviceID string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(deviceID))
	return h.Sum32()
}
