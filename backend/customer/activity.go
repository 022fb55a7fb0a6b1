package customer

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/customer/internal/customerdb"
	"github.com/salesapp/scrm/backend/event"
)

// OwnerRule says who owns a customer a share brings in; it is a tenant setting.
type OwnerRule string

// The owner rules.
const (
	// OwnerFirstShare gives a new customer to the salesperson whose share brought them.
	OwnerFirstShare OwnerRule = "first_share"
	// OwnerPool leaves a new customer unassigned, in the tenant's pool, for a manager to hand out.
	OwnerPool OwnerRule = "pool"
)

// Valid reports whether r is a known rule.
func (r OwnerRule) Valid() bool { return r == OwnerFirstShare || r == OwnerPool }

// ownerRule reads the tenant's rule.
func ownerRule(ctx context.Context, q *customerdb.Queries, tenantID uuid.UUID) (OwnerRule, error) {
	rule, err := q.OwnerRule(ctx, tenantID)
	return OwnerRule(rule), err
}

// firstOwner is who owns a customer a share of sharer brings in now: the sharer, or nobody (the pool).
func (r OwnerRule) firstOwner(sharer uuid.UUID) uuid.UUID {
	if r == OwnerPool {
		return uuid.Nil
	}
	return sharer
}

// Visit is a visitor seen in an ingest batch, with the share and time of their first event in it: what a
// customer made for them starts from.
type Visit struct {
	VisitorID         string
	SharerID, ShareID uuid.UUID
	Channel           event.Channel
	At                time.Time
}

// Prior is a customer as they were before a batch: what alerts are judged against.
type Prior struct {
	OwnerID    uuid.UUID
	Name       string
	Views      int32
	LastActive time.Time
	// New says the batch made the customer.
	New bool
	// Merged says this was read from a customer merged into this one meanwhile (a sign-in merged it), so
	// OwnerID is that customer's, not necessarily this one's.
	Merged bool
}

// Batch is one tenant's customers in one ingest transaction: resolved and locked by IdentifyVisitorsTx,
// their activity added by RecordActivityTx, in the caller's transaction.
type Batch struct {
	q        *customerdb.Queries
	tenantID uuid.UUID
	byVisit  map[string]uuid.UUID
	prior    map[uuid.UUID]Prior
	refused  map[string]bool
}

// Refused says IdentifyVisitorsTx's admit refused to make a customer for the visitor: nothing of theirs
// is to be stored.
func (b *Batch) Refused(visitorID string) bool { return b.refused[visitorID] }

// Customer returns the customer of a visitor of the batch.
func (b *Batch) Customer(visitorID string) uuid.UUID { return b.byVisit[visitorID] }

// Prior returns a customer of the batch as they were before it.
func (b *Batch) Prior(customerID uuid.UUID) Prior { return b.prior[customerID] }

