-- Sign-in: passwords, invitations, sign-in records (tenant transactions, row-level security scopes them),
-- and the failure counters and tenant tickets, which belong to no tenant (migration 009 says why). The
-- lookup of a login across tenants is signin_candidates, called from signin.go.

-- name: InsertThrottleKeys :exec
-- Makes the counters of an attempt's keys when missing, in key order (as LockThrottle locks them).
INSERT INTO signin_throttle (key)
SELECT k FROM unnest(@keys::bytea[]) AS k ORDER BY k
ON CONFLICT (key) DO NOTHING;

-- name: LockThrottle :many
SELECT key, failures, last_failure_at FROM signin_throttle
WHERE key = ANY(@keys::bytea[])
ORDER BY key
FOR UPDATE;

-- name: SetThrottle :exec
UPDATE signin_throttle SET failures = @failures, last_failure_at = @last_failure_at WHERE key = @key;

-- name: TakeBackFailure :exec
-- The attempt counted as a failure when it started turned out not to be one.
UPDATE signin_throttle SET failures = greatest(failures - 1, 0) WHERE key = @key;

-- name: ForgetFailures :exec
DELETE FROM signin_throttle WHERE key = @key;

-- name: InsertTicket :exec
INSERT INTO signin_tickets (secret_hash, tenant_ids, employee_ids, device_id, device_name, address, expires_at)
VALUES (@secret_hash, @tenant_ids::uuid[], @employee_ids::uuid[], @device_id, @device_name, @address, @expires_at);

-- name: TakeTicket :one
-- A ticket works once: taking it deletes it.
DELETE FROM signin_tickets WHERE secret_hash = @secret_hash
RETURNING tenant_ids, employee_ids, device_id, device_name, address, expires_at;

-- name: GetSignInEmployee :one
-- What sign-in needs of an employee whose password matched: may they in, and what the tenant picker shows.
SELECT e.status, e.name, e.phone, e.email, t.name AS tenant_name, t.expires_at AS tenant_expires_at,
       coalesce(cp.logo_key, '')::text AS logo_key
FROM employees e
JOIN tenants t ON t.id = e.tenant_id
LEFT JOIN company_profiles cp ON cp.tenant_id = e.tenant_id
WHERE e.tenant_id = @tenant_id AND e.id = @employee_id;

-- name: LockEmployeeForCredentials :one
-- Serializes the changes of one employee's password and invitations (reset, resend, accept).
SELECT e.status, e.phone, e.email,
       EXISTS (SELECT FROM employee_passwords p WHERE p.tenant_id = e.tenant_id AND p.employee_id = e.id) AS has_password
FROM employees e
WHERE e.tenant_id = @tenant_id AND e.id = @employee_id
FOR UPDATE OF e;

-- name: GetPassword :one
SELECT password_hash FROM employee_passwords WHERE tenant_id = @tenant_id AND employee_id = @employee_id;

-- name: SetPassword :exec
INSERT INTO employee_passwords (tenant_id, employee_id, password_hash)
VALUES (@tenant_id, @employee_id, @password_hash)
ON CONFLICT (tenant_id, employee_id) DO UPDATE SET password_hash = excluded.password_hash, updated_at = now();

-- name: ReplacePasswordHash :execrows
-- Replaces a hash (made under old parameters, or of a password being changed) unless the password was
-- changed or reset meanwhile.
UPDATE employee_passwords SET password_hash = @new_hash, updated_at = now()
WHERE tenant_id = @tenant_id AND employee_id = @employee_id AND password_hash = @old_hash;

-- name: DeletePassword :exec
DELETE FROM employee_passwords WHERE tenant_id = @tenant_id AND employee_id = @employee_id;

-- name: VoidOpenInvitations :exec
UPDATE invitations SET voided_at = @now
WHERE tenant_id = @tenant_id AND employee_id = @employee_id AND used_at IS NULL AND voided_at IS NULL;

-- name: InsertInvitation :exec
INSERT INTO invitations (id, tenant_id, employee_id, secret_hash, created_at, expires_at)
VALUES (@id, @tenant_id, @employee_id, @secret_hash, @created_at, @expires_at);

-- name: GetInvitationForUpdate :one
SELECT employee_id, secret_hash, expires_at, used_at, voided_at FROM invitations
WHERE tenant_id = @tenant_id AND id = @id
FOR UPDATE;

-- name: UseInvitation :exec
UPDATE invitations SET used_at = @now WHERE tenant_id = @tenant_id AND id = @id;

-- name: InsertSignInRecord :exec
INSERT INTO signin_records (id, tenant_id, employee_id, at, result, device_id, device_name, address)
VALUES (@id, @tenant_id, @employee_id, @at, @result, @device_id, @device_name, @address);

-- name: ListSignIns :many
SELECT r.id, r.employee_id, e.name AS employee_name, r.at, r.result, r.device_id, r.device_name, r.address
FROM signin_records r
JOIN employees e ON e.tenant_id = r.tenant_id AND e.id = r.employee_id
WHERE r.tenant_id = @tenant_id
  AND (sqlc.narg(employee_id)::uuid IS NULL OR r.employee_id = sqlc.narg(employee_id)::uuid)
  AND (NOT @has_cursor::bool OR (r.at, r.id) < (@before_at::timestamptz, @before_id::uuid))
ORDER BY r.at DESC, r.id DESC
LIMIT @max_rows;

-- name: EmployeeByWeComUserID :one
-- WeCom sign-in: the employee linked to a member of the tenant's corp (at most one: a unique index).
SELECT e.id FROM employees e
WHERE e.tenant_id = @tenant_id AND e.wecom_userid = @wecom_userid AND e.wecom_userid <> '';
