-- Row-level security binds the table owner too.
--
-- 001-007 enabled row-level security on every tenant table but did not force it, so the owner (the role that
-- runs migrations: the operator's salesctl, test setup, seeding) read and wrote every tenant's rows without a
-- word: a missing tenant scope there leaked or mixed tenants silently. From here on every table with a
-- tenant_id column, and tenants itself, has FORCE ROW LEVEL SECURITY. The application role (salesapp_app)
-- gains nothing and loses nothing by this file: every policy added below names the owner alone.
--
-- What the owner still does, and how:
--   - Migrations (DDL) are unaffected: row-level security filters rows, not schema changes, and foreign keys
--     and their cascades are checked past it. A later migration that changes tenant rows must scope itself to
--     each tenant (set_config('app.tenant_id', ...)) or say which rows it may touch in a policy of its own.
--   - salesctl creates a tenant in a transaction scoped to the new tenant (tenant.CreateTenant), and finds the
--     demo tenant again by its fixed id, inside that tenant. Tests and salesbench, on their own throwaway
--     clusters, set up and check rows across tenants as the cluster superuser, whom row-level security never
--     binds.
--   - The operator's own rows, which belong to no tenant (platform materials, and the platform scope of the
--     sync change log that their trigger writes), get a policy for the owner: "platform_operator" below.
--   - The three SECURITY DEFINER functions run as the owner and so now see only what a policy shows the
--     owner. Each gets exactly its rows, as said at each one below.
--
-- Policies "TO CURRENT_USER" name the role running this file, which must be the one owning the tables and the
-- SECURITY DEFINER functions (as migrate.go requires); the check below stops a migration run by another role
-- (a superuser, say) from granting its policies to the wrong role.

DO $$
BEGIN
  IF (SELECT relowner FROM pg_class WHERE oid = 'tenants'::regclass) <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
     OR (SELECT proowner FROM pg_proc WHERE oid = 'share_tenant(text)'::regprocedure) <> (SELECT oid FROM pg_roles WHERE rolname = current_user) THEN
    RAISE EXCEPTION 'migration 008 must run as the role that owns the tables and functions (%), not as %',
      (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'tenants'::regclass), current_user;
  END IF;
END
$$;

ALTER TABLE tenants                  FORCE ROW LEVEL SECURITY;
ALTER TABLE teams                    FORCE ROW LEVEL SECURITY;
ALTER TABLE employees                FORCE ROW LEVEL SECURITY;
ALTER TABLE sessions                 FORCE ROW LEVEL SECURITY;
ALTER TABLE uploads                  FORCE ROW LEVEL SECURITY;
ALTER TABLE company_profiles         FORCE ROW LEVEL SECURITY;
ALTER TABLE cards                    FORCE ROW LEVEL SECURITY;
ALTER TABLE material_folders         FORCE ROW LEVEL SECURITY;
ALTER TABLE materials                FORCE ROW LEVEL SECURITY;
ALTER TABLE platform_material_shares FORCE ROW LEVEL SECURITY;
ALTER TABLE poster_renders           FORCE ROW LEVEL SECURITY;
ALTER TABLE shares                   FORCE ROW LEVEL SECURITY;
ALTER TABLE customers                FORCE ROW LEVEL SECURITY;
ALTER TABLE customer_identities      FORCE ROW LEVEL SECURITY;
ALTER TABLE events                   FORCE ROW LEVEL SECURITY;
ALTER TABLE customer_notes           FORCE ROW LEVEL SECURITY;
ALTER TABLE alert_streams            FORCE ROW LEVEL SECURITY;
ALTER TABLE alerts                   FORCE ROW LEVEL SECURITY;
ALTER TABLE alert_prefs              FORCE ROW LEVEL SECURITY;
ALTER TABLE devices                  FORCE ROW LEVEL SECURITY;
ALTER TABLE sync_changes             FORCE ROW LEVEL SECURITY;
ALTER TABLE sync_devices             FORCE ROW LEVEL SECURITY;
ALTER TABLE sync_mutations           FORCE ROW LEVEL SECURITY;

-- Platform materials are the operator's (material.CreatePlatform, run by salesctl as the owner): rows of no
-- tenant, which the tenant policy can never admit. Inserting one fires sync_materials, which records it in
-- the platform scope of sync_changes (tenant_id NULL), so the owner may write those change rows as well.
-- Both policies reach only rows without a tenant.
CREATE POLICY platform_operator ON materials TO CURRENT_USER
  USING (tenant_id IS NULL) WITH CHECK (tenant_id IS NULL);
CREATE POLICY platform_operator ON sync_changes TO CURRENT_USER
  USING (tenant_id IS NULL) WITH CHECK (tenant_id IS NULL AND scope = '00000000-0000-0000-0000-000000000000');

-- share_tenant (002) finds the tenant of a share from its public token, across tenants. It needs one row:
-- the share whose token it was given. It now names that token in a transaction-local setting while it reads
-- and clears it before returning (an error on the way aborts the transaction, which ends the setting too),
-- and the owner may read the share with that token and no other. A caller learns what the function already
-- told it (the tenant of a token it holds); an owner session that sets the variable itself can read only a
-- share whose token it already knows. (A SET clause on the function would scope the setting more neatly,
-- but PostgreSQL lets only a superuser attach a custom setting to a function.)
CREATE OR REPLACE FUNCTION share_tenant(p_token text) RETURNS uuid
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public
  AS $$
DECLARE
  found uuid;
BEGIN
  PERFORM set_config('app.share_token', p_token, true);
  SELECT tenant_id INTO found FROM shares WHERE token = p_token;
  PERFORM set_config('app.share_token', '', true);
  RETURN found;
END $$;
CREATE POLICY share_tenant_lookup ON shares FOR SELECT TO CURRENT_USER
  USING (token = NULLIF(current_setting('app.share_token', true), ''));

-- purge_old_alerts (004) deletes alerts older than 7 days, across tenants: the owner may see and delete
-- those, and no other alert. A DELETE whose WHERE reads columns needs the SELECT policy as well. The
-- interval is the function's: change both together (a shorter one in the function alone would still purge
-- only what is older than 7 days).
CREATE POLICY purge_old_alerts_read ON alerts FOR SELECT TO CURRENT_USER
  USING (created_at < now() - interval '7 days');
CREATE POLICY purge_old_alerts ON alerts FOR DELETE TO CURRENT_USER
  USING (created_at < now() - interval '7 days');

-- sync_prune (005) deletes, across tenants, expired change rows, tombstones older than 30 days (reading
-- their xid for sync_horizon, which has no tenant and no row-level security), and mutation outcomes older
-- than 30 days: exactly those rows, as in the function.
CREATE POLICY sync_prune_read ON sync_changes FOR SELECT TO CURRENT_USER
  USING (expires_at < now() OR (tombstone AND changed_at < now() - interval '30 days'));
CREATE POLICY sync_prune ON sync_changes FOR DELETE TO CURRENT_USER
  USING (expires_at < now() OR (tombstone AND changed_at < now() - interval '30 days'));
CREATE POLICY sync_prune_read ON sync_mutations FOR SELECT TO CURRENT_USER
  USING (applied_at < now() - interval '30 days');
CREATE POLICY sync_prune ON sync_mutations FOR DELETE TO CURRENT_USER
  USING (applied_at < now() - interval '30 days');
