-- A manager's offline scope: their team's customers, those customers' notes and recent timelines, in the
-- manager's own sync scope (their employee id), next to what they own themselves.
--
-- Fan-out at write time: every change row of a customer, note or timeline entry written in a
-- salesperson's scope is written as well in the scope of each manager of that salesperson's team (an
-- employee with role manager and the same team_id, other than the salesperson). A pull then stays what
-- it is: one ordered index range per scope, whatever the team's size (reading 50 or 500 members' scopes
-- at pull time would merge as many ranges on every page and sort them). Most salespeople have one
-- manager, so a change costs one row more. A team change (an employee moved, a manager's team or role
-- changed) moves the rows at once: the pairs (manager, member) that ended get tombstones for the
-- member's customers and their children in the manager's scope, the pairs that began get them upserted
-- (a backfill in the moving transaction, stamped with its xid, so a device that has pulled past older
-- rows still gets them).

-- sync_touch, as 005 made it, plus: for customers, notes and timeline entries, each entry also goes to
-- the managers of its scope's team. Entries keep their order, and the last one per (scope, id) wins, so
-- an owner change (tombstones first, then live rows) within one manager's team leaves the row live.
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
    INSERT INTO sync_changes AS s (scope, kind, entity_id, tenant_id, parent_id, tombstone, expires_at)
    SELECT DISTINCT ON (y.scope, y.id) y.scope, p_kind, y.id, y.tenant, y.parent, y.tombstone, y.expires
      FROM (SELECT x.scope, x.id, x.tenant, x.parent, x.tombstone, x.expires, x.n
              FROM unnest(p_scope, p_id, p_tenant, p_parent, p_tombstone, p_expires)
                     WITH ORDINALITY AS x (scope, id, tenant, parent, tombstone, expires, n)
             WHERE x.scope IS NOT NULL
            UNION ALL
            SELECT m.id, x.id, x.tenant, x.parent, x.tombstone, x.expires, x.n
              FROM unnest(p_scope, p_id, p_tenant, p_parent, p_tombstone, p_expires)
                     WITH ORDINALITY AS x (scope, id, tenant, parent, tombstone, expires, n)
              JOIN employees o ON o.id = x.scope AND o.tenant_id = x.tenant
              JOIN employees m ON m.tenant_id = o.tenant_id AND m.team_id = o.team_id AND m.role = 'manager' AND m.id <> o.id) y
     ORDER BY y.scope, y.id, y.n DESC
    ON CONFLICT (scope, kind, entity_id) DO UPDATE
      SET xid = pg_current_xact_id(), seq = nextval('sync_seq'), tenant_id = excluded.tenant_id,
          parent_id = excluded.parent_id, tombstone = excluded.tombstone, expires_at = excluded.expires_at,
          changed_at = now();
  END $$;

-- The tracking ingest's rows (all live customers and timeline entries of their owners), to the owners'
-- managers as well. (Each key once per scope: the caller sends each once, and a manager is never the
-- owner of a row mirrored to them.)
CREATE OR REPLACE FUNCTION sync_ingested_rows(p_tenant uuid, p_scopes uuid[], p_kinds text[], p_ids uuid[],
                                              p_parents uuid[], p_occurred timestamptz[]) RETURNS void
  LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO sync_changes AS s (scope, kind, entity_id, tenant_id, parent_id, tombstone, expires_at)
  SELECT y.scope, y.kind, y.id, p_tenant, NULLIF(y.parent, '00000000-0000-0000-0000-000000000000'), false,
         CASE WHEN y.kind = 'timeline' THEN y.occurred + interval '90 days' END
    FROM (SELECT x.scope, x.kind, x.id, x.parent, x.occurred
            FROM unnest(p_scopes, p_kinds, p_ids, p_parents, p_occurred) AS x (scope, kind, id, parent, occurred)
          UNION ALL
          SELECT m.id, x.kind, x.id, x.parent, x.occurred
            FROM unnest(p_scopes, p_kinds, p_ids, p_parents, p_occurred) AS x (scope, kind, id, parent, occurred)
            JOIN employees o ON o.id = x.scope AND o.tenant_id = p_tenant
            JOIN employees m ON m.tenant_id = p_tenant AND m.team_id = o.team_id AND m.role = 'manager' AND m.id <> o.id) y
  ON CONFLICT (scope, kind, entity_id) DO UPDATE
    SET xid = pg_current_xact_id(), seq = nextval('sync_seq'), tenant_id = excluded.tenant_id,
        parent_id = excluded.parent_id, tombstone = false, expires_at = excluded.expires_at, changed_at = now();
END $$;

