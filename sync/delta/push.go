package delta

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/sync/delta/internal/deltadb"
)

// Mutation is one change a device made offline, numbered per device from 1.
type Mutation struct {
	ID uint64
	// Op names its kind, as its applier was registered (add_note...); empty when the app sent a kind the
	// adapter could not read (an app newer than the server).
	Op string
	// Payload is handed to the op's applier as it is: the domain that owns the op reads it.
	Payload proto.Message
	// Content is the mutation as the device sent it, in an encoding that depends on nothing but its
	// content (SyncService's: the deterministic protobuf encoding of the whole Mutation message, id
	// included). A digest of it is kept with the outcome, to tell a resend from a different change under
	// the same id: recorded digests stay comparable only while this encoding stays the same.
	Content []byte
	// Invalid, when not nil, is why the adapter found the mutation malformed (a field breaking a rule of
	// the wire format). It is rejected with that reason, without being applied, and the ids still advance.
	Invalid *Reason
}

// Outcome is what became of a mutation; the names are those sync_mutations.outcome stores.
type Outcome string

// The outcomes.
const (
	// Applied: its effects are in (a resend: were put in by the push that first applied it).
	Applied Outcome = "applied"
	// Lost: not applied because of a conflict; what it edits was deleted or left the caller's scopes.
	Lost Outcome = "lost"
	// Rejected: not applied and never will be (malformed, not allowed, of an unknown kind).
	Rejected Outcome = "rejected"
)

// Reason says why a mutation was lost or rejected.
type Reason struct {
	// Kind is the kind of the domain error that refused it (KindInvalid for a malformed mutation or an op
	// the server does not know; KindNotFound or KindPermissionDenied for a lost one).
	Kind platform.Kind
	// Field names the mutation's field at fault as the app knows it (add_note.body), or is empty.
	Field string
	// Message is fit for the app.
	Message string
}

// Result answers one mutation.
type Result struct {
	ID      uint64
	Outcome Outcome
	// Replayed: the mutation was applied (or refused) by an earlier push, whose reply the device did not
	// get; this is the outcome recorded then, and nothing was applied now.
	Replayed bool
	// Reason is why it was lost or rejected; nil when applied.
	Reason *Reason
}

// Pushed is a push's answer.
type Pushed struct {
	// LastMutationID is the device's last mutation answered after this push.
	LastMutationID uint64
	// Results answer the mutations sent, one each, in order.
	Results []Result
}

// Push applies a device's mutations in id order, each at most once. Mutations whose ids were answered
// before are answered from the record and not applied again. A push whose ids break the numbering is
// refused whole, with a *BatchError or a *MismatchError.
func (e *Engine) Push(ctx context.Context, p authn.Principal, d Device, ms []Mutation) (Pushed, error) {
	if err := e.checkSchema(d.SchemaVersion); err != nil {
		return Pushed{}, err
	}
	if len(ms) == 0 || len(ms) > MaxPushMutations {
		return Pushed{}, &BatchError{Index: -1, Reason: fmt.Sprintf("1 to %d mutations", MaxPushMutations)}
	}
	// The numbering is checked here, for the whole push; each mutation's own fields when it is applied.
	if ms[0].ID == 0 {
		return Pushed{}, &BatchError{Index: 0, Reason: "ids start at 1"}
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].ID != ms[i-1].ID+1 {
			return Pushed{}, &BatchError{Index: i, Reason: "ids must be consecutive"}
		}
	}
	// Most pushes apply cleanly: they run without savepoints (two round trips fewer per mutation). The
	// first mutation that fails rolls that attempt back, and the push runs again with a savepoint around
	// each mutation, so the failure leaves nothing behind but its outcome.
	careful := false
	for attempt := 0; ; attempt++ {
		out, err := e.push(ctx, p, d, ms, careful)
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

func (e *Engine) push(ctx context.Context, p authn.Principal, d Device, ms []Mutation, careful bool) (Pushed, error) {
	var out Pushed
	err := e.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := deltadb.New(tx)
		dev := deltadb.LockDeviceParams{TenantID: p.TenantID, EmployeeID: p.EmployeeID, DeviceID: d.ID,
			SchemaVersion: int32(d.SchemaVersion)}
		last, err := q.LockDevice(ctx, dev)
		if err != nil {
			return err
		}
		out.Results = make([]Result, 0, len(ms))
		first := ms[0].ID
		if first <= uint64(last) {
			// Sent before (a reply that never arrived): answer from the record, apply nothing again.
			upTo := min(uint64(last), ms[len(ms)-1].ID)
			recorded, err := q.RecordedMutations(ctx, deltadb.RecordedMutationsParams{TenantID: p.TenantID,
				EmployeeID: p.EmployeeID, DeviceID: d.ID, FromID: int64(first), ToID: int64(upTo)})
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
					r = deltadb.RecordedMutationsRow{Outcome: string(Applied)}
				}
				if r.OpDigest != nil && !bytes.Equal(r.OpDigest, digest(ms[id-first].Content)) {
					return &MismatchError{Err: ErrReusedID, ID: id}
				}
				out.Results = append(out.Results, recordedResult(id, r))
			}
		}
		var fresh []Mutation
		for _, m := range ms {
			if m.ID > uint64(last) {
				fresh = append(fresh, m)
			}
		}
		if len(fresh) > 0 && fresh[0].ID != uint64(last)+1 {
			return &MismatchError{Err: ErrGap, ID: fresh[0].ID, Next: uint64(last) + 1}
		}
		rec := deltadb.RecordMutationsParams{TenantID: p.TenantID, EmployeeID: p.EmployeeID, DeviceID: d.ID}
		for _, m := range fresh {
			res, err := e.apply(ctx, tx, p, m, careful)
			if err != nil {
				return err
			}
			out.Results = append(out.Results, res)
			code, field, message := "", "", ""
			if r := res.Reason; r != nil {
				code, field, message = codeName(r.Kind), r.Field, r.Message
			}
			rec.MutationIds = append(rec.MutationIds, int64(res.ID))
			rec.Outcomes = append(rec.Outcomes, string(res.Outcome))
			rec.Codes = append(rec.Codes, code)
			rec.Fields = append(rec.Fields, field)
			rec.Messages = append(rec.Messages, message)
			rec.OpDigests = append(rec.OpDigests, digest(m.Content))
		}
		out.LastMutationID = uint64(last)
		if len(fresh) == 0 {
			return nil
		}
		out.LastMutationID = fresh[len(fresh)-1].ID
		if err := q.RecordMutations(ctx, rec); err != nil {
			return err
		}
		return q.SetDeviceMark(ctx, deltadb.SetDeviceMarkParams{TenantID: p.TenantID, EmployeeID: p.EmployeeID,
			DeviceID: d.ID, LastMutationID: int64(out.LastMutationID)})
	})
	if err != nil {
		return Pushed{}, err
	}
	return out, nil
}

