package replica

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
)

func fastRetry() Option {
	return WithRetry(RetryPolicy{MaxAttempts: 5, BaseDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond})
}

func newTestClient(t testing.TB, srv *httptest.Server, store Store, opts ...Option) *Client {
	t.Helper()
	c, err := New(srv.Client(), srv.URL, func() string { return testToken }, "device-1", store,
		append([]Option{fastRetry()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func openTestFile(t testing.TB, path string) *FileStore {
	t.Helper()
	s, err := OpenFile(path, FileOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// stores runs a test against a MemStore and a FileStore.
func stores(t *testing.T, run func(t *testing.T, newStore func() Store)) {
	t.Run("mem", func(t *testing.T) {
		t.Parallel()
		run(t, func() Store { return NewMemStore() })
	})
	t.Run("file", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		n := 0
		run(t, func() Store {
			n++
			return openTestFile(t, filepath.Join(dir, fmt.Sprintf("replica-%d.log", n)))
		})
	})
}

func mustSync(t testing.TB, c *Client) SyncReport {
	t.Helper()
	rep, err := c.Sync(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func assertConverged(t testing.TB, want, got map[Key]proto.Message) {
	t.Helper()
	if len(want) != len(got) {
		t.Errorf("replica has %d entities, server view %d", len(got), len(want))
	}
	bad := 0
	for k, w := range want {
		if g, ok := got[k]; !ok || !proto.Equal(w, g) {
			if bad++; bad <= 5 {
				t.Errorf("%s: replica has %v, server %v", k, g, w)
			}
		}
	}
}

func TestSyncPagesThenIncremental(t *testing.T) {
	t.Parallel()
	for _, codec := range []struct {
		name string
		opts []connect.ClientOption
	}{{"binary", nil}, {"json", []connect.ClientOption{connect.WithProtoJSON()}}} {
		t.Run(codec.name, func(t *testing.T) {
			t.Parallel()
			stores(t, func(t *testing.T, newStore func() Store) {
				fs := newFakeServer()
				fs.seed(200, 1490) // + card, 3 folders, 3 materials, 3 alerts = 1700
				c := newTestClient(t, fs.start(t), newStore(), WithPageSize(500), WithConnectOptions(codec.opts...))

				rep := mustSync(t, c)
				if rep.Pages != 4 || rep.Changes != 1700 || rep.Resets != 0 {
					t.Errorf("first sync: %+v, want 4 pages of 1700 changes", rep)
				}
				assertConverged(t, fs.view(), c.Entities())

				fs.mu.Lock()
				upd := testCustomer(5)
				upd.GetCustomer().Stage = salesappv1.CustomerStage_CUSTOMER_STAGE_WON
				fs.put(upd)
				fs.remove(KeyOf(testCustomer(6)))
				fs.put(testTimeline(5000, testEpoch))
				fs.mu.Unlock()

				rep = mustSync(t, c)
				if rep.Pages != 1 || rep.Changes != 3 {
					t.Errorf("incremental sync: %+v, want 1 page of 3 changes", rep)
				}
				assertConverged(t, fs.view(), c.Entities())
				if _, ok := c.Get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, uuidN(1, 6)); ok {
					t.Error("tombstoned customer is still in the replica")
				}
			})
		})
	}
}

func TestSyncResetDropsTheReplica(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, newStore func() Store) {
		fs := newFakeServer()
		fs.seed(50, 100)
		c := newTestClient(t, fs.start(t), newStore(), WithPageSize(40))
		mustSync(t, c)
		// The server deletes a customer and then forgets the tombstone: only a reset can tell the device.
		fs.mu.Lock()
		fs.remove(KeyOf(testCustomer(1)))
		fs.forgetTombstones()
		fs.mu.Unlock()

		rep := mustSync(t, c)
		if rep.Resets != 1 {
			t.Errorf("resets = %d, want 1", rep.Resets)
		}
		assertConverged(t, fs.view(), c.Entities())
		if _, ok := c.Get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, uuidN(1, 1)); ok {
			t.Error("customer deleted before the reset survived it")
		}
	})
}

func TestSyncRepeatedChangesAreIdempotent(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, newStore func() Store) {
		fs := newFakeServer()
		fs.overlap = true // every page repeats the last change of the page before
		fs.seed(100, 300)
		c := newTestClient(t, fs.start(t), newStore(), WithPageSize(64))
		rep := mustSync(t, c)
		if rep.Changes <= 410 {
			t.Errorf("%d changes delivered, want repeats beyond the 410 entities", rep.Changes)
		}
		assertConverged(t, fs.view(), c.Entities())
	})
}

func TestSyncRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, newStore func() Store) {
		fs := newFakeServer()
		fs.seed(30, 30)
		fs.failPulls, fs.dropPulls = 2, 2 // four failures in a row, within five attempts
		c := newTestClient(t, fs.start(t), newStore(), WithPageSize(25))
		mustSync(t, c)
		assertConverged(t, fs.view(), c.Entities())
	})
}

