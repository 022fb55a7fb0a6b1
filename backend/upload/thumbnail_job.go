package upload

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/salesapp/scrm/backend/platform"
)

// MakeThumbnailArgs asks for the thumbnail of a finalized image upload. The job is inserted in the
// transaction that records the upload.
type MakeThumbnailArgs struct {
	TenantID uuid.UUID `json:"tenant_id"`
	Key      string    `json:"key"`
}

// Kind implements river.JobArgs.
func (MakeThumbnailArgs) Kind() string { return "make_thumbnail" }

// ThumbnailWorker makes the thumbnails.
type ThumbnailWorker struct {
	river.WorkerDefaults[MakeThumbnailArgs]
	uploads *Service
}

// NewThumbnailWorker builds the worker.
func NewThumbnailWorker(uploads *Service) *ThumbnailWorker { return &ThumbnailWorker{uploads: uploads} }

// Work makes the thumbnail; an image that cannot be decoded will never become one, so it is not retried.
// When the node's image memory is taken, the job waits its turn (snoozes) rather than spending an attempt.
func (w *ThumbnailWorker) Work(ctx context.Context, job *river.Job[MakeThumbnailArgs]) error {
	err := w.uploads.MakeThumbnail(ctx, job.Args.TenantID, job.Args.Key)
	var de *platform.Error
	switch {
	case platform.KindOf(err) == platform.KindInvalid:
		return river.JobCancel(err)
	case errors.As(err, &de) && de.Kind == platform.KindResourceExhausted && de.RetryAfter > 0:
		return river.JobSnooze(de.RetryAfter)
	}
	return err
}
