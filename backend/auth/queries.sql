-- Sessions: one per signed-in device. Run inside tenant transactions (row-level security scopes them).

-- name: InsertSession :exec
INSERT INTO sessions (id, tenant_id, employee_id, device_id, refresh_hash, expires_at, ends_at,
                      device_name, platform, app_version, client_address)
VALUES (@id, @tenant_id, @employee_id, @device_id, @refresh_hash, @expires_at, @ends_at,
        @device_name, @platform, @app_version, @client_address);

-- name: GetSessionForRefresh :one
SELECT s.id, s.employee_id, s.device_id, s.refresh_hash, s.prev_refresh_hash, s.rotated_at,
       s.expires_at, s.revoked_at, s.ends_at
FROM sessions s
WHERE s.tenant_id = @tenant_id AND s.id = @id
FOR UPDATE;

-- name: RotateSession :exec
-- Also records where the device was last seen; what the app did not report this time stays as it was.
UPDATE sessions SET prev_refresh_hash = refresh_hash, refresh_hash = @refresh_hash,
  rotated_at = now(), expires_at = @expires_at, last_seen_at = now(),
  device_name = coalesce(nullif(@device_name::text, ''), device_name),
  platform = coalesce(nullif(@platform::text, ''), platform),
  app_version = coalesce(nullif(@app_version::text, ''), app_version),
  client_address = coalesce(nullif(@client_address::text, ''), client_address)
WHERE tenant_id = @tenant_id AND id = @id;

-- name: RevokeSession :exec
-- Ends a session. The caller stops its push registrations in the same transaction (alert owns them).
UPDATE sessions SET revoked_at = now()
WHERE tenant_id = @tenant_id AND id = @id AND revoked_at IS NULL;

-- name: RevokeEmployeeSessions :exec
-- Ends every session of an employee but one (uuid.Nil keeps none): disabled, a password reset, or
-- "sign out my other devices".
UPDATE sessions SET revoked_at = now()
WHERE tenant_id = @tenant_id AND employee_id = @employee_id AND revoked_at IS NULL AND id <> @except_id;

-- name: GetSessionStatus :one
-- What the authenticator needs to trust an access token: the session, its employee and their tenant.
SELECT s.employee_id, s.device_id, s.expires_at AS session_expires_at, s.revoked_at,
       e.role, e.team_id, e.status, t.expires_at AS tenant_expires_at, t.plan, p.features,
       ARRAY(SELECT l.team_id FROM team_leads l WHERE l.tenant_id = s.tenant_id AND l.manager_id = s.employee_id
             ORDER BY l.team_id)::uuid[] AS leads
FROM sessions s
JOIN employees e ON e.tenant_id = s.tenant_id AND e.id = s.employee_id
JOIN tenants t ON t.id = s.tenant_id
JOIN plans p ON p.name = t.plan
WHERE s.tenant_id = @tenant_id AND s.id = @id;

-- name: GetEmployeeStatus :one
SELECT e.status, t.expires_at AS tenant_expires_at
FROM employees e JOIN tenants t ON t.id = e.tenant_id
WHERE e.tenant_id = @tenant_id AND e.id = @employee_id;

-- name: GetSessionOwner :one
-- Whose a session is, for RevokeSession.
SELECT employee_id FROM sessions WHERE tenant_id = @tenant_id AND id = @id;

-- name: ListLiveSessions :many
-- An employee's signed-in devices, most recently seen first.
SELECT id, device_id, device_name, platform, app_version, client_address, created_at, last_seen_at,
       expires_at, ends_at
FROM sessions
WHERE tenant_id = @tenant_id AND employee_id = @employee_id AND revoked_at IS NULL AND expires_at > @now::timestamptz
ORDER BY last_seen_at DESC, id DESC
LIMIT @max_rows;

-- name: EndedSessions :many
-- Which of a tenant's sessions can no longer be used (the WebSocket hub asks for those it has sockets of,
-- many tenants in one round trip): gone, revoked or past their end, or their employee is disabled or their
-- tenant expired (the status and tenant expiry come back to tell those apart). Sessions still good have
-- no row.
SELECT x.id::uuid AS id, e.status AS employee_status, t.expires_at AS tenant_expires_at
FROM (SELECT unnest(@ids::uuid[]) AS id) AS x
LEFT JOIN sessions s ON s.tenant_id = @tenant_id AND s.id = x.id
LEFT JOIN employees e ON e.tenant_id = s.tenant_id AND e.id = s.employee_id
LEFT JOIN tenants t ON t.id = s.tenant_id
WHERE s.id IS NULL OR s.revoked_at IS NOT NULL OR s.expires_at <= @now::timestamptz
   OR e.status IS DISTINCT FROM 'active' OR t.expires_at IS NULL OR t.expires_at <= @now::timestamptz;

-- name: TenantFeatures :one
-- The features of the tenant's plan: WeCom sign-in needs the WeCom bridge in it.
SELECT p.features FROM tenants t JOIN plans p ON p.name = t.plan WHERE t.id = @tenant_id;
