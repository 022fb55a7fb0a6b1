-- The WeCom directory's writes to teams and employees (directory.go): set-based, so a directory of
-- 10,000 members is a handful of statements.

-- name: ListDirectoryTeams :many
SELECT id, name, wecom_dept_id FROM teams WHERE tenant_id = @tenant_id;

-- name: InsertDirectoryTeam :exec
INSERT INTO teams (id, tenant_id, name, wecom_dept_id) VALUES (@id, @tenant_id, @name, @wecom_dept_id);

-- name: UpdateDirectoryTeam :exec
UPDATE teams SET name = @name, wecom_dept_id = @wecom_dept_id, updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id;

-- name: UnlinkDirectoryTeams :exec
-- A department deleted in WeCom leaves its team (and whoever is in it) here, no longer tied to it.
UPDATE teams SET wecom_dept_id = NULL, updated_at = now()
WHERE tenant_id = @tenant_id AND wecom_dept_id = ANY(@dept_ids::bigint[]);

-- name: ListDirectoryEmployees :many
SELECT id, name, role, team_id, status, title, phone, email, wecom_userid, left_directory FROM employees
WHERE tenant_id = @tenant_id;

-- name: ListDirectoryEmployeesFor :many
-- The employees a partial change (a callback about a few members) may touch: those tied to the userids, and
-- untied ones with one of the phones (employees_phone_login_key finds them).
SELECT id, name, role, team_id, status, title, phone, email, wecom_userid, left_directory FROM employees
WHERE tenant_id = @tenant_id
  AND (wecom_userid = ANY(@userids::text[])
       OR (wecom_userid = '' AND phone <> '' AND login_key(phone) IN (SELECT login_key(p) FROM unnest(@phones::text[]) AS p)));

-- name: CountDirectoryStaff :one
-- The active employees (seats taken) and admins among them, for a partial change.
SELECT count(*) FILTER (WHERE status = 'active')::int AS active,
       count(*) FILTER (WHERE status = 'active' AND role = 'admin')::int AS admins
FROM employees WHERE tenant_id = @tenant_id;

-- name: UpdateDirectoryEmployees :exec
UPDATE employees e
SET name = u.name, role = u.role, team_id = NULLIF(u.team_id, '00000000-0000-0000-0000-000000000000'::uuid),
    title = u.title, phone = u.phone, email = u.email, wecom_userid = u.wecom_userid, updated_at = now()
FROM (SELECT unnest(@ids::uuid[]) AS id, unnest(@names::text[]) AS name, unnest(@roles::text[]) AS role,
             unnest(@team_ids::uuid[]) AS team_id, unnest(@titles::text[]) AS title, unnest(@phones::text[]) AS phone,
             unnest(@emails::text[]) AS email, unnest(@wecom_userids::text[]) AS wecom_userid) AS u
WHERE e.tenant_id = @tenant_id AND e.id = u.id;

-- name: InsertDirectoryEmployees :exec
INSERT INTO employees (id, tenant_id, name, role, team_id, title, phone, email, wecom_userid)
SELECT u.id, @tenant_id, u.name, u.role, NULLIF(u.team_id, '00000000-0000-0000-0000-000000000000'::uuid),
       u.title, u.phone, u.email, u.wecom_userid
FROM (SELECT unnest(@ids::uuid[]) AS id, unnest(@names::text[]) AS name, unnest(@roles::text[]) AS role,
             unnest(@team_ids::uuid[]) AS team_id, unnest(@titles::text[]) AS title, unnest(@phones::text[]) AS phone,
             unnest(@emails::text[]) AS email, unnest(@wecom_userids::text[]) AS wecom_userid) AS u;

-- name: DisableDirectoryEmployees :many
UPDATE employees SET status = 'disabled', left_directory = true, updated_at = now()
WHERE tenant_id = @tenant_id AND id = ANY(@ids::uuid[]) AND status = 'active'
RETURNING id;

-- name: EnableDirectoryEmployees :many
-- Members who returned to the directory: employees it disabled when they left (never one an admin
-- disabled) are active again.
UPDATE employees SET status = 'active', left_directory = false, updated_at = now()
WHERE tenant_id = @tenant_id AND id = ANY(@ids::uuid[]) AND status = 'disabled' AND left_directory
RETURNING id;

-- name: RenameWeComUserID :execrows
-- WeCom lets an admin change a member's userid once (NewUserID on update_user).
UPDATE employees SET wecom_userid = @new_userid, updated_at = now()
WHERE tenant_id = @tenant_id AND wecom_userid = @old_userid;
