package tracking

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/batch"
	"github.com/salesapp/scrm/backend/pool"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/backend/stats"
	"github.com/salesapp/scrm/backend/tagrule"
	"github.com/salesapp/scrm/backend/task"
	"github.com/salesapp/scrm/backend/tracking/internal/trackingdb"
	"github.com/salesapp/scrm/push/alert"
)

// committer is the group commit: requests queue up, and each of a few workers takes whatever is waiting
// (up to max events, lingering a moment for more: a transaction costs the database about as much for a
// few events as for a few hundred, and single-event beacons arrive one by one) into one transaction, then
// answers every request in it once it has committed.
type committer struct {
	db    *platform.DB
	log   *slog.Logger
	jobs  alert.Jobs
	wake  func([]alert.Key)
	batch *batch.Batcher[[]resolved, Result]
	// budget, when not nil, bounds the customers new visitors make (Config.NewVisitorsPerShare).
	budget *newVisitorBudget
}

// request is one ingest call's events in a batch.
type request = batch.Call[[]resolved, Result]

func newCommitter(db *platform.DB, log *slog.Logger, max, workers int, linger time.Duration) *committer {
	c := &committer{db: db, log: log}
	c.batch = batch.New(batch.Options[[]resolved]{Workers: workers, Max: max, Linger: linger,
		Weight: func(events []resolved) int { return len(events) }}, c.commitAll)
	return c
}

// close stops the committers after the requests in hand are committed.
func (c *committer) close() { c.batch.Close() }

// submit queues a request and waits for its commit. If ctx ends first the events may still be stored; the
// page resends, and the event ids make that harmless.
func (c *committer) submit(ctx context.Context, events []resolved) (Result, error) {
	res, err := c.batch.Do(ctx, events)
	if errors.Is(err, batch.ErrClosed) {
		err = errClosed
	}
	return res, err
}

var errClosed = errors.New("tracking: shutting down")

// commitAll commits a batch and answers its requests. A batch refused for its data is split, each
// request tried alone, so one request's bad data cannot fail the others; any other failure (a timeout, a
// lost connection) fails the batch as it is: retrying request by request would only keep the worker busy
// while the database is down.
func (c *committer) commitAll(reqs []*request) {
	results, err := c.commitWithRetry(reqs)
	if _, refused := platform.RefusedData(err); refused && len(reqs) > 1 {
		for _, r := range reqs {
			c.commitAll([]*request{r})
		}
		return
	}
	for i, r := range reqs {
		if err != nil {
			c.log.Error("tracking commit failed", "events", len(r.In), "error", err)
			r.Answer(Result{}, err)
			continue
		}
		r.Answer(results[i], nil)
	}
}

