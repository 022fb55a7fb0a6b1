-- Finalized uploads. Run inside tenant transactions.

-- A second finalize of the same upload racing this one inserts nothing: upload_key is unique.
-- name: InsertUpload :execrows
INSERT INTO uploads (tenant_id, object_key, kind, content_type, size_bytes, uploaded_by, upload_key)
VALUES (@tenant_id, @object_key, @kind, @content_type, @size_bytes, @uploaded_by, @upload_key)
ON CONFLICT DO NOTHING;

-- name: GetUploadKind :one
SELECT kind FROM uploads WHERE tenant_id = @tenant_id AND object_key = @object_key;

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
