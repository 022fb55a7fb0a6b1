// Package jobs is salesd's job queue: River, through its public API only. Side effects (a push, a
// thumbnail, an object deletion) are jobs inserted in the same transaction as the write they follow, so a
// crash never loses or repeats one; modules register the workers that run them.
//
// Two River clients share the pool. The inserter inserts in callers' transactions and nothing else. River
// NOTIFYs with an insert at most once per FetchCooldown, and a NOTIFY makes every commit that carries one
// wait for the others (PostgreSQL serializes them on its notification queue): with the tracking ingest
// inserting pushes up to hundreds of times a second, the inserter's cooldown is an hour, so almost no
// transaction carries one. The runner works the jobs; it finds new ones by polling, every pollLive on the
// live queue (pushes, which a person waits for), every second on the default queue, and at once when
// nudged: after a commit that inserted live jobs, Nudge has a third client insert a no-op job whose insert
// carries River's own notification (River's public API, in a transaction of its own that holds no lock of
// the caller's), which every node's runner hears. Nudges are coalesced to one per nudgeEvery, so an idle
// node costs a poll every pollLive and a busy one at most one extra tiny job per nudgeEvery.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// Queues.
const (
	// QueueDefault holds work nobody waits on (thumbnails, deletions, housekeeping).
	QueueDefault = river.QueueDefault
	// QueueLive holds work a person waits on (pushes), apart from slower jobs so that a burst of uploads
	// cannot delay an alert. Its name is kept from when it held pushes only.
	QueueLive = "push"
	// QueueWeCom holds the processing of WeCom callbacks (welcome messages have a 20 s window), apart from
	// pushes and housekeeping so that neither delays the other.
	QueueWeCom = "wecom"
)

const (
	// pollLive is how often the runner looks for new live jobs when nobody nudges it: what a push may wait
	// before it is fetched if its nudge is lost (a node died between commit and nudge).
	pollLive = 250 * time.Millisecond
	// nudgeEvery is the least time between two nudges; nudges within it are coalesced into one at its end.
	nudgeEvery = 10 * time.Millisecond
	// fetchCooldown is the least time between two fetches of a queue. River's default (100 ms) would cap
	// a queue at MaxWorkers jobs per 100 ms.
	fetchCooldown = 5 * time.Millisecond
	// insertNotifyEvery is the inserter's FetchCooldown, which is all it uses it for: at most one insert
	// per queue and hour carries a NOTIFY.
	insertNotifyEvery = time.Hour
	// RescueStuckJobsAfter is how long after a node dies its running jobs are run again by another. River's
	// default, an hour, would retry a dead node's pushes long after they mattered (APNs and FCM drop them
	// after 10 minutes anyway). River lets it be no shorter than JobTimeout (the timeout of workers that
	// set none), and never rescues a job before its own worker's timeout.
	RescueStuckJobsAfter = time.Minute
)

// Inserter inserts jobs in the caller's transaction: what domains that enqueue work depend on.
type Inserter interface {
	InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) error
	InsertManyTx(ctx context.Context, tx pgx.Tx, params []river.InsertManyParams) error
}

var _ Inserter = (*Queue)(nil)

// Queue inserts jobs and, once started, works them.
type Queue struct {
	pool     *pgxpool.Pool
	log      *slog.Logger
	inserter *river.Client[pgx.Tx]
	// nudger inserts the nudges; its inserts always carry River's notification.
	nudger   *river.Client[pgx.Tx]
	nudges   chan struct{}
	stop     context.CancelFunc
	done     chan struct{}
	workers  *river.Workers
	periodic []*river.PeriodicJob
	runner   *river.Client[pgx.Tx]
	// runnerPool is the pool the runner works on (RunOn); nil: pool.
	runnerPool *pgxpool.Pool
}

// New builds the queue on pool. It inserts at once; it works jobs only after Start.
func New(pool *pgxpool.Pool, log *slog.Logger) (*Queue, error) {
	inserter, err := river.NewClient[pgx.Tx](riverpgxv5.New(pool), &river.Config{
		Logger:            log,
		FetchCooldown:     insertNotifyEvery,
		FetchPollInterval: insertNotifyEvery,
	})
	if err != nil {
		return nil, fmt.Errorf("river: %w", err)
	}
	nudger, err := river.NewClient[pgx.Tx](riverpgxv5.New(pool), &river.Config{
		Logger:            log,
		FetchCooldown:     river.FetchCooldownMin, // River's notify limiter: Nudge coalesces itself
		FetchPollInterval: river.FetchCooldownMin,
	})
	if err != nil {
		return nil, fmt.Errorf("river: %w", err)
	}
	q := &Queue{pool: pool, log: log, inserter: inserter, nudger: nudger, nudges: make(chan struct{}, 1),
		workers: river.NewWorkers()}
	river.AddWorker(q.workers, &nudgeWorker{})
	return q, nil
}

