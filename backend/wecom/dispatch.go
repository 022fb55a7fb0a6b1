package wecom

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/wecom/internal/wecomdb"
)

// DispatchArgs is the job processing stored events of one tenant: the events a batch of callbacks
// stored together (at most dispatchMax), or one replayed event.
type DispatchArgs struct {
	TenantID uuid.UUID   `json:"tenant_id"`
	EventIDs []uuid.UUID `json:"event_ids,omitempty"`
	// EventID is one event, as jobs were queued before events were processed in groups.
	EventID uuid.UUID `json:"event_id,omitzero"`
}

// Kind implements river.JobArgs.
func (DispatchArgs) Kind() string { return "wecom_event" }

func (a DispatchArgs) ids() []uuid.UUID {
	if a.EventID != uuid.Nil {
		return append([]uuid.UUID{a.EventID}, a.EventIDs...)
	}
	return a.EventIDs
}

// Processing each event in a job and a transaction of its own cost about six round trips and River's
// fetch and completion per event, three times the CPU of storing it, and at 500 callbacks/s that work
// delayed the acknowledgements. So a job carries the events one batch stored (up to dispatchMax), and
// processes them in transactions of up to dispatchSlice: the events are locked with one statement, each
// handler runs in a savepoint of its own (its failure rolls back its writes only), and the outcomes are
// written with one statement each. An event's alert then waits at most dispatchSlice for its commit.
const (
	dispatchMax   = 32
	dispatchSlice = 100 * time.Millisecond
)

// DispatchWorker runs DispatchArgs: it calls the handler registered for the event's kind.
type DispatchWorker struct {
	river.WorkerDefaults[DispatchArgs]
	s *Service
}

// DispatchWorker returns the dispatcher.
func (s *Service) DispatchWorker() *DispatchWorker { return &DispatchWorker{s: s} }

// errPlanLacksWeCom is the error kept with an event received while the tenant's plan lacked WeCom.
const errPlanLacksWeCom = "not processed: the enterprise's plan does not include the WeCom bridge; replay it after an upgrade"

// MaxError bounds an error kept for an admin to read (an event's, a sync's, an import's): the columns
// that keep them check it.
const MaxError = 1000

