-- Operators (issue 17): the platform's own staff, who run the SaaS through OperatorService. They sign in
-- with an email and a password (argon2id, as employees' passwords) and get operator tokens, which no
-- tenant RPC accepts.
--
-- operators has no tenant_id and no row-level security, on purpose: an operator belongs to no tenant, and
-- the table holds the platform's own accounts, no tenant's data. `salesctl operator create` writes it as the
-- owner; salesd's application role may only read it (sign-in, and the check that a token's operator is
-- still enabled). Every table here that does carry tenant_id (none is created) would need ENABLE and
-- FORCE ROW LEVEL SECURITY; tenants keeps the ones 001 and 016 gave it.
CREATE TABLE operators (
  id            uuid PRIMARY KEY,
  email         text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
  password_hash text NOT NULL,
  -- When the operator was disabled: their tokens stop working at once.
  disabled_at   timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT operators_email_key UNIQUE (email)
);
GRANT SELECT ON operators TO salesapp_app;

-- OperatorService creates tenants in salesd, through backend/tenant's CreateTenant as salesctl does (a
-- transaction scoped to the new tenant, which the policy checks): the application role may now insert
-- tenants, never delete them. Only operators, authenticated by operator tokens, reach that path.
GRANT INSERT ON tenants TO salesapp_app;

-- Suspension: staff checks read expires_at (backend/auth), so suspending moves it to the moment of
-- suspension and keeps the subscription's real end here; resuming gives it back. NULL: not suspended.
ALTER TABLE tenants ADD COLUMN suspended_expires_at timestamptz;

-- What a tenant pays for stays out of the application role's reach (016): operators change it through
-- this function alone, which runs as the owner and, row-level security being forced on the owner too,
-- reaches only the tenant of the calling transaction (app.tenant_id). NULL arguments leave a column as it
-- is; p_suspend true suspends, false resumes. While suspended, a new end is kept for the resume.
CREATE FUNCTION operator_update_tenant(p_tenant uuid, p_name text, p_plan text, p_seat_limit integer,
    p_time_zone text, p_expires_at timestamptz, p_suspend boolean, p_now timestamptz) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
  AS $$
  WITH changed AS (
    UPDATE tenants SET
      name = coalesce(p_name, name),
      plan = coalesce(p_plan, plan),
      seat_limit = coalesce(p_seat_limit, seat_limit),
      time_zone = coalesce(p_time_zone, time_zone),
      expires_at = CASE
        WHEN p_suspend AND suspended_expires_at IS NULL THEN least(coalesce(p_expires_at, expires_at), p_now)
        WHEN NOT p_suspend AND suspended_expires_at IS NOT NULL THEN coalesce(p_expires_at, suspended_expires_at)
        WHEN suspended_expires_at IS NULL THEN coalesce(p_expires_at, expires_at)
        ELSE expires_at END,
      suspended_expires_at = CASE
        WHEN p_suspend AND suspended_expires_at IS NULL THEN coalesce(p_expires_at, expires_at)
        WHEN NOT p_suspend THEN NULL
        WHEN suspended_expires_at IS NOT NULL THEN coalesce(p_expires_at, suspended_expires_at)
        ELSE NULL END,
      updated_at = now()
    WHERE id = p_tenant
    RETURNING 1)
  SELECT count(*)::integer FROM changed
$$;
REVOKE ALL ON FUNCTION operator_update_tenant(uuid, text, text, integer, text, timestamptz, boolean, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION operator_update_tenant(uuid, text, text, integer, text, timestamptz, boolean, timestamptz) TO salesapp_app;

-- operator_tenant_ids lists every tenant, across tenants, for OperatorService, in the manner of
-- allowed_page_origins (013): while it runs (a transaction-local setting, cleared before it returns) the
-- owner may read tenants' rows, of which it returns only the ids, by name. Each tenant is then read in a
-- transaction of its own.
CREATE FUNCTION operator_tenant_ids() RETURNS SETOF uuid
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public
  AS $$
BEGIN
  PERFORM set_config('app.operator_list_tenants', 'on', true);
  RETURN QUERY SELECT id FROM tenants ORDER BY name, id;
  PERFORM set_config('app.operator_list_tenants', '', true);
END $$;
REVOKE ALL ON FUNCTION operator_tenant_ids() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION operator_tenant_ids() TO salesapp_app;
CREATE POLICY operator_tenant_ids_list ON tenants FOR SELECT TO CURRENT_USER
  USING (current_setting('app.operator_list_tenants', true) = 'on');
