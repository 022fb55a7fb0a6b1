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

// StaleUploadsWorker runs the sweep.
type StaleUploadsWorker struct {
	river.WorkerDefaults[StaleUploadsArgs]
	uploads *Service
}

// NewStaleUploadsWorker builds the worker of the sweep.
func NewStaleUploadsWorker(uploads *Service) *StaleUploadsWorker {
	return &StaleUploadsWorker{uploads: uploads}
}

// Work sweeps what is older than media.StaleUploadAge; a retry lists again, so it does no harm.
func (w *StaleUploadsWorker) Work(ctx context.Context, _ *river.Job[StaleUploadsArgs]) error {
	_, err := w.uploads.DeleteStaleUploads(ctx, time.Now().Add(-media.StaleUploadAge))
	return err
}

// Periodic is the sweep, hourly.
func Periodic() []*river.PeriodicJob { return []*river.PeriodicJob{jobs.Hourly(StaleUploadsArgs{})} }
