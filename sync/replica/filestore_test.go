package replica

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
)

// storeState is everything a store keeps, for comparing a store with its reopened self.
type storeState struct {
	entities       map[Key]proto.Message
	cursor         string
	lastMutationID uint32
	nextMutationID uint32
	outbox         []*salesappv1.Mutation
}

func stateOf(s Store) storeState {
	return storeState{s.Entities(), s.Cursor(), s.LastMutationID(), s.NextMutationID(), s.Outbox()}
}

func assertSameState(t *testing.T, want, got storeState) {
	t.Helper()
	assertConverged(t, want.entities, got.entities)
	if want.cursor != got.cursor || want.lastMutationID != got.lastMutationID || want.nextMutationID != got.nextMutationID {
		t.Errorf("cursor, last, next = %q, %d, %d; want %q, %d, %d", got.cursor, got.lastMutationID,
			got.nextMutationID, want.cursor, want.lastMutationID, want.nextMutationID)
	}
	if len(want.outbox) != len(got.outbox) {
		t.Fatalf("outbox has %d mutations, want %d", len(got.outbox), len(want.outbox))
	}
	for i := range want.outbox {
		if !proto.Equal(want.outbox[i], got.outbox[i]) {
			t.Errorf("outbox[%d] = %v, want %v", i, got.outbox[i], want.outbox[i])
		}
	}
}

func timelinePage(from, n int) []*salesappv1.Change {
	page := make([]*salesappv1.Change, n)
	for i := range page {
		page[i] = testTimeline(from+i, testEpoch)
	}
	return page
}

// fill applies every kind of step to s and to a MemStore, and returns the MemStore.
func fill(t *testing.T, s Store) Store {
	t.Helper()
	mem := NewMemStore()
	for _, st := range []Store{s, mem} {
		steps := []error{
			st.SavePage(append(timelinePage(0, 20), testCustomer(1), testCustomer(2), testCard()), "c1", 0),
			st.Reset(),
			st.SavePage(timelinePage(10, 20), "c2", 0),
			st.SavePage([]*salesappv1.Change{testCustomer(3), {Kind: salesappv1.EntityKind_ENTITY_KIND_TIMELINE_ENTRY,
				Id: uuidN(2, 11), Deleted: true}}, "c3", 4),
			st.ApplyChanges([]*salesappv1.Change{testFolder(1)}),
			st.SaveCursor("c4", 5),
		}
		for i := range 6 {
			_, err := st.Enqueue(&salesappv1.Mutation{Op: &salesappv1.Mutation_MarkAlertsRead{
				MarkAlertsRead: &salesappv1.MarkAlertsRead{ThroughSeq: int32(i + 1)}}})
			steps = append(steps, err)
		}
		steps = append(steps, st.Ack(2))
		if err := errors.Join(steps...); err != nil {
			t.Fatal(err)
		}
	}
	return mem
}

func TestFileStoreReopenReplaysEveryStep(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "r.log")
	s := openTestFile(t, path)
	want := stateOf(fill(t, s))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveCursor("late", 0); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close = %v, want ErrClosed", err)
	}
	s = openTestFile(t, path)
	assertSameState(t, want, stateOf(s))
	if s.DroppedBytes() != 0 {
		t.Errorf("a clean log dropped %d bytes", s.DroppedBytes())
	}
	if s.NextMutationID() != 7 || len(s.Outbox()) != 4 || s.Outbox()[0].GetId() != 3 {
		t.Errorf("next id %d, outbox %v; want 7 and 3..6", s.NextMutationID(), s.Outbox())
	}
}

