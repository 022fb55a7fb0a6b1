-- The audit log: what admins and managers did (employees and roles, teams, settings, passwords and
-- sessions, material review, customer assignment...), by whom, from where, with the record before and after.
--
-- Append-only for the application: it may insert and read its tenant's entries, never change one. Entries
-- are kept 400 days (at least 180, as the enterprises' own audits ask); the daily purge deletes older ones
-- across tenants as the owner, whose policies reach exactly those rows.

CREATE TABLE audit_log (
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id           uuid NOT NULL,   -- UUIDv7: time-ordered
  at           timestamptz NOT NULL DEFAULT now(),
  actor_id     uuid,            -- NULL: the platform (salesctl, a job)
  actor_role   text NOT NULL DEFAULT '' CHECK (length(actor_role) <= 16),
  address      text NOT NULL DEFAULT '' CHECK (length(address) <= 64),
  action       text NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_]+$' AND length(action) <= 64),
  target_kind  text NOT NULL CHECK (length(target_kind) BETWEEN 1 AND 32),
  target_id    uuid,
  before       jsonb,
  after        jsonb,
  PRIMARY KEY (tenant_id, id)
);
-- Newest first, whole tenant; by actor; by target.
CREATE INDEX audit_log_at_idx ON audit_log (tenant_id, at DESC, id DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (tenant_id, actor_id, at DESC, id DESC);
CREATE INDEX audit_log_target_idx ON audit_log (tenant_id, target_id, at DESC, id DESC);

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_log
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM salesapp_app;

CREATE FUNCTION purge_audit_log() RETURNS bigint
  LANGUAGE sql SECURITY DEFINER SET search_path = public
  AS $$
    WITH d AS (DELETE FROM audit_log WHERE at < now() - interval '400 days' RETURNING 1)
    SELECT count(*) FROM d
  $$;
REVOKE ALL ON FUNCTION purge_audit_log() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION purge_audit_log() TO salesapp_app;
CREATE POLICY purge_audit_log_read ON audit_log FOR SELECT TO CURRENT_USER
  USING (at < now() - interval '400 days');
CREATE POLICY purge_audit_log ON audit_log FOR DELETE TO CURRENT_USER
  USING (at < now() - interval '400 days');
