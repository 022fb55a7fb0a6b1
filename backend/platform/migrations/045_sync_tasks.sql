-- Marketing tasks in the salesperson's offline scope (issue 15): the tasks they are on, with their own
-- progress, and the ones they may claim, so the app lists both and claims offline (claim_task).
--
-- One row per (employee, task) in the employee's scope, kind 'task'. What decides it is one rule,
-- task_offered below, and whether they are on the task (task_assignees): on it, the row is live and
-- expires 90 days after the task's end; offered, it is live and expires at the end (the app drops an
-- unclaimed task at its end, as it drops old timeline entries); neither, a row they had becomes a
-- tombstone. Triggers name the (task, employee) pairs a statement may have changed and sync_task_pairs
-- writes each pair's state as the statement left it:
--   * a task made or edited: everyone in its audience, before and after, and everyone on it;
--   * someone joins, progresses, completes or is handed a task: that person (and whom it was taken from);
--   * an employee joins the tenant, moves team or is disabled: the open tasks their old or new team or the
--     tenant is offered.
-- Progress moves only the assignee's row, so the ingest pays one row per assignee that moved. A claim
-- changes only the claim count, which rewrites no one else's row unless it fills the task (then those
-- who may no longer claim it get tombstones); the count itself is as of the task's last change.

ALTER TABLE sync_changes DROP CONSTRAINT sync_changes_kind_check;
ALTER TABLE sync_changes ADD CONSTRAINT sync_changes_kind_check
  CHECK (kind IN ('customer', 'timeline', 'note', 'card', 'alert', 'material', 'folder', 'task'));

-- task_offered: employee e may claim task t now (not said of someone already on it). The delta fetch and
-- the tasks domain's list read it too.
CREATE FUNCTION task_offered(t tasks, e employees) RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$
  SELECT t.status = 'active' AND t.claim_required AND t.ends_at > now()
     AND (t.max_claimers = 0 OR t.claimers < t.max_claimers)
     AND e.status = 'active' AND e.tenant_id = t.tenant_id
     AND CASE t.audience WHEN 'tenant' THEN true
                         WHEN 'teams' THEN e.team_id = ANY (t.team_ids)
                         ELSE e.id = ANY (t.employee_ids) END
  $$;

-- task_overseen: manager m oversees task t (the delta fetch and ListManagedTasks read it too).
CREATE FUNCTION task_overseen(t tasks, m employees) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT m.role = 'manager' AND m.tenant_id = t.tenant_id AND (t.created_by = m.id OR m.team_id = ANY (t.team_ids)) $$;

