package replica

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
)

const testToken = "test-token"

// fakeServer implements the SyncService protocol over an in-memory model: every write gets the next
// sequence number, and a cursor is "epoch.seq.lastMutationID".
type fakeServer struct {
	mu sync.Mutex

	epoch int
	seq   uint64
	rows  map[Key]*fakeRow
	order []fakeEntry // (key, seq) in seq order; an entry is stale once its row has a later seq

	devices map[string]*fakeDevice

	minSchema, maxSchema uint32

	// Knobs a test sets under mu.
	failPulls, failPushes int        // answer Unavailable before doing anything
	dropPulls, dropPushes int        // do the work, then break the connection instead of answering
	overlap               bool       // next_cursor one change early, so each page repeats the last one
	retryAfterMs          uint32     // on the last page
	calls                 int        // requests that reached the handlers
	pulls, pushes         int        // requests handled (not counting auth or schema failures)
	onPull                func()     // called at the start of each pull, under mu
	pushIDs               [][]uint32 // the mutation ids each push request carried, in order
	auth                  []string   // the Authorization header of each request that reached the handlers
}

type fakeRow struct {
	seq    uint64
	change *salesappv1.Change
}

type fakeEntry struct {
	key Key
	seq uint64
}

type fakeDevice struct {
	last    uint32
	results map[uint32]*salesappv1.MutationResult
}

func newFakeServer() *fakeServer {
	return &fakeServer{
		epoch:     1,
		rows:      make(map[Key]*fakeRow),
		devices:   make(map[string]*fakeDevice),
		minSchema: 1,
		maxSchema: 1,
	}
}

// start serves the fake over httptest; the server is closed when the test ends.
func (s *fakeServer) start(t testing.TB) *httptest.Server {
	mux := http.NewServeMux()
	path, h := salesappv1connect.NewSyncServiceHandler(s)
	mux.Handle(path, s.dropping(h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// dropping runs the handler and then, when the test asked for it, breaks the connection instead of
// sending the answer: the server did the work and the client never hears of it.
func (s *fakeServer) dropping(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		drop := false
		switch {
		case strings.HasSuffix(r.URL.Path, "/Pull") && s.dropPulls > 0:
			s.dropPulls--
			drop = true
		case strings.HasSuffix(r.URL.Path, "/Push") && s.dropPushes > 0:
			s.dropPushes--
			drop = true
		}
		s.mu.Unlock()
		if !drop {
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		_ = conn.Close()
	})
}

// put stores an upsert at the next seq.
func (s *fakeServer) put(c *salesappv1.Change) {
	s.seq++
	k := KeyOf(c)
	s.rows[k] = &fakeRow{seq: s.seq, change: c}
	s.order = append(s.order, fakeEntry{key: k, seq: s.seq})
}

// remove stores a tombstone at the next seq.
func (s *fakeServer) remove(k Key) {
	s.put(&salesappv1.Change{Kind: k.Kind, Id: k.ID, Deleted: true})
}

// forgetTombstones drops tombstones and starts a new epoch, as a server that compacts its change log
// does: cursors from before cannot be continued without missing deletes.
func (s *fakeServer) forgetTombstones() {
	for k, r := range s.rows {
		if r.change.GetDeleted() {
			delete(s.rows, k)
		}
	}
	s.epoch++
}

// view is what a device with a perfect replica holds.
func (s *fakeServer) view() map[Key]proto.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[Key]proto.Message)
	for k, r := range s.rows {
		if e := EntityOf(r.change); e != nil {
			out[k] = e
		}
	}
	return out
}

func (s *fakeServer) device(id string) *fakeDevice {
	d := s.devices[id]
	if d == nil {
		d = &fakeDevice{results: make(map[uint32]*salesappv1.MutationResult)}
		s.devices[id] = d
	}
	return d
}