func TestSyncGivesUpThenResumes(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, newStore func() Store) {
		fs := newFakeServer()
		fs.seed(30, 70)
		c := newTestClient(t, fs.start(t), newStore(), WithPageSize(25))
		// Fail from the third pull on, for longer than the retry policy lasts.
		fs.mu.Lock()
		fs.onPull = func() {
			if fs.pulls == 3 {
				fs.failPulls = 100
			}
		}
		fs.mu.Unlock()
		rep, err := c.Sync(t.Context())
		if connect.CodeOf(err) != connect.CodeUnavailable {
			t.Fatalf("sync error = %v, want unavailable", err)
		}
		if !strings.HasPrefix(err.Error(), "replica: pull failed after 5 attempts: ") {
			t.Errorf("sync error = %v, want it to name the operation and the attempts", err)
		}
		if rep.Pages != 2 || c.Store().Len() != 50 {
			t.Errorf("%d pages, %d entities kept after the failure; want 2 and 50", rep.Pages, c.Store().Len())
		}
		fs.mu.Lock()
		fs.onPull, fs.failPulls = nil, 0
		fs.mu.Unlock()
		rep = mustSync(t, c)
		if rep.Changes != 110-50 {
			t.Errorf("resumed sync pulled %d changes, want the 60 not saved yet", rep.Changes)
		}
		assertConverged(t, fs.view(), c.Entities())
	})
}

func TestSyncHonoursContextWhileBackingOff(t *testing.T) {
	t.Parallel()
	fs := newFakeServer()
	fs.seed(3, 3)
	ctx, cancel := context.WithCancel(t.Context())
	fs.failPulls = 1
	fs.onPull = cancel // the client learns of the cancellation while it waits to retry
	c := newTestClient(t, fs.start(t), NewMemStore(),
		WithRetry(RetryPolicy{MaxAttempts: 5, BaseDelay: time.Hour, MaxDelay: time.Hour}))
	if _, err := c.Sync(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("sync error = %v, want context.Canceled", err)
	}
}

