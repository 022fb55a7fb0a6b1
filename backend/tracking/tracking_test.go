package tracking_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/backend/tracking"
	"github.com/salesapp/scrm/push/alert"
)

// setup is a salesperson with a card link, and the ingest in front of it.
type setup struct {
	db     *pgtest.DB
	admin  authn.Principal
	sales  authn.Principal
	token  string
	svc    *tracking.Service
	shares *share.Service
	mu     sync.Mutex
	woken  []alert.Key
	jobs   *fakeJobs
}

// fakeJobs records the pushes enqueued and the commits it is told of.
type fakeJobs struct {
	mu              sync.Mutex
	pushes, commits int
}

func (j *fakeJobs) Push(_ context.Context, _ pgx.Tx, pushes []alert.Push) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.pushes += len(pushes)
	return nil
}

func (j *fakeJobs) Committed() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.commits++
}

func (j *fakeJobs) counts() (int, int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.pushes, j.commits
}

func newSetup(t *testing.T) *setup {
	t.Helper()
	return newSetupWith(t, tracking.Config{})
}

// newSetupWith is newSetup with the ingest's config (its Jobs and Wake are the setup's).
func newSetupWith(t *testing.T, cfg tracking.Config) *setup {
	t.Helper()
	db := pgtest.New(t)
	s := &setup{db: db, shares: share.NewService(db.App, "https://cards.example"), jobs: &fakeJobs{}}
	tn := db.NewTenant(t, "Tracking")
	s.admin = tn.Admin
	s.sales = db.NewEmployee(t, tn.ID, authn.RoleSales, uuid.Nil)
	sh, err := s.shares.ShareCard(context.Background(), s.sales, event.ChannelChat)
	require.NoError(t, err)
	s.token = sh.Token
	cfg.Jobs, cfg.Wake = s.jobs, func(keys []alert.Key) {
		s.mu.Lock()
		s.woken = append(s.woken, keys...)
		s.mu.Unlock()
	}
	s.svc = tracking.NewService(db.App, s.shares, slog.New(slog.DiscardHandler), cfg)
	t.Cleanup(s.svc.Close)
	return s
}

func (s *setup) ev(kind event.Kind, visitor string) tracking.Event {
	return tracking.Event{ID: uuid.New(), Kind: kind, ShareToken: s.token, VisitorID: visitor, OccurredAt: time.Now()}
}

func (s *setup) alerts(t *testing.T) []alert.Entry {
	t.Helper()
	entries, err := alert.NewService(s.db.App).Since(context.Background(), alert.Key{TenantID: s.sales.TenantID, EmployeeID: s.sales.EmployeeID}, 0, 100)
	require.NoError(t, err)
	return entries
}

func (s *setup) customers(t *testing.T) []customer.Customer {
	t.Helper()
	list, _, err := customer.NewService(s.db.App).List(context.Background(), s.sales, customer.Filter{})
	require.NoError(t, err)
	return list
}

func TestAViewIsStoredOnceMakesACustomerAndAlertsTheSharer(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	ctx := context.Background()
	view := s.ev(event.CardView, "visitor-0001")
	res, err := s.svc.Ingest(ctx, []tracking.Event{view})
	require.NoError(t, err)
	require.Equal(t, tracking.Result{Accepted: 1}, res)
	// The page resends (it did not hear back): stored once.
	res, err = s.svc.Ingest(ctx, []tracking.Event{view})
	require.NoError(t, err)
	require.Equal(t, tracking.Result{Duplicates: 1}, res)

	cs := s.customers(t)
	require.Len(t, cs, 1)
	require.EqualValues(t, 1, cs[0].Views)
	require.Equal(t, event.ChannelChat, cs[0].SourceChannel)

	entries := s.alerts(t)
	require.Len(t, entries, 1)
	require.Equal(t, alert.KindNewCustomer, entries[0].Kind)
	require.Equal(t, cs[0].ID, entries[0].CustomerID)
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Equal(t, []alert.Key{{TenantID: s.sales.TenantID, EmployeeID: s.sales.EmployeeID}}, s.woken, "woken once, after the commit that alerted")
}

func TestABatchWithOneBadEventIsRefusedWholeNamingIt(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	ctx := context.Background()
	good := s.ev(event.CardView, "visitor-0002")
	cases := []struct {
		bad   tracking.Event
		field string
		kind  platform.Kind
	}{
		{tracking.Event{ID: uuid.New(), Kind: "shout", ShareToken: s.token, VisitorID: "visitor-0002"}, "events[1].kind", platform.KindInvalid},
		{tracking.Event{ID: uuid.New(), Kind: event.CardView, ShareToken: s.token, VisitorID: "x"}, "events[1].visitor_id", platform.KindInvalid},
		{tracking.Event{ID: uuid.New(), Kind: event.Dwell, ShareToken: s.token, VisitorID: "visitor-0002", DwellMs: 5000}, "events[1].view_id", platform.KindInvalid},
		{tracking.Event{ID: uuid.New(), Kind: event.PhoneLeft, ShareToken: s.token, VisitorID: "visitor-0002", Phone: "call me"}, "events[1].phone", platform.KindInvalid},
		{tracking.Event{ID: uuid.New(), Kind: event.MaterialView, ShareToken: s.token, VisitorID: "visitor-0002"}, "events[1].kind", platform.KindInvalid},
		{tracking.Event{ID: uuid.New(), Kind: event.CardView, ShareToken: "no-such-link", VisitorID: "visitor-0002"}, "events[1].share_token", platform.KindNotFound},
	}
	for _, c := range cases {
		_, err := s.svc.Ingest(ctx, []tracking.Event{good, c.bad})
		var de *platform.Error
		require.ErrorAs(t, err, &de, c.field)
		require.Equal(t, c.kind, de.Kind, c.field)
		require.Equal(t, c.field, de.Field)
	}
	require.Empty(t, s.customers(t), "nothing of a refused batch is stored")
	_, err := s.svc.Ingest(ctx, make([]tracking.Event, tracking.MaxBatch+1))
	require.Equal(t, platform.KindInvalid, platform.KindOf(err))
}

