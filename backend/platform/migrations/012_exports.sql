-- Customer exports: a file (CSV or xlsx) of the customers the requester may see, made by a River job
-- enqueued in the request's transaction, kept in object storage for a day, downloaded through a
-- short-lived link. Each request is also in the audit log.

CREATE TABLE exports (
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id            uuid NOT NULL,
  requested_by  uuid NOT NULL,
  format        text NOT NULL CHECK (format IN ('csv', 'xlsx')),
  stage         text NOT NULL DEFAULT '',
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
  row_count     integer NOT NULL DEFAULT 0,
  object_key    text NOT NULL DEFAULT '',
  error         text NOT NULL DEFAULT '',
  created_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz,
  expires_at    timestamptz NOT NULL DEFAULT now() + interval '1 day',
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX exports_expiry_idx ON exports (expires_at);
CREATE INDEX exports_requester_idx ON exports (tenant_id, requested_by, created_at DESC);
ALTER TABLE exports ENABLE ROW LEVEL SECURITY;
ALTER TABLE exports FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON exports
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- Expired exports go, across tenants, as the owner (its policies reach exactly those rows); their objects'
-- keys come back for the caller to delete.
CREATE FUNCTION purge_exports() RETURNS SETOF text
  LANGUAGE sql SECURITY DEFINER SET search_path = public
  AS $$
    DELETE FROM exports WHERE expires_at < now() RETURNING object_key
  $$;
REVOKE ALL ON FUNCTION purge_exports() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION purge_exports() TO salesapp_app;
CREATE POLICY purge_exports_read ON exports FOR SELECT TO CURRENT_USER USING (expires_at < now());
CREATE POLICY purge_exports ON exports FOR DELETE TO CURRENT_USER USING (expires_at < now());
