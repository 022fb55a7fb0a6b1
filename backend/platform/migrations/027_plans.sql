-- Plans (issue 17, point 4): what each commercial plan gives an enterprise. Until now a plan was a label on
-- the tenant; from here it carries the seats and storage a new tenant starts with, the features its staff
-- may use (a procedure of a feature outside the plan answers PermissionDenied), and how long a trial runs.
--
-- plans has no tenant column and so no row-level security, as operators (023): it is the platform's price
-- list, no tenant's data, and every tenant may read its own plan's row. (A table here that did carry
-- tenant_id would need ENABLE and FORCE ROW LEVEL SECURITY, as every tenant table has; rls_test checks.)
-- The application role only reads it; operators change it through operator_update_plan below, as they
-- change tenants through operator_update_tenant.
CREATE TABLE plans (
  name              text PRIMARY KEY CHECK (name IN ('trial', 'standard', 'professional', 'enterprise')),
  -- Seats a tenant created on this plan gets when none is named.
  seat_limit        integer NOT NULL CHECK (seat_limit BETWEEN 0 AND 100000),
  -- MiB of finalized uploads each tenant on this plan may keep.
  storage_quota_mib integer NOT NULL CHECK (storage_quota_mib BETWEEN 0 AND 104857600),
  -- The features the plan includes, of tasks, rankings, pools, exports and wecom.
  features          text[] NOT NULL CHECK (features <@ ARRAY['tasks', 'rankings', 'pools', 'exports', 'wecom']::text[]),
  -- Days a tenant created on this plan runs when no end is named (a trial that expires by itself); 0: an
  -- end must be named.
  trial_days        integer NOT NULL CHECK (trial_days BETWEEN 0 AND 366),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT ON plans TO salesapp_app;

INSERT INTO plans (name, seat_limit, storage_quota_mib, features, trial_days) VALUES
  ('trial',        10,   1024,   ARRAY['tasks', 'rankings', 'pools', 'exports', 'wecom'], 14),
  ('standard',     20,   10240,  ARRAY['tasks', 'rankings', 'exports'], 0),
  ('professional', 100,  51200,  ARRAY['tasks', 'rankings', 'pools', 'exports', 'wecom'], 0),
  ('enterprise',   1000, 204800, ARRAY['tasks', 'rankings', 'pools', 'exports', 'wecom'], 0);

ALTER TABLE tenants ADD CONSTRAINT tenants_plan_fkey FOREIGN KEY (plan) REFERENCES plans (name);

-- operator_update_plan changes a plan's terms (NULL arguments leave a column as it is) and answers the
-- number of plans changed (0: no such plan). Tenants on the plan see the change within the authenticator's
-- cache of a few seconds; their seat limits, which operators set per tenant, are left as they are.
CREATE FUNCTION operator_update_plan(p_name text, p_seat_limit integer, p_storage_quota_mib integer,
    p_features text[], p_trial_days integer) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
  AS $$
  WITH changed AS (
    UPDATE plans SET
      seat_limit = coalesce(p_seat_limit, seat_limit),
      storage_quota_mib = coalesce(p_storage_quota_mib, storage_quota_mib),
      features = coalesce(p_features, features),
      trial_days = coalesce(p_trial_days, trial_days),
      updated_at = now()
    WHERE name = p_name
    RETURNING 1)
  SELECT count(*)::integer FROM changed
$$;
REVOKE ALL ON FUNCTION operator_update_plan(text, integer, integer, text[], integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION operator_update_plan(text, integer, integer, text[], integer) TO salesapp_app;