// commitWithRetry retries deadlocks and serialization failures, which concurrent batches touching the
// same customers can meet, with a short backoff.
func (c *committer) commitWithRetry(reqs []*request) ([]Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var results []Result
	err := platform.Retry(ctx, 4, func() error {
		var err error
		results, err = c.commit(ctx, reqs)
		return err
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// commit stores a batch in one transaction, tenant by tenant.
func (c *committer) commit(ctx context.Context, reqs []*request) ([]Result, error) {
	results := make([]Result, len(reqs))
	var woken []alert.Key
	var jobs alert.Jobs // nil: no pushes (tools and tests without a queue)
	var counted *alert.Tracked
	if c.jobs != nil {
		counted = &alert.Tracked{Jobs: c.jobs}
		jobs = counted
	}
	// Group by tenant, remembering which request each event came from.
	type ref struct{ req, idx int }
	byTenant := map[uuid.UUID][]ref{}
	var order []uuid.UUID
	for ri, r := range reqs {
		for ei, e := range r.In {
			t := e.share.TenantID
			if _, ok := byTenant[t]; !ok {
				order = append(order, t)
			}
			byTenant[t] = append(byTenant[t], ref{ri, ei})
		}
	}
	err := pgx.BeginFunc(ctx, c.db.Pool, func(tx pgx.Tx) error {
		for _, tenantID := range order {
			refs := byTenant[tenantID]
			events := make([]resolved, len(refs))
			for i, rf := range refs {
				events[i] = reqs[rf.req].In[rf.idx]
			}
			inserted, refused, keys, err := c.storeTenant(ctx, tx, jobs, tenantID, events)
			if err != nil {
				return err
			}
			woken = append(woken, keys...)
			for i, rf := range refs {
				switch {
				case refused[events[i].VisitorID]:
					results[rf.req].Rejected++
					results[rf.req].refused = append(results[rf.req].refused, rf.idx)
				case inserted[events[i].ID]:
					results[rf.req].Accepted++
				default:
					results[rf.req].Duplicates++
				}
			}
		}
		return nil
	})
	if err == nil && counted != nil && counted.Pushed {
		c.jobs.Committed() // after commit: the pushes can be fetched now
	}
	if err == nil && c.wake != nil && len(woken) > 0 {
		c.wake(woken) // after commit: the streams are readable now
	}
	return results, err
}

// storeTenant stores one tenant's events of a batch, appends the alerts they cause, and returns which
// events were new, which visitors the budget of new visitors refused (none of their events is stored) and
// which alert streams grew.
func (c *committer) storeTenant(ctx context.Context, tx pgx.Tx, jobs alert.Jobs, tenantID uuid.UUID, events []resolved) (map[uuid.UUID]bool, map[string]bool, []alert.Key, error) {
	if tenantID == uuid.Nil {
		return nil, nil, nil, errors.New("tracking: a batch without a tenant")
	}
	q := trackingdb.New(tx)
	if err := q.ScopeIngest(ctx, tenantID.String()); err != nil {
		return nil, nil, nil, err
	}
	visits := visitsOf(events)
	var admit func(customer.Visit) bool
	if c.budget != nil {
		admit = func(v customer.Visit) bool { return c.budget.admit(tenantID, v) }
	}
	batch, err := customer.IdentifyVisitorsTx(ctx, tx, tenantID, visits, admit)
	if err != nil {
		return nil, nil, nil, err
	}
	refused := map[string]bool{}
	for _, v := range visits {
		if batch.Refused(v.VisitorID) {
			refused[v.VisitorID] = true
		}
	}
	if len(refused) > 0 {
		events = slices.DeleteFunc(slices.Clone(events), func(e resolved) bool { return refused[e.VisitorID] })
		visits = slices.DeleteFunc(visits, func(v customer.Visit) bool { return refused[v.VisitorID] })
		if len(events) == 0 {
			return nil, refused, nil, nil
		}
	}
	inserted, woken, err := c.storeKnown(ctx, tx, q, jobs, tenantID, events, visits, batch)
	return inserted, refused, woken, err
}

// storeKnown is storeTenant once every visitor of events has a customer in batch.
func (c *committer) storeKnown(ctx context.Context, tx pgx.Tx, q *trackingdb.Queries, jobs alert.Jobs, tenantID uuid.UUID,
	events []resolved, visits []customer.Visit, batch *customer.Batch) (map[uuid.UUID]bool, []alert.Key, error) {

	// A batch can repeat an event id (a page resending within one request): keep the first.
	seen := make(map[uuid.UUID]bool, len(events))
	p := trackingdb.InsertEventsParams{TenantID: tenantID}
	for _, e := range events {
		if seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		p.Ids = append(p.Ids, e.ID)
		p.CustomerIds = append(p.CustomerIds, batch.Customer(e.VisitorID))
		p.EmployeeIds = append(p.EmployeeIds, e.share.EmployeeID)
		p.ShareIds = append(p.ShareIds, e.share.ID)
		p.MaterialIds = append(p.MaterialIds, e.share.MaterialID)
		p.Kinds = append(p.Kinds, string(e.Kind))
		p.ViewIds = append(p.ViewIds, e.ViewID)
		p.OccurredAt = append(p.OccurredAt, e.OccurredAt)
		p.DwellMs = append(p.DwellMs, int32(e.DwellMs))
		p.Vals = append(p.Vals, int32(e.Value))
	}
	ids, err := q.InsertEvents(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	inserted := make(map[uuid.UUID]bool, len(ids))
	for _, id := range ids {
		inserted[id] = true
	}

	// Aggregate only what is new: a resent event changes nothing.
	acts := map[uuid.UUID]*customer.Activity{}
	var order []uuid.UUID
	get := func(id uuid.UUID) *customer.Activity {
		a := acts[id]
		if a == nil {
			a = &customer.Activity{CustomerID: id}
			acts[id] = a
			order = append(order, id)
		}
		return a
	}
	var views []uuid.UUID
	var entries []customer.Entry
	var fresh []resolved // the new events, each once: what the counters and tasks add up
	done := map[uuid.UUID]bool{}
	for _, e := range events {
		if !inserted[e.ID] || done[e.ID] {
			continue
		}
		done[e.ID] = true
		fresh = append(fresh, e)
		cid := batch.Customer(e.VisitorID)
		a := get(cid)
		if e.OccurredAt.After(a.Active) {
			a.Active = e.OccurredAt
		}
		if e.Kind != event.Dwell {
			entries = append(entries, customer.Entry{ID: e.ID, CustomerID: cid, At: e.OccurredAt})
		}
		switch e.Kind {
		case event.CardView, event.MaterialView:
			a.Views++
			views = append(views, e.ID)
		case event.Dwell:
			views = append(views, e.ViewID)
		case event.Forward:
			a.Forwards++
		case event.CallClick:
			a.Calls++
		case event.WeChatClick:
			a.WeChat++
		case event.PhoneLeft:
			// A verified number in the batch is not replaced by a typed one after it.
			if e.PhoneVerified || !a.PhoneVerified {
				a.Phone, a.PhoneVerified = e.Phone, e.PhoneVerified
			}
		}
	}
	var grown []trackingdb.RecomputeViewDwellRow
	if len(views) > 0 {
		if grown, err = q.RecomputeViewDwell(ctx, trackingdb.RecomputeViewDwellParams{TenantID: tenantID, Ids: views, SlackMs: clockSlack.Milliseconds()}); err != nil {
			return nil, nil, err
		}
		for _, g := range grown {
			get(g.CustomerID).DwellMs += g.Added
			entries = append(entries, customer.Entry{ID: g.ViewID, CustomerID: g.CustomerID, At: g.OccurredAt})
		}
	}
	if err := share.MarkOpenedTx(ctx, tx, tenantID, forwardsViewed(fresh), time.Now()); err != nil {
		return nil, nil, err
	}
	counts, hits := tally(fresh, visits, batch, grown)
	if err := stats.RecordEventsTx(ctx, tx, tenantID, counts); err != nil {
		return nil, nil, err
	}
	if len(acts) == 0 {
		return inserted, nil, nil
	}
	list := make([]customer.Activity, len(order))
	for i, id := range order {
		list[i] = *acts[id]
	}
	if err := batch.RecordActivityTx(ctx, list, entries); err != nil {
		return nil, nil, err
	}
	// Reading rules: those who opened a material may now meet one (a tag, synced to their owner).
	if _, err := tagrule.ApplyTx(ctx, tx, tenantID, readersOf(fresh, batch)); err != nil {
		return nil, nil, err
	}
	alerts, err := alertsFor(ctx, q, tenantID, events, inserted, batch, grown)
	if err != nil {
		return nil, nil, err
	}
	completed, err := task.RecordProgressTx(ctx, tx, tenantID, hits, time.Now())
	if err != nil {
		return nil, nil, err
	}
	alerts = append(alerts, completed...)
	pooled, err := pool.ActiveLeadsTx(ctx, tx, tenantID, readings(fresh, batch))
	if err != nil {
		return nil, nil, err
	}
	alerts = append(alerts, pooled...)
	woken, err := alert.Record(ctx, tx, jobs, tenantID, alerts, time.Now())
	return inserted, woken, err
}

// forwardsViewed lists the forwards (shares below the root) viewed in the batch, each once.
func forwardsViewed(fresh []resolved) []uuid.UUID {
	var out []uuid.UUID
	seen := map[uuid.UUID]bool{}
	for _, e := range fresh {
		if (e.Kind == event.CardView || e.Kind == event.MaterialView) && e.share.Depth > 0 && !seen[e.share.ID] {
			seen[e.share.ID] = true
			out = append(out, e.share.ID)
		}
	}
	return out
}

// readersOf lists the customers who opened a material in the batch, each once.
func readersOf(fresh []resolved, b *customer.Batch) []uuid.UUID {
	var out []uuid.UUID
	seen := map[uuid.UUID]bool{}
	for _, e := range fresh {
		if cid := b.Customer(e.VisitorID); e.Kind == event.MaterialView && !seen[cid] {
			seen[cid] = true
			out = append(out, cid)
		}
	}
	return out
}

// readings lists the leads (customers waiting in a pool, as they were before the batch) that opened a
// material after a silence of alert.Silence: their pool's managers hear they came back to life.
func readings(fresh []resolved, b *customer.Batch) []pool.Reading {
	var out []pool.Reading
	for _, e := range fresh {
		if e.Kind != event.MaterialView {
			continue
		}
		cid := b.Customer(e.VisitorID)
		st := b.Prior(cid)
		if st.New || st.Merged || st.OwnerID != uuid.Nil || e.OccurredAt.Sub(st.LastActive) < alert.Silence {
			continue
		}
		out = append(out, pool.Reading{CustomerID: cid, MaterialID: e.share.MaterialID, At: e.OccurredAt})
	}
	return out
}

// visitsOf lists the batch's visitors, each with their first event's share: what a new customer starts from.
func visitsOf(events []resolved) []customer.Visit {
	var out []customer.Visit
	seen := map[string]bool{}
	for _, e := range events {
		if !seen[e.VisitorID] {
			seen[e.VisitorID] = true
			out = append(out, customer.Visit{VisitorID: e.VisitorID, SharerID: e.share.EmployeeID, ShareID: e.share.ID,
				Channel: e.share.Channel, At: e.OccurredAt})
		}
	}
	return out
}

// tally is, in one walk over a batch's new events (fresh: each once, a resent one not at all), what they
// add to the daily counters (with the customers the batch made and the reading time its heartbeats added
// to views) and the hits on marketing tasks: the events that came through shares made for a task (the
// share's forwards carry it too). A customer the batch made counts as the task's new customer when their
// first visit came through that share.
func tally(fresh []resolved, visits []customer.Visit, b *customer.Batch, grown []trackingdb.RecomputeViewDwellRow) (stats.Batch, []task.Hit) {
	var out stats.Batch
	var hits []task.Hit
	firstShare := make(map[string]uuid.UUID, len(visits))
	for _, v := range visits {
		firstShare[v.VisitorID] = v.ShareID
	}
	active := map[uuid.UUID]bool{}
	for _, e := range fresh {
		cid := b.Customer(e.VisitorID)
		active[cid] = true
		out.Events = append(out.Events, stats.Event{EmployeeID: e.share.EmployeeID, MaterialID: e.share.MaterialID,
			CustomerID: cid, Kind: e.Kind, At: e.OccurredAt})
		if e.share.TaskID != uuid.Nil {
			hits = append(hits, task.Hit{TaskID: e.share.TaskID, EmployeeID: e.share.EmployeeID, CustomerID: cid, Kind: e.Kind,
				NewCustomer: b.Prior(cid).New && firstShare[e.VisitorID] == e.share.ID, OccurredAt: e.OccurredAt})
		}
	}
	for _, v := range visits {
		cid := b.Customer(v.VisitorID)
		if active[cid] && b.Prior(cid).New {
			active[cid] = false // once, even if two visitors of the batch became one customer
			out.NewCustomers = append(out.NewCustomers, stats.NewCustomer{EmployeeID: v.SharerID, At: v.At})
		}
	}
	for _, g := range grown {
		if g.MaterialID.Valid {
			out.Dwell = append(out.Dwell, stats.Dwell{EmployeeID: g.EmployeeID.UUID, MaterialID: g.MaterialID.UUID, At: g.OccurredAt, AddedMs: g.Added})
		}
	}
	return out, hits
}
