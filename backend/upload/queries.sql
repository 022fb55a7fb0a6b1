-- Finalized uploads. Run inside tenant transactions.

-- A second finalize of the same upload racing this one inserts nothing: upload_key is unique.
-- name: InsertUpload :execrows
INSERT INTO uploads (tenant_id, object_key, kind, content_type, size_bytes, uploaded_by, upload_key)
VALUES (@tenant_id, @object_key, @kind, @content_type, @size_bytes, @uploaded_by, @upload_key)
ON CONFLICT DO NOTHING;

-- The row stays locked until the transaction ends, so the sweep of unreferenced uploads cannot forget an
-- upload while a write that references it is on its way (uploads_forget_unreferenced, migration 052).
-- name: GetUploadKind :one
SELECT kind FROM uploads WHERE tenant_id = @tenant_id AND object_key = @object_key FOR KEY SHARE;

-- The finalized copy of an upload, by the key its ticket named or by its own.
-- name: FinalizedAs :one
SELECT object_key FROM uploads
WHERE tenant_id = @tenant_id AND (upload_key = @key OR object_key = @key)
LIMIT 1;

-- Serializes the quota checks of one tenant's finalizes until the transaction ends.
-- name: LockStorage :exec
SELECT pg_advisory_xact_lock(hashtextextended('uploads_quota:' || sqlc.arg(tenant_id)::uuid::text, 0));

-- name: StorageUsed :one
-- What the tenant's finalized uploads take, and the quota of its plan (migration 027), in bytes.
SELECT coalesce((SELECT sum(size_bytes) FROM uploads WHERE tenant_id = @tenant_id), 0)::bigint AS used,
       (coalesce((SELECT p.storage_quota_mib FROM tenants t JOIN plans p ON p.name = t.plan WHERE t.id = @tenant_id), 0)::bigint
         * 1048576)::bigint AS quota;

-- name: SetThumbnail :execrows
UPDATE uploads SET thumb_key = @thumb_key WHERE tenant_id = @tenant_id AND object_key = @object_key;

-- Which of keys are recorded as finalized uploads (the sweep of stale upload keys keeps those).
-- name: RecordedKeys :many
SELECT object_key FROM uploads WHERE tenant_id = @tenant_id AND object_key = ANY (@keys::text[]);

-- The tenants with uploads due a check by now (migration 052).
-- name: CheckTenants :many
SELECT t::uuid AS tenant_id FROM upload_check_tenants(@now::timestamptz) AS t;

-- A page of the tenant's uploads due a check by now, locked; a row a writer holds is left for the next run.
-- name: LockDueUploads :many
SELECT object_key FROM uploads
WHERE tenant_id = @tenant_id AND check_at IS NOT NULL AND check_at <= @now::timestamptz
ORDER BY check_at, object_key
LIMIT @max_rows
FOR UPDATE SKIP LOCKED;

-- Forgets those of keys nothing references, returning their objects' keys and thumbnails'.
-- name: ForgetUnreferenced :many
SELECT f.object_key::text AS object_key, f.thumb_key::text AS thumb_key
FROM uploads_forget_unreferenced(@tenant_id, @keys::text[]) AS f;

-- The uploads of keys still here are referenced: no check until a reference is dropped.
-- name: ClearChecks :exec
UPDATE uploads SET check_at = NULL WHERE tenant_id = @tenant_id AND object_key = ANY (@keys::text[]);
