package server

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/media"
)

// DeleteObjectsArgs asks for objects to be removed from storage, after the rows that referenced them
// are gone (the job is inserted in that same transaction).
type DeleteObjectsArgs struct {
	Keys []string `json:"keys"`
}

// Kind implements river.JobArgs.
func (DeleteObjectsArgs) Kind() string { return "delete_objects" }

type deleteObjectsWorker struct {
	river.WorkerDefaults[DeleteObjectsArgs]
	store *media.Store
}

// Work deletes the objects; deleting a missing object succeeds, so retries are harmless.
func (w *deleteObjectsWorker) Work(ctx context.Context, job *river.Job[DeleteObjectsArgs]) error {
	return w.store.Delete(ctx, job.Args.Keys...)
}

// jobs is the River client: it inserts jobs in the callers' transactions and, once started, works them.
type jobs struct {
	client *river.Client[pgx.Tx]
}

func newJobs(db *platform.DB, store *media.Store, log *slog.Logger) (*jobs, error) {
	workers := river.NewWorkers()
	river.AddWorker(workers, &deleteObjectsWorker{store: store})
	client, err := river.NewClient(riverpgxv5.New(db.Pool), &river.Config{
		Logger:  log,
		Workers: workers,
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 20}},
	})
	if err != nil {
		return nil, fmt.Errorf("river: %w", err)
	}
	return &jobs{client: client}, nil
}

// DeleteObjects implements material.Jobs.
func (j *jobs) DeleteObjects(ctx context.Context, tx pgx.Tx, keys []string) error {
	_, err := j.client.InsertTx(ctx, tx, DeleteObjectsArgs{Keys: keys}, nil)
	return err
}
