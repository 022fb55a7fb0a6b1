package media

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/platform/module"
)

// DeleteObjectsArgs asks for objects to be removed from storage, after the rows that referenced them are
// gone: the job is inserted in that same transaction (DeleteLater), so an object is deleted only if the
// rows are.
type DeleteObjectsArgs struct {
	Keys []string `json:"keys"`
}

// Kind implements river.JobArgs.
func (DeleteObjectsArgs) Kind() string { return "delete_objects" }

type deleteObjectsWorker struct {
	river.WorkerDefaults[DeleteObjectsArgs]
	store *Store
}

// Work deletes the objects; deleting a missing object succeeds, so retries are harmless.
func (w *deleteObjectsWorker) Work(ctx context.Context, job *river.Job[DeleteObjectsArgs]) error {
	return w.store.Delete(ctx, job.Args.Keys...)
}

// Deleter deletes objects after the transaction that dropped their rows commits.
type Deleter struct{ Jobs jobs.Inserter }

// DeleteObjects queues the deletion of keys in tx.
func (d Deleter) DeleteObjects(ctx context.Context, tx pgx.Tx, keys []string) error {
	return d.Jobs.InsertTx(ctx, tx, DeleteObjectsArgs{Keys: keys}, nil)
}

// Module is what object storage contributes to salesd: the worker that deletes objects. The sweep of
// uploads never finalized (DeleteStaleUploads) is the upload module's, which knows what is recorded.
func Module(store *Store) module.Module {
	return module.Module{Name: "media", Workers: func(w *river.Workers) {
		river.AddWorker(w, &deleteObjectsWorker{store: store})
	}}
}