func (s *fakeServer) check(h http.Header, schema uint32) error {
	s.calls++
	s.auth = append(s.auth, h.Get("Authorization"))
	if h.Get("Authorization") != "Bearer "+testToken {
		return connect.NewError(connect.CodeUnauthenticated, fmt.Errorf("bad token"))
	}
	if schema < s.minSchema || schema > s.maxSchema {
		return connect.NewError(connect.CodeFailedPrecondition,
			fmt.Errorf("schema version %d unsupported: this server accepts %d to %d", schema, s.minSchema, s.maxSchema))
	}
	return nil
}

// Pull implements salesappv1connect.SyncServiceHandler.
func (s *fakeServer) Pull(_ context.Context, req *connect.Request[salesappv1.PullRequest]) (*connect.Response[salesappv1.PullResponse], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(req.Header(), req.Msg.GetSchemaVersion()); err != nil {
		return nil, err
	}
	s.pulls++
	if s.onPull != nil {
		s.onPull()
	}
	if s.failPulls > 0 {
		s.failPulls--
		return nil, connect.NewError(connect.CodeUnavailable, fmt.Errorf("try again"))
	}
	after, lmid := uint64(0), uint64(0)
	if c := req.Msg.GetCursor(); c != "" {
		var epoch int
		var ok bool
		epoch, after, lmid, ok = parseFakeCursor(c)
		if !ok || epoch != s.epoch {
			return connect.NewResponse(&salesappv1.PullResponse{MustReset: true}), nil
		}
	}
	size := int(req.Msg.GetPageSize())
	if size == 0 {
		size = 1000
	}
	i := sort.Search(len(s.order), func(i int) bool { return s.order[i].seq > after })
	var changes []*salesappv1.Change
	last := after
	for ; i < len(s.order) && len(changes) < size; i++ {
		e := s.order[i]
		if r := s.rows[e.key]; r != nil && r.seq == e.seq {
			changes = append(changes, r.change)
			last = e.seq
		}
	}
	hasMore := false
	for ; i < len(s.order); i++ {
		if r := s.rows[s.order[i].key]; r != nil && r.seq == s.order[i].seq {
			hasMore = true
			break
		}
	}
	resp := &salesappv1.PullResponse{Changes: changes, HasMore: hasMore}
	if hasMore && s.overlap && len(changes) >= 2 {
		last = s.rows[KeyOf(changes[len(changes)-2])].seq
	}
	if !hasMore {
		lmid = uint64(s.device(req.Msg.GetDeviceId()).last)
		resp.RetryAfterMs = s.retryAfterMs
	}
	resp.LastMutationId = uint32(lmid)
	resp.NextCursor = fmt.Sprintf("%d.%d.%d", s.epoch, last, lmid)
	return connect.NewResponse(resp), nil
}

func parseFakeCursor(c string) (epoch int, seq, lmid uint64, ok bool) {
	parts := strings.Split(c, ".")
	if len(parts) != 3 {
		return 0, 0, 0, false
	}
	epoch, err1 := strconv.Atoi(parts[0])
	seq, err2 := strconv.ParseUint(parts[1], 10, 64)
	lmid, err3 := strconv.ParseUint(parts[2], 10, 64)
	return epoch, seq, lmid, err1 == nil && err2 == nil && err3 == nil
}

// Push implements salesappv1connect.SyncServiceHandler.
func (s *fakeServer) Push(_ context.Context, req *connect.Request[salesappv1.PushRequest]) (*connect.Response[salesappv1.PushResponse], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(req.Header(), req.Msg.GetSchemaVersion()); err != nil {
		return nil, err
	}
	s.pushes++
	ids := make([]uint32, 0, len(req.Msg.GetMutations()))
	for _, m := range req.Msg.GetMutations() {
		ids = append(ids, m.GetId())
	}
	s.pushIDs = append(s.pushIDs, ids)
	if s.failPushes > 0 {
		s.failPushes--
		return nil, connect.NewError(connect.CodeUnavailable, fmt.Errorf("try again"))
	}
	d := s.device(req.Msg.GetDeviceId())
	resp := &salesappv1.PushResponse{}
	for _, m := range req.Msg.GetMutations() {
		if m.GetId() <= d.last {
			resp.Results = append(resp.Results, d.results[m.GetId()])
			continue
		}
		if m.GetId() != d.last+1 {
			return nil, connect.NewError(connect.CodeFailedPrecondition,
				fmt.Errorf("mutation id gap: got %d after %d", m.GetId(), d.last))
		}
		res := s.apply(m)
		res.Id = m.GetId()
		d.results[m.GetId()] = res
		d.last = m.GetId()
		resp.Results = append(resp.Results, res)
	}
	resp.LastMutationId = d.last
	return connect.NewResponse(resp), nil
}

