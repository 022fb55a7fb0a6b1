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
package delta

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"buf.build/go/protovalidate"
	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/rpcserver"
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

// Applier applies one mutation inside the push's transaction. A *platform.Error of kind NotFound or
// PermissionDenied means the mutation lost a conflict (what it edits was deleted or left the caller's
// scopes); any other *platform.Error, or a data or integrity error from PostgreSQL, rejects it for good.
// Anything else is transient: the whole push fails and the device sends it again.
type Applier func(ctx context.Context, tx pgx.Tx, p authn.Principal, m *salesappv1.Mutation) error

// Config bounds the client schema versions served.
type Config struct {
	MinSchema, MaxSchema uint32
}

// Engine serves pulls and pushes.
type Engine struct {
	db       *platform.DB
	cfg      Config
	appliers map[string]Applier
}

// New builds an engine.
func New(db *platform.DB, cfg Config) *Engine {
	if cfg.MinSchema == 0 {
		cfg.MinSchema = 1
	}
	if cfg.MaxSchema < cfg.MinSchema {
		cfg.MaxSchema = cfg.MinSchema
	}
	return &Engine{db: db, cfg: cfg, appliers: map[string]Applier{}}
}

// Handle registers the applier of one mutation kind, named as the Mutation's oneof field (add_note...).
// A name that is not one of them is a programming error: it panics.
func (e *Engine) Handle(op string, fn Applier) {
	if opField.Fields().ByName(protoreflect.Name(op)) == nil {
		panic(fmt.Sprintf("delta: Handle(%q): Mutation has no op of that name", op))
	}
	e.appliers[op] = fn
}

var opField = (&salesappv1.Mutation{}).ProtoReflect().Descriptor().Oneofs().ByName("op")

func opOf(m *salesappv1.Mutation) string {
	if f := m.ProtoReflect().WhichOneof(opField); f != nil {
		return string(f.Name())
	}
	return ""
}

func (e *Engine) checkSchema(v uint32) error {
	if v < e.cfg.MinSchema || v > e.cfg.MaxSchema {
		return platform.FailedPrecondition(fmt.Sprintf("schema version %d is not supported: this server accepts %d to %d", v, e.cfg.MinSchema, e.cfg.MaxSchema))
	}
	return nil
}