-- sync_task_pairs writes the state of each (tenant, task, employee) given (parallel arrays, repeats
-- allowed) and of the managers of that employee's team: live rows upserted, and tombstones only over rows
-- that exist (a pair never shown needs none).
CREATE FUNCTION sync_task_pairs(p_tenant uuid[], p_task uuid[], p_emp uuid[]) RETURNS void
  LANGUAGE plpgsql
  AS $$ BEGIN
    WITH given AS (
      SELECT x.tenant, x.task, x.emp FROM unnest(p_tenant, p_task, p_emp) AS x (tenant, task, emp)
    ), p AS (
      SELECT g.tenant, g.task, g.emp FROM given g
      UNION
      SELECT g.tenant, g.task, m.id FROM given g
        JOIN employees x ON x.tenant_id = g.tenant AND x.id = g.emp
        JOIN employees m ON m.tenant_id = g.tenant AND m.team_id = x.team_id AND m.role = 'manager'
    ), st AS (
      SELECT p.tenant, p.emp, p.task,
             (a.employee_id IS NOT NULL OR coalesce(task_offered(t, e), false) OR coalesce(task_overseen(t, e), false)) AS live,
             CASE WHEN a.employee_id IS NOT NULL OR coalesce(task_overseen(t, e), false) THEN t.ends_at + interval '90 days'
                  ELSE t.ends_at END AS expires
        FROM p
        JOIN tasks t ON t.tenant_id = p.tenant AND t.id = p.task
        LEFT JOIN employees e ON e.tenant_id = p.tenant AND e.id = p.emp
        LEFT JOIN task_assignees a ON a.tenant_id = p.tenant AND a.task_id = p.task AND a.employee_id = p.emp
    ), live AS (
      INSERT INTO sync_changes AS s (scope, kind, entity_id, tenant_id, tombstone, expires_at)
      SELECT st.emp, 'task', st.task, st.tenant, false, st.expires FROM st WHERE st.live
       ORDER BY st.emp, st.task -- (concurrent writers take the rows' locks in one order)
      ON CONFLICT (scope, kind, entity_id) DO UPDATE
        SET xid = pg_current_xact_id(), seq = nextval('sync_seq'), tenant_id = excluded.tenant_id,
            tombstone = false, expires_at = excluded.expires_at, changed_at = now()
    )
    UPDATE sync_changes s SET xid = pg_current_xact_id(), seq = nextval('sync_seq'), tombstone = true,
           expires_at = NULL, changed_at = now()
      FROM st
     WHERE NOT st.live AND s.scope = st.emp AND s.kind = 'task' AND s.entity_id = st.task AND NOT s.tombstone;
  END $$;

-- A task's audience (active employees), as task_offered reads it.
CREATE FUNCTION task_audience(t tasks) RETURNS SETOF uuid
  LANGUAGE sql STABLE
  AS $$
  SELECT e.id FROM employees e
   WHERE e.tenant_id = t.tenant_id AND e.status = 'active'
     AND CASE t.audience WHEN 'tenant' THEN true
                         WHEN 'teams' THEN e.team_id = ANY (t.team_ids)
                         ELSE e.id = ANY (t.employee_ids) END
  $$;

-- The managers who oversee a task: its maker (if a manager) and the managers of the teams it names.
CREATE FUNCTION task_overseers(t tasks) RETURNS SETOF uuid
  LANGUAGE sql STABLE
  AS $$
  SELECT m.id FROM employees m
   WHERE m.tenant_id = t.tenant_id AND m.role = 'manager' AND (m.id = t.created_by OR m.team_id = ANY (t.team_ids))
  $$;

CREATE FUNCTION sync_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  tn uuid[];
  tk uuid[];
  em uuid[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(x.task), array_agg(x.emp), array_agg(x.tenant_id) INTO tk, em, tn FROM (
      SELECT n.id AS task, a AS emp, n.tenant_id FROM new_rows n CROSS JOIN LATERAL task_audience(n) a
       WHERE n.claim_required AND n.status = 'active'
      UNION
      SELECT n.id, m, n.tenant_id FROM new_rows n CROSS JOIN LATERAL task_overseers(n) m) x;
  ELSE
    SELECT array_agg(x.task), array_agg(x.emp), array_agg(x.tenant_id) INTO tk, em, tn FROM (
      SELECT n.id AS task, a AS emp, n.tenant_id
        FROM new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id
        CROSS JOIN LATERAL (SELECT task_audience(n) UNION SELECT task_audience(o)
                            UNION SELECT task_overseers(n) UNION SELECT task_overseers(o)
                            UNION SELECT ta.employee_id FROM task_assignees ta
                                   WHERE ta.tenant_id = n.tenant_id AND ta.task_id = n.id) AS aud (a)
       WHERE n.version <> o.version OR n.status <> o.status
          OR (n.max_claimers > 0 AND n.claimers >= n.max_claimers) <> (o.max_claimers > 0 AND o.claimers >= o.max_claimers)) x;
  END IF;
  IF tk IS NOT NULL THEN
    PERFORM sync_task_pairs(tn, tk, em);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER sync_tasks_ins AFTER INSERT ON tasks
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_tasks();
CREATE TRIGGER sync_tasks_upd AFTER UPDATE ON tasks
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_tasks();

-- Someone joined, moved forward, completed, was handed or taken off a task.
CREATE FUNCTION sync_task_assignees() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  tn uuid[];
  tk uuid[];
  em uuid[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(n.task_id), array_agg(n.employee_id), array_agg(n.tenant_id) INTO tk, em, tn FROM new_rows n;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(o.task_id), array_agg(o.employee_id), array_agg(o.tenant_id) INTO tk, em, tn FROM old_rows o;
  ELSE
    SELECT array_agg(x.task_id), array_agg(x.employee_id), array_agg(x.tenant_id) INTO tk, em, tn FROM (
      SELECT n.task_id, n.employee_id, n.tenant_id FROM new_rows n
       WHERE NOT EXISTS (SELECT 1 FROM old_rows o
                          WHERE o.tenant_id = n.tenant_id AND o.task_id = n.task_id AND o.employee_id = n.employee_id
                            AND (o.claimed, o.shares, o.views, o.viewers, o.forwards, o.new_customers, o.leads, o.completed_at)
                                IS NOT DISTINCT FROM
                                (n.claimed, n.shares, n.views, n.viewers, n.forwards, n.new_customers, n.leads, n.completed_at))
      UNION
      -- Handed over: the one it was taken from.
      SELECT o.task_id, o.employee_id, o.tenant_id FROM old_rows o
       WHERE NOT EXISTS (SELECT 1 FROM new_rows n
                          WHERE n.tenant_id = o.tenant_id AND n.task_id = o.task_id AND n.employee_id = o.employee_id)) x;
  END IF;
  IF tk IS NOT NULL THEN
    PERFORM sync_task_pairs(tn, tk, em);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER sync_task_assignees_ins AFTER INSERT ON task_assignees
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_task_assignees();
CREATE TRIGGER sync_task_assignees_upd AFTER UPDATE ON task_assignees
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_task_assignees();
CREATE TRIGGER sync_task_assignees_del AFTER DELETE ON task_assignees
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_task_assignees();

-- An employee who joined, moved team or was disabled or enabled: the open tasks offered to their tenant,
-- their old team or their new one; a member who moved, the tasks they are on (the managers of their old
-- team let their progress go; sync_task_pairs adds those of the new one); a manager who moved or changed
-- role, the tasks they oversaw or now oversee.
CREATE FUNCTION sync_employees_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  tn uuid[];
  tk uuid[];
  em uuid[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(x.task), array_agg(x.emp), array_agg(x.tenant_id) INTO tk, em, tn FROM (
      SELECT t.id AS task, n.id AS emp, n.tenant_id FROM new_rows n
        JOIN tasks t ON t.tenant_id = n.tenant_id AND t.status = 'active' AND t.claim_required AND t.ends_at > now()
                    AND (t.audience = 'tenant' OR (t.audience = 'teams' AND n.team_id = ANY (t.team_ids)))
      UNION
      SELECT t.id, n.id, n.tenant_id FROM new_rows n
        JOIN tasks t ON t.tenant_id = n.tenant_id AND n.role = 'manager' AND n.team_id = ANY (t.team_ids)
                    AND t.ends_at + interval '90 days' > now()) x;
  ELSE
    SELECT array_agg(x.task), array_agg(x.emp), array_agg(x.tenant_id) INTO tk, em, tn FROM (
      SELECT t.id AS task, n.id AS emp, n.tenant_id
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        JOIN tasks t ON t.tenant_id = n.tenant_id AND t.status = 'active' AND t.claim_required AND t.ends_at > now()
                    AND ((n.status <> o.status AND (t.audience = 'tenant' OR n.id = ANY (t.employee_ids) OR n.team_id = ANY (t.team_ids)))
                         OR (n.team_id IS DISTINCT FROM o.team_id AND t.audience = 'teams'
                             AND (n.team_id = ANY (t.team_ids) OR o.team_id = ANY (t.team_ids))))
      UNION
      -- (Their own pair brings the managers of their new team.)
      SELECT a.task_id, w.id, n.tenant_id
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        JOIN task_assignees a ON a.tenant_id = n.tenant_id AND a.employee_id = n.id
        CROSS JOIN LATERAL (SELECT n.id UNION ALL
                            SELECT m.id FROM employees m
                             WHERE m.tenant_id = n.tenant_id AND m.role = 'manager' AND m.team_id = o.team_id) w
       WHERE n.team_id IS DISTINCT FROM o.team_id
      UNION
      SELECT t.id, n.id, n.tenant_id
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        JOIN tasks t ON t.tenant_id = n.tenant_id AND t.ends_at + interval '90 days' > now()
                    AND (t.created_by = n.id OR n.team_id = ANY (t.team_ids) OR o.team_id = ANY (t.team_ids))
       WHERE (n.role = 'manager' OR o.role = 'manager') AND (n.team_id, n.role) IS DISTINCT FROM (o.team_id, o.role)) x;
  END IF;
  IF tk IS NOT NULL THEN
    PERFORM sync_task_pairs(tn, tk, em);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER sync_employees_ins_tasks AFTER INSERT ON employees
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_employees_tasks();
CREATE TRIGGER sync_employees_upd_tasks AFTER UPDATE ON employees
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_employees_tasks();

-- The tasks there are: each assignee's, each open task's audience, and each task's overseers.
INSERT INTO sync_changes (scope, kind, entity_id, tenant_id, tombstone, expires_at)
SELECT a.employee_id, 'task', a.task_id, a.tenant_id, false, t.ends_at + interval '90 days'
  FROM task_assignees a JOIN tasks t ON t.tenant_id = a.tenant_id AND t.id = a.task_id
 WHERE t.ends_at + interval '90 days' > now()
UNION ALL
SELECT e.id, 'task', t.id, t.tenant_id, false, t.ends_at
  FROM tasks t JOIN employees e ON e.tenant_id = t.tenant_id AND task_offered(t, e) AND NOT task_overseen(t, e)
 WHERE NOT EXISTS (SELECT 1 FROM task_assignees a WHERE a.tenant_id = t.tenant_id AND a.task_id = t.id AND a.employee_id = e.id)
UNION ALL
SELECT m.id, 'task', t.id, t.tenant_id, false, t.ends_at + interval '90 days'
  FROM tasks t JOIN employees m ON m.tenant_id = t.tenant_id AND task_overseen(t, m)
 WHERE t.ends_at + interval '90 days' > now()
   AND NOT EXISTS (SELECT 1 FROM task_assignees a WHERE a.tenant_id = t.tenant_id AND a.task_id = t.id AND a.employee_id = m.id);