// IdentifyVisitorsTx maps each visitor of an ingest batch to their customer, making customers for new
// visitors by the tenant's owner rule (with the visit's share as their source), and locks the batch's
// customers, in id order, for the activity the batch adds: concurrent batches touching the same customer
// queue up instead of deadlocking, and a sign-in merging one of them waits for this batch (or this batch
// for the merge, and then follows it): events never land on a customer merged away. Set-based: a few
// statements for the whole batch, whatever its size.
//
// admit, when not nil, is asked about each visitor no customer knows yet (and only about those) before a
// customer is made for them: a visitor it refuses gets no customer (Customer returns uuid.Nil, Refused
// true) and the caller stores nothing of theirs. Known visitors are never asked, so a budget of new
// customers cannot refuse them.
func IdentifyVisitorsTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, visits []Visit, admit func(Visit) bool) (*Batch, error) {
	b := &Batch{q: customerdb.New(tx), tenantID: tenantID,
		byVisit: make(map[string]uuid.UUID, len(visits)), prior: make(map[uuid.UUID]Prior, len(visits))}
	visitors := make([]string, len(visits))
	first := make(map[string]Visit, len(visits))
	for i, v := range visits {
		visitors[i] = v.VisitorID
		first[v.VisitorID] = v
	}
	if err := b.known(ctx, visitors); err != nil {
		return nil, err
	}
	var missing []string
	var newIDs []uuid.UUID
	for _, v := range visitors {
		if _, ok := b.byVisit[v]; ok {
			continue
		}
		if admit != nil && !admit(first[v]) {
			if b.refused == nil {
				b.refused = map[string]bool{}
			}
			b.refused[v] = true
			continue
		}
		missing = append(missing, v)
		newIDs = append(newIDs, uuid.Must(uuid.NewV7()))
	}
	if len(missing) == 0 {
		return b, nil
	}
	// Claim identities for the new visitors; a concurrent batch that claimed one first wins.
	claimed, err := b.q.ClaimVisitors(ctx, customerdb.ClaimVisitorsParams{TenantID: tenantID, Visitors: missing, CustomerIds: newIDs})
	if err != nil {
		return nil, err
	}
	if len(claimed) > 0 {
		rule, err := ownerRule(ctx, b.q, tenantID)
		if err != nil {
			return nil, err
		}
		ins := customerdb.InsertCustomersParams{TenantID: tenantID}
		for _, c := range claimed {
			b.byVisit[c.Value] = c.CustomerID
			v := first[c.Value]
			o := rule.firstOwner(v.SharerID)
			b.prior[c.CustomerID] = Prior{OwnerID: o, New: true}
			ins.Ids = append(ins.Ids, c.CustomerID)
			ins.OwnerIds = append(ins.OwnerIds, o)
			ins.Channels = append(ins.Channels, string(v.Channel))
			ins.ShareIds = append(ins.ShareIds, v.ShareID)
			ins.SeenAt = append(ins.SeenAt, v.At)
		}
		if err := b.q.InsertCustomers(ctx, ins); err != nil {
			return nil, err
		}
	}
	if len(claimed) < len(missing) {
		// Another batch claimed some of these visitors first: use its customers.
		if err := b.known(ctx, missing); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// known adds the customers of already known visitors, locking them and following merges.
func (b *Batch) known(ctx context.Context, visitors []string) error {
	rows, err := b.q.VisitorCustomers(ctx, customerdb.VisitorCustomersParams{TenantID: b.tenantID, Visitors: visitors})
	if err != nil || len(rows) == 0 {
		return err
	}
	ids := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		ids[i] = r.CustomerID
	}
	locked, err := b.q.LockForActivity(ctx, customerdb.LockForActivityParams{TenantID: b.tenantID, Ids: ids})
	if err != nil {
		return err
	}
	into := make(map[uuid.UUID]uuid.UUID, len(locked))
	for _, l := range locked {
		into[l.ID] = l.ID
		if l.MergedInto.Valid {
			into[l.ID] = l.MergedInto.UUID
		}
		b.prior[into[l.ID]] = Prior{OwnerID: l.OwnerID.UUID, Name: l.DisplayName, Views: l.Views, LastActive: l.LastActiveAt, Merged: l.MergedInto.Valid}
	}
	for _, r := range rows {
		if id, ok := into[r.CustomerID]; ok {
			b.byVisit[r.Value] = id
		}
	}
	return nil
}

// Activity is what a batch adds to one customer's counters.
type Activity struct {
	CustomerID                     uuid.UUID
	Views, Forwards, Calls, WeChat int32
	DwellMs                        int64
	// Phone is a number the customer left ("" for none). Unless PhoneVerified (WeChat's getuserphonenumber
	// gave it), it is stored as unverified and never replaces a verified number.
	Phone         string
	PhoneVerified bool
	// Active is the batch's latest event of this customer.
	Active time.Time
}

// Entry is a timeline entry the batch added or changed (a view whose dwell grew): the customer's owner's
// offline copy must hear of it.
type Entry struct {
	ID, CustomerID uuid.UUID
	At             time.Time
}

// RecordActivityTx adds a batch's activity to its customers' counters and intent scores, and records
// what the owners' offline copies must hear of: the customers and the timeline entries (pooled customers
// have no owner and so no copy). In one statement; the caller's transaction has told the sync triggers
// that it records its sync changes itself.
func (b *Batch) RecordActivityTx(ctx context.Context, acts []Activity, entries []Entry) error {
	if len(acts) == 0 {
		return nil
	}
	p := customerdb.RecordActivityParams{TenantID: b.tenantID}
	for _, a := range acts {
		if a.Active.IsZero() {
			a.Active = time.Unix(0, 0)
		}
		p.Ids = append(p.Ids, a.CustomerID)
		p.Views = append(p.Views, a.Views)
		p.Dwell = append(p.Dwell, a.DwellMs)
		p.Forwards = append(p.Forwards, a.Forwards)
		p.Calls = append(p.Calls, a.Calls)
		p.Wechats = append(p.Wechats, a.WeChat)
		p.Phones = append(p.Phones, a.Phone)
		p.PhonesVerified = append(p.PhonesVerified, a.PhoneVerified)
		p.Active = append(p.Active, a.Active)
	}
	owners, err := b.owners(ctx, p.Ids)
	if err != nil {
		return err
	}
	type key struct {
		kind string
		id   uuid.UUID
	}
	seen := map[key]bool{}
	add := func(kind string, id, owner, parent uuid.UUID, at time.Time) {
		if owner == uuid.Nil || seen[key{kind, id}] {
			return
		}
		seen[key{kind, id}] = true
		p.SyncScopes = append(p.SyncScopes, owner)
		p.SyncKinds = append(p.SyncKinds, kind)
		p.SyncIds = append(p.SyncIds, id)
		p.SyncParents = append(p.SyncParents, parent)
		p.SyncOccurred = append(p.SyncOccurred, at)
	}
	for _, id := range p.Ids {
		add("customer", id, owners[id], uuid.Nil, time.Unix(0, 0))
	}
	for _, e := range entries {
		add("timeline", e.ID, owners[e.CustomerID], e.CustomerID, e.At)
	}
	return b.q.RecordActivity(ctx, p)
}

// owners are the owners of the batch's customers: the ones read with their rows locked, so they cannot
// have changed; the rare customer not read that way (reached through a merge) has its owner read now.
func (b *Batch) owners(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]uuid.UUID, error) {
	owners := make(map[uuid.UUID]uuid.UUID, len(ids))
	var unsure []uuid.UUID
	for _, id := range ids {
		if st, ok := b.prior[id]; ok && !st.Merged {
			owners[id] = st.OwnerID
		} else {
			unsure = append(unsure, id)
		}
	}
	if len(unsure) > 0 {
		rows, err := b.q.LiveOwners(ctx, customerdb.LiveOwnersParams{TenantID: b.tenantID, Ids: unsure})
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			owners[r.ID] = r.OwnerID.UUID // a customer merged away has no row here: nobody's
		}
	}
	return owners, nil
}
