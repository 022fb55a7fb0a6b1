// Package pushjob is the River side of pushes: one job per (alert, device), inserted with the alert in the
// events' transaction (Jobs), and the worker that delivers it through APNs or FCM and completes its job at
// once (Worker). It is the one place that uses River's driver directly; see completer.
package pushjob

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/batch"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/push/alert"
	"github.com/salesapp/scrm/push/sender"
)

// PushAlertArgs asks for one stream entry to be pushed to one device.
type PushAlertArgs struct {
	TenantID   uuid.UUID `json:"tenant_id"`
	EmployeeID uuid.UUID `json:"employee_id"`
	DeviceID   uuid.UUID `json:"device_id"`
	Seq        int64     `json:"seq"`
}

// Kind implements river.JobArgs.
func (PushAlertArgs) Kind() string { return "push_alert" }

// Worker delivers push jobs. Start it before River's workers run, Stop it after they have stopped.
type Worker struct {
	river.WorkerDefaults[PushAlertArgs]
	alerts *alert.Service
	sender sender.Sender
	db     *platform.DB
	log    *slog.Logger
	// pusher and completions batch the pushes' database work; set by Start.
	pusher      *alert.Pusher
	completions *completer
}

// NewWorker builds the worker.
func NewWorker(db *platform.DB, alerts *alert.Service, snd sender.Sender, log *slog.Logger) *Worker {
	return &Worker{alerts: alerts, sender: snd, db: db, log: log}
}

// Start starts the batching of the pushes' database work.
func (w *Worker) Start() {
	w.pusher = alert.NewPusher(w.alerts)
	w.completions = newCompleter(w.db)
}

// Stop stops it, after the pushes in hand.
func (w *Worker) Stop() {
	if w.pusher != nil {
		w.pusher.Close()
		w.completions.close()
	}
}

// Work pushes one alert to one device. Transient failures are retried (after the provider's Retry-After
// when given); permanent ones are not; a dead token disables the device.
//
// What a device gets, when nodes die: every alert is pushed at least once (a job running on a killed node
// is run again by another after jobs.RescueStuckJobsAfter), and twice only if the node dies in the moment
// between the provider's 200 and the commit that completes the job. That is why a sent push completes its
// job before the worker returns, in the next of the completer's commits (one round trip after the push
// or at most a commit later), rather than through River's own batched completer, which finishes jobs
// tens of milliseconds later and would widen that moment to every push of its last batch. A push is an
// HTTP request to Apple or Google that no transaction of ours can include, so the moment cannot be
// closed, only kept short; a second copy carries the same collapse id (the alert id), so the phone
// replaces the first notification with it instead of showing two. A job whose try timed out on the
// network may also have been delivered; its retry is collapsed the same way.
func (w *Worker) Work(ctx context.Context, job *river.Job[PushAlertArgs]) error {
	a := job.Args
	outcome, err := w.pusher.Deliver(ctx, w.sender, alert.Key{TenantID: a.TenantID, EmployeeID: a.EmployeeID}, a.DeviceID, a.Seq)
	return w.finish(ctx, job.ID, outcome, err)
}

// finish turns a push's outcome into the job's: a sent push completes its job at once (see Work).
func (w *Worker) finish(ctx context.Context, jobID int64, outcome alert.Outcome, err error) error {
	var retry *sender.RetryError
	switch {
	case err == nil && outcome == alert.Sent:
		if err := w.completions.complete(ctx, jobID); err != nil {
			// Not returned: that would retry a push that went out. River's completer completes it soon.
			w.log.WarnContext(ctx, "push sent but its job not completed at once", "job_id", jobID, "error", err)
		}
		return nil
	case err == nil:
		return nil
	case errors.As(err, &retry) && retry.After > 0:
		return river.JobSnooze(retry.After)
	case errors.As(err, &retry):
		return err
	default:
		return river.JobCancel(err)
	}
}

// completer marks sent pushes' jobs completed, the jobs that finish at the same time in one statement
// (River's JobCompleteTx, one job a transaction, cost three round trips a push). It goes through
// River's driver, as JobCompleteTx does: a job River no longer deems running is left alone, and River's
// own completion of the job after Work returns finds it completed and changes nothing.
type completer struct {
	db     *platform.DB
	driver *riverpgxv5.Driver
	b      *batch.Batcher[int64, struct{}]
}

func newCompleter(db *platform.DB) *completer {
	c := &completer{db: db, driver: riverpgxv5.New(db.Pool)}
	c.b = batch.New(batch.Options[int64]{Workers: 2, Max: 1000}, c.run)
	return c
}

func (c *completer) close() { c.b.Close() }

// complete returns once job id is completed.
func (c *completer) complete(ctx context.Context, id int64) error {
	_, err := c.b.Do(ctx, id)
	return err
}

