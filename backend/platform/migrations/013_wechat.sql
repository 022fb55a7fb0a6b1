-- WeChat on the customers' pages (issue 14): one access token and one JS-SDK ticket per WeChat app shared by
-- every node, the tenant's page settings (sign-in before viewing, the page origins allowed by CORS), and the
-- WeChat nickname a customer gave when they signed in on a page.
--
-- wechat_credentials has no tenant_id and no row-level security, on purpose: it holds the server's own
-- WeChat credentials (the official account and the mini-program are configured per server, not per tenant),
-- keyed by app id, and no tenant's data. Each fetch of a token from WeChat replaces the previous one, so one
-- node fetches under the row's lock while the others wait and then read what it stored (backend/wechat).

DO $$
BEGIN
  IF (SELECT relowner FROM pg_class WHERE oid = 'tenants'::regclass) <> (SELECT oid FROM pg_roles WHERE rolname = current_user) THEN
    RAISE EXCEPTION 'the WeChat migration must run as the role that owns the tables (%), not as %',
      (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'tenants'::regclass), current_user;
  END IF;
END
$$;

CREATE TABLE wechat_credentials (
  app_id      text NOT NULL CHECK (length(app_id) BETWEEN 1 AND 64),
  kind        text NOT NULL CHECK (kind IN ('access_token', 'jsapi_ticket')),
  value       text NOT NULL DEFAULT '',
  -- When WeChat says the value dies; the epoch until the first fetch, and once a caller saw it refused.
  expires_at  timestamptz NOT NULL DEFAULT 'epoch',
  fetched_at  timestamptz,
  PRIMARY KEY (app_id, kind)
);

-- require_signin: a customer opening a share link in WeChat signs in (silently, snsapi_base) before the page
-- shows. page_origins: origins of the tenant's own H5 pages allowed to call the public procedures (CORS).
ALTER TABLE tenants
  ADD COLUMN require_signin boolean NOT NULL DEFAULT false,
  ADD COLUMN page_origins   text[]  NOT NULL DEFAULT '{}' CHECK (cardinality(page_origins) <= 20);

-- The nickname WeChat gave when the customer signed in with snsapi_userinfo. display_name takes it only
-- while display_name is empty or still the previous WeChat nickname: a name the salesperson typed stays.
ALTER TABLE customers ADD COLUMN wechat_nickname text NOT NULL DEFAULT '';

-- A browser's CORS preflight carries no token, so no tenant is known: the server allows an origin that
-- any tenant allows. This returns the union, across tenants, as the owner; while it runs (a
-- transaction-local setting, cleared before it returns) the owner may read tenants' rows, of which it
-- returns only the origins.
CREATE FUNCTION allowed_page_origins() RETURNS SETOF text
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public
  AS $$
BEGIN
  PERFORM set_config('app.list_page_origins', 'on', true);
  RETURN QUERY SELECT DISTINCT o FROM tenants, unnest(page_origins) AS o WHERE expires_at > now() ORDER BY o;
  PERFORM set_config('app.list_page_origins', '', true);
END $$;
REVOKE ALL ON FUNCTION allowed_page_origins() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION allowed_page_origins() TO salesapp_app;
CREATE POLICY allowed_page_origins_list ON tenants FOR SELECT TO CURRENT_USER
  USING (current_setting('app.list_page_origins', true) = 'on');
