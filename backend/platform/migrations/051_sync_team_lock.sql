-- A manager's copy of a change could go to the wrong manager when the change and a team move ran at
-- once (issue 18). The fan-out (sync_touch, sync_ingested_rows, sync_customers_managers) reads the
-- owner's team when its statement starts; a team move (sync_team_moves) tombstones and backfills what
-- its own statements see. An ingest that read the old team while a move was running wrote the old
-- manager's copy, which the move, not seeing the ingest's uncommitted rows, neither tombstoned nor
-- backfilled to the new manager: the old manager kept the change and the new one missed it until the
-- customer's next change.
--
-- Both sides now take a per-tenant advisory lock before reading teams: the fan-out shared, a team move
-- exclusive. A move waits for the fan-outs already running in its tenant and sees what they committed;
-- a fan-out that starts during a move waits for it and reads the new teams. Shared locks never wait for
-- each other, so ingests stay parallel; a move (an administrator's or the directory's, rare) holds up its
-- own tenant's fan-outs for as long as it runs. Lock order cannot deadlock the two: a move takes one
-- lock, a fan-out takes shared ones only (in tenant order when a statement spans several).

CREATE FUNCTION sync_team_key(p_tenant uuid) RETURNS bigint
  LANGUAGE sql IMMUTABLE
  AS $$ SELECT hashtextextended('sync_team_lock:' || p_tenant::text, 0) $$;

-- The fan-out's side: shared, per tenant, in tenant order.
CREATE FUNCTION sync_team_share(p_tenants uuid[]) RETURNS void
  LANGUAGE plpgsql
  AS $$ BEGIN
    PERFORM pg_advisory_xact_lock_shared(sync_team_key(t))
       FROM (SELECT DISTINCT t FROM unnest(p_tenants) AS t WHERE t IS NOT NULL ORDER BY t) x;
  END $$;

-- sync_touch and sync_ingested_rows keep their bodies (020) under new names; the old names take the lock
-- first. (Functions of plpgsql take a new snapshot per statement, so the fan-out's read of teams comes
-- after the lock is held.)
ALTER FUNCTION sync_touch(uuid[], text, uuid[], uuid[], uuid[], boolean[], timestamptz[]) RENAME TO sync_touch_fanout;
CREATE FUNCTION sync_touch(p_scope uuid[], p_kind text, p_id uuid[], p_tenant uuid[], p_parent uuid[],
                           p_tombstone boolean[], p_expires timestamptz[]) RETURNS void
  LANGUAGE plpgsql
  AS $$ BEGIN
    IF p_kind IN ('customer', 'note', 'timeline') THEN
      PERFORM sync_team_share(p_tenant);
    END IF;
    PERFORM sync_touch_fanout(p_scope, p_kind, p_id, p_tenant, p_parent, p_tombstone, p_expires);
  END $$;

ALTER FUNCTION sync_ingested_rows(uuid, uuid[], text[], uuid[], uuid[], timestamptz[]) RENAME TO sync_ingested_rows_fanout;
CREATE FUNCTION sync_ingested_rows(p_tenant uuid, p_scopes uuid[], p_kinds text[], p_ids uuid[],
                                   p_parents uuid[], p_occurred timestamptz[]) RETURNS void
  LANGUAGE plpgsql
  AS $$ BEGIN
    PERFORM sync_team_share(ARRAY[p_tenant]);
    PERFORM sync_ingested_rows_fanout(p_tenant, p_scopes, p_kinds, p_ids, p_parents, p_occurred);
  END $$;

-- Trigger functions cannot be wrapped: the locks come from triggers of their own that fire first (a
-- table's triggers of one timing fire in name order). sync_customers_managers (031) runs when an
-- update changes owners; sync_team_moves (020) when an employee joins, or changes team or role.
CREATE FUNCTION sync_customers_owner_lock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM sync_team_share(array_agg(DISTINCT o.tenant_id))
     FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE o.owner_id IS NOT NULL AND n.owner_id IS DISTINCT FROM o.owner_id
   HAVING count(*) > 0;
  RETURN NULL;
END $$;
CREATE TRIGGER sync_customers_upd_0lock AFTER UPDATE ON customers
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_customers_owner_lock();

CREATE FUNCTION sync_team_moves_lock() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  t uuid;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT min(n.tenant_id::text)::uuid INTO t FROM new_rows n WHERE n.team_id IS NOT NULL;
  ELSE
    SELECT min(n.tenant_id::text)::uuid INTO t
      FROM old_rows o JOIN new_rows n ON n.id = o.id
     WHERE (n.team_id, n.role) IS DISTINCT FROM (o.team_id, o.role);
  END IF;
  IF t IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(sync_team_key(t));
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER sync_employees_ins_0lock AFTER INSERT ON employees
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_team_moves_lock();
CREATE TRIGGER sync_employees_upd_0lock AFTER UPDATE ON employees
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_team_moves_lock();