func (s *fakeServer) apply(m *salesappv1.Mutation) *salesappv1.MutationResult {
	applied := &salesappv1.MutationResult{Outcome: salesappv1.MutationResult_OUTCOME_APPLIED}
	lost := &salesappv1.MutationResult{Outcome: salesappv1.MutationResult_OUTCOME_LOST}
	customer := func(id string) *salesappv1.SyncCustomer {
		r := s.rows[Key{salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, id}]
		if r == nil || r.change.GetDeleted() {
			return nil
		}
		return proto.CloneOf(r.change.GetCustomer())
	}
	switch op := m.GetOp().(type) {
	case *salesappv1.Mutation_SetStage:
		c := customer(op.SetStage.GetCustomerId())
		if c == nil {
			return lost
		}
		c.Stage = op.SetStage.GetStage()
		s.put(customerChange(c))
	case *salesappv1.Mutation_TagCustomer:
		if op.TagCustomer.GetTag() == "forbidden" {
			return &salesappv1.MutationResult{Outcome: salesappv1.MutationResult_OUTCOME_REJECTED,
				Code: "permission_denied", Field: "tag", Message: "this tag is reserved"}
		}
		c := customer(op.TagCustomer.GetCustomerId())
		if c == nil {
			return lost
		}
		c.Tags = append(c.Tags, op.TagCustomer.GetTag())
		s.put(customerChange(c))
	case *salesappv1.Mutation_AddNote:
		if customer(op.AddNote.GetCustomerId()) == nil {
			return lost
		}
		s.put(&salesappv1.Change{Kind: salesappv1.EntityKind_ENTITY_KIND_NOTE, Id: op.AddNote.GetNoteId(),
			Entity: &salesappv1.Change_Note{Note: &salesappv1.SyncNote{
				Id: op.AddNote.GetNoteId(), CustomerId: op.AddNote.GetCustomerId(),
				Kind: op.AddNote.GetKind(), Body: op.AddNote.GetBody()}}})
	case *salesappv1.Mutation_DeleteNote:
		k := Key{salesappv1.EntityKind_ENTITY_KIND_NOTE, op.DeleteNote.GetNoteId()}
		if r := s.rows[k]; r == nil || r.change.GetDeleted() {
			return lost
		}
		s.remove(k)
	}
	return applied
}

// Test entities. Ids are UUIDs so that mutations naming them pass the request rules.

func uuidN(prefix, i int) string { return fmt.Sprintf("00000000-0000-4000-%04d-%012d", prefix, i) }

var testEpoch = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func customerChange(c *salesappv1.SyncCustomer) *salesappv1.Change {
	return &salesappv1.Change{Kind: salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, Id: c.GetId(),
		Entity: &salesappv1.Change_Customer{Customer: c}}
}

func testCustomer(i int) *salesappv1.Change {
	return customerChange(&salesappv1.SyncCustomer{
		Id: uuidN(1, i), DisplayName: fmt.Sprintf("Customer %d", i), Phone: "+8613800000000",
		Stage: salesappv1.CustomerStage_CUSTOMER_STAGE_NEW, SourceChannel: salesappv1.ShareChannel_SHARE_CHANNEL_QR, Tags: []string{"vip"}, Views: int32(i % 50),
		DwellMs: int32(i) * 1000, IntentScore: int32(i % 100),
		FirstSeenAt: timestamppb.New(testEpoch), LastActiveAt: timestamppb.New(testEpoch.Add(time.Hour)),
	})
}

