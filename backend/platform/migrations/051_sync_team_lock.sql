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

-- sync_touch and sync_ingested_rows as 020 made them, each taking the lock first. (Functions of plpgsql
-- take a new snapshot per statement, so the fan-out's read of teams comes after the lock is held.)
CREATE OR REPLACE FUNCTION sync_touch(p_scope uuid[], p_kind text, p_id uuid[], p_tenant uuid[], p_parent uuid[],
                                      p_tombstone boolean[], p_expires timestamptz[]) RETURNS void
  LANGUAGE plpgsql
  AS $$ BEGIN
    IF p_kind IN ('customer', 'note', 'timeline') THEN
      PERFORM sync_team_share(p_tenant);
    END IF;
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
          SELECT m.id, x.kind, x.id, x.parent, x.occurred
            FROM unnest(p_scopes, p_kinds, p_ids, p_parents, p_occurred) AS x (scope, kind, id, parent, occurred)
            JOIN employees o ON o.id = x.scope AND o.tenant_id = p_tenant
            JOIN employees m ON m.tenant_id = p_tenant AND m.team_id = o.team_id AND m.role = 'manager' AND m.id <> o.id) y
  ON CONFLICT (scope, kind, entity_id) DO UPDATE
    SET xid = pg_current_xact_id(), seq = nextval('sync_seq'), tenant_id = excluded.tenant_id,
        parent_id = excluded.parent_id, tombstone = false, expires_at = excluded.expires_at, changed_at = now();
END $$;

-- The trigger functions sync_customers_managers (031, when an update changes owners) and sync_team_moves
-- (020, when an employee joins, or changes team or role) stay as they are: the locks come from triggers of
-- their own that fire first (a table's triggers of one timing fire in name order).
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