// Each way a crash or a bad disk can leave the end of the log: the last step is lost, the ones
// before survive, and the store keeps working after the cut.
func TestFileStoreIgnoresTornTail(t *testing.T) {
	t.Parallel()
	damage := map[string]func(data []byte, lastFrame int) []byte{
		"cut mid payload": func(d []byte, last int) []byte { return d[:last+frameHeaderSize+10] },
		"cut mid header":  func(d []byte, last int) []byte { return d[:last+3] },
		"flipped byte":    func(d []byte, last int) []byte { d[len(d)-5] ^= 0x40; return d },
		"bad checksum":    func(d []byte, last int) []byte { d[last+4] ^= 1; return d },
		"huge length":     func(d []byte, last int) []byte { d[last+3] = 0x7f; return d },
		"garbage after":   func(d []byte, _ int) []byte { return append(d, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11) },
	}
	for name, harm := range damage {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "r.log")
			s := openTestFile(t, path)
			if err := s.SavePage(timelinePage(0, 50), "p1", 0); err != nil {
				t.Fatal(err)
			}
			if err := s.SavePage(timelinePage(50, 50), "p2", 0); err != nil {
				t.Fatal(err)
			}
			want := stateOf(s)
			last := s.Size()
			if err := s.SavePage(timelinePage(100, 50), "p3", 0); err != nil {
				t.Fatal(err)
			}
			if name == "garbage after" {
				want, last = stateOf(s), s.Size()
			}
			_ = s.Close()

			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, harm(data, int(last)), 0o600); err != nil {
				t.Fatal(err)
			}
			s = openTestFile(t, path)
			assertSameState(t, want, stateOf(s))
			if s.DroppedBytes() == 0 || s.Size() != last {
				t.Errorf("dropped %d bytes, size %d; want a cut back to %d", s.DroppedBytes(), s.Size(), last)
			}
			// What is written after the cut survives the next reopen.
			if err := s.SavePage(timelinePage(200, 5), "p4", 0); err != nil {
				t.Fatal(err)
			}
			want = stateOf(s)
			_ = s.Close()
			s = openTestFile(t, path)
			assertSameState(t, want, stateOf(s))
			if s.Cursor() != "p4" {
				t.Errorf("cursor %q, want p4", s.Cursor())
			}
		})
	}
}

