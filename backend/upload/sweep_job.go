package upload

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/upload/internal/uploaddb"
	"github.com/salesapp/scrm/media"
)

// DeleteStaleUploads deletes what was written to upload keys before cutoff and is not a recorded upload:
// uploads finalized before finalize copied them (migration 015) are recorded at their upload keys and
// stay. It returns how many objects it deleted.
func (s *Service) DeleteStaleUploads(ctx context.Context, cutoff time.Time) (int, error) {
	return s.store.DeleteStaleUploads(ctx, cutoff, s.recorded)
}

// recorded is the media.Recorded of the uploads table. Platform upload keys are recorded nowhere.
func (s *Service) recorded(ctx context.Context, tenantID uuid.UUID, keys []string) ([]string, error) {
	if tenantID == uuid.Nil {
		return nil, nil
	}
	var kept []string
	err := s.db.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		kept, err = uploaddb.New(tx).RecordedKeys(ctx, uploaddb.RecordedKeysParams{TenantID: tenantID, Keys: keys})
		return err
	})
	return kept, err
}

// StaleUploadsArgs is the hourly sweep of uploads never finalized (Service.DeleteStaleUploads).
type StaleUploadsArgs struct{}

// Kind implements river.JobArgs.
func (StaleUploadsArgs) Kind() string { return "delete_stale_uploads" }

// sweepWorker runs a sweep of uploads for jobs of kind T; a retry looks again, so it does no harm.
type sweepWorker[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	sweep func(context.Context) (int, error)
}

// Work implements river.Worker.
func (w *sweepWorker[T]) Work(ctx context.Context, _ *river.Job[T]) error {
	_, err := w.sweep(ctx)
	return err
}

// NewStaleUploadsWorker builds the worker of the sweep of what is older than media.StaleUploadAge.
func NewStaleUploadsWorker(uploads *Service) river.Worker[StaleUploadsArgs] {
	return &sweepWorker[StaleUploadsArgs]{sweep: func(ctx context.Context) (int, error) {
		return uploads.DeleteStaleUploads(ctx, time.Now().Add(-media.StaleUploadAge))
	}}
}

// ForgetUnreferencedTx forgets, in tx, the tenant's uploads among keys that no card, material or company
// profile references (migration 052 states what a reference is), and returns the keys of the objects to
// delete with them: theirs and their thumbnails'. The caller queues that deletion in the same transaction.
// forgotten is how many uploads went.
func ForgetUnreferencedTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, keys []string) (objects []string, forgotten int, err error) {
	if len(keys) == 0 {
		return nil, 0, nil
	}
	gone, err := uploaddb.New(tx).ForgetUnreferenced(ctx, uploaddb.ForgetUnreferencedParams{TenantID: tenantID, Keys: keys})
	if err != nil {
		return nil, 0, err
	}
	for _, u := range gone {
		objects = append(objects, u.ObjectKey)
		if u.ThumbKey != "" {
			objects = append(objects, u.ThumbKey)
		}
	}
	return objects, len(gone), nil
}

// checkPage is how many due uploads one transaction of the unreferenced sweep checks.
const checkPage = 500

// DeleteUnreferenced checks the finalized uploads due a check by now (a day after they were finalized or a
// reference to them was dropped, migration 052): those nothing references are forgotten, so the tenant's
// storage quota no longer counts them, and their objects and thumbnails are deleted by a job queued in the
// same commit; the others are not checked again until a reference to them is dropped. It returns how many
// uploads it forgot.
func (s *Service) DeleteUnreferenced(ctx context.Context, now time.Time) (int, error) {
	tenants, err := uploaddb.New(s.db.Pool).CheckTenants(ctx, now)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, t := range tenants {
		for {
			forgot, checked, err := s.checkUploads(ctx, t, now)
			total += forgot
			if err != nil {
				return total, err
			}
			if checked < checkPage {
				break
			}
		}
	}
	return total, nil
}

// checkUploads checks one page of a tenant's due uploads; it answers how many it forgot and checked.
func (s *Service) checkUploads(ctx context.Context, tenantID uuid.UUID, now time.Time) (forgot, checked int, err error) {
	err = s.db.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		q := uploaddb.New(tx)
		due, err := q.LockDueUploads(ctx, uploaddb.LockDueUploadsParams{TenantID: tenantID, Now: now, MaxRows: checkPage})
		if err != nil || len(due) == 0 {
			return err
		}
		checked = len(due)
		var objects []string
		if objects, forgot, err = ForgetUnreferencedTx(ctx, tx, tenantID, due); err != nil {
			return err
		}
		if err := q.ClearChecks(ctx, uploaddb.ClearChecksParams{TenantID: tenantID, Keys: due}); err != nil {
			return err
		}
		if len(objects) == 0 {
			return nil
		}
		return media.Deleter{Jobs: s.jobs}.DeleteObjects(ctx, tx, objects)
	})
	return forgot, checked, err
}

// UnreferencedUploadsArgs is the hourly sweep of finalized uploads nothing references
// (Service.DeleteUnreferenced).
type UnreferencedUploadsArgs struct{}

// Kind implements river.JobArgs.
func (UnreferencedUploadsArgs) Kind() string { return "delete_unreferenced_uploads" }

// NewUnreferencedUploadsWorker builds the worker of the sweep of what is due a check now.
func NewUnreferencedUploadsWorker(uploads *Service) river.Worker[UnreferencedUploadsArgs] {
	return &sweepWorker[UnreferencedUploadsArgs]{sweep: func(ctx context.Context) (int, error) {
		return uploads.DeleteUnreferenced(ctx, time.Now())
	}}
}

// Periodic is the two sweeps, hourly.
func Periodic() []*river.PeriodicJob {
	return []*river.PeriodicJob{jobs.Hourly(StaleUploadsArgs{}), jobs.Hourly(UnreferencedUploadsArgs{})}
}