-- A customer's new owner: 005's trigger moves its notes and timeline out of the old owner's scope (an
-- UPDATE of the change rows, which sync_touch does not see); here they leave the scopes of the old
-- owner's managers too, unless the new owner is one of theirs (then sync_touch has made them live again,
-- or is about to, and they stay).
CREATE FUNCTION sync_customers_managers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT FROM old_rows o JOIN new_rows n ON n.id = o.id
                  WHERE o.owner_id IS NOT NULL AND n.owner_id IS DISTINCT FROM o.owner_id) THEN
    RETURN NULL;
  END IF;
  UPDATE sync_changes s
     SET tombstone = true, xid = pg_current_xact_id(), seq = nextval('sync_seq'), changed_at = now()
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    JOIN employees oe ON oe.tenant_id = o.tenant_id AND oe.id = o.owner_id
    JOIN employees m ON m.tenant_id = oe.tenant_id AND m.team_id = oe.team_id AND m.role = 'manager' AND m.id <> oe.id
   WHERE n.owner_id IS DISTINCT FROM o.owner_id
     AND n.owner_id IS DISTINCT FROM m.id
     AND NOT EXISTS (SELECT FROM employees ne WHERE ne.tenant_id = n.tenant_id AND ne.id = n.owner_id AND ne.team_id = m.team_id)
     AND s.scope = m.id AND s.parent_id = o.id AND NOT s.tombstone;
  RETURN NULL;
END $$;
CREATE TRIGGER sync_customers_upd_managers AFTER UPDATE ON customers
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_customers_managers();

-- Team changes: the (manager, member) pairs before and after the statement, within the teams it touched.
-- Pairs that ended: the member's customers, notes and recent timeline entries leave the manager's scope
-- (tombstones on the rows the scope has). Pairs that began: they arrive (upserted live, a backfill).
CREATE FUNCTION sync_team_moves() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  mv_id uuid[];
  mv_old_team uuid[];
  mv_old_role text[];
  mv_new_team uuid[];
  mv_new_role text[];
  gone_m uuid[];
  gone_x uuid[];
  came_m uuid[];
  came_x uuid[];
  t uuid;
BEGIN
  -- (One tenant per statement: row-level security sees to it for the app.)
  IF TG_OP = 'INSERT' THEN
    SELECT min(n.tenant_id::text)::uuid, array_agg(n.id), array_agg(NULL::uuid), array_agg(NULL::text),
           array_agg(n.team_id), array_agg(n.role)
      INTO t, mv_id, mv_old_team, mv_old_role, mv_new_team, mv_new_role
      FROM new_rows n WHERE n.team_id IS NOT NULL;
  ELSE
    SELECT min(n.tenant_id::text)::uuid, array_agg(n.id), array_agg(o.team_id), array_agg(o.role),
           array_agg(n.team_id), array_agg(n.role)
      INTO t, mv_id, mv_old_team, mv_old_role, mv_new_team, mv_new_role
      FROM old_rows o JOIN new_rows n ON n.id = o.id
     WHERE (n.team_id, n.role) IS DISTINCT FROM (o.team_id, o.role);
  END IF;
  IF mv_id IS NULL THEN
    RETURN NULL;
  END IF;
  WITH moved AS (
    SELECT * FROM unnest(mv_id, mv_old_team, mv_old_role, mv_new_team, mv_new_role) AS m (id, old_team, old_role, new_team, new_role)
  ), teams AS (
    SELECT DISTINCT v.team FROM moved, LATERAL (VALUES (old_team), (new_team)) AS v (team) WHERE v.team IS NOT NULL
  ), now_state AS (
    SELECT e.id, e.team_id, e.role FROM employees e JOIN teams ON e.team_id = teams.team WHERE e.tenant_id = t
  ), before_state AS (
    SELECT id, team_id, role FROM now_state WHERE id NOT IN (SELECT id FROM moved)
    UNION ALL
    SELECT id, old_team, old_role FROM moved WHERE old_team IS NOT NULL AND old_role IS NOT NULL
  ), pairs_now AS (
    SELECT m.id AS mgr, x.id AS member FROM now_state m JOIN now_state x ON x.team_id = m.team_id
     WHERE m.role = 'manager' AND x.id <> m.id
  ), pairs_before AS (
    SELECT m.id AS mgr, x.id AS member FROM before_state m JOIN before_state x ON x.team_id = m.team_id
     WHERE m.role = 'manager' AND x.id <> m.id
  ), gone AS (
    SELECT * FROM pairs_before EXCEPT SELECT * FROM pairs_now
  ), came AS (
    SELECT * FROM pairs_now EXCEPT SELECT * FROM pairs_before
  )
  SELECT (SELECT array_agg(mgr) FROM gone), (SELECT array_agg(member) FROM gone),
         (SELECT array_agg(mgr) FROM came), (SELECT array_agg(member) FROM came)
    INTO gone_m, gone_x, came_m, came_x;

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
  RETURN NULL;
END $$;
CREATE TRIGGER sync_employees_ins_teams AFTER INSERT ON employees
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_team_moves();
CREATE TRIGGER sync_employees_upd_teams AFTER UPDATE ON employees
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_team_moves();
