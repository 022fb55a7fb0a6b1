-- Marketing tasks. Run inside tenant transactions.

-- name: InsertTask :one
INSERT INTO tasks (tenant_id, id, created_by, title, brief, material_ids, target_shares, target_views, target_viewers,
                   target_forwards, target_new_customers, target_leads, starts_at, ends_at, audience, team_ids,
                   employee_ids, claim_required, max_claimers)
VALUES (@tenant_id, @id, @created_by, @title, @brief, @material_ids, @target_shares, @target_views, @target_viewers,
        @target_forwards, @target_new_customers, @target_leads, @starts_at, @ends_at, @audience, @team_ids,
        @employee_ids, @claim_required, @max_claimers)
RETURNING *;

-- name: AssignAudience :many
-- Assigns a task outright to everyone in its audience (active salespeople of the tenant or the teams, or
-- the chosen employees, active, of any role).
INSERT INTO task_assignees (tenant_id, task_id, employee_id, claimed)
SELECT e.tenant_id, t.id, e.id, false
FROM tasks t JOIN employees e ON e.tenant_id = t.tenant_id AND e.status = 'active'
WHERE t.tenant_id = @tenant_id AND t.id = @task_id
  AND ((t.audience = 'tenant' AND e.role = 'sales')
    OR (t.audience = 'teams' AND e.role = 'sales' AND e.team_id = ANY (t.team_ids))
    OR (t.audience = 'employees' AND e.id = ANY (t.employee_ids)))
ON CONFLICT DO NOTHING
RETURNING employee_id;

-- name: EmployeesOutsideTeam :one
-- How many of the ids are not active employees of the teams (a manager may only target the teams they lead).
SELECT count(*)::int FROM unnest(@ids::uuid[]) AS x(id)
WHERE NOT EXISTS (SELECT 1 FROM employees e WHERE e.tenant_id = @tenant_id AND e.id = x.id AND e.status = 'active'
                  AND (NOT @team_only::bool OR e.team_id = ANY (@team_ids::uuid[])));

-- name: TeamsFound :one
SELECT count(*)::int FROM teams WHERE tenant_id = @tenant_id AND id = ANY (@ids::uuid[]);

-- name: MaterialsFound :one
SELECT count(*)::int FROM materials WHERE id = ANY (@ids::uuid[]) AND deleted_at IS NULL AND status = 'published'
  AND (tenant_id = @tenant_id OR tier = 'platform');

-- name: GetTask :one
SELECT * FROM tasks WHERE tenant_id = @tenant_id AND id = @id;

-- name: LockTask :one
SELECT * FROM tasks WHERE tenant_id = @tenant_id AND id = @id FOR UPDATE;

-- name: ListTasksForEmployee :many
-- The tasks an employee is on, and those they may claim now (task_offered, migration 045: the rule sync
-- reads too).
SELECT sqlc.embed(t), (a.employee_id IS NOT NULL)::bool AS joined,
       coalesce(a.shares, 0)::int AS shares, coalesce(a.views, 0)::int AS views, coalesce(a.viewers, 0)::int AS viewers,
       coalesce(a.forwards, 0)::int AS forwards, coalesce(a.new_customers, 0)::int AS new_customers,
       coalesce(a.leads, 0)::int AS leads, a.completed_at
FROM tasks t
JOIN employees e ON e.tenant_id = t.tenant_id AND e.id = @employee_id
LEFT JOIN task_assignees a ON a.tenant_id = t.tenant_id AND a.task_id = t.id AND a.employee_id = @employee_id
WHERE t.tenant_id = @tenant_id AND (a.employee_id IS NOT NULL OR task_offered(t, e))
ORDER BY t.ends_at DESC, t.id
LIMIT 500;

-- name: ListManagedTasks :many
-- The tasks an admin (all) or a manager (task_overseen, migration 045: those they made or aimed at their
-- team) oversees.
SELECT sqlc.embed(t) FROM tasks t
JOIN employees m ON m.tenant_id = t.tenant_id AND m.id = @employee_id
WHERE t.tenant_id = @tenant_id AND (@all_tasks::bool OR task_overseen(t, m))
ORDER BY t.ends_at DESC, t.id
LIMIT 500;

-- name: InsertClaim :execrows
INSERT INTO task_assignees (tenant_id, task_id, employee_id, claimed) VALUES (@tenant_id, @task_id, @employee_id, true)
ON CONFLICT DO NOTHING;

-- name: CountClaim :execrows
-- Takes one place under the cap; the task's row lock makes concurrent claims queue here.
UPDATE tasks SET claimers = claimers + 1
WHERE tenant_id = @tenant_id AND id = @id AND (max_claimers = 0 OR claimers < max_claimers);

