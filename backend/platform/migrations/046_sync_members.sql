-- A manager's offline scope holds their team's members (issue 18): who is on the team, their title,
-- role and whether they are still active, beside the members' customers (020). One row per (manager,
-- member) in the manager's scope, kind 'member'. The rule is 020's: a manager of a team and another
-- employee of the same team. Candidates are named per statement and their state written as the statement
-- left it (sync_member_pairs): an employee whose name, title, role, status or team changed, for every
-- manager of their old and new team; and an employee who was or became a manager, for every member of
-- their old and new team.

ALTER TABLE sync_changes DROP CONSTRAINT sync_changes_kind_check;
ALTER TABLE sync_changes ADD CONSTRAINT sync_changes_kind_check
  CHECK (kind IN ('customer', 'timeline', 'note', 'card', 'alert', 'material', 'folder', 'task', 'member'));

-- manages_member: m manages x (020's rule; the delta fetch reads it too).
CREATE FUNCTION manages_member(m employees, x employees) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT m.role = 'manager' AND m.tenant_id = x.tenant_id AND m.team_id = x.team_id AND m.id <> x.id $$;

CREATE FUNCTION sync_member_pairs(p_tenant uuid[], p_mgr uuid[], p_member uuid[]) RETURNS void
  LANGUAGE plpgsql
  AS $$ BEGIN
    WITH st AS (
      SELECT p.tenant, p.mgr, p.member, coalesce(manages_member(m, x), false) AS live
        FROM (SELECT DISTINCT y.tenant, y.mgr, y.member FROM unnest(p_tenant, p_mgr, p_member) AS y (tenant, mgr, member)) p
        LEFT JOIN employees m ON m.tenant_id = p.tenant AND m.id = p.mgr
        LEFT JOIN employees x ON x.tenant_id = p.tenant AND x.id = p.member
    ), live AS (
      INSERT INTO sync_changes AS s (scope, kind, entity_id, tenant_id, tombstone)
      SELECT st.mgr, 'member', st.member, st.tenant, false FROM st WHERE st.live
      ON CONFLICT (scope, kind, entity_id) DO UPDATE
        SET xid = pg_current_xact_id(), seq = nextval('sync_seq'), tenant_id = excluded.tenant_id,
            tombstone = false, expires_at = NULL, changed_at = now()
    )
    UPDATE sync_changes s SET xid = pg_current_xact_id(), seq = nextval('sync_seq'), tombstone = true, changed_at = now()
      FROM st
     WHERE NOT st.live AND s.scope = st.mgr AND s.kind = 'member' AND s.entity_id = st.member AND NOT s.tombstone;
  END $$;

CREATE FUNCTION sync_members() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  c_tenant uuid[];
  c_id uuid[];
  c_new uuid[];
  c_old uuid[];
  c_leads boolean[];
  tn uuid[];
  mg uuid[];
  mb uuid[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(n.tenant_id), array_agg(n.id), array_agg(n.team_id), array_agg(NULL::uuid), array_agg(n.role = 'manager')
      INTO c_tenant, c_id, c_new, c_old, c_leads
      FROM new_rows n WHERE n.team_id IS NOT NULL;
  ELSE
    SELECT array_agg(n.tenant_id), array_agg(n.id), array_agg(n.team_id), array_agg(o.team_id),
           array_agg(n.role = 'manager' OR o.role = 'manager')
      INTO c_tenant, c_id, c_new, c_old, c_leads
      FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE (n.name, n.title, n.role, n.status, n.team_id) IS DISTINCT FROM (o.name, o.title, o.role, o.status, o.team_id);
  END IF;
  IF c_id IS NULL THEN
    RETURN NULL;
  END IF;
  WITH changed AS (
    SELECT * FROM unnest(c_tenant, c_id, c_new, c_old, c_leads) AS c (tenant_id, id, new_team, old_team, leads)
  ), pairs AS (
    -- The managers of their teams, for them.
    SELECT c.tenant_id, e.id AS mgr, c.id AS member FROM changed c
      JOIN employees e ON e.tenant_id = c.tenant_id AND e.role = 'manager' AND e.team_id IN (c.new_team, c.old_team)
    UNION
    -- Them, for the members of their teams, if they lead or led.
    SELECT c.tenant_id, c.id, e.id FROM changed c
      JOIN employees e ON e.tenant_id = c.tenant_id AND e.team_id IN (c.new_team, c.old_team)
     WHERE c.leads
  )
  SELECT array_agg(p.tenant_id), array_agg(p.mgr), array_agg(p.member) INTO tn, mg, mb FROM pairs p;
  IF tn IS NOT NULL THEN
    PERFORM sync_member_pairs(tn, mg, mb);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER sync_employees_ins_members AFTER INSERT ON employees
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_members();
CREATE TRIGGER sync_employees_upd_members AFTER UPDATE ON employees
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_members();

-- The teams there are.
INSERT INTO sync_changes (scope, kind, entity_id, tenant_id, tombstone)
SELECT m.id, 'member', x.id, x.tenant_id, false
  FROM employees m JOIN employees x ON x.tenant_id = m.tenant_id AND x.team_id = m.team_id
 WHERE manages_member(m, x);
