package replica

import (
	"errors"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
)

// ErrClosed is returned by a store used after Close. A FileStore also stops writing when a failure may
// have left its log with a partial record or without an open file (a failed write or sync, a
// compaction that could not reopen the log): from then on each write, the failed one included,
// returns an error that wraps both ErrClosed and the cause, so errors.Is(err, ErrClosed) tells the app
// to reopen the store. Reads still answer.
var ErrClosed = errors.New("replica: store closed")

// Store keeps what a client must not lose: the replica, the cursor, the last mutation id a pull
// acknowledged, the next mutation id and the outbox. Every write is one durable step: after a crash
// each one is there whole or not at all. Implementations are safe for concurrent use.
type Store interface {
	// SavePage applies a page's changes in order and sets the cursor and last mutation id, as one step.
	SavePage(changes []*salesappv1.Change, cursor string, lastMutationID uint32) error
	// ApplyChanges applies changes without touching the cursor. Saving a page as ApplyChanges then
	// SaveCursor is two steps; a crash in between re-pulls the page, which is harmless.
	ApplyChanges(changes []*salesappv1.Change) error
	// SaveCursor sets the cursor and last mutation id.
	SaveCursor(cursor string, lastMutationID uint32) error
	// Reset drops the replica and the cursor (the server answered reset). The outbox stays.
	Reset() error
	// Enqueue gives m the next mutation id, never used before, and appends it to the outbox. The store
	// keeps m: the caller must not change it afterwards.
	Enqueue(m *salesappv1.Mutation) (uint32, error)
	// Ack removes the outbox's mutations with ids up to through (the server answered them).
	Ack(through uint32) error
	// Prune drops the entities Expired at now and returns how many.
	Prune(now time.Time) (int, error)

	// Cursor returns the saved cursor ("" before the first page and after a reset).
	Cursor() string
	// LastMutationID returns the last mutation id the saved pages reported.
	LastMutationID() uint32
	// NextMutationID returns the id the next Enqueue will assign.
	NextMutationID() uint32
	// Outbox returns the queued mutations, oldest first. They must not be changed.
	Outbox() []*salesappv1.Mutation
	// Entities returns a new map of the replica's entities. The messages are shared: do not change them.
	Entities() map[Key]proto.Message
	// Get returns one entity of the replica.
	Get(key Key) (proto.Message, bool)
	// Len returns how many entities the replica holds.
	Len() int
	// Close releases the store. It writes nothing, so closing and reopening a FileStore is what a
	// crash after the last completed step looks like.
	Close() error
}

// entry is one entity of the replica with its encoded size.
type entry struct {
	change *salesappv1.Change
	size   int
}

// state is a store's content, changed only by applying records.
type state struct {
	entities       map[Key]entry
	cursor         string
	lastMutationID uint32
	nextMutationID uint32
	outbox         []*salesappv1.Mutation
	outboxSizes    []int
	// liveBytes estimates the size of a snapshot of this state, to decide when the log is worth
	// compacting.
	liveBytes int64
}

func newState() state {
	return state{entities: make(map[Key]entry), nextMutationID: 1}
}

func (s *state) applyChanges(rec *record) {
	for i, c := range rec.changes {
		k := KeyOf(c)
		if old, ok := s.entities[k]; ok {
			s.liveBytes -= int64(old.size)
		}
		if c.GetDeleted() {
			delete(s.entities, k)
			continue
		}
		size := 0
		if i < len(rec.changeSizes) {
			size = rec.changeSizes[i]
		}
		s.entities[k] = entry{change: c, size: size}
		s.liveBytes += int64(size)
	}
}

func (s *state) appendOutbox(ms []*salesappv1.Mutation, sizes []int) {
	for i, m := range ms {
		size := 0
		if i < len(sizes) {
			size = sizes[i]
		}
		s.outbox = append(s.outbox, m)
		s.outboxSizes = append(s.outboxSizes, size)
		s.liveBytes += int64(size)
		if m.GetId() >= s.nextMutationID {
			s.nextMutationID = m.GetId() + 1
		}
	}
}

func (s *state) apply(rec *record) {
	switch rec.kind {
	case recPage:
		s.applyChanges(rec)
		s.cursor, s.lastMutationID = rec.cursor, rec.lastMutationID
	case recChanges:
		s.applyChanges(rec)
	case recCursor:
		s.cursor, s.lastMutationID = rec.cursor, rec.lastMutationID
	case recReset:
		for _, e := range s.entities {
			s.liveBytes -= int64(e.size)
		}
		s.entities = make(map[Key]entry)
		s.cursor = ""
	case recEnqueue:
		s.appendOutbox(rec.mutations, rec.mutationSizes)
	case recAck:
		n := 0
		for n < len(s.outbox) && s.outbox[n].GetId() <= rec.ackThrough {
			s.liveBytes -= int64(s.outboxSizes[n])
			n++
		}
		s.outbox = append([]*salesappv1.Mutation(nil), s.outbox[n:]...)
		s.outboxSizes = append([]int(nil), s.outboxSizes[n:]...)
	case recSnapshot:
		*s = newState()
		s.applyChanges(rec)
		s.cursor, s.lastMutationID = rec.cursor, rec.lastMutationID
		s.appendOutbox(rec.mutations, rec.mutationSizes)
		s.nextMutationID = max(s.nextMutationID, rec.nextMutationID)
	}
}

