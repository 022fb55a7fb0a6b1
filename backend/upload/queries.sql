-- Finalized uploads. Run inside tenant transactions.

-- name: InsertUpload :exec
INSERT INTO uploads (tenant_id, object_key, kind, content_type, size_bytes, uploaded_by)
VALUES (@tenant_id, @object_key, @kind, @content_type, @size_bytes, @uploaded_by)
ON CONFLICT (tenant_id, object_key) DO NOTHING;

-- name: GetUploadKind :one
SELECT kind FROM uploads WHERE tenant_id = @tenant_id AND object_key = @object_key;

-- name: SetThumbnail :execrows
UPDATE uploads SET thumb_key = @thumb_key WHERE tenant_id = @tenant_id AND object_key = @object_key;