// run completes a batch of jobs. The commit need not wait for the disk: losing it to a database crash
// costs collapsed duplicate pushes, not data.
func (c *completer) run(calls []*batch.Call[int64, struct{}]) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := time.Now()
	p := &riverdriver.JobSetStateIfRunningManyParams{}
	for _, call := range calls {
		s := riverdriver.JobSetStateCompleted(call.In, now, nil)
		p.ID = append(p.ID, s.ID)
		p.Attempt = append(p.Attempt, s.Attempt)
		p.ErrData = append(p.ErrData, s.ErrData)
		p.FinalizedAt = append(p.FinalizedAt, s.FinalizedAt)
		p.MetadataDoMerge = append(p.MetadataDoMerge, s.MetadataDoMerge)
		p.MetadataUpdates = append(p.MetadataUpdates, s.MetadataUpdates)
		p.ScheduledAt = append(p.ScheduledAt, s.ScheduledAt)
		p.State = append(p.State, s.State)
	}
	err := pgx.BeginTxFunc(ctx, c.db.Pool, pgx.TxOptions{BeginQuery: "BEGIN; SET LOCAL synchronous_commit = off"}, func(tx pgx.Tx) error {
		_, err := c.driver.UnwrapExecutor(tx).JobSetStateIfRunningMany(ctx, p)
		return err
	})
	for _, call := range calls {
		call.Answer(struct{}{}, err)
	}
}

// PushNewVisitorsArgs asks for the summary of the new-visitor alerts left to the window of a
// salesperson's stream ending at Until to be pushed to one device (alert.Pusher.DeliverSummary). It is
// queued when the window opens, scheduled at its end.
type PushNewVisitorsArgs struct {
	TenantID   uuid.UUID `json:"tenant_id"`
	EmployeeID uuid.UUID `json:"employee_id"`
	DeviceID   uuid.UUID `json:"device_id"`
	Until      time.Time `json:"until"`
}

// Kind implements river.JobArgs.
func (PushNewVisitorsArgs) Kind() string { return "push_new_visitors" }

// SummaryWorker delivers the summary pushes of new-visitor alerts, with the push worker's batching
// (Worker.Start and Stop run both).
type SummaryWorker struct {
	river.WorkerDefaults[PushNewVisitorsArgs]
	w *Worker
}

// Summaries is the worker of the summary pushes, sharing w's sender and batching.
func (w *Worker) Summaries() *SummaryWorker { return &SummaryWorker{w: w} }

// Work pushes one window's summary to one device, with Worker.Work's outcomes.
func (s *SummaryWorker) Work(ctx context.Context, job *river.Job[PushNewVisitorsArgs]) error {
	a := job.Args
	outcome, err := s.w.pusher.DeliverSummary(ctx, s.w.sender, alert.Key{TenantID: a.TenantID, EmployeeID: a.EmployeeID}, a.DeviceID, a.Until)
	return s.w.finish(ctx, job.ID, outcome, err)
}

// Timeout bounds one summary push.
func (s *SummaryWorker) Timeout(*river.Job[PushNewVisitorsArgs]) time.Duration {
	return 15 * time.Second
}

// Timeout bounds one push: APNs and FCM answer in well under a second.
func (w *Worker) Timeout(*river.Job[PushAlertArgs]) time.Duration { return 15 * time.Second }

// Jobs implements alert.Jobs: one job per (alert, device), inserted with the alert, on the live queue; a
// summary of new-visitor alerts (alert.Push.SummaryUntil) is one job per device scheduled at the end of
// its window.
type Jobs struct {
	Inserter jobs.Inserter
	// Nudge, if set, has the runners fetch at once after a commit that inserted pushes (jobs.Queue.Nudge).
	Nudge func()
	// NewCustomerWindow is how long the pushes of new-visitor alerts to one salesperson collapse into
	// one (alert.Record); 0 pushes each alone.
	NewCustomerWindow time.Duration
}

// NewCustomerPushWindow implements alert.Windowed.
func (j Jobs) NewCustomerPushWindow() time.Duration { return j.NewCustomerWindow }

// Committed nudges the runners: the pushes just committed are waiting.
func (j Jobs) Committed() {
	if j.Nudge != nil {
		j.Nudge()
	}
}

// Push inserts the pushes' jobs in tx.
func (j Jobs) Push(ctx context.Context, tx pgx.Tx, pushes []alert.Push) error {
	params := make([]river.InsertManyParams, len(pushes))
	for i, p := range pushes {
		if !p.SummaryUntil.IsZero() {
			params[i] = river.InsertManyParams{Args: PushNewVisitorsArgs{TenantID: p.TenantID, EmployeeID: p.EmployeeID, DeviceID: p.DeviceID, Until: p.SummaryUntil},
				InsertOpts: &river.InsertOpts{Queue: jobs.QueueLive, ScheduledAt: p.SummaryUntil}}
			continue
		}
		params[i] = river.InsertManyParams{Args: PushAlertArgs{TenantID: p.TenantID, EmployeeID: p.EmployeeID, DeviceID: p.DeviceID, Seq: p.Seq},
			InsertOpts: &river.InsertOpts{Queue: jobs.QueueLive}}
	}
	return j.Inserter.InsertManyTx(ctx, tx, params)
}
