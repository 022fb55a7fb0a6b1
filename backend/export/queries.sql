-- name: InsertExport :exec
INSERT INTO exports (tenant_id, id, requested_by, format, stage) VALUES (@tenant_id, @id, @requested_by, @format, @stage);

-- name: GetExport :one
SELECT id, requested_by, format, stage, status, row_count, object_key, error, created_at, finished_at, expires_at
FROM exports WHERE tenant_id = @tenant_id AND id = @id;

-- name: FinishExport :exec
UPDATE exports SET status = @status, row_count = @row_count, object_key = @object_key, error = @error, finished_at = now()
WHERE tenant_id = @tenant_id AND id = @id;

-- name: Requester :one
-- Who asked, as they are now (a disabled requester's export is not made).
SELECT role, team_id, status,
       ARRAY(SELECT l.team_id FROM team_leads l WHERE l.tenant_id = @tenant_id AND l.manager_id = @id ORDER BY l.team_id)::uuid[] AS leads
FROM employees WHERE tenant_id = @tenant_id AND id = @id;

-- name: PurgeExports :many
SELECT purge_exports() AS object_key;