func TestFileStoreMutationIDsAreNeverReused(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "r.log")
	s := openTestFile(t, path)
	for range 5 {
		if _, err := s.Enqueue(&salesappv1.Mutation{Op: &salesappv1.Mutation_MarkAlertsRead{
			MarkAlertsRead: &salesappv1.MarkAlertsRead{ThroughSeq: 1}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Ack(5); err != nil {
		t.Fatal(err)
	}
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	s = openTestFile(t, path)
	id, err := s.Enqueue(&salesappv1.Mutation{Op: &salesappv1.Mutation_MarkAlertsRead{
		MarkAlertsRead: &salesappv1.MarkAlertsRead{ThroughSeq: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if id != 6 {
		t.Errorf("first id after an emptied outbox, compaction and reopen = %d, want 6", id)
	}
}

func TestFileStoreCompacts(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "r.log")
	s, err := OpenFile(path, FileOptions{NoSync: true, CompactMinBytes: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	mem := fill(t, s)
	maxSize := int64(0)
	for i := range 100 {
		// The same 100 entities again and again: the live state stays the same size.
		page := timelinePage(0, 100)
		for _, c := range page {
			c.GetTimelineEntry().Value = int32(i)
		}
		for _, st := range []Store{s, mem} {
			if err := st.SavePage(page, fmt.Sprint("round-", i), uint32(i)); err != nil {
				t.Fatal(err)
			}
		}
		maxSize = max(maxSize, s.Size())
	}
	want := stateOf(mem)
	assertSameState(t, want, stateOf(s))
	// One round writes about 10 KB; without compaction the log would be 100 times that.
	if maxSize > 128<<10 {
		t.Errorf("log grew to %d bytes", maxSize)
	}
	_ = s.Close()
	// A compaction that crashed before its rename leaves a temporary file, which opening discards.
	if err := os.WriteFile(compactPath(path), []byte("half a snapshot"), 0o600); err != nil {
		t.Fatal(err)
	}
	s2 := openTestFile(t, path)
	assertSameState(t, want, stateOf(s2))
	if _, err := os.Stat(compactPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale compaction file: %v", err)
	}
}

func TestFileStoreRefusesOtherFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("this is not a replica log"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFile(other, FileOptions{}); !errors.Is(err, ErrNotAStore) {
		t.Errorf("open of another file = %v, want ErrNotAStore", err)
	}
	// Shorter than the header but not the start of it: another file, left as it was.
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("hi\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFile(short, FileOptions{}); !errors.Is(err, ErrNotAStore) {
		t.Errorf("open of a short other file = %v, want ErrNotAStore", err)
	}
	if data, err := os.ReadFile(short); err != nil || string(data) != "hi\n" {
		t.Errorf("short other file now holds %q (%v), want it untouched", data, err)
	}
	// A crash while a new log's header was written: the log starts empty.
	torn := filepath.Join(dir, "torn")
	if err := os.WriteFile(torn, []byte(logMagic[:3]), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := OpenFile(torn, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if s.Len() != 0 || s.NextMutationID() != 1 {
		t.Errorf("torn header opened with %d entities, next id %d", s.Len(), s.NextMutationID())
	}
	if err := s.SaveCursor("c", 1); err != nil {
		t.Fatal(err)
	}
}

// A record whose checksum is right but which does not decode is no torn tail: opening fails, naming
// the file and the offset, and cuts nothing (the records after it hold queued mutations).
func TestFileStoreRefusesUndecodableRecord(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "r.log")
	s := openTestFile(t, path)
	if err := s.SavePage(timelinePage(0, 5), "p1", 0); err != nil {
		t.Fatal(err)
	}
	bad := s.Size()
	_ = s.Close()

	// A frame with a good checksum around a record of a kind this version does not know, then a good
	// record after it.
	payload := protowire.AppendVarint(protowire.AppendTag(nil, fieldKind, protowire.VarintType), 99)
	f := binary.LittleEndian.AppendUint32(nil, uint32(len(payload)))
	f = binary.LittleEndian.AppendUint32(f, crc32.Checksum(payload, crcTable))
	f = append(f, payload...)
	good, err := frame(nil, &record{kind: recEnqueue, mutations: []*salesappv1.Mutation{{Id: 1,
		Op: &salesappv1.Mutation_MarkAlertsRead{MarkAlertsRead: &salesappv1.MarkAlertsRead{ThroughSeq: 1}}}}})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data = append(append(data, f...), good...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}

	_, err = OpenFile(path, FileOptions{NoSync: true})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), fmt.Sprint("offset ", bad)) ||
		!errors.Is(err, errBadRecord) {
		t.Fatalf("open = %v, want an error naming %s, offset %d and the malformed record", err, path, bad)
	}
	if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, data) {
		t.Errorf("the log was changed (%d bytes, was %d; %v)", len(after), len(data), err)
	}
}

// A compaction that breaks the log after the record that triggered it was written: that step still
// succeeds (an enqueued mutation is in the outbox and must not be enqueued again), and the next write
// fails with ErrClosed.
func TestFileStoreCompactionFailureAfterTheWrite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "r.log")
	s := openTestFile(t, path)
	for i := range 10 { // the same entities again and again: the log outgrows the live state
		if err := s.SavePage(timelinePage(0, 20), fmt.Sprint("p", i), 0); err != nil {
			t.Fatal(err)
		}
	}
	// The next write compacts, and the compaction fails after its rename, reopening the new log.
	s.log.compactMin = 1
	errReopen := errors.New("injected: cannot reopen the compacted log")
	reopens := 0
	s.log.open = func(string, int, os.FileMode) (*os.File, error) {
		reopens++
		return nil, errReopen
	}
	id, err := s.Enqueue(&salesappv1.Mutation{Op: &salesappv1.Mutation_MarkAlertsRead{
		MarkAlertsRead: &salesappv1.MarkAlertsRead{ThroughSeq: 1}}})
	if err != nil || id != 1 {
		t.Fatalf("enqueue = %d, %v; want 1 and no error: the mutation was written before the compaction failed", id, err)
	}
	if reopens != 1 {
		t.Fatalf("%d compactions, want 1", reopens)
	}
	if out := s.Outbox(); len(out) != 1 || out[0].GetId() != 1 {
		t.Errorf("outbox %v, want mutation 1", out)
	}
	err = s.SaveCursor("late", 0)
	if !errors.Is(err, ErrClosed) || !errors.Is(err, errReopen) {
		t.Errorf("write after the failed compaction = %v, want ErrClosed wrapping the cause", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("close = %v", err)
	}

	// The compacted log was renamed into place before the failure: it holds the mutation once.
	s = openTestFile(t, path)
	if out := s.Outbox(); len(out) != 1 || out[0].GetId() != 1 || s.NextMutationID() != 2 {
		t.Errorf("reopened outbox %v, next id %d; want mutation 1 and 2", out, s.NextMutationID())
	}
	if s.Cursor() != "p9" || s.Len() != 20 {
		t.Errorf("reopened with cursor %q and %d entities, want p9 and 20", s.Cursor(), s.Len())
	}
}
