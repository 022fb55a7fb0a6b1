package media

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"
)

// StaleUploadAge is how long an object may sit at an upload key before it is swept: a ticket is valid
// UploadTTL, and a client has the rest of a day to finalize what it uploaded.
const StaleUploadAge = 24 * time.Hour

// Recorded reports which of keys, upload keys of one tenant (uuid.Nil for platform upload keys), are still
// referenced and must stay: uploads finalized before finalize copied them were recorded at their upload
// keys.
type Recorded func(ctx context.Context, tenantID uuid.UUID, keys []string) ([]string, error)

// DeleteStaleUploads deletes the objects at upload keys (t/<tenant>/upload/..., platform/upload/...) last
// written before cutoff that recorded does not report (nil: none is recorded), and returns how many it
// deleted. Finalize moves every accepted upload to a key of its own, so whatever else still sits at an
// upload key was never finalized, or was PUT again through a ticket after its finalize: nothing refers to
// it. The bucket is walked by tenant prefix, listing upload keys only.
func (s *Store) DeleteStaleUploads(ctx context.Context, cutoff time.Time, recorded Recorded) (int, error) {
	type scope struct {
		prefix string
		tenant uuid.UUID
	}
	scopes := []scope{{prefix: PlatformPrefix + UploadPurpose + "/"}}
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: "t/"}) {
		if obj.Err != nil {
			return 0, fmt.Errorf("media: list tenants: %w", obj.Err)
		}
		id, err := uuid.Parse(strings.TrimSuffix(strings.TrimPrefix(obj.Key, "t/"), "/"))
		if !strings.HasSuffix(obj.Key, "/") || err != nil || id == uuid.Nil {
			continue // not a tenant prefix TenantKey makes
		}
		scopes = append(scopes, scope{prefix: obj.Key + UploadPurpose + "/", tenant: id})
	}
	deleted := 0
	for _, sc := range scopes {
		var stale []string
		for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: sc.prefix, Recursive: true}) {
			if obj.Err != nil {
				return deleted, fmt.Errorf("media: list %s: %w", sc.prefix, obj.Err)
			}
			if obj.LastModified.Before(cutoff) {
				stale = append(stale, obj.Key)
			}
		}
		if len(stale) > 0 && recorded != nil {
			keep, err := recorded(ctx, sc.tenant, stale)
			if err != nil {
				return deleted, fmt.Errorf("media: recorded uploads under %s: %w", sc.prefix, err)
			}
			stale = slices.DeleteFunc(stale, func(k string) bool { return slices.Contains(keep, k) })
		}
		if err := s.Delete(ctx, stale...); err != nil {
			return deleted, err
		}
		deleted += len(stale)
	}
	return deleted, nil
}
