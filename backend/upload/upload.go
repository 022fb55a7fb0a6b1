// Package upload turns presigned uploads into objects the rest of the backend may reference: it hands out
// the presigned requests, checks what arrived (media.Finalize), and records each accepted object per tenant.
// Cards and materials only accept keys recorded here, of the kind they need.
package upload

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/upload/uploaddb"
	"github.com/salesapp/scrm/media"
)

// Service hands out uploads and finalizes them.
type Service struct {
	db    *platform.DB
	store *media.Store
}

// NewService builds the service.
func NewService(db *platform.DB, store *media.Store) *Service { return &Service{db: db, store: store} }

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
		return uploaddb.New(tx).InsertUpload(ctx, uploaddb.InsertUploadParams{
			TenantID: p.TenantID, ObjectKey: info.Key, Kind: string(kind), ContentType: info.ContentType,
			SizeBytes: info.Size, UploadedBy: p.EmployeeID,
		})
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