// snapshot returns a record that recreates the state.
func (s *state) snapshot() *record {
	rec := &record{
		kind:           recSnapshot,
		changes:        make([]*salesappv1.Change, 0, len(s.entities)),
		cursor:         s.cursor,
		lastMutationID: s.lastMutationID,
		mutations:      s.outbox,
		nextMutationID: s.nextMutationID,
	}
	for _, e := range s.entities {
		rec.changes = append(rec.changes, e.change)
	}
	return rec
}

// core is the store both MemStore and FileStore are: a state behind a mutex, with an optional log that
// every record is written to before it is applied.
type core struct {
	mu     sync.Mutex
	closed bool
	st     state
	log    *logFile
}

// commit makes rec durable (when there is a log) and applies it. Once rec is written the step has
// succeeded: the compaction that may follow reports no error here (one that breaks the log fails the
// next write instead), or Enqueue would report a failure for a mutation already in the outbox.
func (s *core) commit(rec *record) error {
	if s.closed {
		return ErrClosed
	}
	if s.log != nil {
		if err := s.log.append(rec); err != nil {
			return err
		}
	}
	s.st.apply(rec)
	if s.log != nil {
		s.log.maybeCompact(&s.st)
	}
	return nil
}

func (s *core) write(rec *record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commit(rec)
}

// SavePage implements Store.
func (s *core) SavePage(changes []*salesappv1.Change, cursor string, lastMutationID uint32) error {
	return s.write(&record{kind: recPage, changes: changes, cursor: cursor, lastMutationID: lastMutationID})
}

// ApplyChanges implements Store.
func (s *core) ApplyChanges(changes []*salesappv1.Change) error {
	return s.write(&record{kind: recChanges, changes: changes})
}

// SaveCursor implements Store.
func (s *core) SaveCursor(cursor string, lastMutationID uint32) error {
	return s.write(&record{kind: recCursor, cursor: cursor, lastMutationID: lastMutationID})
}

// Reset implements Store.
func (s *core) Reset() error {
	return s.write(&record{kind: recReset})
}

// Enqueue implements Store.
func (s *core) Enqueue(m *salesappv1.Mutation) (uint32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.Id = s.st.nextMutationID
	if err := s.commit(&record{kind: recEnqueue, mutations: []*salesappv1.Mutation{m}}); err != nil {
		return 0, err
	}
	return m.Id, nil
}

// Ack implements Store.
func (s *core) Ack(through uint32) error {
	return s.write(&record{kind: recAck, ackThrough: through})
}

// Prune implements Store.
func (s *core) Prune(now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var gone []*salesappv1.Change
	for k, e := range s.st.entities {
		if Expired(EntityOf(e.change), now) {
			gone = append(gone, &salesappv1.Change{Kind: k.Kind, Id: k.ID, Deleted: true})
		}
	}
	if len(gone) == 0 {
		return 0, nil
	}
	if err := s.commit(&record{kind: recChanges, changes: gone}); err != nil {
		return 0, err
	}
	return len(gone), nil
}

// read returns f of the state, under the store's lock.
func read[T any](s *core, f func(st *state) T) T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f(&s.st)
}

// Cursor implements Store.
func (s *core) Cursor() string { return read(s, func(st *state) string { return st.cursor }) }

// LastMutationID implements Store.
func (s *core) LastMutationID() uint32 {
	return read(s, func(st *state) uint32 { return st.lastMutationID })
}

// NextMutationID implements Store.
func (s *core) NextMutationID() uint32 {
	return read(s, func(st *state) uint32 { return st.nextMutationID })
}

// Outbox implements Store.
func (s *core) Outbox() []*salesappv1.Mutation {
	return read(s, func(st *state) []*salesappv1.Mutation { return append([]*salesappv1.Mutation(nil), st.outbox...) })
}

// Entities implements Store.
func (s *core) Entities() map[Key]proto.Message {
	return read(s, func(st *state) map[Key]proto.Message {
		out := make(map[Key]proto.Message, len(st.entities))
		for k, e := range st.entities {
			out[k] = EntityOf(e.change)
		}
		return out
	})
}

// Get implements Store.
func (s *core) Get(key Key) (proto.Message, bool) {
	e := read(s, func(st *state) entry { return st.entities[key] })
	return EntityOf(e.change), e.change != nil
}

// Len implements Store.
func (s *core) Len() int { return read(s, func(st *state) int { return len(st.entities) }) }

// Close implements Store.
func (s *core) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.log != nil {
		return s.log.close()
	}
	return nil
}

// MemStore is a Store that keeps everything in memory, for unit tests of code that uses a client.
type MemStore struct{ core }

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{core{st: newState()}}
}
