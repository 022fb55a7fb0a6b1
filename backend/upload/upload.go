// Package upload turns presigned uploads into objects the rest of the backend may reference: it hands out
// the presigned requests, checks what arrived (media.Finalize), and records each accepted object per tenant.
// Cards and materials only accept keys recorded here, of the kind they need.
package upload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/singleflight"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/upload/internal/uploaddb"
	"github.com/salesapp/scrm/media"
)

// ThumbnailSide is the longest side of thumbnails, in pixels: sharp on a phone's list row at 3x.
const ThumbnailSide = 480

// Config holds the limits of uploads.
type Config struct {
	// Quota caps how many bytes of finalized uploads one tenant may keep, whatever its plan's storage quota
	// says (not positive: the plan's alone).
	Quota int64
}

// Service hands out uploads and finalizes them.
type Service struct {
	db    *platform.DB
	store *media.Store
	jobs  jobs.Inserter
	quota int64
	// thumbs lets one thumbnail per upload be made at a time on this node.
	thumbs singleflight.Group
}

// NewService builds the service; a finalized image's thumbnail is a job inserted through jobs.
func NewService(db *platform.DB, store *media.Store, jobs jobs.Inserter, cfg Config) *Service {
	return &Service{db: db, store: store, jobs: jobs, quota: cfg.Quota}
}

// Create returns presigned requests for one object of the caller's tenant.
func (s *Service) Create(ctx context.Context, p authn.Principal, kind media.Kind, contentType string, size int64) (media.UploadTicket, error) {
	return s.store.PresignUpload(ctx, p.TenantID, kind, contentType, size)
}

// Finalized is an accepted upload: the key cards and materials reference it by (not the key of the
// ticket) and a short-lived download URL.
type Finalized struct {
	Key string
	URL string
}

// Finalize checks an uploaded object and records it under a key of its own (media.Store.Finalize copies
// it there), so that a ticket still valid cannot replace the checked bytes. Finalizing an accepted upload
// again, by either key, only returns the copy: the object is not checked again, so a wrong declaration the
// second time cannot get it deleted.
//
// The tenant's finalized uploads may total at most the quota; past it the upload is refused with
// ResourceExhausted naming the quota (it stays where it is until the client deletes something and
// finalizes again, or the stale-upload sweep removes it).
func (s *Service) Finalize(ctx context.Context, p authn.Principal, key string, kind media.Kind, contentType string, size int64) (Finalized, error) {
	var (
		done  string
		usage uploaddb.StorageUsedRow
	)
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := uploaddb.New(tx)
		var err error
		done, err = q.FinalizedAs(ctx, uploaddb.FinalizedAsParams{TenantID: p.TenantID, Key: key})
		if errors.Is(err, pgx.ErrNoRows) {
			done, err = "", nil
		}
		if err != nil || done != "" {
			return err
		}
		usage, err = q.StorageUsed(ctx, p.TenantID)
		return err
	})
	if err != nil {
		return Finalized{}, err
	}
	if done != "" {
		return s.finalized(ctx, p, done)
	}
	if err := s.fits(usage, size); err != nil {
		// Checked before the object is, so a tenant at its quota costs no copy.
		return Finalized{}, err
	}
	info, err := s.store.Finalize(ctx, p.TenantID, key, kind, contentType, size)
	if err != nil {
		return Finalized{}, err
	}
	var recorded int64
	err = s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := uploaddb.New(tx)
		if err := q.LockStorage(ctx, p.TenantID); err != nil {
			return err
		}
		usage, err := q.StorageUsed(ctx, p.TenantID)
		if err != nil {
			return err
		}
		if err := s.fits(usage, info.Size); err != nil {
			return err
		}
		recorded, err = q.InsertUpload(ctx, uploaddb.InsertUploadParams{
			TenantID: p.TenantID, ObjectKey: info.Key, Kind: string(kind), ContentType: info.ContentType,
			SizeBytes: info.Size, UploadedBy: p.EmployeeID, UploadKey: key,
		})
		if err != nil || recorded == 0 || kind != media.KindImage {
			return err
		}
		return s.jobs.InsertTx(ctx, tx, MakeThumbnailArgs{TenantID: p.TenantID, Key: info.Key}, nil)
	})
	if err != nil || recorded == 0 {
		// Refused, failed, or a concurrent finalize of the same upload recorded its copy first: this
		// copy is referenced by nothing.
		if derr := s.store.Delete(context.WithoutCancel(ctx), info.Key); derr != nil && err == nil {
			err = derr
		}
		if err != nil {
			return Finalized{}, err
		}
		return s.Finalize(ctx, p, key, kind, contentType, size)
	}
	return s.finalized(ctx, p, info.Key)
}

