package wecom

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
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

// DispatchArgs is the job processing one stored event.
type DispatchArgs struct {
	TenantID uuid.UUID `json:"tenant_id"`
	EventID  uuid.UUID `json:"event_id"`
}

// Kind implements river.JobArgs.
func (DispatchArgs) Kind() string { return "wecom_event" }

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
// a replay racing a retry).
func (w *DispatchWorker) Work(ctx context.Context, job *river.Job[DispatchArgs]) error {
	s, a := w.s, job.Args
	err := s.db.InTenantTx(ctx, a.TenantID, func(tx pgx.Tx) error {
		q := wecomdb.New(tx)
		locked, err := q.LockEvent(ctx, wecomdb.LockEventParams{TenantID: a.TenantID, ID: a.EventID})
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // the tenant was deleted
		}
		if err != nil {
			return err
		}
		row := locked.WecomEvent
		if Status(row.Status) == StatusDone || Status(row.Status) == StatusIgnored {
			return nil
		}
		ev, err := eventOf(row)
		if err != nil {
			return err
		}
		h, ok := s.handlers[ev.Kind]
		if !ok {
			return q.FinishEvent(ctx, wecomdb.FinishEventParams{TenantID: a.TenantID, ID: a.EventID, Status: string(StatusIgnored)})
		}
		if !locked.PlanHasWecom {
			// Kept, not run: an admin replays it (ReplayWeComEvent) once the plan includes WeCom again.
			return q.FailEvent(ctx, wecomdb.FailEventParams{TenantID: a.TenantID, ID: a.EventID, Status: string(StatusFailed),
				LastError: errPlanLacksWeCom})
		}
		if err := h(ctx, tx, ev); err != nil {
			return err
		}
		return q.FinishEvent(ctx, wecomdb.FinishEventParams{TenantID: a.TenantID, ID: a.EventID, Status: string(StatusDone)})
	})
	if err == nil {
		return nil
	}
	// The handler's writes rolled back; record the try in a transaction of its own.
	status := StatusPending
	if job.Attempt >= job.MaxAttempts {
		status = StatusFailed
	}
	msg := ClipError(err)
	if rerr := s.db.InTenantTx(ctx, a.TenantID, func(tx pgx.Tx) error {
		return wecomdb.New(tx).FailEvent(ctx, wecomdb.FailEventParams{TenantID: a.TenantID, ID: a.EventID,
			Status: string(status), LastError: msg})
	}); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
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
		return s.enqueueTx(ctx, tx, p.TenantID, id)
	})
}
