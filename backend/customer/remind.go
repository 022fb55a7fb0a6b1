package customer

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/salesapp/scrm/backend/customer/internal/customerdb"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/push/alert"
)

// Follow-up reminders (issue 15, point 4): when a note's next_at comes, its author is alerted (stream,
// push, sync), once; during their quiet hours the reminder waits for the hours to end instead of going out
// unpushed. A periodic job (RemindArgs, every RemindEvery) finds the tenants with follow-ups due and not
// yet reminded (follow_up_due_tenants, migration 042) and reminds each tenant's in a transaction that
// records them (follow_up_reminders), so a run retried or run twice reminds nobody twice. A new next_at
// brings a new reminder. Follow-ups due more than RemindLookBack ago are not reminded: a note written
// with a next_at long past, or notes from before reminders existed.

// RemindEvery is how often the reminder job runs: a reminder goes out at most this late.
const RemindEvery = 30 * time.Second

// RemindLookBack is how long after its next_at a follow-up is still reminded; longer than any quiet hours,
// so a reminder held through them still goes out.
const RemindLookBack = 25 * time.Hour

// remindPage is how many due follow-ups one transaction reminds.
const remindPage = 500

// RemindArgs is the periodic reminder job.
type RemindArgs struct{}

// Kind implements river.JobArgs.
func (RemindArgs) Kind() string { return "follow_up_remind" }

// Reminders sends follow-up reminders.
type Reminders struct {
	db     *platform.DB
	notify alert.Notifier
	now    func() time.Time
}

// NewReminders builds the reminders: jobs queues the pushes (nil: none), wake is told after commit which
// alert streams grew (nil: nobody), now tells the time (time.Now when nil).
func NewReminders(db *platform.DB, jobs alert.Jobs, wake func([]alert.Key), now func() time.Time) *Reminders {
	if now == nil {
		now = time.Now
	}
	return &Reminders{db: db, notify: alert.Notifier{Jobs: jobs, Wake: wake}, now: now}
}

// RemindWorker runs RemindArgs.
type RemindWorker struct {
	river.WorkerDefaults[RemindArgs]
	r *Reminders
}

// Worker is the reminder job's River worker.
func (r *Reminders) Worker() *RemindWorker { return &RemindWorker{r: r} }

// Periodic is the reminder job, every RemindEvery.
func (r *Reminders) Periodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(RemindEvery),
		func() (river.JobArgs, *river.InsertOpts) { return RemindArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})
}

// Work implements river.Worker.
func (w *RemindWorker) Work(ctx context.Context, _ *river.Job[RemindArgs]) error {
	_, err := w.r.Run(ctx)
	return err
}

// Run reminds the follow-ups due by now, tenant by tenant, and answers how many it reminded.
func (r *Reminders) Run(ctx context.Context) (int, error) {
	now := r.now()
	since := now.Add(-RemindLookBack)
	tenants, err := customerdb.New(r.db.Pool).FollowUpDueTenants(ctx, customerdb.FollowUpDueTenantsParams{Since: since, Now: now})
	if err != nil {
		return 0, err
	}
	total := 0
	for _, t := range tenants {
		n, err := r.remindTenant(ctx, t, since, now)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// remindTenant reminds a tenant's due follow-ups, a page per transaction. The follow-ups of an author in
// quiet hours are left for a run after the hours end.
func (r *Reminders) remindTenant(ctx context.Context, tenantID uuid.UUID, since, now time.Time) (int, error) {
	total := 0
	after, afterID := since, uuid.Nil
	for {
		var rows []customerdb.DueFollowUpsRow
		var note alert.Notice
		err := r.db.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
			q := customerdb.New(tx)
			var err error
			rows, err = q.DueFollowUps(ctx, customerdb.DueFollowUpsParams{TenantID: tenantID, Since: since, Now: now,
				AfterAt: after, AfterID: afterID, MaxRows: remindPage})
			if err != nil || len(rows) == 0 {
				return err
			}
			quiet := map[uuid.UUID]bool{}
			var alerts []alert.Alert
			var notes []uuid.UUID
			var dues []time.Time
			for _, n := range rows {
				q, seen := quiet[n.AuthorID]
				if !seen {
					if q, err = alert.QuietTx(ctx, tx, tenantID, n.AuthorID, now); err != nil {
						return err
					}
					quiet[n.AuthorID] = q
				}
				if q {
					continue // held: a run after the quiet hours reminds it
				}
				alerts = append(alerts, alert.Alert{Kind: alert.KindFollowUpDue, EmployeeID: n.AuthorID, CustomerID: n.CustomerID,
					Body: reminderBody(n.CustomerName, n.Body), At: now})
				notes, dues = append(notes, n.ID), append(dues, *n.NextAt)
			}
			if len(alerts) == 0 {
				return nil
			}
			if err := r.notify.RecordTx(ctx, tx, &note, tenantID, alerts, now); err != nil {
				return err
			}
			if err := q.RecordReminders(ctx, customerdb.RecordRemindersParams{TenantID: tenantID, NoteIds: notes, NextAts: dues}); err != nil {
				return err
			}
			total += len(notes)
			return q.PurgeReminders(ctx, customerdb.PurgeRemindersParams{TenantID: tenantID, Before: since})
		})
		if err != nil {
			return total, err
		}
		r.notify.After(&note)
		if len(rows) < remindPage {
			return total, nil
		}
		last := rows[len(rows)-1]
		after, afterID = *last.NextAt, last.ID
	}
}

// reminderBody is the alert's sentence: whom to follow up with, and the start of the note.
func reminderBody(customer, note string) string {
	const most = 80
	if utf8.RuneCountInString(note) > most {
		note = string([]rune(note)[:most]) + "…"
	}
	if customer == "" {
		customer = "a customer"
	}
	return "Follow up with " + customer + ": " + note
}
