-- Every query runs inside a tenant transaction (row-level security scopes it); tenant_id filters are
-- written out anyway where they let PostgreSQL use the (tenant_id, ...) indexes.

-- name: GetTenant :one
SELECT t.id, t.name, t.plan, t.seat_limit, t.expires_at, t.time_zone, t.created_at, t.customer_owner_rule, t.require_signin, t.page_origins,
       (SELECT count(*) FROM employees e WHERE e.tenant_id = t.id AND e.status = 'active')::int AS seats_used, p.features
FROM tenants t JOIN plans p ON p.name = t.plan
WHERE t.id = @tenant_id;

-- name: LockTenantSeats :one
-- Serializes seat-taking changes of one tenant.
SELECT seat_limit FROM tenants WHERE id = @tenant_id FOR UPDATE;

-- name: CountActiveEmployees :one
SELECT count(*)::int FROM employees WHERE tenant_id = @tenant_id AND status = 'active';

-- name: CountActiveAdminsExcept :one
SELECT count(*)::int FROM employees
WHERE tenant_id = @tenant_id AND status = 'active' AND role = 'admin' AND id <> @id;

-- name: InsertTenant :one
INSERT INTO tenants (id, name, plan, seat_limit, expires_at, time_zone)
VALUES (@id, @name, @plan, @seat_limit, @expires_at, @time_zone)
RETURNING id, name, plan, seat_limit, expires_at, time_zone, created_at;

-- name: InsertEmployee :one
INSERT INTO employees (id, tenant_id, name, role, team_id, title, phone, email, wecom_userid)
VALUES (@id, @tenant_id, @name, @role, sqlc.narg(team_id), @title, @phone, @email, @wecom_userid)
RETURNING *;

-- name: GetEmployee :one
SELECT * FROM employees WHERE tenant_id = @tenant_id AND id = @id;

-- name: GetEmployeeForUpdate :one
SELECT * FROM employees WHERE tenant_id = @tenant_id AND id = @id FOR UPDATE;

-- name: ListEmployees :many
SELECT * FROM employees
WHERE tenant_id = @tenant_id
  AND (NOT @by_team::bool OR team_id = ANY (@team_ids::uuid[]))
  AND (@include_disabled::bool OR status = 'active')
  AND (NOT @has_cursor::bool OR (name, id) > (@after_name::text, @after_id::uuid))
ORDER BY name, id
LIMIT @max_rows;

-- name: UpdateEmployee :one
UPDATE employees SET
  name    = coalesce(sqlc.narg(name), name),
  role    = coalesce(sqlc.narg(role), role),
  team_id = CASE WHEN @set_team::bool THEN sqlc.narg(team_id)::uuid ELSE team_id END,
  title   = coalesce(sqlc.narg(title), title),
  phone   = coalesce(sqlc.narg(phone), phone),
  email   = coalesce(sqlc.narg(email), email),
  updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id
RETURNING *;

-- name: SetEmployeeStatus :one
-- An admin's choice: the directory no longer enables one it disabled (migration 041).
UPDATE employees SET status = @status, left_directory = false, updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id
RETURNING *;

-- name: InsertTeam :one
INSERT INTO teams (id, tenant_id, name) VALUES (@id, @tenant_id, @name)
RETURNING id, name, created_at, updated_at;

-- name: GetTeam :one
SELECT t.id, t.name, t.created_at, t.updated_at,
       (SELECT count(*) FROM employees e WHERE e.tenant_id = t.tenant_id AND e.team_id = t.id AND e.status = 'active')::int AS member_count
FROM teams t
WHERE t.tenant_id = @tenant_id AND t.id = @id;

-- name: ListTeams :many
SELECT t.id, t.name, t.created_at, t.updated_at,
       (SELECT count(*) FROM employees e WHERE e.tenant_id = t.tenant_id AND e.team_id = t.id AND e.status = 'active')::int AS member_count
FROM teams t
WHERE t.tenant_id = @tenant_id
ORDER BY t.name, t.id;

-- name: RenameTeam :execrows
UPDATE teams SET name = @name, updated_at = now() WHERE tenant_id = @tenant_id AND id = @id;

-- name: CountTeamMembers :one
-- Disabled members count too: they still reference the team.
SELECT count(*)::int FROM employees WHERE tenant_id = @tenant_id AND team_id = @team_id::uuid;

