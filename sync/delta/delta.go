// Package delta is the delta sync engine: Pull returns what changed in a salesperson's scopes after a
// cursor, Push applies what their device did offline, each mutation at most once.
//
// What changed is kept in sync_changes (see migration 005), by triggers and, on the hot paths (the tracking
// ingest, new alerts), by the statements that make the change: one row per (scope, kind, entity),
// stamped with the transaction id (xid8) and a sequence number of its latest change. A pull reads in one
// REPEATABLE READ snapshot: the rows its cursor does not have in (xid, seq) order, and the entities they
// name. Transactions do not commit in xid order, so the cursor remembers what the snapshot saw (see
// Cursor): a position, and the transactions below it that were still in progress (their rows invisible),
// whose rows the next pulls send when they commit. A transaction that commits after a later one is thus
// never skipped, nothing sent is sent again, and a transaction left open anywhere in the cluster holds
// back nothing but its own rows.
//
// The engine does not know the domains: each mutation kind is applied by a function the server registers
// (Handle), inside the push's transaction, so a device's last mutation id is stored with the effects.
// Nor does it know the wire: it takes and returns its own types (Page, Change and the entities; Mutation
// and Result) and errors (*SchemaError, *BatchError, *MismatchError), which sync/syncrpc converts to and
// from SyncService's messages and Connect codes.
package delta

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/module"
	"github.com/salesapp/scrm/sync/delta/internal/deltadb"
)

// Page sizes of a pull.
const (
	DefaultPageSize = 1000
	MaxPageSize     = 5000
)

// MaxPageBytes is a page's byte budget: a page ends early, with more to come, once its changes reach it
// (5,000 articles of 200 KB would otherwise be a gigabyte in one answer and in the server's memory). A page
// holds at least one change whatever its size.
const MaxPageBytes = 4 << 20

// heavyPerFetch is how many materials' entities are read at a time: an article is up to 200 KB, every
// other entity a few KB at most (a note's body is 2,000 characters), so reading materials a few at a time
// keeps a page cut by its byte budget from having read many more than it sends, while a page of
// customers, notes and timelines is still read in one query per kind.
const heavyPerFetch = 16

// MaxPushMutations bounds one push.
const MaxPushMutations = 500

// Config bounds the client schema versions served.
type Config struct {
	MinSchema, MaxSchema uint32
}

// Engine serves pulls and pushes.
type Engine struct {
	db       *platform.DB
	cfg      Config
	appliers map[string]module.Applier
	open     openTxs
	// longTx and recheck are the constants of the same names; tests shorten them.
	longTx, recheck time.Duration
	// pageBytes is MaxPageBytes; tests shorten it.
	pageBytes int
}

// New builds an engine.
func New(db *platform.DB, cfg Config) *Engine {
	if cfg.MinSchema == 0 {
		cfg.MinSchema = 1
	}
	if cfg.MaxSchema < cfg.MinSchema {
		cfg.MaxSchema = cfg.MinSchema
	}
	return &Engine{db: db, cfg: cfg, appliers: map[string]module.Applier{}, longTx: longTx, recheck: recheck, pageBytes: MaxPageBytes}
}

// Handle registers the applier of one kind of mutation, by its op name (add_note...): a Mutation whose
// Op is that name is applied by fn, given its Payload. The engine does not know the ops; the adapter that
// names them checks that each registered one exists (see Ops).
func (e *Engine) Handle(op string, fn module.Applier) {
	e.appliers[op] = fn
}

// Ops lists the op names registered, in no particular order.
func (e *Engine) Ops() []string {
	ops := make([]string, 0, len(e.appliers))
	for op := range e.appliers {
		ops = append(ops, op)
	}
	return ops
}

// Device is the app installation a pull or push comes from.
type Device struct {
	// ID is the installation's id: a cursor and the mutation numbering belong to it.
	ID string
	// SchemaVersion is the app's local schema version; outside Config's range the engine refuses with a
	// *SchemaError.
	SchemaVersion uint32
}

func (e *Engine) checkSchema(v uint32) error {
	if v < e.cfg.MinSchema || v > e.cfg.MaxSchema {
		return &SchemaError{Version: v, Min: e.cfg.MinSchema, Max: e.cfg.MaxSchema}
	}
	return nil
}

