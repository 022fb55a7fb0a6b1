-- Share links. Run inside tenant transactions.

-- name: InsertShare :one
INSERT INTO shares (id, tenant_id, token, employee_id, target_kind, material_id, channel, parent_id, root_id, depth, forwarder, standing, task_id)
VALUES (@id, @tenant_id, @token, @employee_id, @target_kind, sqlc.narg(material_id), @channel, sqlc.narg(parent_id), @root_id, @depth, @forwarder, @standing, sqlc.narg(task_id))
RETURNING *;

-- name: GetShareByToken :one
SELECT * FROM shares WHERE token = @token;

-- name: ResolveShare :one
-- The share behind a token, when its tenant's subscription ends, and whom it credits now (its sharer, or
-- once disabled the successor a handover named, migration 023). Runs after resolveScope (share.go) in the
-- same pipeline, which scopes it to the token's tenant.
SELECT sqlc.embed(s), t.expires_at, credited_employee(s.tenant_id, s.employee_id)::uuid AS credited_id
FROM shares s JOIN tenants t ON t.id = s.tenant_id
WHERE s.token = @token;

-- name: BumpMaterialShares :execrows
UPDATE materials SET share_count = share_count + 1 WHERE id = @material_id AND tenant_id = @tenant_id::uuid;

-- name: BumpPlatformMaterialShares :exec
INSERT INTO platform_material_shares (tenant_id, material_id, share_count) VALUES (@tenant_id, @material_id, 1)
ON CONFLICT (tenant_id, material_id) DO UPDATE SET share_count = platform_material_shares.share_count + 1;

-- name: ShareStats :one
-- Forwards are the child links someone opened (a page mints one for its visitor whether they forward it
-- or not).
SELECT count(*) FILTER (WHERE parent_id IS NULL AND NOT standing)::bigint AS shares,
       count(*) FILTER (WHERE parent_id IS NOT NULL AND opened_at IS NOT NULL)::bigint AS forwards
FROM shares WHERE tenant_id = @tenant_id AND employee_id = @employee_id;

-- name: EmployeeTeam :one
SELECT team_id FROM employees WHERE tenant_id = @tenant_id AND id = @id;

-- name: LatestOwnShare :one
SELECT * FROM shares
WHERE tenant_id = @tenant_id AND employee_id = @employee_id AND material_id = @material_id
  AND channel = @channel AND parent_id IS NULL
ORDER BY created_at DESC LIMIT 1;

-- name: ExistingForward :one
-- A forward already made of this share by this forwarder on this channel: forwarding again reuses it.
SELECT * FROM shares WHERE tenant_id = @tenant_id AND parent_id = @parent_id AND forwarder = @forwarder AND channel = @channel
ORDER BY created_at LIMIT 1;

-- name: MarkOpened :exec
-- The forwards among ids opened for the first time (joined to the ids: a generic plan of = ANY scans).
UPDATE shares s SET opened_at = @at
FROM unnest(@ids::uuid[]) AS x (id)
WHERE s.tenant_id = @tenant_id AND s.id = x.id AND s.parent_id IS NOT NULL AND s.opened_at IS NULL;