// nudgeArgs is the no-op job a nudge inserts: its insert's notification is the point.
type nudgeArgs struct{}

// Kind implements river.JobArgs.
func (nudgeArgs) Kind() string { return "nudge" }

type nudgeWorker struct {
	river.WorkerDefaults[nudgeArgs]
}

func (*nudgeWorker) Work(context.Context, *river.Job[nudgeArgs]) error { return nil }

// Nudge asks every node's runner to look for live jobs now rather than at its next poll. Call it after a
// commit that inserted live jobs. It never blocks; a nudge before Start is sent when the queue starts.
func (q *Queue) Nudge() {
	select {
	case q.nudges <- struct{}{}:
	default: // one is pending: it will see these jobs too
	}
}

// nudge inserts a nudge per request, at most one per nudgeEvery, until ctx ends.
func (q *Queue) nudge(ctx context.Context) {
	defer close(q.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.nudges:
		}
		if _, err := q.nudger.Insert(ctx, nudgeArgs{}, &river.InsertOpts{Queue: QueueLive, MaxAttempts: 1}); err != nil && ctx.Err() == nil {
			q.log.WarnContext(ctx, "nudge failed: live jobs wait for the next poll", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(nudgeEvery):
		}
	}
}

// Workers is where modules register their workers, before Start.
func (q *Queue) Workers() *river.Workers { return q.workers }

// RunOn makes the runner (fetching, completing, rescuing and scheduling jobs, electing the leader) use pool
// instead of the pool the queue was built on, before Start. salesd gives it a pool of its own, so that a
// backlog of jobs cannot take the connections requests need, nor requests starve the jobs. Jobs are still
// inserted in the callers' transactions, on theirs.
func (q *Queue) RunOn(pool *pgxpool.Pool) { q.runnerPool = pool }

// AddPeriodic adds periodic jobs, before Start.
func (q *Queue) AddPeriodic(jobs ...*river.PeriodicJob) { q.periodic = append(q.periodic, jobs...) }

// InsertTx inserts one job in tx: it exists, and will run, only if tx commits.
func (q *Queue) InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) error {
	_, err := q.inserter.InsertTx(ctx, tx, args, opts)
	return err
}

// InsertManyTx inserts jobs in tx.
func (q *Queue) InsertManyTx(ctx context.Context, tx pgx.Tx, params []river.InsertManyParams) error {
	_, err := q.inserter.InsertManyTx(ctx, tx, params)
	return err
}

// Start starts working jobs with the registered workers and periodic jobs.
func (q *Queue) Start(ctx context.Context) error {
	if q.runner != nil {
		return errors.New("jobs: started twice")
	}
	pool := q.pool
	if q.runnerPool != nil {
		pool = q.runnerPool
	}
	runner, err := river.NewClient[pgx.Tx](riverpgxv5.New(pool), &river.Config{
		Logger:  q.log,
		Workers: q.workers,
		Queues: map[string]river.QueueConfig{
			QueueDefault: {MaxWorkers: 20},
			// Pushes wait on Apple and Google, not on our CPU: many may be in flight at once.
			QueueLive: {MaxWorkers: 200, FetchPollInterval: pollLive},
			// Callback handlers mostly wait on WeCom's API. Fetched at most every 50 ms: fewer fetches, each
			// of more jobs (a burst of callbacks is otherwise fetched a job or two at a time).
			QueueWeCom: {MaxWorkers: 50, FetchPollInterval: pollLive, FetchCooldown: 50 * time.Millisecond},
		},
		FetchCooldown:        fetchCooldown,
		JobTimeout:           time.Minute,
		RescueStuckJobsAfter: RescueStuckJobsAfter,
		PeriodicJobs:         q.periodic,
	})
	if err != nil {
		return fmt.Errorf("river: %w", err)
	}
	q.runner = runner
	if err := runner.Start(ctx); err != nil {
		return err
	}
	nctx, cancel := context.WithCancel(context.Background())
	q.stop, q.done = cancel, make(chan struct{})
	go q.nudge(nctx)
	return nil
}

// Stop stops working jobs, waiting for running ones until ctx ends.
func (q *Queue) Stop(ctx context.Context) error {
	if q.runner == nil {
		return nil
	}
	if q.stop != nil {
		q.stop()
		<-q.done
	}
	return q.runner.Stop(ctx)
}

// Runner is the client working jobs, nil before Start: for adapters that complete jobs themselves.
func (q *Queue) Runner() *river.Client[pgx.Tx] { return q.runner }