// Pull returns the next page of changes after the request's cursor.
func (e *Engine) Pull(ctx context.Context, p authn.Principal, req *salesappv1.PullRequest) (*salesappv1.PullResponse, error) {
	if err := e.checkSchema(req.GetSchemaVersion()); err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	if size == 0 {
		size = DefaultPageSize
	}
	size = min(size, MaxPageSize)
	device := DeviceHash(req.GetDeviceId())
	fresh := req.GetCursor() == ""
	var cur Cursor
	if !fresh {
		var err error
		cur, err = DecodeCursor(req.GetCursor())
		if err != nil || cur.Tenant != p.TenantID || cur.Employee != p.EmployeeID || cur.Device != device || cur.Rules != RulesVersion {
			return &salesappv1.PullResponse{MustReset: true}, nil
		}
	}

	// Transactions are short: one that holds a whole page back has usually ended a few milliseconds later.
	// Try again briefly before asking the app to come back.
	for wait := stuckWait; ; wait *= 2 {
		out, err := e.pullOnce(ctx, p, req, fresh, cur, size, device)
		if err != nil || out.GetRetryAfterMs() == 0 || wait > stuckWaitMax {
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
func (e *Engine) pullOnce(ctx context.Context, p authn.Principal, req *salesappv1.PullRequest, fresh bool, cur Cursor, size int, device uint32) (*salesappv1.PullResponse, error) {
	var out *salesappv1.PullResponse
	err := e.snapshot(ctx, p.TenantID, func(q *deltadb.Queries) error {
		snap, err := q.Snapshot(ctx, p.TenantID)
		if err != nil {
			return err
		}
		if fresh {
			cur = Cursor{Epoch: snap.Epoch, Rules: RulesVersion, Tenant: p.TenantID, Employee: p.EmployeeID, Device: device}
		} else if cur.Epoch != snap.Epoch || (cur.After.Xid > 0 && cur.After.Xid <= snap.PrunedXid) {
			out = &salesappv1.PullResponse{MustReset: true}
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
		out = &salesappv1.PullResponse{Changes: changes, HasMore: more, LastMutationId: cur.LastMutation}
		switch {
		case !more:
			// The whole snapshot is in the replica now: so are the effects of every mutation it holds.
			mark, err := q.DeviceMark(ctx, deltadb.DeviceMarkParams{TenantID: p.TenantID, EmployeeID: p.EmployeeID, DeviceID: req.GetDeviceId()})
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			out.LastMutationId = uint64(mark)
		case next == cur.After:
			// A full page, all of it above the fence: an open transaction holds the rest back. Say when to
			// come back rather than have the app spin on the same page.
			out.HasMore = false
			out.RetryAfterMs = uint32(stuckRetry / time.Millisecond)
		}
		cur.After, cur.LastMutation = next, out.LastMutationId
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

// Push applies a device's mutations in id order, each at most once.
func (e *Engine) Push(ctx context.Context, p authn.Principal, req *salesappv1.PushRequest) (*salesappv1.PushResponse, error) {
	if err := e.checkSchema(req.GetSchemaVersion()); err != nil {
		return nil, err
	}
	ms := req.GetMutations()
	if len(ms) == 0 || len(ms) > MaxPushMutations {
		return nil, platform.Invalid("mutations", fmt.Sprintf("1 to %d mutations", MaxPushMutations))
	}
	// The numbering is checked here, for the whole push; each mutation's own fields when it is applied.
	if ms[0].GetId() == 0 {
		return nil, platform.Invalid("mutations[0].id", "ids start at 1")
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].GetId() != ms[i-1].GetId()+1 {
			return nil, platform.Invalid(fmt.Sprintf("mutations[%d].id", i), "ids must be consecutive")
		}
	}
	// Most pushes apply cleanly: they run without savepoints (two round trips fewer per mutation). The
	// first mutation that fails rolls that attempt back, and the push runs again with a savepoint around
	// each mutation, so the failure leaves nothing behind but its outcome.
	careful := false
	for attempt := 0; ; attempt++ {
		out, err := e.push(ctx, p, req, careful)
		switch {
		case errors.Is(err, errNeedSavepoints):
			careful = true
		case err == nil || attempt == 3 || !platform.IsRaceLost(err):
			return out, err
		}
	}
}

// errNeedSavepoints asks for a push to be run again, mutation by mutation in savepoints.
var errNeedSavepoints = errors.New("delta: a mutation failed: apply in savepoints")

func (e *Engine) push(ctx context.Context, p authn.Principal, req *salesappv1.PushRequest, careful bool) (*salesappv1.PushResponse, error) {
	ms := req.GetMutations()
	out := &salesappv1.PushResponse{}
	err := e.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := deltadb.New(tx)
		dev := deltadb.LockDeviceParams{TenantID: p.TenantID, EmployeeID: p.EmployeeID, DeviceID: req.GetDeviceId(),
			SchemaVersion: int32(req.GetSchemaVersion())}
		last, err := q.LockDevice(ctx, dev)
		if err != nil {
			return err
		}
		out.Results = make([]*salesappv1.MutationResult, 0, len(ms))
		first := ms[0].GetId()
		if first <= uint64(last) {
			// Sent before (a reply that never arrived): answer from the record, apply nothing again.
			upTo := min(uint64(last), ms[len(ms)-1].GetId())
			recorded, err := q.RecordedMutations(ctx, deltadb.RecordedMutationsParams{TenantID: p.TenantID,
				EmployeeID: p.EmployeeID, DeviceID: req.GetDeviceId(), FromID: int64(first), ToID: int64(upTo)})
			if err != nil {
				return err
			}
			byID := make(map[int64]deltadb.RecordedMutationsRow, len(recorded))
			for _, r := range recorded {
				byID[r.MutationID] = r
			}
			for id := first; id <= upTo; id++ {
				r, ok := byID[int64(id)]
				if !ok { // recorded longer ago than outcomes are kept
					r = deltadb.RecordedMutationsRow{Outcome: "applied"}
				}
				if r.OpDigest != nil && !bytes.Equal(r.OpDigest, digest(ms[id-first])) {
					return platform.FailedPrecondition(fmt.Sprintf("mutation %d of this device id was a different change: the id belongs to another installation (or a store restored from a backup); stop pushing and sign in again as a new installation, with a new device id", id))
				}
				out.Results = append(out.Results, &salesappv1.MutationResult{Id: id, Outcome: outcomes[r.Outcome],
					Code: r.Code, Field: r.Field, Message: r.Message})
			}
		}
		var fresh []*salesappv1.Mutation
		for _, m := range ms {
			if m.GetId() > uint64(last) {
				fresh = append(fresh, m)
			}
		}
		if len(fresh) > 0 && fresh[0].GetId() != uint64(last)+1 {
			return platform.FailedPrecondition(fmt.Sprintf("mutation %d is next for this device, not %d: the app's outbox and the server's record of this device id disagree (the id reused by another installation, or a store restored from a backup); stop pushing and sign in again as a new installation, with a new device id", last+1, fresh[0].GetId()))
		}
		rec := deltadb.RecordMutationsParams{TenantID: p.TenantID, EmployeeID: p.EmployeeID, DeviceID: req.GetDeviceId()}
		for _, m := range fresh {
			res, err := e.apply(ctx, tx, p, m, careful)
			if err != nil {
				return err
			}
			out.Results = append(out.Results, res)
			rec.MutationIds = append(rec.MutationIds, int64(res.Id))
			rec.Outcomes = append(rec.Outcomes, outcomeNames[res.Outcome])
			rec.Codes = append(rec.Codes, res.Code)
			rec.Fields = append(rec.Fields, res.Field)
			rec.Messages = append(rec.Messages, res.Message)
			rec.OpDigests = append(rec.OpDigests, digest(m))
		}
		out.LastMutationId = uint64(last)
		if len(fresh) == 0 {
			return nil
		}
		out.LastMutationId = fresh[len(fresh)-1].GetId()
		if err := q.RecordMutations(ctx, rec); err != nil {
			return err
		}
		return q.SetDeviceMark(ctx, deltadb.SetDeviceMarkParams{TenantID: p.TenantID, EmployeeID: p.EmployeeID,
			DeviceID: req.GetDeviceId(), LastMutationID: int64(out.LastMutationId)})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// digest identifies a mutation's content, so that a resend can be told from a different change under
// the same id. The deterministic encoding of the parsed message does not depend on how the app encoded it.
func digest(m *salesappv1.Mutation) []byte {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m) // a message parsed from the wire marshals
	sum := sha256.Sum256(b)
	return sum[:16]
}

var outcomes = map[string]salesappv1.MutationResult_Outcome{
	"applied":  salesappv1.MutationResult_OUTCOME_APPLIED,
	"lost":     salesappv1.MutationResult_OUTCOME_LOST,
	"rejected": salesappv1.MutationResult_OUTCOME_REJECTED,
}

var outcomeNames = map[salesappv1.MutationResult_Outcome]string{
	salesappv1.MutationResult_OUTCOME_APPLIED:  "applied",
	salesappv1.MutationResult_OUTCOME_LOST:     "lost",
	salesappv1.MutationResult_OUTCOME_REJECTED: "rejected",
}

// apply runs one mutation: directly, or, careful, in a savepoint, so that a mutation that fails for good
// leaves nothing behind but its outcome. A transient failure fails the whole push.
func (e *Engine) apply(ctx context.Context, tx pgx.Tx, p authn.Principal, m *salesappv1.Mutation, careful bool) (*salesappv1.MutationResult, error) {
	res := &salesappv1.MutationResult{Id: m.GetId(), Outcome: salesappv1.MutationResult_OUTCOME_APPLIED}
	// A mutation this server cannot apply (malformed, or of a kind it does not know) is rejected on its
	// own, so the device's later mutations still go through.
	fn, ok := e.appliers[opOf(m)]
	if !ok {
		res.Outcome, res.Code, res.Message = salesappv1.MutationResult_OUTCOME_REJECTED, connect.CodeInvalidArgument.String(), "this server does not apply mutations of this kind (an app newer than the server?): it will never be applied"
		return res, nil
	}
	var verr *protovalidate.ValidationError
	// (The RPC's validation leaves the mutations to the engine: one bad mutation must not refuse the push.)
	if err := protovalidate.Validate(m); errors.As(err, &verr) && len(verr.Violations) > 0 {
		v := verr.Violations[0].Proto
		res.Outcome, res.Code = salesappv1.MutationResult_OUTCOME_REJECTED, connect.CodeInvalidArgument.String()
		res.Field, res.Message = protovalidate.FieldPathString(v.GetField()), v.GetMessage()
		return res, nil
	} else if err != nil {
		return nil, err
	}
	if !careful {
		if err := fn(ctx, tx, p, m); err != nil {
			return nil, errors.Join(errNeedSavepoints, err)
		}
		return res, nil
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return nil, err
	}
	err = fn(ctx, sp, p, m)
	if err == nil {
		return res, sp.Commit(ctx)
	}
	if rbErr := sp.Rollback(ctx); rbErr != nil {
		return nil, rbErr
	}
	var de *platform.Error
	refusal, refused := platform.RefusedData(err)
	switch {
	case errors.As(err, &de):
		res.Outcome = salesappv1.MutationResult_OUTCOME_REJECTED
		if de.Kind == platform.KindNotFound || de.Kind == platform.KindPermissionDenied {
			res.Outcome = salesappv1.MutationResult_OUTCOME_LOST
		}
		res.Code, res.Field, res.Message = connect.CodeOf(rpcserver.ToConnect(err)).String(), de.Field, de.Msg
		if res.Field != "" && !strings.Contains(res.Field, ".") {
			// A domain names its own field ("tag"); the app knows it as the mutation's ("tag_customer.tag").
			res.Field = opOf(m) + "." + res.Field
		}
	case refused:
		res.Outcome = salesappv1.MutationResult_OUTCOME_REJECTED
		res.Code, res.Message = connect.CodeInvalidArgument.String(), refusal.Reason
		if refusal.Column != "" {
			res.Field = opOf(m) + "." + refusal.Column
		}
	default:
		return nil, err
	}
	return res, nil
}
