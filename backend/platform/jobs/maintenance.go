package jobs

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
)

// Statement is a worker that runs one SQL statement for jobs of kind T: the periodic maintenance a domain
// does with a database function (purging what aged out), which takes no arguments.
type Statement[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	Pool *pgxpool.Pool
	SQL  string
}

// Work runs the statement.
func (w *Statement[T]) Work(ctx context.Context, _ *river.Job[T]) error {
	_, err := w.Pool.Exec(ctx, w.SQL)
	return err
}

// Hourly is a periodic job that runs every hour and once when the workers start.
func Hourly(args river.JobArgs) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return args, nil }, &river.PeriodicJobOpts{RunOnStart: true})
}