// Page is one pull's answer.
type Page struct {
	// Changes are upserts and tombstones, to apply in order.
	Changes []Change
	// NextCursor is to be saved with the changes, atomically, and sent with the next pull.
	NextCursor string
	// HasMore: more changes are waiting; pull again now.
	HasMore bool
	// MustReset: the cursor cannot be continued (malformed, too old, another device's or user's, an
	// earlier epoch or rules version). The app drops its copy and pulls from an empty cursor. Nothing
	// else is set.
	MustReset bool
	// LastMutationID is the device's last mutation whose effects this and the earlier pages contain.
	LastMutationID uint64
	// RetryAfter, when HasMore is false, asks for another pull after this long: changes may be held back
	// by a transaction still in progress, one that has been open a while (100 ms or more) and has written
	// change rows it has not committed. Which tenant's rows PostgreSQL does not say, so it may be
	// another tenant's: the hint means "may be", and the app shows "syncing…" meanwhile. Zero: every
	// change committed so far is in the replica once this page is saved.
	RetryAfter time.Duration
}

// Pull returns the next page of at most pageSize changes (0: DefaultPageSize; at most MaxPageSize) after
// cursor ("" for a first sync).
func (e *Engine) Pull(ctx context.Context, p authn.Principal, d Device, cursor string, pageSize int) (Page, error) {
	if err := e.checkSchema(d.SchemaVersion); err != nil {
		return Page{}, err
	}
	size := pageSize
	if size <= 0 {
		size = DefaultPageSize
	}
	size = min(size, MaxPageSize)
	device := DeviceHash(d.ID)
	fresh := cursor == ""
	var cur Cursor
	if !fresh {
		var err error
		cur, err = DecodeCursor(cursor)
		if err != nil || cur.Tenant != p.TenantID || cur.Employee != p.EmployeeID || cur.Device != device || cur.Rules != RulesVersion {
			return Page{MustReset: true}, nil
		}
	}
	return e.pullOnce(ctx, p, d.ID, fresh, cur, size, device)
}

// pullOnce reads one page in one snapshot.
func (e *Engine) pullOnce(ctx context.Context, p authn.Principal, deviceID string, fresh bool, cur Cursor, size int, device uint32) (Page, error) {
	var out Page
	err := e.snapshot(ctx, p.TenantID, func(q *deltadb.Queries) error {
		snap, err := q.Snapshot(ctx, p.TenantID)
		if err != nil {
			return err
		}
		if fresh {
			cur = Cursor{Epoch: snap.Epoch, Rules: RulesVersion, Tenant: p.TenantID, Employee: p.EmployeeID, Device: device}
		} else if low := cur.lowest(); cur.Epoch != snap.Epoch || (low > 0 && low <= snap.PrunedXid) {
			// (Past the horizon: a tombstone the device does not have may have been pruned.)
			out = Page{MustReset: true}
			return nil
		}
		params := deltadb.ChangesParams{OwnScope: p.EmployeeID, TenantScope: p.TenantID, PlanScope: snap.PlanScope,
			AfterXid: cur.After.Xid, AfterSeq: cur.After.Seq, MaxRows: int32(size + 1)}
		for _, w := range cur.Pending {
			params.PendingXids = append(params.PendingXids, w.Xid)
			params.PendingSeqs = append(params.PendingSeqs, w.Seq)
		}
		rows, err := q.Changes(ctx, params)
		if err != nil {
			return err
		}
		more := len(rows) > size
		if more {
			rows = rows[:size]
		}
		changes, kept, err := e.fetchBudgeted(ctx, q, p, rows)
		if err != nil {
			return err
		}
		if kept < len(rows) {
			rows, more = rows[:kept], true
		}
		var last *Position
		if more {
			last = &Position{Xid: rows[len(rows)-1].Xid, Seq: rows[len(rows)-1].Seq}
		}
		next := cur.advance(viewOf(snap), last)
		out = Page{Changes: changes, HasMore: more, LastMutationID: cur.LastMutation}
		if !more {
			// The whole snapshot is in the replica now: so are the effects of every mutation it holds.
			mark, err := q.DeviceMark(ctx, deltadb.DeviceMarkParams{TenantID: p.TenantID, EmployeeID: p.EmployeeID, DeviceID: deviceID})
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			out.LastMutationID = uint64(mark)
			if out.RetryAfter, err = e.heldBack(ctx, q, snap); err != nil {
				return err
			}
		}
		next.LastMutation = out.LastMutationID
		out.NextCursor = next.Encode()
		return nil
	})
	return out, err
}