-- name: UpdateTask :one
UPDATE tasks SET title = @title, brief = @brief, material_ids = @material_ids, target_shares = @target_shares,
  target_views = @target_views, target_viewers = @target_viewers, target_forwards = @target_forwards,
  target_new_customers = @target_new_customers, target_leads = @target_leads, ends_at = @ends_at,
  max_claimers = @max_claimers, version = version + 1, updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id
RETURNING *;

-- name: MaxProgress :one
-- The highest progress anyone on the task has made, per target: a target cannot be lowered below it.
SELECT coalesce(max(shares), 0)::int AS shares, coalesce(max(views), 0)::int AS views,
       coalesce(max(viewers), 0)::int AS viewers, coalesce(max(forwards), 0)::int AS forwards,
       coalesce(max(new_customers), 0)::int AS new_customers, coalesce(max(leads), 0)::int AS leads
FROM task_assignees WHERE tenant_id = @tenant_id AND task_id = @task_id;

-- name: CancelTask :many
WITH c AS (
  UPDATE tasks SET status = 'cancelled', cancelled_at = now(), version = version + 1, updated_at = now()
  WHERE tasks.tenant_id = @tenant_id AND tasks.id = @id AND tasks.status = 'active'
  RETURNING tasks.tenant_id AS tid, tasks.id AS task
)
SELECT a.employee_id FROM task_assignees a JOIN c ON a.tenant_id = c.tid AND a.task_id = c.task
WHERE a.completed_at IS NULL;

-- name: Assignees :many
SELECT a.employee_id, e.name, e.team_id, a.claimed, a.joined_at, a.shares, a.views, a.viewers, a.forwards,
       a.new_customers, a.leads, a.completed_at
FROM task_assignees a JOIN employees e ON e.tenant_id = a.tenant_id AND e.id = a.employee_id
WHERE a.tenant_id = @tenant_id AND a.task_id = @task_id
  AND (NOT @team_only::bool OR e.team_id = ANY (@team_ids::uuid[]))
  AND (NOT @self_only::bool OR a.employee_id = @employee_id::uuid)
ORDER BY e.name, a.employee_id;

-- name: Reach :many
SELECT r.customer_id, c.display_name, min(r.first_at)::timestamptz AS first_at,
       bool_or(r.what = 'viewer')::bool AS viewed, bool_or(r.what = 'lead')::bool AS lead,
       bool_or(r.what = 'new_customer')::bool AS new_customer
FROM task_reach r JOIN customers c ON c.tenant_id = r.tenant_id AND c.id = r.customer_id
WHERE r.tenant_id = @tenant_id AND r.task_id = @task_id AND r.employee_id = @employee_id
GROUP BY r.customer_id, c.display_name
ORDER BY min(r.first_at), r.customer_id
LIMIT 1000;

-- name: EmployeeTeam :one
SELECT team_id FROM employees WHERE tenant_id = @tenant_id AND id = @id;

-- name: ShareableTask :one
-- Whether the employee may share for the task now, and the task's materials.
SELECT t.material_ids FROM tasks t
JOIN task_assignees a ON a.tenant_id = t.tenant_id AND a.task_id = t.id AND a.employee_id = @employee_id
WHERE t.tenant_id = @tenant_id AND t.id = @task_id AND t.status = 'active' AND now() >= t.starts_at AND now() < t.ends_at;

-- name: CountShare :exec
UPDATE task_assignees SET shares = shares + 1, updated_at = now()
WHERE tenant_id = @tenant_id AND task_id = @task_id AND employee_id = @employee_id;