func TestSyncReportsRetryAfterAndLastMutation(t *testing.T) {
	t.Parallel()
	fs := newFakeServer()
	fs.seed(3, 0)
	fs.retryAfterMs = 1500
	c := newTestClient(t, fs.start(t), NewMemStore())
	for range 3 {
		if _, err := c.Enqueue(&salesappv1.SetStage{CustomerId: uuidN(1, 1), Stage: salesappv1.CustomerStage_CUSTOMER_STAGE_CONTACTED}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Push(t.Context()); err != nil {
		t.Fatal(err)
	}
	rep := mustSync(t, c)
	if rep.RetryAfter != 1500*time.Millisecond || rep.LastMutationID != 3 || c.Store().LastMutationID() != 3 {
		t.Errorf("report %+v, stored last mutation %d; want retry after 1.5s and last mutation 3",
			rep, c.Store().LastMutationID())
	}
	got, _ := c.Get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, uuidN(1, 1))
	if got.(*salesappv1.SyncCustomer).GetStage() != salesappv1.CustomerStage_CUSTOMER_STAGE_CONTACTED {
		t.Errorf("customer after pull: %v", got)
	}
}

// A crash after a page's changes are saved but before its cursor is: the page is pulled again.
func TestCrashBetweenPageAndCursorConverges(t *testing.T) {
	t.Parallel()
	fs := newFakeServer()
	fs.seed(100, 400) // 510 entities
	srv := fs.start(t)
	path := filepath.Join(t.TempDir(), "replica.log")

	errCrash := errors.New("crash")
	saves := 0
	store := openTestFile(t, path)
	c := newTestClient(t, srv, store, WithPageSize(100), WithSplitPageSaves(func() error {
		if saves++; saves == 3 {
			return errCrash
		}
		return nil
	}))
	if _, err := c.Sync(t.Context()); !errors.Is(err, errCrash) {
		t.Fatalf("sync error = %v, want the crash", err)
	}
	_ = store.Close()

	store = openTestFile(t, path)
	if store.Len() != 300 {
		t.Errorf("reopened with %d entities, want the 3 pages whose changes were saved", store.Len())
	}
	c = newTestClient(t, srv, store, WithPageSize(100))
	rep := mustSync(t, c)
	if rep.Changes != 510-200 {
		t.Errorf("resumed sync pulled %d changes, want 310: the third page again and the rest", rep.Changes)
	}
	assertConverged(t, fs.view(), c.Entities())
}

func TestSyncAsksForTheNextPageWhileSavingOne(t *testing.T) {
	t.Parallel()
	fs := newFakeServer()
	fs.seed(100, 400) // 510 entities: 6 pages of 100
	srv := fs.start(t)
	pullsSeen := func() int {
		fs.mu.Lock()
		defer fs.mu.Unlock()
		return fs.pulls
	}
	saves := 0
	c := newTestClient(t, srv, openTestFile(t, filepath.Join(t.TempDir(), "replica.log")), WithPageSize(100),
		WithSplitPageSaves(func() error {
			saves++
			if saves == 6 {
				return nil // the last page: nothing more to ask for
			}
			// While page n is saved, page n+1 is asked for: wait (a while at most) for its pull.
			deadline := time.Now().Add(10 * time.Second)
			for pullsSeen() < saves+1 {
				if time.Now().After(deadline) {
					return fmt.Errorf("page %d saved with %d pulls made: the next page was not asked for meanwhile", saves, pullsSeen())
				}
				time.Sleep(time.Millisecond)
			}
			return nil
		}))
	rep := mustSync(t, c)
	if rep.Pages != 6 || rep.Changes != 510 || pullsSeen() != 6 {
		t.Errorf("sync: %+v with %d pulls, want 6 pages of 510 changes and no pull more", rep, pullsSeen())
	}
	assertConverged(t, fs.view(), c.Entities())
}

func TestPushAppliesOnceWhenAnswersAreLost(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, newStore func() Store) {
		fs := newFakeServer()
		fs.seed(10, 0)
		c := newTestClient(t, fs.start(t), newStore())
		// Each mutation adds its own tag: one applied twice would leave its tag twice.
		for i := range 5 {
			if _, err := c.Enqueue(&salesappv1.TagCustomer{CustomerId: uuidN(1, i), Tag: fmt.Sprint("t", i)}); err != nil {
				t.Fatal(err)
			}
		}
		fs.mu.Lock()
		fs.dropPushes = 2 // applied, answer lost; then answered from the record
		fs.mu.Unlock()
		rep, err := c.Push(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Results) != 5 || len(rep.NotApplied()) != 0 || rep.LastMutationID != 5 {
			t.Errorf("report %v, want 5 applied through 5", rep)
		}
		if n := len(c.Store().Outbox()); n != 0 {
			t.Errorf("outbox has %d left", n)
		}
		fs.mu.Lock()
		defer fs.mu.Unlock()
		if fs.pushes != 3 {
			t.Errorf("%d push requests, want 3", fs.pushes)
		}
		// The batch whose answer was lost is sent again as it was: the same ids, not renumbered.
		if got, want := fmt.Sprint(fs.pushIDs), "[[1 2 3 4 5] [1 2 3 4 5] [1 2 3 4 5]]"; got != want {
			t.Errorf("push requests carried ids %s, want %s", got, want)
		}
		for i := range 5 {
			tags := fs.rows[KeyOf(testCustomer(i))].change.GetCustomer().GetTags()
			if got, want := fmt.Sprint(tags), fmt.Sprintf("[vip t%d]", i); got != want {
				t.Errorf("customer %d has tags %s, want %s: each mutation applied once", i, got, want)
			}
		}
	})
}

