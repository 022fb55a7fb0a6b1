-- Sessions: one per signed-in device. Run inside tenant transactions (row-level security scopes them).

-- name: InsertSession :exec
INSERT INTO sessions (id, tenant_id, employee_id, device_id, refresh_hash, expires_at)
VALUES (@id, @tenant_id, @employee_id, @device_id, @refresh_hash, @expires_at);

-- name: GetSessionForRefresh :one
SELECT s.id, s.employee_id, s.device_id, s.refresh_hash, s.prev_refresh_hash, s.rotated_at,
       s.expires_at, s.revoked_at
FROM sessions s
WHERE s.tenant_id = @tenant_id AND s.id = @id
FOR UPDATE;

-- name: RotateSession :exec
UPDATE sessions SET prev_refresh_hash = refresh_hash, refresh_hash = @refresh_hash,
  rotated_at = now(), expires_at = @expires_at
WHERE tenant_id = @tenant_id AND id = @id;

-- name: RevokeSession :exec
-- Ends a session. The phone it was on stops getting the salesperson's pushes (alerts name customers)
-- until the app registers for push again after a new sign-in.
WITH ended AS (
  UPDATE sessions s SET revoked_at = now()
  WHERE s.tenant_id = @tenant_id AND s.id = @id AND s.revoked_at IS NULL
  RETURNING s.employee_id, s.device_id
)
UPDATE devices d SET disabled_at = now(), disabled_reason = 'signed out', updated_at = now()
FROM ended
WHERE d.tenant_id = @tenant_id AND d.employee_id = ended.employee_id AND d.device_id = ended.device_id
  AND d.disabled_at IS NULL;

-- name: RevokeEmployeeSessions :exec
-- Ends every session of an employee (disabled, say) and stops pushes to all their phones.
WITH ended AS (
  UPDATE sessions s SET revoked_at = now()
  WHERE s.tenant_id = @tenant_id AND s.employee_id = @employee_id AND s.revoked_at IS NULL
)
UPDATE devices d SET disabled_at = now(), disabled_reason = 'signed out everywhere', updated_at = now()
WHERE d.tenant_id = @tenant_id AND d.employee_id = @employee_id AND d.disabled_at IS NULL;

-- name: GetSessionStatus :one
-- What the authenticator needs to trust an access token: the session, its employee and their tenant.
SELECT s.employee_id, s.device_id, s.expires_at AS session_expires_at, s.revoked_at,
       e.role, e.team_id, e.status, t.expires_at AS tenant_expires_at
FROM sessions s
JOIN employees e ON e.tenant_id = s.tenant_id AND e.id = s.employee_id
JOIN tenants t ON t.id = s.tenant_id
WHERE s.tenant_id = @tenant_id AND s.id = @id;

-- name: GetEmployeeStatus :one
SELECT e.status, t.expires_at AS tenant_expires_at
FROM employees e JOIN tenants t ON t.id = e.tenant_id
WHERE e.tenant_id = @tenant_id AND e.id = @employee_id;
