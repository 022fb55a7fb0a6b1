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

// Service hands out uploads and finalizes them.
type Service struct {
	db    *platform.DB
	store *media.Store
	jobs  jobs.Inserter
	// thumbs lets one thumbnail per upload be made at a time on this node.
	thumbs singleflight.Group
}

// NewService builds the service; a finalized image's thumbnail is a job inserted through jobs.
func NewService(db *platform.DB, store *media.Store, jobs jobs.Inserter) *Service {
	return &Service{db: db, store: store, jobs: jobs}
}

// Create returns presigned requests for one object of the caller's tenant.
func (s *Service) Create(ctx context.Context, p authn.Principal, kind media.Kind, contentType string, size int64) (media.UploadTicket, error) {
	return s.store.PresignUpload(ctx, p.TenantID, kind, contentType, size)
}

// Finalize checks an uploaded object and records it. Finalizing an accepted object again only returns its
// URL: the object is not checked again, so a wrong declaration the second time cannot get it deleted.
func (s *Service) Finalize(ctx context.Context, p authn.Principal, key string, kind media.Kind, contentType string, size int64) (string, error) {
	var done bool
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		_, err := uploaddb.New(tx).GetUploadKind(ctx, uploaddb.GetUploadKindParams{TenantID: p.TenantID, ObjectKey: key})
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		done = err == nil
		return err
	})
	if err != nil {
		return "", err
	}
	if done {
		return s.store.PresignGet(ctx, p.TenantID, key, 10*time.Minute)
	}
	info, err := s.store.Finalize(ctx, p.TenantID, key, kind, contentType, size)
	if err != nil {
		return "", err
	}
	err = s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		err := uploaddb.New(tx).InsertUpload(ctx, uploaddb.InsertUploadParams{
			TenantID: p.TenantID, ObjectKey: info.Key, Kind: string(kind), ContentType: info.ContentType,
			SizeBytes: info.Size, UploadedBy: p.EmployeeID,
		})
		if err != nil || kind != media.KindImage {
			return err
		}
		return s.jobs.InsertTx(ctx, tx, MakeThumbnailArgs{TenantID: p.TenantID, Key: info.Key}, nil)
	})
	if err != nil {
		return "", err
	}
	return s.store.PresignGet(ctx, p.TenantID, info.Key, 10*time.Minute)
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

// ThumbnailKey derives the thumbnail's key from an upload's: t/<tenant>/upload/<name>.<ext> becomes
// t/<tenant>/thumb/<name>.jpg.
func ThumbnailKey(key string) (string, bool) {
	parts := strings.Split(key, "/")
	if len(parts) != 4 || parts[0] != "t" || parts[2] != media.UploadPurpose {
		return "", false
	}
	name := strings.TrimSuffix(parts[3], path.Ext(parts[3]))
	return strings.Join([]string{"t", parts[1], "thumb", name + ".jpg"}, "/"), true
}