func testTimeline(i int, at time.Time) *salesappv1.Change {
	id := uuidN(2, i)
	return &salesappv1.Change{Kind: salesappv1.EntityKind_ENTITY_KIND_TIMELINE_ENTRY, Id: id,
		Entity: &salesappv1.Change_TimelineEntry{TimelineEntry: &salesappv1.SyncTimelineEntry{
			Id: id, CustomerId: uuidN(1, i/10), Kind: salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, MaterialId: uuidN(6, i%7),
			OccurredAt: timestamppb.New(at), DwellMs: 12000, Value: 1}}}
}

func testAlert(i int, at time.Time) *salesappv1.Change {
	id := uuidN(5, i)
	return &salesappv1.Change{Kind: salesappv1.EntityKind_ENTITY_KIND_ALERT, Id: id,
		Entity: &salesappv1.Change_Alert{Alert: &salesappv1.SyncAlert{
			AlertId: id, Seq: int32(i), Kind: salesappv1.AlertKind_ALERT_KIND_FIRST_VIEW, CustomerId: uuidN(1, i), Body: "is reading your brochure",
			CreatedAt: timestamppb.New(at)}}}
}

func testMaterial(i int) *salesappv1.Change {
	id := uuidN(6, i)
	return &salesappv1.Change{Kind: salesappv1.EntityKind_ENTITY_KIND_MATERIAL, Id: id,
		Entity: &salesappv1.Change_Material{Material: &salesappv1.SyncMaterial{
			Id: id, Tier: salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, Kind: salesappv1.MaterialKind_MATERIAL_KIND_ARTICLE, Status: salesappv1.MaterialStatus_MATERIAL_STATUS_PUBLISHED, FolderId: uuidN(7, 1),
			Title: fmt.Sprintf("Material %d", i), Version: 3, PublishedAt: timestamppb.New(testEpoch)}}}
}

func testFolder(i int) *salesappv1.Change {
	id := uuidN(7, i)
	return &salesappv1.Change{Kind: salesappv1.EntityKind_ENTITY_KIND_FOLDER, Id: id,
		Entity: &salesappv1.Change_Folder{Folder: &salesappv1.SyncFolder{Id: id, Tier: salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, Name: "Brochures"}}}
}

func testTask(i int, joined bool, endsAt time.Time) *salesappv1.Change {
	id := uuidN(8, i)
	return &salesappv1.Change{Kind: salesappv1.EntityKind_ENTITY_KIND_TASK, Id: id,
		Entity: &salesappv1.Change_Task{Task: &salesappv1.SyncTask{Id: id, Title: fmt.Sprintf("Task %d", i), ClaimRequired: true,
			Targets: &salesappv1.TaskCounts{Shares: 3}, StartsAt: timestamppb.New(endsAt.Add(-7 * 24 * time.Hour)),
			EndsAt: timestamppb.New(endsAt), Joined: joined, Claimed: joined, Progress: &salesappv1.TaskCounts{}}}}
}

func testCard() *salesappv1.Change {
	id := uuidN(4, 1)
	return &salesappv1.Change{Kind: salesappv1.EntityKind_ENTITY_KIND_CARD, Id: id,
		Entity: &salesappv1.Change_Card{Card: &salesappv1.SyncCard{EmployeeId: id, DisplayName: "Li Lei",
			Title: "Sales", Version: 1, UpdatedAt: timestamppb.New(testEpoch)}}}
}

// seed puts customers, their timelines and a few of every other kind.
func (s *fakeServer) seed(customers, timeline int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(testCard())
	for i := range 3 {
		s.put(testFolder(i))
		s.put(testMaterial(i))
		s.put(testAlert(i, testEpoch))
	}
	for i := range customers {
		s.put(testCustomer(i))
	}
	for i := range timeline {
		s.put(testTimeline(i, testEpoch))
	}
}