func (s *Service) finalized(ctx context.Context, p authn.Principal, key string) (Finalized, error) {
	url, err := s.store.PresignGet(ctx, p.TenantID, key, 10*time.Minute)
	return Finalized{Key: key, URL: url}, err
}

// fits refuses size more bytes past the tenant's quota: its plan's, or the node's cap when lower.
func (s *Service) fits(u uploaddb.StorageUsedRow, size int64) error {
	quota := u.Quota
	if s.quota > 0 && s.quota < quota {
		quota = s.quota
	}
	if u.Used+size <= quota {
		return nil
	}
	return platform.ResourceExhausted(fmt.Sprintf(
		"your organization's storage quota of %d MiB is used up (%d MiB stored): delete materials you no longer need, or ask for a larger plan",
		quota/media.MiB, u.Used/media.MiB))
}

// Require checks, inside a tenant transaction, that key is a finalized upload of the tenant of one of the
// given kinds; field names the request field for the error.
func Require(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, field, key string, kinds ...media.Kind) error {
	got, err := uploaddb.New(tx).GetUploadKind(ctx, uploaddb.GetUploadKindParams{TenantID: tenantID, ObjectKey: key})
	if errors.Is(err, pgx.ErrNoRows) {
		return platform.Invalid(field, "not a finalized upload: call MediaService.FinalizeUpload first")
	}
	if err != nil {
		return err
	}
	for _, k := range kinds {
		if string(k) == got {
			return nil
		}
	}
	return platform.Invalid(field, "this upload is a "+got+", which does not fit here")
}

// MakeThumbnail makes the JPEG thumbnail of an image upload and records it. Running it again rewrites the
// same object, so a retried job does no harm; concurrent calls for one upload share one decode. The decode
// holds its memory of the node's image budget (media.Store.Images) and fails with ResourceExhausted when
// that cannot be had in time.
func (s *Service) MakeThumbnail(ctx context.Context, tenantID uuid.UUID, key string) error {
	_, err, _ := s.thumbs.Do(key, func() (any, error) { return nil, s.makeThumbnail(ctx, tenantID, key) })
	return err
}

func (s *Service) makeThumbnail(ctx context.Context, tenantID uuid.UUID, key string) error {
	thumbKey, ok := ThumbnailKey(key)
	if !ok {
		return fmt.Errorf("upload %q: no thumbnail key for it", key)
	}
	rc, _, err := s.store.Get(ctx, key)
	if platform.KindOf(err) == platform.KindNotFound {
		return nil // the upload was deleted before its thumbnail was made: nothing to do
	}
	if err != nil {
		return err
	}
	jpg, err := media.Thumbnail(ctx, s.store.Images(), rc, ThumbnailSide)
	rc.Close()
	if err != nil {
		return err
	}
	if err := s.store.Put(ctx, thumbKey, bytes.NewReader(jpg), int64(len(jpg)), "image/jpeg"); err != nil {
		return err
	}
	var recorded int64
	err = s.db.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		recorded, err = uploaddb.New(tx).SetThumbnail(ctx, uploaddb.SetThumbnailParams{TenantID: tenantID, ObjectKey: key, ThumbKey: thumbKey})
		return err
	})
	if err == nil && recorded == 0 {
		// The upload was forgotten meanwhile (its material deleted): nobody will ever delete this thumbnail.
		return s.store.Delete(ctx, thumbKey)
	}
	return err
}

// ThumbnailKey derives the thumbnail's key from a finalized upload's: t/<tenant>/file/<name>.<ext> (or
// t/<tenant>/upload/<name>.<ext>, as uploads were recorded before they were copied on finalize) becomes
// t/<tenant>/thumb/<name>.jpg.
func ThumbnailKey(key string) (string, bool) {
	parts := strings.Split(key, "/")
	if len(parts) != 4 || parts[0] != "t" || (parts[2] != media.FilePurpose && parts[2] != media.UploadPurpose) {
		return "", false
	}
	name := strings.TrimSuffix(parts[3], path.Ext(parts[3]))
	return strings.Join([]string{"t", parts[1], "thumb", name + ".jpg"}, "/"), true
}