// digest identifies a mutation's content, so that a resend can be told from a different change under
// the same id.
func digest(content []byte) []byte {
	sum := sha256.Sum256(content)
	return sum[:16]
}

// codeNames are the names sync_mutations.code stores for each kind of refusal. They are the Connect code
// names the app is sent for them (and has been sent for outcomes recorded before): they must not change.
var codeNames = map[platform.Kind]string{
	platform.KindInternal:           "internal",
	platform.KindInvalid:            "invalid_argument",
	platform.KindNotFound:           "not_found",
	platform.KindAlreadyExists:      "already_exists",
	platform.KindPermissionDenied:   "permission_denied",
	platform.KindUnauthenticated:    "unauthenticated",
	platform.KindFailedPrecondition: "failed_precondition",
	platform.KindResourceExhausted:  "resource_exhausted",
}

// codeName is the name stored for a kind; one that has none is stored (and answered) as internal.
func codeName(k platform.Kind) string {
	if name, ok := codeNames[k]; ok {
		return name
	}
	return codeNames[platform.KindInternal]
}

var codeKinds = func() map[string]platform.Kind {
	m := make(map[string]platform.Kind, len(codeNames))
	for k, name := range codeNames {
		m[name] = k
	}
	return m
}()

// recordedResult is the answer recorded for a mutation a device sends again.
func recordedResult(id uint64, r deltadb.RecordedMutationsRow) Result {
	res := Result{ID: id, Outcome: Outcome(r.Outcome), Replayed: true}
	if res.Outcome != Applied {
		// (A code not in the table was never written; it would read as internal.)
		res.Reason = &Reason{Kind: codeKinds[r.Code], Field: r.Field, Message: r.Message}
	}
	return res
}

// apply runs one mutation: directly, or, careful, in a savepoint, so that a mutation that fails for good
// leaves nothing behind but its outcome. A transient failure fails the whole push.
func (e *Engine) apply(ctx context.Context, tx pgx.Tx, p authn.Principal, m Mutation, careful bool) (Result, error) {
	res := Result{ID: m.ID, Outcome: Applied}
	// A mutation this server cannot apply (malformed, or of a kind it does not know) is rejected on its
	// own, so the device's later mutations still go through.
	fn, ok := e.appliers[m.Op]
	if !ok {
		res.Outcome, res.Reason = Rejected, &Reason{Kind: platform.KindInvalid,
			Message: "this server does not apply mutations of this kind (an app newer than the server?): it will never be applied"}
		return res, nil
	}
	if m.Invalid != nil {
		res.Outcome, res.Reason = Rejected, m.Invalid
		return res, nil
	}
	if !careful {
		if err := fn(ctx, tx, p, m.Payload); err != nil {
			return Result{}, errors.Join(errNeedSavepoints, err)
		}
		return res, nil
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return Result{}, err
	}
	err = fn(ctx, sp, p, m.Payload)
	if err == nil {
		return res, sp.Commit(ctx)
	}
	if rbErr := sp.Rollback(ctx); rbErr != nil {
		return Result{}, rbErr
	}
	var de *platform.Error
	refusal, refused := platform.RefusedData(err)
	switch {
	case errors.As(err, &de):
		res.Outcome = Rejected
		if de.Kind == platform.KindNotFound || de.Kind == platform.KindPermissionDenied {
			res.Outcome = Lost
		}
		res.Reason = &Reason{Kind: de.Kind, Field: de.Field, Message: de.Msg}
		if de.Field != "" && !strings.Contains(de.Field, ".") {
			// A domain names its own field ("tag"); the app knows it as the mutation's ("tag_customer.tag").
			res.Reason.Field = m.Op + "." + de.Field
		}
	case refused:
		res.Outcome = Rejected
		res.Reason = &Reason{Kind: platform.KindInvalid, Message: refusal.Reason}
		if refusal.Column != "" {
			res.Reason.Field = m.Op + "." + refusal.Column
		}
	default:
		return Result{}, err
	}
	return res, nil
}
