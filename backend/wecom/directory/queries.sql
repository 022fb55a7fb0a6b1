-- The WeCom directory's full syncs (directory.go).

-- name: StartSync :exec
INSERT INTO wecom_directory_syncs (tenant_id, started_at) VALUES (@tenant_id, @started_at)
ON CONFLICT (tenant_id) DO UPDATE SET started_at = excluded.started_at, finished_at = NULL, result = '{}', error = '';

-- name: FinishSync :exec
UPDATE wecom_directory_syncs SET finished_at = @finished_at, result = @result, error = @error
WHERE tenant_id = @tenant_id;

-- name: GetSync :one
SELECT started_at, finished_at, result, error FROM wecom_directory_syncs WHERE tenant_id = @tenant_id;