func TestPushReportsLostAndRejected(t *testing.T) {
	t.Parallel()
	fs := newFakeServer()
	fs.seed(3, 0)
	c := newTestClient(t, fs.start(t), NewMemStore())
	ops := []proto.Message{
		&salesappv1.SetStage{CustomerId: uuidN(1, 999), Stage: salesappv1.CustomerStage_CUSTOMER_STAGE_WON}, // no such customer: lost
		&salesappv1.TagCustomer{CustomerId: uuidN(1, 1), Tag: "forbidden"},                                  // rejected
		&salesappv1.AddNote{NoteId: uuidN(3, 1), CustomerId: uuidN(1, 1), Kind: "note", Body: "hi"},
	}
	for _, op := range ops {
		if _, err := c.Enqueue(op); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := c.Push(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	bad := rep.NotApplied()
	if len(bad) != 2 ||
		bad[0].GetId() != 1 || bad[0].GetOutcome() != salesappv1.MutationResult_OUTCOME_LOST ||
		bad[1].GetId() != 2 || bad[1].GetOutcome() != salesappv1.MutationResult_OUTCOME_REJECTED ||
		bad[1].GetCode() != "permission_denied" || bad[1].GetField() != "tag" {
		t.Errorf("not applied: %v", bad)
	}
	if n := len(c.Store().Outbox()); n != 0 {
		t.Errorf("outbox has %d left; lost and rejected mutations must leave it too", n)
	}
	mustSync(t, c)
	if _, ok := c.Get(salesappv1.EntityKind_ENTITY_KIND_NOTE, uuidN(3, 1)); !ok {
		t.Error("the applied note is not in the replica after a pull")
	}
}

func TestPushSendsBatchesInOrder(t *testing.T) {
	t.Parallel()
	fs := newFakeServer()
	fs.seed(10, 0)
	c := newTestClient(t, fs.start(t), NewMemStore())
	for i := range 1203 {
		if _, err := c.Enqueue(&salesappv1.TagCustomer{CustomerId: uuidN(1, i%10), Tag: fmt.Sprint("t", i)}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := c.Push(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 1203 || rep.LastMutationID != 1203 {
		t.Errorf("%d results through %d, want 1203", len(rep.Results), rep.LastMutationID)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var sizes []int
	next := uint32(1)
	for _, ids := range fs.pushIDs {
		sizes = append(sizes, len(ids))
		for _, id := range ids {
			if id != next {
				t.Fatalf("push requests carried ids %v, want 1..1203 in order, each once", fs.pushIDs)
			}
			next++
		}
	}
	if fmt.Sprint(sizes) != "[500 500 203]" {
		t.Errorf("push sizes %v, want [500 500 203]", sizes)
	}
}

func TestPushKeepsOutboxOnPersistentFailure(t *testing.T) {
	t.Parallel()
	fs := newFakeServer()
	fs.seed(3, 0)
	fs.failPushes = 100
	c := newTestClient(t, fs.start(t), NewMemStore())
	for range 3 {
		if _, err := c.Enqueue(&salesappv1.MarkAlertsRead{ThroughSeq: 2}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Push(t.Context()); connect.CodeOf(err) != connect.CodeUnavailable ||
		!strings.HasPrefix(err.Error(), "replica: push failed after 5 attempts: ") {
		t.Fatalf("push error = %v, want unavailable after 5 attempts", err)
	}
	if n := len(c.Store().Outbox()); n != 3 {
		t.Errorf("outbox has %d after a failed push, want 3", n)
	}
	fs.mu.Lock()
	fs.failPushes = 0
	fs.mu.Unlock()
	if _, err := c.Push(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(c.Store().Outbox()); n != 0 {
		t.Errorf("outbox has %d after a good push", n)
	}
}

func TestPushGapIsRefusedAndKept(t *testing.T) {
	t.Parallel()
	fs := newFakeServer()
	fs.seed(3, 0)
	store := NewMemStore()
	c := newTestClient(t, fs.start(t), store)
	// The device believes 1 and 2 were answered; this server never saw them.
	for range 3 {
		if _, err := c.Enqueue(&salesappv1.MarkAlertsRead{ThroughSeq: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Ack(2); err != nil {
		t.Fatal(err)
	}
	_, err := c.Push(t.Context())
	if !errors.Is(err, ErrGap) || connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Fatalf("push error = %v, want ErrGap", err)
	}
	if out := store.Outbox(); len(out) != 1 || out[0].GetId() != 3 {
		t.Errorf("outbox %v, want mutation 3 kept", out)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.pushes != 1 {
		t.Errorf("%d push requests, want 1: a gap is not transient", fs.pushes)
	}
}

func TestUnsupportedSchemaIsFatal(t *testing.T) {
	t.Parallel()
	fs := newFakeServer()
	fs.seed(3, 0)
	fs.minSchema, fs.maxSchema = 2, 3
	srv := fs.start(t)
	c := newTestClient(t, srv, NewMemStore())
	if _, err := c.Sync(t.Context()); !errors.Is(err, ErrSchemaUnsupported) {
		t.Fatalf("sync error = %v, want ErrSchemaUnsupported", err)
	}
	if _, err := c.Enqueue(&salesappv1.MarkAlertsRead{ThroughSeq: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Push(t.Context()); !errors.Is(err, ErrSchemaUnsupported) {
		t.Fatalf("push error = %v, want ErrSchemaUnsupported", err)
	}
	fs.mu.Lock()
	if fs.calls != 1 {
		t.Errorf("%d requests, want 1: a fatal error is not retried or repeated", fs.calls)
	}
	fs.mu.Unlock()

	c2 := newTestClient(t, srv, NewMemStore(), WithSchemaVersion(3))
	if _, err := c2.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestBearerTokenIsSent(t *testing.T) {
	t.Parallel()
	fs := newFakeServer()
	srv := fs.start(t)
	c, err := New(srv.Client(), srv.URL, func() string { return "wrong" }, "device-1", NewMemStore(), fastRetry())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sync(t.Context()); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("sync error = %v, want unauthenticated", err)
	}
	// No token, no header.
	c, err = New(srv.Client(), srv.URL, func() string { return "" }, "device-1", NewMemStore(), fastRetry())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sync(t.Context()); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("sync error = %v, want unauthenticated", err)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.calls != 2 {
		t.Errorf("%d requests, want 2: unauthenticated is not transient", fs.calls)
	}
	if got := fmt.Sprintf("%q", fs.auth); got != `["Bearer wrong" ""]` {
		t.Errorf("Authorization headers %s, want \"Bearer wrong\" then none", got)
	}
}

func TestEnqueue(t *testing.T) {
	t.Parallel()
	c, err := New(nil, "http://unused", nil, "device-1", NewMemStore())
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []proto.Message{
		&salesappv1.SetStage{CustomerId: uuidN(1, 1), Stage: salesappv1.CustomerStage(42)},
		&salesappv1.SyncCustomer{Id: "x"},
		&salesappv1.Mutation{},
		nil,
	} {
		if _, err := c.Enqueue(bad); !errors.Is(err, ErrInvalidMutation) {
			t.Errorf("Enqueue(%v) = %v, want ErrInvalidMutation", bad, err)
		}
	}
	id1, err := c.Enqueue(&salesappv1.UpdateMyCard{Title: proto.String("Director")})
	if err != nil {
		t.Fatal(err)
	}
	id2, err := c.Enqueue(&salesappv1.Mutation{Id: 77, Op: &salesappv1.Mutation_DeleteNote{
		DeleteNote: &salesappv1.DeleteNote{NoteId: uuidN(3, 1)}}})
	if err != nil {
		t.Fatal(err)
	}
	out := c.Store().Outbox()
	if id1 != 1 || id2 != 2 || len(out) != 2 || out[0].GetUpdateMyCard().GetTitle() != "Director" ||
		out[1].GetId() != 2 || out[1].GetDeleteNote() == nil {
		t.Errorf("ids %d, %d; outbox %v", id1, id2, out)
	}
}

func TestConcurrentEnqueuePushAndSync(t *testing.T) {
	t.Parallel()
	fs := newFakeServer()
	fs.seed(20, 50)
	c := newTestClient(t, fs.start(t), openTestFile(t, filepath.Join(t.TempDir(), "r.log")), WithPushBatchSize(7))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				// Each mutation adds its own tag, so the server's customers show how often each was applied.
				if _, err := c.Enqueue(&salesappv1.TagCustomer{CustomerId: uuidN(1, (w*50+i)%20), Tag: fmt.Sprintf("w%d-%d", w, i)}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range 10 {
				if _, err := c.Push(t.Context()); err != nil {
					t.Error(err)
				}
				if _, err := c.Sync(t.Context()); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if _, err := c.Push(t.Context()); err != nil {
		t.Fatal(err)
	}
	mustSync(t, c)
	assertConverged(t, fs.view(), c.Entities())
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if d := fs.device("device-1"); d.last != 200 {
		t.Errorf("server's last mutation is %d, want 200", d.last)
	}
	// Nothing was lost on the way, so each id went out in exactly one request.
	sent := make(map[uint32]int)
	for _, ids := range fs.pushIDs {
		for _, id := range ids {
			sent[id]++
		}
	}
	for id := uint32(1); id <= 200; id++ {
		if sent[id] != 1 {
			t.Errorf("mutation %d sent in %d requests, want 1", id, sent[id])
		}
	}
	tags := make(map[string]int)
	for i := range 20 {
		for _, tag := range fs.rows[KeyOf(testCustomer(i))].change.GetCustomer().GetTags() {
			tags[tag]++
		}
	}
	for w := range 4 {
		for i := range 50 {
			if tag := fmt.Sprintf("w%d-%d", w, i); tags[tag] != 1 {
				t.Errorf("tag %s applied %d times, want 1", tag, tags[tag])
			}
		}
	}
}

func TestPruneDropsExpiredEntities(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, newStore func() Store) {
		now := testEpoch
		s := newStore()
		page := []*salesappv1.Change{
			testTimeline(1, now.Add(-91*24*time.Hour)),
			testTimeline(2, now.Add(-89*24*time.Hour)),
			testAlert(1, now.Add(-8*24*time.Hour)),
			testAlert(2, now.Add(-6*24*time.Hour)),
			testCustomer(1),
			// Offered only: gone at its end. On it: kept 90 days after.
			testTask(1, false, now),
			testTask(2, false, now.Add(time.Minute)),
			testTask(3, true, now.Add(-91*24*time.Hour)),
			testTask(4, true, now.Add(-89*24*time.Hour)),
		}
		if err := s.SavePage(page, "c1", 0); err != nil {
			t.Fatal(err)
		}
		n, err := s.Prune(now)
		if err != nil {
			t.Fatal(err)
		}
		want := make(map[Key]proto.Message)
		for _, c := range []*salesappv1.Change{page[1], page[3], page[4], page[6], page[8]} {
			want[KeyOf(c)] = EntityOf(c)
		}
		if n != 4 {
			t.Errorf("pruned %d, want 4", n)
		}
		assertConverged(t, want, s.Entities())
		if s.Cursor() != "c1" {
			t.Errorf("cursor %q after prune", s.Cursor())
		}
	})
}
