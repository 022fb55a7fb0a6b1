package tracking

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/batch"
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
			inserted, keys, err := c.storeTenant(ctx, tx, tenantID, events)
			if err != nil {
				return err
			}
			woken = append(woken, keys...)
			for i, rf := range refs {
				if inserted[events[i].ID] {
					results[rf.req].Accepted++
				} else {
					results[rf.req].Duplicates++
				}
			}
		}
		return nil
	})
	if err == nil && c.wake != nil && len(woken) > 0 {
		c.wake(woken) // after commit: the streams are readable now
	}
	return results, err
}

// storeTenant stores one tenant's events of a batch, appends the alerts they cause, and returns which
// events were new and which alert streams grew.
func (c *committer) storeTenant(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, events []resolved) (map[uuid.UUID]bool, []alert.Key, error) {
	if tenantID == uuid.Nil {
		return nil, nil, errors.New("tracking: a batch without a tenant")
	}
	q := trackingdb.New(tx)
	if err := q.ScopeIngest(ctx, tenantID.String()); err != nil {
		return nil, nil, err
	}
	customers, state, err := customersOf(ctx, q, tenantID, events)
	if err != nil {
		return nil, nil, err
	}

	// A batch can repeat an event id (a page resending within one request): keep the first.
	seen := make(map[uuid.UUID]bool, len(events))
	p := trackingdb.InsertEventsParams{TenantID: tenantID}
	for _, e := range events {
		if seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		p.Ids = append(p.Ids, e.ID)
		p.CustomerIds = append(p.CustomerIds, customers[e.VisitorID])
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
	type agg struct {
		views, forwards, calls, wechats int32
		dwell                           int64
		phone                           string
		active                          time.Time
	}
	aggs := map[uuid.UUID]*agg{}
	get := func(id uuid.UUID) *agg {
		a := aggs[id]
		if a == nil {
			a = &agg{}
			aggs[id] = a
		}
		return a
	}
	var views []uuid.UUID
	done := map[uuid.UUID]bool{}
	for _, e := range events {
		if !inserted[e.ID] || done[e.ID] {
			continue
		}
		done[e.ID] = true
		a := get(customers[e.VisitorID])
		if e.OccurredAt.After(a.active) {
			a.active = e.OccurredAt
		}
		switch e.Kind {
		case KindCardView, KindMaterialView:
			a.views++
			views = append(views, e.ID)
		case KindDwell:
			views = append(views, e.ViewID)
		case KindForward:
			a.forwards++
		case KindCallClick:
			a.calls++
		case KindWeChatClick:
			a.wechats++
		case KindPhoneLeft:
			a.phone = e.Phone
		}
	}
	var grown []trackingdb.RecomputeViewDwellRow
	if len(views) > 0 {
		if grown, err = q.RecomputeViewDwell(ctx, trackingdb.RecomputeViewDwellParams{TenantID: tenantID, Ids: views, SlackMs: clockSlack.Milliseconds()}); err != nil {
			return nil, nil, err
		}
		for _, g := range grown {
			get(g.CustomerID).dwell += g.Added
		}
	}
	if len(aggs) == 0 {
		return inserted, nil, nil
	}
	b := trackingdb.BumpCustomersParams{TenantID: tenantID}
	for id, a := range aggs {
		b.Ids = append(b.Ids, id)
		b.Views = append(b.Views, a.views)
		b.Dwell = append(b.Dwell, a.dwell)
		b.Forwards = append(b.Forwards, a.forwards)
		b.Calls = append(b.Calls, a.calls)
		b.Wechats = append(b.Wechats, a.wechats)
		b.Phones = append(b.Phones, a.phone)
		if a.active.IsZero() {
			a.active = time.Unix(0, 0)
		}
		b.Active = append(b.Active, a.active)
	}
	if err := syncRows(ctx, q, tenantID, &b, events, done, customers, state, grown); err != nil {
		return nil, nil, err
	}
	if err := q.BumpCustomers(ctx, b); err != nil {
		return nil, nil, err
	}
	alerts, err := alertsFor(ctx, q, tenantID, events, inserted, customers, state, grown)
	if err != nil {
		return nil, nil, err
	}
	woken, err := alert.Record(ctx, tx, c.jobs, tenantID, alerts, time.Now())
	return inserted, woken, err
}

// before is a customer as they were before this batch: what alerts are judged against.
type before struct {
	owner      uuid.UUID
	name       string
	views      int32
	lastActive time.Time
	isNew      bool
	// merged: read from the customer merged into this one (a sign-in merged it meanwhile), so owner is
	// that customer's, not necessarily this one's.
	merged bool
}

// syncRows fills b's sync arrays: what the apps' offline copies must hear of, in their owners' scopes
// (pooled customers have none): the batch's customers, its new timeline entries, and the views whose
// dwell grew. The owners are the ones read with the customers' rows locked, so they cannot have changed;
// the rare customer not read that way (reached through a merge) has its owner read now.
func syncRows(ctx context.Context, q *trackingdb.Queries, tenantID uuid.UUID, b *trackingdb.BumpCustomersParams, events []resolved,
	done map[uuid.UUID]bool, customers map[string]uuid.UUID, state map[uuid.UUID]before, grown []trackingdb.RecomputeViewDwellRow) error {
	owners := make(map[uuid.UUID]uuid.UUID, len(b.Ids))
	var unsure []uuid.UUID
	for _, id := range b.Ids {
		if st, ok := state[id]; ok && !st.merged {
			owners[id] = st.owner
		} else {
			unsure = append(unsure, id)
		}
	}
	if len(unsure) > 0 {
		rows, err := q.CustomerOwners(ctx, trackingdb.CustomerOwnersParams{TenantID: tenantID, Ids: unsure})
		if err != nil {
			return err
		}
		for _, r := range rows {
			owners[r.ID] = r.OwnerID.UUID // a customer merged away has no row here: nobody's
		}
	}
	type key struct {
		kind string
		id   uuid.UUID
	}
	seen := map[key]bool{}
	add := func(kind string, id, parent uuid.UUID, occurred time.Time) {
		owner := owners[parent]
		if kind == "customer" {
			owner = owners[id]
		}
		if owner == uuid.Nil || seen[key{kind, id}] {
			return
		}
		seen[key{kind, id}] = true
		b.SyncScopes = append(b.SyncScopes, owner)
		b.SyncKinds = append(b.SyncKinds, kind)
		b.SyncIds = append(b.SyncIds, id)
		b.SyncParents = append(b.SyncParents, parent)
		b.SyncOccurred = append(b.SyncOccurred, occurred)
	}
	for _, id := range b.Ids {
		add("customer", id, uuid.Nil, time.Unix(0, 0))
	}
	for _, e := range events {
		if done[e.ID] && e.Kind != KindDwell {
			add("timeline", e.ID, customers[e.VisitorID], e.OccurredAt)
		}
	}
	for _, g := range grown {
		add("timeline", g.ViewID, g.CustomerID, g.OccurredAt)
	}
	return nil
}

// customersOf maps each visitor of the batch to their customer, creating customers for new visitors. A new
// customer belongs to the salesperson whose share brought them, or to nobody when the tenant's rule is
// "pool", and keeps that share as their source.
func customersOf(ctx context.Context, q *trackingdb.Queries, tenantID uuid.UUID, events []resolved) (map[string]uuid.UUID, map[uuid.UUID]before, error) {
	var visitors []string
	first := map[string]resolved{}
	for _, e := range events {
		if _, ok := first[e.VisitorID]; !ok {
			first[e.VisitorID] = e
			visitors = append(visitors, e.VisitorID)
		}
	}
	out := make(map[string]uuid.UUID, len(visitors))
	state := make(map[uuid.UUID]before, len(visitors))
	if err := known(ctx, q, tenantID, visitors, out, state); err != nil {
		return nil, nil, err
	}
	var missing []string
	var newIDs []uuid.UUID
	for _, v := range visitors {
		if _, ok := out[v]; !ok {
			missing = append(missing, v)
			newIDs = append(newIDs, uuid.Must(uuid.NewV7()))
		}
	}
	if len(missing) == 0 {
		return out, state, nil
	}
	claimed, err := q.ClaimVisitors(ctx, trackingdb.ClaimVisitorsParams{TenantID: tenantID, Visitors: missing, CustomerIds: newIDs})
	if err != nil {
		return nil, nil, err
	}
	rule, err := q.OwnerRule(ctx, tenantID)
	if err != nil {
		return nil, nil, err
	}
	ins := trackingdb.InsertCustomersParams{TenantID: tenantID}
	for _, c := range claimed {
		out[c.Value] = c.CustomerID
		e := first[c.Value]
		ins.Ids = append(ins.Ids, c.CustomerID)
		owner := e.share.EmployeeID
		if rule == "pool" {
			owner = uuid.Nil // unassigned: the tenant's pool
		}
		ins.OwnerIds = append(ins.OwnerIds, owner)
		state[c.CustomerID] = before{owner: owner, isNew: true}
		ins.Channels = append(ins.Channels, string(e.share.Channel))
		ins.ShareIds = append(ins.ShareIds, e.share.ID)
		ins.SeenAt = append(ins.SeenAt, e.OccurredAt)
	}
	if len(ins.Ids) > 0 {
		if err := q.InsertCustomers(ctx, ins); err != nil {
			return nil, nil, err
		}
	}
	if len(claimed) < len(missing) {
		// Another batch claimed some of these visitors first: use its customers.
		if err := known(ctx, q, tenantID, missing, out, state); err != nil {
			return nil, nil, err
		}
	}
	return out, state, nil
}

// known adds the customers of already known visitors to out, locking them and following merges.
func known(ctx context.Context, q *trackingdb.Queries, tenantID uuid.UUID, visitors []string, out map[string]uuid.UUID, state map[uuid.UUID]before) error {
	rows, err := q.VisitorCustomers(ctx, trackingdb.VisitorCustomersParams{TenantID: tenantID, Visitors: visitors})
	if err != nil || len(rows) == 0 {
		return err
	}
	ids := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		ids[i] = r.CustomerID
	}
	locked, err := q.LockCustomers(ctx, trackingdb.LockCustomersParams{TenantID: tenantID, Ids: ids})
	if err != nil {
		return err
	}
	into := make(map[uuid.UUID]uuid.UUID, len(locked))
	for _, l := range locked {
		into[l.ID] = l.ID
		if l.MergedInto.Valid {
			into[l.ID] = l.MergedInto.UUID
		}
		state[into[l.ID]] = before{owner: l.OwnerID.UUID, name: l.DisplayName, views: l.Views, lastActive: l.LastActiveAt, merged: l.MergedInto.Valid}
	}
	for _, r := range rows {
		if id, ok := into[r.CustomerID]; ok {
			out[r.Value] = id
		}
	}
	return nil
}
