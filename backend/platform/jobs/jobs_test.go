package jobs_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/platform/pgtest"
)

type pingArgs struct {
	N int `json:"n"`
}

func (pingArgs) Kind() string { return "jobs_test_ping" }

type pingWorker struct {
	river.WorkerDefaults[pingArgs]
	done chan int
}

func (w *pingWorker) Work(_ context.Context, job *river.Job[pingArgs]) error {
	w.done <- job.Args.N
	return nil
}

func newQueue(t *testing.T, db *pgtest.DB) *jobs.Queue {
	t.Helper()
	q, err := jobs.New(db.App.Pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	return q
}

func insert(t *testing.T, db *pgtest.DB, q *jobs.Queue, n int) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, pgx.BeginFunc(ctx, db.App.Pool, func(tx pgx.Tx) error {
		return q.InsertManyTx(ctx, tx, []river.InsertManyParams{{Args: pingArgs{N: n}, InsertOpts: &river.InsertOpts{Queue: jobs.QueueLive}}})
	}))
}

// Jobs inserted in callers' transactions send no NOTIFY with their commits (it would make concurrent
// commits wait for each other on PostgreSQL's notification queue): at most the first of an hour does.
func TestInsertsCommitWithoutNotify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	q := newQueue(t, db)

	listener, err := pgx.Connect(ctx, db.AppURL)
	require.NoError(t, err)
	defer listener.Close(context.Background())
	// River's channels are named after the current schema.
	var channel string
	require.NoError(t, listener.QueryRow(ctx, "SELECT current_schema() || '.river_insert'").Scan(&channel))
	_, err = listener.Exec(ctx, `LISTEN "`+channel+`"`)
	require.NoError(t, err)

	insert(t, db, q, 0)
	// The first insert may carry River's notification: take it if it came.
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, _ = listener.WaitForNotification(wctx)
	cancel()

	for i := range 3 {
		insert(t, db, q, i+1)
	}
	var queued int
	require.NoError(t, db.Owner.QueryRow(ctx, "SELECT count(*) FROM river_job WHERE kind = 'jobs_test_ping' AND state = 'available'").Scan(&queued))
	require.Equal(t, 4, queued)
	// A notification sent with those commits would be here by now.
	wctx, cancel = context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	_, err = listener.WaitForNotification(wctx)
	require.ErrorIs(t, err, context.DeadlineExceeded, "no notification with the commits")
}

// The runner finds live jobs by itself (it polls that queue), with no notification to wake it.
func TestLiveJobsAreWorkedWithoutNotify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	q := newQueue(t, db)
	w := &pingWorker{done: make(chan int, 10)}
	river.AddWorker(q.Workers(), w)
	require.NoError(t, q.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = q.Stop(sctx)
	})
	// Let the runner settle into polling before the inserts, so its first fetch does not find them.
	time.Sleep(100 * time.Millisecond)
	for i := range 3 {
		insert(t, db, q, i+1)
	}
	got := map[int]bool{}
	timeout := time.After(10 * time.Second)
	for len(got) < 3 {
		select {
		case n := <-w.done:
			got[n] = true
		case <-timeout:
			t.Fatalf("worked %v of 3 jobs", got)
		}
	}
	require.Error(t, q.Start(ctx), "a queue starts once")
}

// The runner works jobs through the pool it was given to run on, apart from the pool requests use.
func TestRunnerWorksOnItsOwnPool(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	q := newQueue(t, db)
	runnerDB, err := platform.OpenDB(ctx, db.AppURL, 4)
	require.NoError(t, err)
	t.Cleanup(runnerDB.Close)
	q.RunOn(runnerDB.Pool)
	w := &pingWorker{done: make(chan int, 10)}
	river.AddWorker(q.Workers(), w)
	require.NoError(t, q.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = q.Stop(sctx)
	})
	insert(t, db, q, 7)
	select {
	case n := <-w.done:
		require.Equal(t, 7, n)
	case <-time.After(10 * time.Second):
		t.Fatal("the job was not worked")
	}
	require.Positive(t, runnerDB.Pool.Stat().AcquireCount(), "the runner used its own pool")
}

// A nudge reaches every runner as River's own insert notification for the live queue, from a transaction
// of its own; nudges in a burst are coalesced, and the no-op jobs they insert are worked and completed.
func TestNudgeNotifiesTheLiveQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	q := newQueue(t, db)

	listener, err := pgx.Connect(ctx, db.AppURL)
	require.NoError(t, err)
	defer listener.Close(context.Background())
	var channel string
	require.NoError(t, listener.QueryRow(ctx, "SELECT current_schema() || '.river_insert'").Scan(&channel))
	_, err = listener.Exec(ctx, `LISTEN "`+channel+`"`)
	require.NoError(t, err)

	require.NoError(t, q.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = q.Stop(sctx)
	})
	for range 50 {
		q.Nudge()
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	n, err := listener.WaitForNotification(wctx)
	require.NoError(t, err, "a nudge notifies")
	require.JSONEq(t, `{"queue": "`+jobs.QueueLive+`"}`, n.Payload)

	// The burst became at most two nudges (one at once, one for what came during it), all worked.
	require.Eventually(t, func() bool {
		var open int
		require.NoError(t, db.Owner.QueryRow(ctx, "SELECT count(*) FROM river_job WHERE kind = 'nudge' AND state <> 'completed'").Scan(&open))
		return open == 0
	}, 10*time.Second, 20*time.Millisecond)
	var total int
	require.NoError(t, db.Owner.QueryRow(ctx, "SELECT count(*) FROM river_job WHERE kind = 'nudge'").Scan(&total))
	require.GreaterOrEqual(t, total, 1)
	require.LessOrEqual(t, total, 2)
}