// ClipError is err's text, trimmed and cut to MaxError bytes on a character boundary.
func ClipError(err error) string {
	s := strings.TrimSpace(err.Error())
	if len(s) <= MaxError {
		return s
	}
	s = s[:MaxError]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// Work implements river.Worker. An event already done or ignored is not processed again (a job run twice,
// a replay racing a retry, a retry of a job some of whose events were processed). An event whose handler
// failed is recorded pending (failed at the job's last attempt) and the job fails, so River retries it
// with backoff; the retry processes only what is not done.
func (w *DispatchWorker) Work(ctx context.Context, job *river.Job[DispatchArgs]) error {
	s, a := w.s, job.Args
	status := StatusPending
	if job.Attempt >= job.MaxAttempts {
		status = StatusFailed
	}
	left := a.ids()
	var failures []error
	for len(left) > 0 {
		var r dispatchRound
		// Custom plans: wecom_events grows from empty, and a generic plan of LockEvents made while it was
		// small scans it whole (it did in the benchmark, tripling PostgreSQL's CPU per event).
		err := s.db.InTenantTxCustomPlans(ctx, a.TenantID, func(tx pgx.Tx) error {
			r = dispatchRound{}
			return s.dispatchTx(ctx, tx, a.TenantID, left, status, &r)
		})
		if err != nil {
			// The transaction failed as a whole (its writes rolled back); record the try in one of its own.
			msg := ClipError(err)
			p := wecomdb.FailEventsParams{TenantID: a.TenantID, Status: string(status)}
			for _, id := range left {
				p.Ids, p.LastErrors = append(p.Ids, id), append(p.LastErrors, msg)
			}
			if rerr := s.db.InTenantTx(ctx, a.TenantID, func(tx pgx.Tx) error {
				return wecomdb.New(tx).FailEvents(ctx, p)
			}); rerr != nil {
				return errors.Join(err, rerr)
			}
			return err
		}
		for _, fn := range r.after {
			fn()
		}
		failures = append(failures, r.failures...)
		left = r.left
	}
	if len(failures) > 0 {
		return fmt.Errorf("%d of %d events failed: %w", len(failures), len(a.ids()), errors.Join(failures...))
	}
	return nil
}

// dispatchRound is what one transaction of a job did.
type dispatchRound struct {
	// left are the events it did not reach within dispatchSlice.
	left     []uuid.UUID
	failures []error
	// after are what the handlers that succeeded asked to run once the transaction commits.
	after []func()
}

type afterCommitKey struct{}

// afterCommit collects one handler's AfterCommit functions.
type afterCommit struct{ fns []func() }

// AfterCommit has fn run once the transaction the handler runs in (the ctx it was given) has committed
// with the handler's writes: a WebSocket wake-up for an alert it recorded, say. Not at all when the
// handler fails or the transaction rolls back. Outside a handler it runs fn at once.
func AfterCommit(ctx context.Context, fn func()) {
	if a, ok := ctx.Value(afterCommitKey{}).(*afterCommit); ok {
		a.fns = append(a.fns, fn)
		return
	}
	fn()
}

// dispatchTx processes the events ids of a tenant in tx, for dispatchSlice at least one of them.
func (s *Service) dispatchTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, ids []uuid.UUID, status Status, r *dispatchRound) error {
	q := wecomdb.New(tx)
	rows, err := q.LockEvents(ctx, wecomdb.LockEventsParams{TenantID: tenantID, Ids: ids})
	if err != nil {
		return err
	}
	var done, ignored []uuid.UUID
	failed := wecomdb.FailEventsParams{TenantID: tenantID, Status: string(status)}
	lacking := wecomdb.FailEventsParams{TenantID: tenantID, Status: string(StatusFailed)}
	end := time.Now().Add(dispatchSlice)
	for i, locked := range rows {
		if i > 0 && time.Now().After(end) {
			for _, rest := range rows[i:] {
				r.left = append(r.left, rest.WecomEvent.ID)
			}
			break
		}
		row := locked.WecomEvent
		if Status(row.Status) == StatusDone || Status(row.Status) == StatusIgnored {
			continue
		}
		ev, err := eventOf(row)
		if err != nil {
			failed.Ids, failed.LastErrors = append(failed.Ids, row.ID), append(failed.LastErrors, ClipError(err))
			r.failures = append(r.failures, err)
			continue
		}
		h, ok := s.handlers[ev.Kind]
		switch {
		case !ok:
			ignored = append(ignored, row.ID)
		case !locked.PlanHasWecom:
			// Kept, not run: an admin replays it (ReplayWeComEvent) once the plan includes WeCom again.
			lacking.Ids, lacking.LastErrors = append(lacking.Ids, row.ID), append(lacking.LastErrors, errPlanLacksWeCom)
		default:
			after := &afterCommit{}
			herr, err := handleInSavepoint(context.WithValue(ctx, afterCommitKey{}, after), tx, h, ev)
			if err != nil {
				return err // the transaction cannot go on
			}
			if herr != nil {
				failed.Ids, failed.LastErrors = append(failed.Ids, row.ID), append(failed.LastErrors, ClipError(herr))
				r.failures = append(r.failures, herr)
				continue
			}
			r.after = append(r.after, after.fns...)
			done = append(done, row.ID)
		}
	}
	for st, ids := range map[Status][]uuid.UUID{StatusDone: done, StatusIgnored: ignored} {
		if len(ids) > 0 {
			if err := q.FinishEvents(ctx, wecomdb.FinishEventsParams{TenantID: tenantID, Ids: ids, Status: string(st)}); err != nil {
				return err
			}
		}
	}
	for _, p := range []wecomdb.FailEventsParams{failed, lacking} {
		if len(p.Ids) > 0 {
			if err := q.FailEvents(ctx, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// handleInSavepoint runs h in a savepoint of tx: herr is the handler's error, its writes rolled back;
// err says tx cannot be used any more.
func handleInSavepoint(ctx context.Context, tx pgx.Tx, h Handler, ev Event) (herr, err error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return nil, err
	}
	if herr = h(ctx, sp, ev); herr != nil {
		if err := sp.Rollback(ctx); err != nil {
			return herr, errors.Join(herr, err)
		}
		return herr, nil
	}
	return nil, sp.Commit(ctx)
}

func eventOf(row wecomdb.WecomEvent) (Event, error) {
	ev := Event{TenantID: row.TenantID, ID: row.ID, DedupKey: row.DedupKey,
		Kind:       Kind{MsgType: row.MsgType, Event: row.Event, ChangeType: row.ChangeType},
		ReceivedAt: row.ReceivedAt, Status: Status(row.Status), Attempts: int(row.Attempts), LastError: row.LastError, XML: row.Xml}
	if row.ProcessedAt != nil {
		ev.ProcessedAt = *row.ProcessedAt
	}
	f, err := parseFlat([]byte(row.Xml))
	if err != nil {
		return Event{}, err
	}
	ev.Fields = f
	return ev, nil
}

// EventFilter selects events to list.
type EventFilter struct {
	// Status is one status, or "" for all.
	Status Status
	// PageSize is at most 200 (default 50).
	PageSize  int
	PageToken string
}

// ListEvents lists the tenant's events, newest first.
func (s *Service) ListEvents(ctx context.Context, p authn.Principal, f EventFilter) ([]Event, string, error) {
	if err := adminOnly(p); err != nil {
		return nil, "", err
	}
	switch f.Status {
	case "", StatusPending, StatusDone, StatusFailed, StatusIgnored:
	default:
		return nil, "", platform.Invalid("status", "unknown status")
	}
	size := f.PageSize
	if size <= 0 {
		size = 50
	}
	size = min(size, 200)
	params := wecomdb.ListEventsParams{TenantID: p.TenantID, Status: string(f.Status), MaxRows: int32(size + 1)}
	if f.PageToken != "" {
		at, id, err := decodePageToken(f.PageToken)
		if err != nil {
			return nil, "", err
		}
		params.BeforeAt, params.BeforeID = &at, id
	}
	var out []Event
	var next string
	err := s.db.InTenantSnapshot(ctx, p.TenantID, func(tx pgx.Tx) error {
		rows, err := wecomdb.New(tx).ListEvents(ctx, params)
		if err != nil {
			return err
		}
		if len(rows) > size {
			rows = rows[:size]
			last := rows[size-1]
			next = encodePageToken(last.ReceivedAt, last.ID)
		}
		for _, r := range rows {
			ev, err := eventOf(r)
			if err != nil {
				return err
			}
			out = append(out, ev)
		}
		return nil
	})
	return out, next, err
}

func encodePageToken(at time.Time, id uuid.UUID) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(at.UnixMicro()))
	return base64.RawURLEncoding.EncodeToString(append(b, id[:]...))
}

func decodePageToken(tok string) (time.Time, uuid.UUID, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 24 {
		return time.Time{}, uuid.Nil, platform.Invalid("page_token", "is not a token this list gave")
	}
	id, _ := uuid.FromBytes(b[8:])
	return time.UnixMicro(int64(binary.BigEndian.Uint64(b[:8]))), id, nil
}

// ReplayEvent queues a failed event again (its tries start over). NotFound when there is no such event,
// FailedPrecondition when it has not failed.
func (s *Service) ReplayEvent(ctx context.Context, p authn.Principal, id uuid.UUID) error {
	if err := adminOnly(p); err != nil {
		return err
	}
	return s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := wecomdb.New(tx)
		_, err := q.ReplayEvent(ctx, wecomdb.ReplayEventParams{TenantID: p.TenantID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			if _, serr := q.EventStatus(ctx, wecomdb.EventStatusParams{TenantID: p.TenantID, ID: id}); errors.Is(serr, pgx.ErrNoRows) {
				return platform.NotFound("WeCom event")
			}
			return platform.FailedPrecondition("only a failed event can be replayed")
		}
		if err != nil {
			return err
		}
		return s.enqueueTx(ctx, tx, p.TenantID, []uuid.UUID{id})
	})
}
