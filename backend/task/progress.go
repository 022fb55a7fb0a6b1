package task

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/stats"
	"github.com/salesapp/scrm/backend/task/internal/taskdb"
	"github.com/salesapp/scrm/push/alert"
)

// Hit is one newly stored event that came through a share carrying a task.
type Hit struct {
	TaskID uuid.UUID
	// EmployeeID is the salesperson the share (and its forward tree) is credited to.
	EmployeeID uuid.UUID
	CustomerID uuid.UUID
	Kind       event.Kind
	// NewCustomer: the customer was made by this event's batch, from a visit through this share.
	NewCustomer bool
	OccurredAt  time.Time
}

// RecordProgressTx adds a batch of newly stored events (each event once: the caller passes only the rows
// it inserted) to the progress of their tasks, inside the ingest's transaction, in two statements whatever
// the batch's size, and returns the alerts of the assignees it completed (the salesperson and the task's
// creator, each once ever), for the caller to record with the batch's other alerts. Events outside a
// task's window, of a cancelled task, or credited to someone not on it count for nothing.
func RecordProgressTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, hits []Hit, now time.Time) ([]alert.Alert, error) {
	if len(hits) == 0 {
		return nil, nil
	}
	p := taskdb.RecordProgressParams{TenantID: tenantID}
	for _, h := range hits {
		switch h.Kind {
		case event.CardView, event.MaterialView, event.Forward, event.PhoneLeft:
		default:
			if !h.NewCustomer {
				continue
			}
		}
		p.TaskIds = append(p.TaskIds, h.TaskID)
		p.EmployeeIds = append(p.EmployeeIds, h.EmployeeID)
		p.CustomerIds = append(p.CustomerIds, h.CustomerID)
		p.Kinds = append(p.Kinds, string(h.Kind))
		p.NewCustomers = append(p.NewCustomers, h.NewCustomer)
		p.OccurredAt = append(p.OccurredAt, h.OccurredAt)
	}
	if len(p.TaskIds) == 0 {
		return nil, nil
	}
	q := taskdb.New(tx)
	moved, err := q.RecordProgress(ctx, p)
	if err != nil || len(moved) == 0 {
		return nil, err
	}
	// The same order every time, so that concurrent batches lock assignees in one order.
	slices.SortFunc(moved, func(a, b taskdb.RecordProgressRow) int {
		if c := bytes.Compare(a.TaskID[:], b.TaskID[:]); c != 0 {
			return c
		}
		return bytes.Compare(a.EmployeeID[:], b.EmployeeID[:])
	})
	tasks, emps := make([]uuid.UUID, len(moved)), make([]uuid.UUID, len(moved))
	for i, m := range moved {
		tasks[i], emps[i] = m.TaskID, m.EmployeeID
	}
	return completeTx(ctx, tx, tenantID, tasks, emps, now)
}

// completeTx marks complete those of the assignees who met every target, and returns their alerts: one
// to the salesperson, one to the creator (once, when they are the same person).
func completeTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, tasks, emps []uuid.UUID, now time.Time) ([]alert.Alert, error) {
	if len(tasks) == 0 {
		return nil, nil
	}
	done, err := taskdb.New(tx).CompleteReached(ctx, taskdb.CompleteReachedParams{TenantID: tenantID, TaskIds: tasks, EmployeeIds: emps})
	if err != nil {
		return nil, err
	}
	var out []alert.Alert
	completers := make([]uuid.UUID, len(done))
	for i, d := range done {
		completers[i] = d.EmployeeID
		what := alert.Title(d.Title)
		out = append(out, alert.Alert{Kind: alert.KindTaskCompleted, EmployeeID: d.EmployeeID, At: now,
			Body: fmt.Sprintf("You completed %s", what)})
		if d.CreatedBy != d.EmployeeID {
			out = append(out, alert.Alert{Kind: alert.KindTaskCompleted, EmployeeID: d.CreatedBy, At: now,
				Body: fmt.Sprintf("A salesperson completed %s", what)})
		}
	}
	// The rankings count completed tasks (stats owns those counters): one statement for all of them.
	if err := stats.RecordTaskCompletedTx(ctx, tx, tenantID, completers, now); err != nil {
		return nil, err
	}
	return out, nil
}

// ShareTx checks that the employee may share for the task now (they are on it, it runs, and the
// material, when the task names materials, is one of them; a card share suits any task) and counts the
// share toward it. It runs in the share's transaction and answers the alerts of a completion it causes,
// for the caller to record there (alert.Record, with their pushes) and to wake after the commit.
func ShareTx(ctx context.Context, tx pgx.Tx, tenantID, employeeID, taskID, materialID uuid.UUID) ([]alert.Alert, error) {
	q := taskdb.New(tx)
	mats, err := q.ShareableTask(ctx, taskdb.ShareableTaskParams{TenantID: tenantID, TaskID: taskID, EmployeeID: employeeID})
	if err != nil {
		if err == pgx.ErrNoRows {
			return nil, platform.NotFound("task")
		}
		return nil, err
	}
	if materialID != uuid.Nil && len(mats) > 0 && !slices.Contains(mats, materialID) {
		return nil, platform.Invalid("task_id", "the task does not ask to share this material")
	}
	if err := q.CountShare(ctx, taskdb.CountShareParams{TenantID: tenantID, TaskID: taskID, EmployeeID: employeeID}); err != nil {
		return nil, err
	}
	return completeTx(ctx, tx, tenantID, []uuid.UUID{taskID}, []uuid.UUID{employeeID}, time.Now())
}

// HandOverTx gives fromID's place on each open task (active, not ended, not completed by them) to toID
// with its progress so far, inside the caller's transaction, and returns how many moved. A task toID is
// on already keeps toID's own place.
func HandOverTx(ctx context.Context, tx pgx.Tx, tenantID, fromID, toID uuid.UUID) (int, error) {
	n, err := taskdb.New(tx).HandOverAssignees(ctx, taskdb.HandOverAssigneesParams{TenantID: tenantID, FromID: fromID, ToID: toID})
	return int(n), err
}
