package replica

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
)

// recordKind says how a record changes the stored state.
type recordKind uint64

const (
	// recPage applies changes and sets the cursor and last mutation id: one page, atomically.
	recPage recordKind = 1
	// recChanges applies changes only (a page saved without its cursor, or a prune).
	recChanges recordKind = 2
	// recCursor sets the cursor and last mutation id only.
	recCursor recordKind = 3
	// recReset drops the replica and the cursor.
	recReset recordKind = 4
	// recEnqueue appends mutations (ids already assigned) to the outbox.
	recEnqueue recordKind = 5
	// recAck removes the outbox's mutations up to ackThrough.
	recAck recordKind = 6
	// recSnapshot replaces the whole state; it is the first record of a compacted log.
	recSnapshot recordKind = 7
)

// Record field numbers. A record is a protobuf message written by hand with protowire, so that the
// encoded size of each change and mutation in it is known (appendMessage returns it, decodeRecord sees
// it) and kept for the live-size estimate that decides when to compact.
const (
	fieldKind           protowire.Number = 1
	fieldChange         protowire.Number = 2
	fieldCursor         protowire.Number = 3
	fieldLastMutationID protowire.Number = 4
	fieldMutation       protowire.Number = 5
	fieldAckThrough     protowire.Number = 6
	fieldNextMutationID protowire.Number = 7
)

// record is one durable step of a store. changeSizes and mutationSizes hold the encoded size of each
// message when known (after encode or decode), for the live-size estimate that drives compaction.
type record struct {
	kind           recordKind
	changes        []*salesappv1.Change
	cursor         string
	lastMutationID uint32
	mutations      []*salesappv1.Mutation
	ackThrough     uint32
	nextMutationID uint32

	changeSizes   []int
	mutationSizes []int
}

// appendRecord appends rec's encoding to b and fills rec's sizes.
func appendRecord(b []byte, rec *record) ([]byte, error) {
	b = protowire.AppendTag(b, fieldKind, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(rec.kind))
	rec.changeSizes = rec.changeSizes[:0]
	var err error
	for _, c := range rec.changes {
		var n int
		b, n, err = appendMessage(b, fieldChange, c)
		if err != nil {
			return nil, fmt.Errorf("encode change %s/%s: %w", c.GetKind(), c.GetId(), err)
		}
		rec.changeSizes = append(rec.changeSizes, n)
	}
	if rec.cursor != "" {
		b = protowire.AppendTag(b, fieldCursor, protowire.BytesType)
		b = protowire.AppendString(b, rec.cursor)
	}
	if rec.lastMutationID != 0 {
		b = protowire.AppendTag(b, fieldLastMutationID, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(rec.lastMutationID))
	}
	rec.mutationSizes = rec.mutationSizes[:0]
	for _, m := range rec.mutations {
		var n int
		b, n, err = appendMessage(b, fieldMutation, m)
		if err != nil {
			return nil, fmt.Errorf("encode mutation %d: %w", m.GetId(), err)
		}
		rec.mutationSizes = append(rec.mutationSizes, n)
	}
	if rec.ackThrough != 0 {
		b = protowire.AppendTag(b, fieldAckThrough, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(rec.ackThrough))
	}
	if rec.nextMutationID != 0 {
		b = protowire.AppendTag(b, fieldNextMutationID, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(rec.nextMutationID))
	}
	return b, nil
}

// appendMessage appends m as a length-delimited field and returns its encoded size.
func appendMessage(b []byte, num protowire.Number, m proto.Message) ([]byte, int, error) {
	n := proto.Size(m)
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(n))
	// Size has just cached every nested size; reuse it instead of computing it again.
	b, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(b, m)
	return b, n, err
}

var errBadRecord = errors.New("malformed record")

// decodeRecord parses a record written by appendRecord.
func decodeRecord(b []byte) (*record, error) {
	rec := &record{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, errBadRecord
		}
		b = b[n:]
		switch {
		case typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, errBadRecord
			}
			b = b[n:]
			switch num {
			case fieldKind:
				rec.kind = recordKind(v)
			case fieldLastMutationID:
				rec.lastMutationID = uint32(v)
			case fieldAckThrough:
				rec.ackThrough = uint32(v)
			case fieldNextMutationID:
				rec.nextMutationID = uint32(v)
			}
		case typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, errBadRecord
			}
			b = b[n:]
			switch num {
			case fieldChange:
				c := &salesappv1.Change{}
				if err := proto.Unmarshal(v, c); err != nil {
					return nil, fmt.Errorf("decode change: %w", err)
				}
				rec.changes = append(rec.changes, c)
				rec.changeSizes = append(rec.changeSizes, len(v))
			case fieldCursor:
				rec.cursor = string(v)
			case fieldMutation:
				m := &salesappv1.Mutation{}
				if err := proto.Unmarshal(v, m); err != nil {
					return nil, fmt.Errorf("decode mutation: %w", err)
				}
				rec.mutations = append(rec.mutations, m)
				rec.mutationSizes = append(rec.mutationSizes, len(v))
			}
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return nil, errBadRecord
			}
			b = b[n:]
		}
	}
	if rec.kind < recPage || rec.kind > recSnapshot {
		return nil, fmt.Errorf("%w: kind %d", errBadRecord, rec.kind)
	}
	return rec, nil
}