// fetchBudgeted reads the entities of rows a chunk at a time until the page's byte budget is reached, and
// returns the changes of the first kept rows (at least one). Rows are in change order, so cutting the page
// there is a smaller page: the cursor ends at the last kept row.
func (e *Engine) fetchBudgeted(ctx context.Context, q *deltadb.Queries, p authn.Principal, rows []deltadb.ChangesRow) (changes []Change, kept int, err error) {
	bytes := 0
	for kept < len(rows) {
		end, heavy := kept, 0
		for end < len(rows) && heavy < heavyPerFetch {
			if Kind(rows[end].Kind) == KindMaterial && !rows[end].Tombstone {
				heavy++
			}
			end++
		}
		got, err := fetch(ctx, q, p, rows[kept:end])
		if err != nil {
			return nil, 0, err
		}
		for _, c := range got {
			if kept > 0 && bytes+c.wireBytes() > e.pageBytes {
				return changes, kept, nil
			}
			bytes += c.wireBytes()
			changes = append(changes, c)
			kept++
		}
	}
	return changes, kept, nil
}

// heldBack tells whether changes may be held back by a transaction the snapshot saw in progress, one
// open for a while that has written change rows, and if so when to come back.
func (e *Engine) heldBack(ctx context.Context, q *deltadb.Queries, snap deltadb.SnapshotRow) (time.Duration, error) {
	now := time.Now()
	since, check := e.open.observe(snap.Xmax, snap.Xip, now, e.longTx, e.recheck)
	if len(check) > 0 {
		low := make([]int64, len(check))
		for i, xid := range check {
			low[i] = xid32(xid)
		}
		writers, err := q.ChangeLogWriters(ctx, low)
		if err != nil {
			return 0, err
		}
		if s := e.open.record(check, writers, now); !s.IsZero() && (since.IsZero() || s.Before(since)) {
			since = s
		}
	}
	if since.IsZero() {
		return 0, nil
	}
	return retryAfter(now.Sub(since)), nil
}

// lowest is the lowest transaction id whose rows the cursor may still want.
func (c Cursor) lowest() int64 {
	if len(c.Pending) > 0 {
		return c.Pending[0].Xid
	}
	return c.After.Xid
}

// view is what a pull's snapshot tells of the other transactions: every one below xmin had finished; of
// those from xmin up to xmax, the ones in xip (ascending) were in progress and the rest had finished;
// none at or above xmax had. Unless it is a standby's: there pg_current_snapshot lists none in progress
// (a standby's snapshot keeps them elsewhere), so every one from xmin up may be, and cursors go no further
// than xmin, as they did before they remembered snapshots.
type view struct {
	xmin, xmax int64
	xip        []int64
	standby    bool
}

func viewOf(snap deltadb.SnapshotRow) view {
	return view{xmin: snap.Xmin, xmax: snap.Xmax, xip: snap.Xip, standby: snap.InRecovery}
}

func (v view) inProgress(xid int64) bool {
	if v.standby {
		return xid >= v.xmin
	}
	_, found := slices.BinarySearch(v.xip, xid)
	return found
}

// horizon is where what the snapshot tells ends: every transaction below it that it does not show in
// progress had finished.
func (v view) horizon() Position {
	if v.standby {
		return Position{Xid: v.xmin}
	}
	return Position{Xid: v.xmax}
}

// advance is the cursor after a page read in a snapshot that tells v. last is the page's last row when
// the page was full (more rows wait), nil when the page held every row the snapshot showed after the
// cursor.
//
// The page held all the rows the cursor wanted of every transaction that had finished, up to last;
// those in progress showed none and are waited for.
func (c Cursor) advance(v view, last *Position) Cursor {
	next := c
	next.Pending = nil
	if last == nil || c.After.Less(*last) {
		// The page got past every pending transaction (their rows come first): those that had committed
		// are in it whole; those still in progress are waited for still.
		for _, w := range c.Pending {
			if v.inProgress(w.Xid) {
				next.Pending = append(next.Pending, w)
			}
		}
		end := v.horizon()
		if last != nil && last.Less(end) {
			end = *last
		}
		if c.After.Less(end) {
			// The transactions newly read past.
			for _, xid := range v.xip {
				if xid >= c.After.Xid && xid < end.Xid {
					next.Pending = append(next.Pending, Position{Xid: xid})
				}
			}
			next.After = end
		}
		return next
	}
	// A full page that ended inside the pending transactions (at last, one of them).
	for _, w := range c.Pending {
		switch {
		case w.Xid == last.Xid:
			next.Pending = append(next.Pending, *last)
		case w.Xid > last.Xid || v.inProgress(w.Xid):
			next.Pending = append(next.Pending, w)
		}
	}
	return next
}

// snapshot runs fn in a read-only REPEATABLE READ transaction of the tenant: one snapshot for the fence,
// the change rows and the entities.
func (e *Engine) snapshot(ctx context.Context, tenantID uuid.UUID, fn func(q *deltadb.Queries) error) error {
	return e.db.InTenantSnapshot(ctx, tenantID, func(tx pgx.Tx) error { return fn(deltadb.New(tx)) })
}
