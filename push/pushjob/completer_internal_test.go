package pushjob

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/platform/pgtest"
)

// pinnedRiver is the River version whose driver the completer was checked against. riverdriver is
// documented as not for user code and changes without a major version: when go.mod moves River, read
// JobSetStateIfRunningMany and JobSetStateCompleted again, run this test, and move the pin.
const pinnedRiver = "v0.51.1"

func TestCompleterIsPinnedToRiversVersion(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	require.NoError(t, err)
	var version string
	for _, line := range strings.Split(string(mod), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "github.com/riverqueue/river/riverdriver" {
			version = f[1]
		}
	}
	require.NotEmpty(t, version, "riverdriver is not in go.mod any more: drop the completer's pin")
	require.Equal(t, pinnedRiver, version, "River moved: check the completer against it (see pinnedRiver)")
}

type completeArgs struct{}

func (completeArgs) Kind() string { return "completer_test" }

type completeWorker struct {
	river.WorkerDefaults[completeArgs]
	c     *completer
	owner interface {
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	}
	seen chan string
}

// Work completes its own job through the completer, then reads the state the job has before River's
// own completion runs.
func (w *completeWorker) Work(ctx context.Context, job *river.Job[completeArgs]) error {
	if err := w.c.complete(ctx, job.ID); err != nil {
		return err
	}
	var state string
	if err := w.owner.QueryRow(ctx, "SELECT state FROM river_job WHERE id = $1", job.ID).Scan(&state); err != nil {
		return err
	}
	w.seen <- state
	return nil
}

// The completer completes a running job at once, River's own completion afterwards changes nothing,
// and a job that is not running is left alone.
func TestCompleterCompletesRunningJobsOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	c := newCompleter(db.App)
	t.Cleanup(c.close)
	q, err := jobs.New(db.App.Pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)

	// Not running: an available job is not completed.
	var idle int64
	require.NoError(t, pgx.BeginFunc(ctx, db.App.Pool, func(tx pgx.Tx) error {
		return q.InsertTx(ctx, tx, completeArgs{}, &river.InsertOpts{Queue: "completer_idle"})
	}))
	require.NoError(t, db.Owner.QueryRow(ctx, "SELECT id FROM river_job WHERE queue = 'completer_idle'").Scan(&idle))
	require.NoError(t, c.complete(ctx, idle))
	var state string
	require.NoError(t, db.Owner.QueryRow(ctx, "SELECT state FROM river_job WHERE id = $1", idle).Scan(&state))
	require.Equal(t, "available", state)

	w := &completeWorker{c: c, owner: db.Owner, seen: make(chan string, 1)}
	river.AddWorker(q.Workers(), w)
	require.NoError(t, q.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = q.Stop(sctx)
	})
	require.NoError(t, pgx.BeginFunc(ctx, db.App.Pool, func(tx pgx.Tx) error {
		return q.InsertTx(ctx, tx, completeArgs{}, &river.InsertOpts{Queue: jobs.QueueLive})
	}))
	select {
	case s := <-w.seen:
		require.Equal(t, "completed", s, "completed before Work returned")
	case <-time.After(10 * time.Second):
		t.Fatal("the job was not worked")
	}
	var id int64
	var finalized time.Time
	require.NoError(t, db.Owner.QueryRow(ctx, "SELECT id, finalized_at FROM river_job WHERE queue = $1", jobs.QueueLive).Scan(&id, &finalized))
	// River completes the job itself after Work returns; stopping waits for that completion to be
	// written. Then the job is still as the completer left it: one attempt, the completer's finalized_at.
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, q.Stop(sctx))
	var n int
	require.NoError(t, db.Owner.QueryRow(ctx, "SELECT count(*) FROM river_job WHERE id = $1 AND state = 'completed' AND finalized_at = $2 AND attempt = 1", id, finalized).Scan(&n))
	require.Equal(t, 1, n, "River's own completion changed the job")
}
