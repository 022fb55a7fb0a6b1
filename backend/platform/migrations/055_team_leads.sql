-- Managers who lead several teams (issue 18). Until now a manager led exactly their own team
-- (employees.team_id with role 'manager'), a rule spelled out in each fan-out function, in manages_member
-- and in task_overseen. A regional manager with ten teams could see one.
--
-- team_leads holds who leads which team, one row per (team, manager): the manager's own team (home,
-- kept by a trigger on employees: a manager's row follows their team_id; someone who stops being a
-- manager loses every row), the teams an admin adds besides (granted, SetLedTeams) and the departments
-- the WeCom directory says they lead (directory, kept by its sync). A row lives while any of the three
-- holds. Every rule that asked "is m a manager of x's team" now asks whether team_leads has
-- (x.team_id, m): the fan-out of customers, notes and timeline entries (sync_touch, sync_ingested_rows,
-- sync_customers_managers), the team's members (manages_member, sync_members) and its tasks
-- (task_overseen, task_overseers, sync_task_pairs, sync_employees_tasks).
--
-- Moves. An employee belongs to one team, so a pair (manager, member) holds through exactly one row of
-- team_leads (the member's team), and the rows in a manager's scope change when either side does:
--   * leadership (a row of team_leads inserted or deleted: an admin's grant, a manager's team or role
--     changed): sync_team_leads brings the team's members' customers, notes, recent timeline entries,
--     member rows and the tasks aimed at the team into the manager's scope, or tombstones them;
--   * membership (an employee joins or changes team): sync_team_moves, as 020 made it, but for the
--     leaders of the old and new teams from team_leads, and only those who lead one of the two (a manager
--     of both keeps the member's rows as they are).
-- Both take 051's exclusive per-tenant lock, so a fan-out running beside them reads the leaders before or
-- after, never halfway.

CREATE TABLE team_leads (
  tenant_id   uuid NOT NULL,
  team_id     uuid NOT NULL,
  manager_id  uuid NOT NULL,
  home        boolean NOT NULL DEFAULT false,
  granted     boolean NOT NULL DEFAULT false,
  directory   boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, team_id, manager_id),
  CONSTRAINT team_leads_reason CHECK (home OR granted OR directory),
  CONSTRAINT team_leads_team_fk FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT team_leads_manager_fk FOREIGN KEY (tenant_id, manager_id) REFERENCES employees (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX team_leads_manager_idx ON team_leads (tenant_id, manager_id, team_id);
ALTER TABLE team_leads ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON team_leads
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- The leaders there are, each manager's own team, before any trigger of this file exists: the rows their
-- scopes hold already follow this rule (020), so nothing is resent. (Forcing lifted, as 053 explains.)
ALTER TABLE employees NO FORCE ROW LEVEL SECURITY;
INSERT INTO team_leads (tenant_id, team_id, manager_id, home)
SELECT e.tenant_id, e.team_id, e.id, true FROM employees e WHERE e.role = 'manager' AND e.team_id IS NOT NULL;
ALTER TABLE employees FORCE ROW LEVEL SECURITY;

-- The rule, for one pair: m manages x (the delta fetch reads it too).
CREATE OR REPLACE FUNCTION manages_member(m employees, x employees) RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT m.role = 'manager' AND m.tenant_id = x.tenant_id AND m.id <> x.id
           AND EXISTS (SELECT FROM team_leads l WHERE l.tenant_id = x.tenant_id AND l.team_id = x.team_id AND l.manager_id = m.id) $$;

-- m oversees task t: made it (as a manager) or leads a team it is aimed at.
CREATE OR REPLACE FUNCTION task_overseen(t tasks, m employees) RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT m.role = 'manager' AND m.tenant_id = t.tenant_id
           AND (t.created_by = m.id
                OR EXISTS (SELECT FROM team_leads l WHERE l.tenant_id = t.tenant_id AND l.manager_id = m.id AND l.team_id = ANY (t.team_ids))) $$;

CREATE OR REPLACE FUNCTION task_overseers(t tasks) RETURNS SETOF uuid
  LANGUAGE sql STABLE
  AS $$
  SELECT m.id FROM employees m WHERE m.tenant_id = t.tenant_id AND m.id = t.created_by AND m.role = 'manager'
  UNION
  SELECT l.manager_id FROM team_leads l WHERE l.tenant_id = t.tenant_id AND l.team_id = ANY (t.team_ids)
  $$;

-- The fan-out, as 051 made it, with the leaders from team_leads.
CREATE OR REPLACE FUNCTION sync_touch(p_scope uuid[], p_kind text, p_id uuid[], p_tenant uuid[], p_parent uuid[],
                                      p_tombstone boolean[], p_expires timestamptz[]) RETURNS void
  LANGUAGE plpgsql
  AS $$ BEGIN
    IF p_kind NOT IN ('customer', 'note', 'timeline') THEN
      INSERT INTO sync_changes AS s (scope, kind, entity_id, tenant_id, parent_id, tombstone, expires_at)
      SELECT DISTINCT ON (x.scope, x.id) x.scope, p_kind, x.id, x.tenant, x.parent, x.tombstone, x.expires
        FROM unnest(p_scope, p_id, p_tenant, p_parent, p_tombstone, p_expires)
               WITH ORDINALITY AS x (scope, id, tenant, parent, tombstone, expires, n)
       WHERE x.scope IS NOT NULL
       ORDER BY x.scope, x.id, x.n DESC
      ON CONFLICT (scope, kind, entity_id) DO UPDATE
        SET xid = pg_current_xact_id(), seq = nextval('sync_seq'), tenant_id = excluded.tenant_id,
            parent_id = excluded.parent_id, tombstone = excluded.tombstone, expires_at = excluded.expires_at,
            changed_at = now();
      RETURN;
    END IF;
    PERFORM sync_team_share(p_tenant);
    INSERT INTO sync_changes AS s (scope, kind, entity_id, tenant_id, parent_id, tombstone, expires_at)
    SELECT DISTINCT ON (y.scope, y.id) y.scope, p_kind, y.id, y.tenant, y.parent, y.tombstone, y.expires
      FROM (SELECT x.scope, x.id, x.tenant, x.parent, x.tombstone, x.expires, x.n
              FROM unnest(p_scope, p_id, p_tenant, p_parent, p_tombstone, p_expires)
                     WITH ORDINALITY AS x (scope, id, tenant, parent, tombstone, expires, n)
             WHERE x.scope IS NOT NULL
            UNION ALL
            SELECT l.manager_id, x.id, x.tenant, x.parent, x.tombstone, x.expires, x.n
              FROM unnest(p_scope, p_id, p_tenant, p_parent, p_tombstone, p_expires)
                     WITH ORDINALITY AS x (scope, id, tenant, parent, tombstone, expires, n)
              JOIN employees o ON o.id = x.scope AND o.tenant_id = x.tenant
              JOIN team_leads l ON l.tenant_id = o.tenant_id AND l.team_id = o.team_id AND l.manager_id <> o.id) y
     ORDER BY y.scope, y.id, y.n DESC
    ON CONFLICT (scope, kind, entity_id) DO UPDATE
      SET xid = pg_current_xact_id(), seq = nextval('sync_seq'), tenant_id = excluded.tenant_id,
          parent_id = excluded.parent_id, tombstone = excluded.tombstone, expires_at = excluded.expires_at,
          changed_at = now();
  END $$;

CREATE OR REPLACE FUNCTION sync_ingested_rows(p_tenant uuid, p_scopes uuid[], p_kinds text[], p_ids uuid[],
                                              p_parents uuid[], p_occurred timestamptz[]) RETURNS void
  LANGUAGE plpgsql AS $$
BEGIN
  PERFORM sync_team_share(ARRAY[p_tenant]);
  INSERT INTO sync_changes AS s (scope, kind, entity_id, tenant_id, parent_id, tombstone, expires_at)
  SELECT y.scope, y.kind, y.id, p_tenant, NULLIF(y.parent, '00000000-0000-0000-0000-000000000000'), false,
         CASE WHEN y.kind = 'timeline' THEN y.occurred + interval '90 days' END
    FROM (SELECT x.scope, x.kind, x.id, x.parent, x.occurred
            FROM unnest(p_scopes, p_kinds, p_ids, p_parents, p_occurred) AS x (scope, kind, id, parent, occurred)
          UNION ALL
          SELECT l.manager_id, x.kind, x.id, x.parent, x.occurred
            FROM unnest(p_scopes, p_kinds, p_ids, p_parents, p_occurred) AS x (scope, kind, id, parent, occurred)
            JOIN employees o ON o.id = x.scope AND o.tenant_id = p_tenant
            JOIN team_leads l ON l.tenant_id = p_tenant AND l.team_id = o.team_id AND l.manager_id <> o.id) y
  ON CONFLICT (scope, kind, entity_id) DO UPDATE
    SET xid = pg_current_xact_id(), seq = nextval('sync_seq'), tenant_id = excluded.tenant_id,
        parent_id = excluded.parent_id, tombstone = false, expires_at = excluded.expires_at, changed_at = now();
END $$;

-- Customers whose owner changed leave the scopes of the old owner's leaders who do not lead the new
-- owner's team (031's rule, with the leaders from team_leads).
CREATE OR REPLACE FUNCTION sync_customers_managers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT FROM old_rows o JOIN new_rows n ON n.id = o.id
                  WHERE o.owner_id IS NOT NULL AND n.owner_id IS DISTINCT FROM o.owner_id) THEN
    RETURN NULL;
  END IF;
  UPDATE sync_changes s
     SET tombstone = true, xid = pg_current_xact_id(), seq = nextval('sync_seq'), changed_at = now()
    FROM (WITH gone AS MATERIALIZED (
            SELECT DISTINCT l.manager_id AS scope, o.id, o.tenant_id
              FROM old_rows o JOIN new_rows n ON n.id = o.id
              JOIN employees oe ON oe.tenant_id = o.tenant_id AND oe.id = o.owner_id
              JOIN team_leads l ON l.tenant_id = oe.tenant_id AND l.team_id = oe.team_id AND l.manager_id <> oe.id
             WHERE n.owner_id IS DISTINCT FROM o.owner_id
               AND n.owner_id IS DISTINCT FROM l.manager_id
               AND NOT EXISTS (SELECT FROM employees ne
                                 JOIN team_leads nl ON nl.tenant_id = ne.tenant_id AND nl.team_id = ne.team_id
                                                   AND nl.manager_id = l.manager_id
                                WHERE ne.tenant_id = n.tenant_id AND ne.id = n.owner_id))
          SELECT g.scope, 'note'::text AS kind, cn.id AS entity_id
            FROM gone g JOIN customer_notes cn ON cn.tenant_id = g.tenant_id AND cn.customer_id = g.id
          UNION ALL
          SELECT g.scope, 'timeline', e.id
            FROM gone g JOIN events e ON e.tenant_id = g.tenant_id AND e.customer_id = g.id
           WHERE e.kind <> 'dwell') c
   WHERE s.scope = c.scope AND s.kind = c.kind AND s.entity_id = c.entity_id AND NOT s.tombstone;
  RETURN NULL;
END $$;

-- sync_lead_pairs: (manager, member) pairs that ended lose the member's customers, notes and recent
-- timeline entries from the manager's scope (tombstones on the rows it has); pairs that began get them
-- (upserted live, a backfill stamped with this transaction's xid). 020's body, shared by both kinds of move.
CREATE FUNCTION sync_lead_pairs(t uuid, gone_m uuid[], gone_x uuid[], came_m uuid[], came_x uuid[]) RETURNS void
  LANGUAGE plpgsql AS $$
BEGIN
  IF gone_m IS NOT NULL THEN
    UPDATE sync_changes s
       SET tombstone = true, xid = pg_current_xact_id(), seq = nextval('sync_seq'), changed_at = now()
      FROM (SELECT p.mgr, 'customer' AS kind, c.id
              FROM unnest(gone_m, gone_x) AS p (mgr, member)
              JOIN customers c ON c.tenant_id = t AND c.owner_id = p.member AND c.merged_into IS NULL
            UNION ALL
            SELECT p.mgr, 'note', cn.id
              FROM unnest(gone_m, gone_x) AS p (mgr, member)
              JOIN customers c ON c.tenant_id = t AND c.owner_id = p.member AND c.merged_into IS NULL
              JOIN customer_notes cn ON cn.tenant_id = t AND cn.customer_id = c.id
            UNION ALL
            SELECT p.mgr, 'timeline', e.id
              FROM unnest(gone_m, gone_x) AS p (mgr, member)
              JOIN customers c ON c.tenant_id = t AND c.owner_id = p.member AND c.merged_into IS NULL
              JOIN events e ON e.tenant_id = t AND e.customer_id = c.id
             WHERE e.kind <> 'dwell' AND e.occurred_at > now() - interval '90 days') g
     WHERE s.scope = g.mgr AND s.kind = g.kind AND s.entity_id = g.id AND NOT s.tombstone;
  END IF;
  IF came_m IS NOT NULL THEN
    INSERT INTO sync_changes AS s (scope, kind, entity_id, tenant_id, parent_id, tombstone, expires_at)
    SELECT p.mgr, 'customer', c.id, t, NULL::uuid, false, NULL::timestamptz
      FROM unnest(came_m, came_x) AS p (mgr, member)
      JOIN customers c ON c.tenant_id = t AND c.owner_id = p.member AND c.merged_into IS NULL
    UNION ALL
    SELECT p.mgr, 'note', cn.id, t, c.id, false, NULL::timestamptz
      FROM unnest(came_m, came_x) AS p (mgr, member)
      JOIN customers c ON c.tenant_id = t AND c.owner_id = p.member AND c.merged_into IS NULL
      JOIN customer_notes cn ON cn.tenant_id = t AND cn.customer_id = c.id
    UNION ALL
    SELECT p.mgr, 'timeline', e.id, t, c.id, false, e.occurred_at + interval '90 days'
      FROM unnest(came_m, came_x) AS p (mgr, member)
      JOIN customers c ON c.tenant_id = t AND c.owner_id = p.member AND c.merged_into IS NULL
      JOIN events e ON e.tenant_id = t AND e.customer_id = c.id
     WHERE e.kind <> 'dwell' AND e.occurred_at > now() - interval '90 days'
    ON CONFLICT (scope, kind, entity_id) DO UPDATE
      SET xid = pg_current_xact_id(), seq = nextval('sync_seq'), tenant_id = excluded.tenant_id,
          parent_id = excluded.parent_id, tombstone = false, expires_at = excluded.expires_at, changed_at = now();
  END IF;
END $$;

-- Membership: employees who joined or changed team. The leaders of their old team who do not lead the
-- new one lose them; the leaders of the new team who did not lead the old one gain them.
CREATE OR REPLACE FUNCTION sync_team_moves() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  t uuid;
  mv_id uuid[];
  mv_old uuid[];
  mv_new uuid[];
  gone_m uuid[];
  gone_x uuid[];
  came_m uuid[];
  came_x uuid[];
BEGIN
  -- (One tenant per statement: row-level security sees to it for the app.)
  IF TG_OP = 'INSERT' THEN
    SELECT min(n.tenant_id::text)::uuid, array_agg(n.id), array_agg(NULL::uuid), array_agg(n.team_id)
      INTO t, mv_id, mv_old, mv_new
      FROM new_rows n WHERE n.team_id IS NOT NULL;
  ELSE
    SELECT min(n.tenant_id::text)::uuid, array_agg(n.id), array_agg(o.team_id), array_agg(n.team_id)
      INTO t, mv_id, mv_old, mv_new
      FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE n.team_id IS DISTINCT FROM o.team_id;
  END IF;
  IF mv_id IS NULL THEN
    RETURN NULL;
  END IF;
  WITH moved AS (
    SELECT * FROM unnest(mv_id, mv_old, mv_new) AS m (id, old_team, new_team)
  ), gone AS (
    SELECT l.manager_id AS mgr, m.id AS member
      FROM moved m JOIN team_leads l ON l.tenant_id = t AND l.team_id = m.old_team AND l.manager_id <> m.id
     WHERE NOT EXISTS (SELECT FROM team_leads k WHERE k.tenant_id = t AND k.team_id = m.new_team AND k.manager_id = l.manager_id)
  ), came AS (
    SELECT l.manager_id AS mgr, m.id AS member
      FROM moved m JOIN team_leads l ON l.tenant_id = t AND l.team_id = m.new_team AND l.manager_id <> m.id
     WHERE NOT EXISTS (SELECT FROM team_leads k WHERE k.tenant_id = t AND k.team_id = m.old_team AND k.manager_id = l.manager_id)
  )
  SELECT (SELECT array_agg(mgr) FROM gone), (SELECT array_agg(member) FROM gone),
         (SELECT array_agg(mgr) FROM came), (SELECT array_agg(member) FROM came)
    INTO gone_m, gone_x, came_m, came_x;
  PERFORM sync_lead_pairs(t, gone_m, gone_x, came_m, came_x);
  RETURN NULL;
END $$;

-- Leadership: rows of team_leads that came or went. The pairs (manager, member of that team) begin or
-- end; the member rows are rewritten as they now stand; the tasks aimed at the team, for the manager.
CREATE FUNCTION sync_team_leads() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  t uuid;
  pm uuid[];
  px uuid[];
  tn uuid[];
  tk uuid[];
  em uuid[];
BEGIN
  -- (One tenant per statement, as for sync_team_moves.) A change of leaders is a team move (051): it
  -- takes the tenant's lock before reading anything, so it waits for the fan-outs running there and they
  -- for it. (Each statement of a plpgsql function takes a new snapshot: the reads below see what they
  -- committed.)
  IF TG_OP = 'INSERT' THEN
    SELECT min(n.tenant_id::text)::uuid INTO t FROM new_rows n;
  ELSE
    SELECT min(o.tenant_id::text)::uuid INTO t FROM old_rows o;
  END IF;
  IF t IS NULL THEN
    RETURN NULL;
  END IF;
  PERFORM pg_advisory_xact_lock(sync_team_key(t));
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(l.manager_id), array_agg(x.id) INTO pm, px
      FROM new_rows l JOIN employees x ON x.tenant_id = l.tenant_id AND x.team_id = l.team_id AND x.id <> l.manager_id;
    SELECT array_agg(l.tenant_id), array_agg(k.id), array_agg(l.manager_id) INTO tn, tk, em
      FROM new_rows l JOIN tasks k ON k.tenant_id = l.tenant_id AND l.team_id = ANY (k.team_ids)
                                  AND k.ends_at + interval '90 days' > now();
  ELSE
    SELECT array_agg(l.manager_id), array_agg(x.id) INTO pm, px
      FROM old_rows l JOIN employees x ON x.tenant_id = l.tenant_id AND x.team_id = l.team_id AND x.id <> l.manager_id;
    SELECT array_agg(l.tenant_id), array_agg(k.id), array_agg(l.manager_id) INTO tn, tk, em
      FROM old_rows l JOIN tasks k ON k.tenant_id = l.tenant_id AND l.team_id = ANY (k.team_ids)
                                  AND k.ends_at + interval '90 days' > now();
  END IF;
  IF pm IS NOT NULL THEN
    IF TG_OP = 'INSERT' THEN
      PERFORM sync_lead_pairs(t, NULL, NULL, pm, px);
    ELSE
      PERFORM sync_lead_pairs(t, pm, px, NULL, NULL);
    END IF;
    PERFORM sync_member_pairs(array_fill(t, ARRAY[cardinality(pm)]), pm, px);
  END IF;
  IF tk IS NOT NULL THEN
    PERFORM sync_task_pairs(tn, tk, em);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER sync_team_leads_ins AFTER INSERT ON team_leads
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_team_leads();
CREATE TRIGGER sync_team_leads_del AFTER DELETE ON team_leads
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_team_leads();

-- A manager's home row follows their team and role. It runs after 051's lock and before the members',
-- tasks' and teams' triggers (a table's triggers of one timing fire in name order), so those read the
-- leaders as this statement leaves them.
CREATE FUNCTION team_leads_home() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    -- No longer a manager: every team they led, granted ones too.
    DELETE FROM team_leads l USING old_rows o JOIN new_rows n ON n.id = o.id
     WHERE o.role = 'manager' AND n.role <> 'manager' AND l.tenant_id = n.tenant_id AND l.manager_id = n.id;
    -- Still a manager, in another team: the old one stays only if it is theirs for another reason.
    DELETE FROM team_leads l USING old_rows o JOIN new_rows n ON n.id = o.id
     WHERE o.role = 'manager' AND n.role = 'manager' AND n.team_id IS DISTINCT FROM o.team_id
       AND l.tenant_id = n.tenant_id AND l.manager_id = n.id AND l.team_id = o.team_id AND l.home
       AND NOT l.granted AND NOT l.directory;
    UPDATE team_leads l SET home = false FROM old_rows o JOIN new_rows n ON n.id = o.id
     WHERE o.role = 'manager' AND n.role = 'manager' AND n.team_id IS DISTINCT FROM o.team_id
       AND l.tenant_id = n.tenant_id AND l.manager_id = n.id AND l.team_id = o.team_id AND l.home;
    INSERT INTO team_leads AS l (tenant_id, team_id, manager_id, home)
    SELECT n.tenant_id, n.team_id, n.id, true FROM old_rows o JOIN new_rows n ON n.id = o.id
     WHERE n.role = 'manager' AND n.team_id IS NOT NULL AND (o.role, o.team_id) IS DISTINCT FROM (n.role, n.team_id)
    ON CONFLICT (tenant_id, team_id, manager_id) DO UPDATE SET home = true;
  ELSE
    INSERT INTO team_leads AS l (tenant_id, team_id, manager_id, home)
    SELECT n.tenant_id, n.team_id, n.id, true FROM new_rows n WHERE n.role = 'manager' AND n.team_id IS NOT NULL
    ON CONFLICT (tenant_id, team_id, manager_id) DO UPDATE SET home = true;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER sync_employees_ins_1leads AFTER INSERT ON employees
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION team_leads_home();
CREATE TRIGGER sync_employees_upd_1leads AFTER UPDATE ON employees
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION team_leads_home();

-- Member rows (046): an employee whose name, title, role, status or team changed, for the leaders of
-- their old and new team. (A change of whom someone leads is sync_team_leads'.)
CREATE OR REPLACE FUNCTION sync_members() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  tn uuid[];
  mg uuid[];
  mb uuid[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(n.tenant_id), array_agg(l.manager_id), array_agg(n.id) INTO tn, mg, mb
      FROM new_rows n JOIN team_leads l ON l.tenant_id = n.tenant_id AND l.team_id = n.team_id AND l.manager_id <> n.id;
  ELSE
    SELECT array_agg(x.tenant_id), array_agg(x.mgr), array_agg(x.id) INTO tn, mg, mb FROM (
      SELECT DISTINCT n.tenant_id, l.manager_id AS mgr, n.id
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        JOIN team_leads l ON l.tenant_id = n.tenant_id AND l.team_id IN (n.team_id, o.team_id)
       WHERE (n.name, n.title, n.role, n.status, n.team_id) IS DISTINCT FROM (o.name, o.title, o.role, o.status, o.team_id)) x;
  END IF;
  IF tn IS NOT NULL THEN
    PERFORM sync_member_pairs(tn, mg, mb);
  END IF;
  RETURN NULL;
END $$;

-- sync_task_pairs (045), with the leaders of each employee's team from team_leads.
CREATE OR REPLACE FUNCTION sync_task_pairs(p_tenant uuid[], p_task uuid[], p_emp uuid[]) RETURNS void
  LANGUAGE plpgsql
  AS $$ BEGIN
    WITH given AS (
      SELECT x.tenant, x.task, x.emp FROM unnest(p_tenant, p_task, p_emp) AS x (tenant, task, emp)
    ), p AS (
      SELECT g.tenant, g.task, g.emp FROM given g
      UNION
      SELECT g.tenant, g.task, l.manager_id FROM given g
        JOIN employees x ON x.tenant_id = g.tenant AND x.id = g.emp
        JOIN team_leads l ON l.tenant_id = g.tenant AND l.team_id = x.team_id
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

-- sync_employees_tasks (045): the tasks offered to someone who joined, moved or was disabled or enabled;
-- the tasks a member who moved is on (for the leaders of their old team; their own pair brings those of
-- the new one); for someone who became or stopped being a manager, the tasks they made. (The tasks aimed
-- at the teams someone leads come and go with the rows of team_leads.)
CREATE OR REPLACE FUNCTION sync_employees_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  tn uuid[];
  tk uuid[];
  em uuid[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(x.task), array_agg(x.emp), array_agg(x.tenant_id) INTO tk, em, tn FROM (
      SELECT t.id AS task, n.id AS emp, n.tenant_id FROM new_rows n
        JOIN tasks t ON t.tenant_id = n.tenant_id AND t.status = 'active' AND t.claim_required AND t.ends_at > now()
                    AND (t.audience = 'tenant' OR (t.audience = 'teams' AND n.team_id = ANY (t.team_ids)))) x;
  ELSE
    SELECT array_agg(x.task), array_agg(x.emp), array_agg(x.tenant_id) INTO tk, em, tn FROM (
      SELECT t.id AS task, n.id AS emp, n.tenant_id
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        JOIN tasks t ON t.tenant_id = n.tenant_id AND t.status = 'active' AND t.claim_required AND t.ends_at > now()
                    AND ((n.status <> o.status AND (t.audience = 'tenant' OR n.id = ANY (t.employee_ids) OR n.team_id = ANY (t.team_ids)))
                         OR (n.team_id IS DISTINCT FROM o.team_id AND t.audience = 'teams'
                             AND (n.team_id = ANY (t.team_ids) OR o.team_id = ANY (t.team_ids))))
      UNION
      SELECT a.task_id, w.id, n.tenant_id
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        JOIN task_assignees a ON a.tenant_id = n.tenant_id AND a.employee_id = n.id
        CROSS JOIN LATERAL (SELECT n.id UNION ALL
                            SELECT l.manager_id FROM team_leads l WHERE l.tenant_id = n.tenant_id AND l.team_id = o.team_id) w
       WHERE n.team_id IS DISTINCT FROM o.team_id
      UNION
      SELECT t.id, n.id, n.tenant_id
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        JOIN tasks t ON t.tenant_id = n.tenant_id AND t.created_by = n.id AND t.ends_at + interval '90 days' > now()
       WHERE (n.role = 'manager') <> (o.role = 'manager')) x;
  END IF;
  IF tk IS NOT NULL THEN
    PERFORM sync_task_pairs(tn, tk, em);
  END IF;
  RETURN NULL;
END $$;

ALTER TABLE team_leads FORCE ROW LEVEL SECURITY;
