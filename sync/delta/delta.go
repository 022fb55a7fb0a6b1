// Package delta is the delta sync engine: Pull returns what changed in a salesperson's scopes after a
// cursor, Push applies what their device did offline, each mutation at most once.
//
// What changed is kept in sync_changes (see migration 005), by triggers and, on the hot paths (the tracking
// ingest, new alerts), by the statements that make the change: one row per (scope, kind, entity),
// stamped with the transaction id (xid8) and a sequence number of its latest change. A pull reads in one
// REPEATABLE READ snapshot: the rows after its cursor in (xid, seq) order, and the entities they name. Its
// next cursor never passes the snapshot's xmin, below which every transaction has finished; a transaction
// that was still open (its rows invisible) has an xid at or above it and is read by the next pull. So a
// transaction that commits after a later one is never skipped; rows past xmin that were visible are sent
// again next time, which costs little and is harmless (an upsert is idempotent).
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

// MaxPushMutations bounds one push.
const MaxPushMutations = 500

// When changes are held back by an open transaction, a pull tries again after stuckWait, doubling up to
// stuckWaitMax, and then tells the app to come back after stuckRetry.
const (
	stuckWait    = 5 * time.Millisecond
	stuckWaitMax = 40 * time.Millisecond
	stuckRetry   = 250 * time.Millisecond
)

// Config bounds the client schema versions served.
type Config struct {
	MinSchema, MaxSchema uint32
}

// Engine serves pulls and pushes.
type Engine struct {
	db       *platform.DB
	cfg      Config
	appliers map[string]module.Applier
}

// New builds an engine.
func New(db *platform.DB, cfg Config) *Engine {
	if cfg.MinSchema == 0 {
		cfg.MinSchema = 1
	}
	if cfg.MaxSchema < cfg.MinSchema {
		cfg.MaxSchema = cfg.MinSchema
	}
	return &Engine{db: db, cfg: cfg, appliers: map[string]module.Applier{}}
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
	// RetryAfter, when HasMore is false, asks for another pull after this long: changes are still
	// settling (a transaction is open).
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

	// Transactions are short: one that holds a whole page back has usually ended a few milliseconds later.
	// Try again briefly before asking the app to come back.
	for wait := stuckWait; ; wait *= 2 {
		out, err := e.pullOnce(ctx, p, d.ID, fresh, cur, size, device)
		if err != nil || out.RetryAfter == 0 || wait > stuckWaitMax {
			return out, err
		}
		select {
		case <-ctx.Done():
			return out, nil
		case <-time.After(wait):
		}
	}
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
		} else if cur.Epoch != snap.Epoch || (cur.After.Xid > 0 && cur.After.Xid <= snap.PrunedXid) {
			out = Page{MustReset: true}
			return nil
		}
		rows, err := q.Changes(ctx, deltadb.ChangesParams{OwnScope: p.EmployeeID, TenantScope: p.TenantID,
			AfterXid: cur.After.Xid, AfterSeq: cur.After.Seq, MaxRows: int32(size + 1)})
		if err != nil {
			return err
		}
		more := len(rows) > size
		if more {
			rows = rows[:size]
		}
		changes, err := fetch(ctx, q, p, rows)
		if err != nil {
			return err
		}
		last := cur.After
		if len(rows) > 0 {
			last = Position{Xid: rows[len(rows)-1].Xid, Seq: rows[len(rows)-1].Seq}
		}
		// Never past the fence: what is at or above xmin may still be joined by rows that were invisible.
		next := last
		if fence := (Position{Xid: snap.Xmin}); fence.Less(next) {
			next = fence
		}
		if next.Less(cur.After) {
			next = cur.After
		}
		out = Page{Changes: changes, HasMore: more, LastMutationID: cur.LastMutation}
		switch {
		case !more:
			// The whole snapshot is in the replica now: so are the effects of every mutation it holds.
			mark, err := q.DeviceMark(ctx, deltadb.DeviceMarkParams{TenantID: p.TenantID, EmployeeID: p.EmployeeID, DeviceID: deviceID})
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			out.LastMutationID = uint64(mark)
		case next == cur.After:
			// A full page, all of it above the fence: an open transaction holds the rest back. Say when to
			// come back rather than have the app spin on the same page.
			out.HasMore = false
			out.RetryAfter = stuckRetry
		}
		cur.After, cur.LastMutation = next, out.LastMutationID
		out.NextCursor = cur.Encode()
		return nil
	})
	return out, err
}

// snapshot runs fn in a read-only REPEATABLE READ transaction of the tenant: one snapshot for the fence,
// the change rows and the entities.
func (e *Engine) snapshot(ctx context.Context, tenantID uuid.UUID, fn func(q *deltadb.Queries) error) error {
	return e.db.InTenantSnapshot(ctx, tenantID, func(tx pgx.Tx) error { return fn(deltadb.New(tx)) })
}