-- name: RecordProgress :many
-- Adds a batch of ingested events (new ones only) to the progress of the tasks their shares carry: counts
-- views and forwards, and each customer once as a viewer, a lead or a new customer (task_reach). Events
-- outside the task's window, of cancelled tasks, or credited to someone not on the task count for nothing.
-- Returns the assignees whose progress moved.
WITH hit AS (
  SELECT x.task_id, x.employee_id, x.customer_id, x.kind, x.new_customer, x.at
  FROM (SELECT unnest(@task_ids::uuid[]) AS task_id, unnest(@employee_ids::uuid[]) AS employee_id,
               unnest(@customer_ids::uuid[]) AS customer_id, unnest(@kinds::text[]) AS kind,
               unnest(@new_customers::bool[]) AS new_customer, unnest(@occurred_at::timestamptz[]) AS at) AS x
  JOIN tasks t ON t.tenant_id = @tenant_id AND t.id = x.task_id AND t.status = 'active'
    AND x.at >= t.starts_at AND x.at < t.ends_at
  JOIN task_assignees a ON a.tenant_id = @tenant_id AND a.task_id = x.task_id AND a.employee_id = x.employee_id
), reached AS (
  INSERT INTO task_reach (tenant_id, task_id, employee_id, customer_id, what, first_at)
  SELECT @tenant_id, h.task_id, h.employee_id, h.customer_id, w.what, min(h.at)
  FROM hit h CROSS JOIN LATERAL (VALUES
      (CASE WHEN h.kind IN ('card_view', 'material_view') THEN 'viewer' END),
      (CASE WHEN h.kind = 'phone_left' THEN 'lead' END),
      (CASE WHEN h.kind = 'forward' THEN 'forwarder' END),
      (CASE WHEN h.new_customer THEN 'new_customer' END)) AS w(what)
  WHERE w.what IS NOT NULL
  GROUP BY h.task_id, h.employee_id, h.customer_id, w.what
  ON CONFLICT DO NOTHING
  RETURNING task_id, employee_id, what
), added AS (
  SELECT r.task_id, r.employee_id, count(*) FILTER (WHERE r.what = 'viewer')::int AS viewers,
         count(*) FILTER (WHERE r.what = 'lead')::int AS leads,
         count(*) FILTER (WHERE r.what = 'new_customer')::int AS new_customers
  FROM reached r GROUP BY r.task_id, r.employee_id
), d AS (
  SELECT h.task_id, h.employee_id,
         count(*) FILTER (WHERE h.kind IN ('card_view', 'material_view'))::int AS views,
         count(*) FILTER (WHERE h.kind = 'forward')::int AS forwards
  FROM hit h GROUP BY h.task_id, h.employee_id
)
UPDATE task_assignees a
SET views = a.views + d.views, forwards = a.forwards + d.forwards, viewers = a.viewers + coalesce(ad.viewers, 0),
    leads = a.leads + coalesce(ad.leads, 0), new_customers = a.new_customers + coalesce(ad.new_customers, 0),
    updated_at = now()
FROM d LEFT JOIN added ad ON ad.task_id = d.task_id AND ad.employee_id = d.employee_id
WHERE a.tenant_id = @tenant_id AND a.task_id = d.task_id AND a.employee_id = d.employee_id
RETURNING a.task_id, a.employee_id;

-- name: CompleteReached :many
-- Marks complete the given assignees who have met every target of their active task; each is returned
-- once ever (the row lock and completed_at IS NULL make concurrent batches agree), to be alerted.
UPDATE task_assignees a SET completed_at = now()
FROM (SELECT unnest(@task_ids::uuid[]) AS task_id, unnest(@employee_ids::uuid[]) AS employee_id) AS x, tasks t
WHERE a.tenant_id = @tenant_id AND a.task_id = x.task_id AND a.employee_id = x.employee_id
  AND t.tenant_id = @tenant_id AND t.id = a.task_id AND t.status = 'active' AND a.completed_at IS NULL
  AND a.shares >= t.target_shares AND a.views >= t.target_views AND a.viewers >= t.target_viewers
  AND a.forwards >= t.target_forwards AND a.new_customers >= t.target_new_customers AND a.leads >= t.target_leads
RETURNING a.task_id, a.employee_id, t.title, t.created_by;

-- name: TaskAssigneesAll :many
SELECT task_id, employee_id FROM task_assignees WHERE tenant_id = @tenant_id AND task_id = @task_id AND completed_at IS NULL;

-- name: HandOverAssignees :execrows
-- @from_id's place on each open task (active, not ended, not completed by them) goes to @to_id with its
-- progress; a task @to_id is on already keeps @to_id's own row. Chosen-employee audiences name @to_id.
WITH moved AS (
  UPDATE task_assignees a SET employee_id = @to_id::uuid, updated_at = now()
  FROM tasks t
  WHERE a.tenant_id = @tenant_id AND a.employee_id = @from_id::uuid AND a.completed_at IS NULL
    AND t.tenant_id = a.tenant_id AND t.id = a.task_id AND t.status = 'active' AND t.ends_at > now()
    AND NOT EXISTS (SELECT 1 FROM task_assignees o WHERE o.tenant_id = a.tenant_id AND o.task_id = a.task_id AND o.employee_id = @to_id::uuid)
  RETURNING a.task_id
), aud AS (
  UPDATE tasks t SET employee_ids = array_append(t.employee_ids, @to_id::uuid), version = version + 1, updated_at = now()
  FROM moved m
  WHERE t.tenant_id = @tenant_id AND t.id = m.task_id AND t.audience = 'employees' AND NOT (@to_id::uuid = ANY (t.employee_ids))
  RETURNING t.id
)
SELECT 1 FROM moved;