-- name: DeleteTeam :execrows
DELETE FROM teams WHERE tenant_id = @tenant_id AND id = @id;

-- name: SetOwnerRule :exec
UPDATE tenants SET customer_owner_rule = @rule, updated_at = now() WHERE id = @tenant_id;

-- name: SetRequireSignIn :exec
UPDATE tenants SET require_signin = @require_signin, updated_at = now() WHERE id = @tenant_id;

-- name: SetPageOrigins :exec
UPDATE tenants SET page_origins = @page_origins::text[], updated_at = now() WHERE id = @tenant_id;

-- name: GetPageSettings :one
SELECT require_signin, page_origins FROM tenants WHERE id = @tenant_id;

-- name: AllowedPageOrigins :many
-- Every tenant's page origins, across tenants (a SECURITY DEFINER function: CORS preflights name no tenant).
SELECT o::text AS origin FROM allowed_page_origins() AS o;

-- name: LeadsOf :many
-- The teams these employees lead (team_leads, migration 055).
SELECT manager_id, team_id FROM team_leads
WHERE tenant_id = @tenant_id AND manager_id = ANY (@ids::uuid[])
ORDER BY manager_id, team_id;

-- name: CountTeams :one
SELECT count(*)::int FROM teams WHERE tenant_id = @tenant_id AND id = ANY (@ids::uuid[]);

-- name: GrantLeads :exec
-- The teams an admin gives a manager besides their own; a team that is already theirs becomes granted too.
INSERT INTO team_leads AS l (tenant_id, team_id, manager_id, granted)
SELECT @tenant_id::uuid, x.t, @manager_id::uuid, true FROM unnest(@team_ids::uuid[]) AS x (t)
ON CONFLICT (tenant_id, team_id, manager_id) DO UPDATE SET granted = true WHERE NOT l.granted;

-- name: UngrantLeads :exec
-- Granted teams not named any more that are theirs for another reason (their own, or the directory's):
-- no longer granted.
UPDATE team_leads SET granted = false
WHERE tenant_id = @tenant_id AND manager_id = @manager_id AND granted AND (home OR directory)
  AND team_id <> ALL (@team_ids::uuid[]);

-- name: DropLeads :exec
-- The granted teams not named any more.
DELETE FROM team_leads
WHERE tenant_id = @tenant_id AND manager_id = @manager_id AND NOT home AND NOT directory
  AND team_id <> ALL (@team_ids::uuid[]);

-- name: UndirectLeads :execrows
-- The teams of departments these managers no longer lead in the WeCom directory (pairs: manager_ids[i]
-- leads team_ids[i]; a manager with no pair leads none there), still theirs for another reason.
UPDATE team_leads l SET directory = false
WHERE l.tenant_id = @tenant_id AND l.manager_id = ANY (@managers::uuid[]) AND l.directory AND (l.home OR l.granted)
  AND NOT EXISTS (SELECT FROM (SELECT unnest(@manager_ids::uuid[]) AS m, unnest(@team_ids::uuid[]) AS t) AS w WHERE w.m = l.manager_id AND w.t = l.team_id);

-- name: DropDirectoryLeads :execrows
-- And those led for the directory only.
DELETE FROM team_leads l
WHERE l.tenant_id = @tenant_id AND l.manager_id = ANY (@managers::uuid[]) AND l.directory AND NOT l.home AND NOT l.granted
  AND NOT EXISTS (SELECT FROM (SELECT unnest(@manager_ids::uuid[]) AS m, unnest(@team_ids::uuid[]) AS t) AS w WHERE w.m = l.manager_id AND w.t = l.team_id);

-- name: DirectLeads :execrows
-- The teams of departments the directory says these managers lead.
INSERT INTO team_leads AS l (tenant_id, team_id, manager_id, directory)
SELECT @tenant_id::uuid, w.t, w.m, true FROM (SELECT unnest(@manager_ids::uuid[]) AS m, unnest(@team_ids::uuid[]) AS t) AS w
JOIN employees e ON e.tenant_id = @tenant_id::uuid AND e.id = w.m AND e.role = 'manager'
ON CONFLICT (tenant_id, team_id, manager_id) DO UPDATE SET directory = true WHERE NOT l.directory;
