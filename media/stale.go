package media

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/riverqueue/river"

	"github.com/salesapp/scrm/backend/platform/jobs"
)

// StaleUploadAge is how long an object may sit at an upload key before it is swept: a ticket is valid
// UploadTTL, and a client has the rest of a day to finalize what it uploaded.
const StaleUploadAge = 24 * time.Hour

// DeleteStaleUploads deletes the objects at upload keys (t/<tenant>/upload/..., platform/upload/...) last
// written before cutoff, and returns how many it deleted. Finalize moves every accepted upload to a key of
// its own, so whatever still sits at an upload key was never finalized, or was PUT again through a ticket
// after its finalize: nothing refers to it. The bucket is walked by tenant prefix, listing upload keys only.
func (s *Store) DeleteStaleUploads(ctx context.Context, cutoff time.Time) (int, error) {
	prefixes := []string{PlatformPrefix + UploadPurpose + "/"}
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: "t/"}) {
		if obj.Err != nil {
			return 0, fmt.Errorf("media: list tenants: %w", obj.Err)
		}
		if strings.HasSuffix(obj.Key, "/") {
			prefixes = append(prefixes, obj.Key+UploadPurpose+"/")
		}
	}
	deleted := 0
	for _, prefix := range prefixes {
		var stale []string
		for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if obj.Err != nil {
				return deleted, fmt.Errorf("media: list %s: %w", prefix, obj.Err)
			}
			if obj.LastModified.Before(cutoff) {
				stale = append(stale, obj.Key)
			}
		}
		if err := s.Delete(ctx, stale...); err != nil {
			return deleted, err
		}
		deleted += len(stale)
	}
	return deleted, nil
}

// StaleUploadsArgs is the hourly sweep of uploads never finalized (DeleteStaleUploads).
type StaleUploadsArgs struct{}

// Kind implements river.JobArgs.
func (StaleUploadsArgs) Kind() string { return "delete_stale_uploads" }

type staleUploadsWorker struct {
	river.WorkerDefaults[StaleUploadsArgs]
	store *Store
}

// Work sweeps the uploads older than StaleUploadAge; a retry lists again, so it does no harm.
func (w *staleUploadsWorker) Work(ctx context.Context, _ *river.Job[StaleUploadsArgs]) error {
	_, err := w.store.DeleteStaleUploads(ctx, time.Now().Add(-StaleUploadAge))
	return err
}

// periodicJobs are what the store sweeps on its own (not scheduled yet: see Module).
//
//lint:ignore U1000 scheduled once pre-014 uploads no longer sit at upload keys (see Module)
func periodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{jobs.Hourly(StaleUploadsArgs{})}
}