func TestHeartbeatsAddReadingTimeAndALongReadAlerts(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	ctx := context.Background()
	view := s.ev(event.CardView, "visitor-0003")
	_, err := s.svc.Ingest(ctx, []tracking.Event{view})
	require.NoError(t, err)
	beat := func() tracking.Event {
		e := s.ev(event.Dwell, "visitor-0003")
		e.ViewID, e.DwellMs = view.ID, 15_000
		return e
	}
	// Two beats (30 s) in one batch, a third alone: the view's dwell is their sum, and crossing 30 s alerts.
	_, err = s.svc.Ingest(ctx, []tracking.Event{beat(), beat()})
	require.NoError(t, err)
	_, err = s.svc.Ingest(ctx, []tracking.Event{beat()})
	require.NoError(t, err)
	cs := s.customers(t)
	require.Len(t, cs, 1)
	require.EqualValues(t, 45_000, cs[0].DwellMs)
	require.EqualValues(t, 1, cs[0].Views, "heartbeats are not views")
	kinds := []alert.Kind{}
	for _, e := range s.alerts(t) {
		kinds = append(kinds, e.Kind)
	}
	require.Contains(t, kinds, alert.KindLongRead)

	// The timeline shows the view with its reading time, not the heartbeats.
	items, _, err := customer.NewService(s.db.App).Timeline(ctx, s.sales, cs[0].ID, 30, "")
	require.NoError(t, err)
	require.Len(t, items, 1)
	require.Equal(t, event.CardView, items[0].Kind)
	require.EqualValues(t, 45_000, items[0].DwellMs)
}

// Many pages of one new visitor report at once: one customer, every event on it, the counters exact.
func TestConcurrentBatchesOfOneNewVisitorMakeOneCustomer(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	ctx := context.Background()
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := s.svc.Ingest(ctx, []tracking.Event{s.ev(event.CallClick, "visitor-race")})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	cs := s.customers(t)
	require.Len(t, cs, 1)
	require.EqualValues(t, n, cs[0].CallClicks)
}

// A batch can hold events of several tenants (the group commit mixes requests): each lands in its own
// tenant, under row-level security scoped to it.
func TestABatchOfTwoTenantsStoresEachInItsOwn(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	ctx := context.Background()
	other := s.db.NewTenant(t, "Other")
	otherSales := s.db.NewEmployee(t, other.ID, authn.RoleSales, uuid.Nil)
	sh, err := s.shares.ShareCard(ctx, otherSales, event.ChannelGroup)
	require.NoError(t, err)
	theirs := s.ev(event.CardView, "visitor-0004")
	theirs.ShareToken = sh.Token
	res, err := s.svc.Ingest(ctx, []tracking.Event{s.ev(event.CardView, "visitor-0004"), theirs})
	require.NoError(t, err)
	require.Equal(t, 2, res.Accepted)

	mine := s.customers(t)
	list, _, err := customer.NewService(s.db.App).List(ctx, otherSales, customer.Filter{})
	require.NoError(t, err)
	require.Len(t, mine, 1)
	require.Len(t, list, 1)
	require.NotEqual(t, mine[0].ID, list[0].ID, "one visitor id in two tenants is two customers")
	require.Equal(t, event.ChannelGroup, list[0].SourceChannel)
}

// Pushes are enqueued in the events' transaction, and the queue is told once that transaction has
// committed (so it fetches them at once); a commit that enqueued none tells it nothing.
func TestTheQueueIsToldOfPushesAfterTheirCommit(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	ctx := context.Background()
	_, err := s.svc.Ingest(ctx, []tracking.Event{s.ev(event.CardView, "visitor-0005")})
	require.NoError(t, err)
	pushes, commits := s.jobs.counts()
	require.Zero(t, pushes, "no device: nothing to push")
	require.Zero(t, commits)

	require.NoError(t, alert.NewService(s.db.App).RegisterDevice(ctx, alert.Key{TenantID: s.sales.TenantID, EmployeeID: s.sales.EmployeeID},
		alert.Device{DeviceID: "pgtest", Platform: "ios", PushToken: "token-1", BundleID: "app.example", SessionID: s.sales.SessionID}))
	_, err = s.svc.Ingest(ctx, []tracking.Event{s.ev(event.CallClick, "visitor-0005")})
	require.NoError(t, err)
	pushes, commits = s.jobs.counts()
	require.Equal(t, 1, pushes)
	require.Equal(t, 1, commits)
}
