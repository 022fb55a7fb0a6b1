-- Usage (issue 17, point 4): what each enterprise uses of the SaaS, for operators: seats, staff active in 7
-- and 30 days, shares, views, customers, storage and pushes. A daily job measures every tenant and operators
-- measure one on demand; each measure is kept per day, so operators see how use moves.

-- Pushes the providers accepted, per tenant per day (UTC). Written by push/alert's Pusher, which counts on
-- each node and adds its counts every few seconds (a node killed in between loses its last seconds of
-- counts, never a push).
CREATE TABLE push_days (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  day       date NOT NULL,
  sent      integer NOT NULL CHECK (sent >= 0),
  PRIMARY KEY (tenant_id, day)
);
ALTER TABLE push_days ENABLE ROW LEVEL SECURITY;
ALTER TABLE push_days FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON push_days
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON push_days TO salesapp_app;

-- One measure of a tenant's use, the day's last (day in the tenant's time zone). Windows end at measured_at.
CREATE TABLE tenant_usage (
  tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  day            date NOT NULL,
  measured_at    timestamptz NOT NULL,
  -- Active employees (each holds a seat).
  seats_used     integer NOT NULL,
  -- Active employees who used the app (a session seen) or shared something, in the last 7 and 30 days.
  active_7d      integer NOT NULL,
  active_30d     integer NOT NULL,
  -- Shares made and views of them, in the last 30 days.
  shares_30d     integer NOT NULL,
  views_30d      integer NOT NULL,
  -- Customers (merged ones once).
  customers      integer NOT NULL,
  storage_bytes  bigint NOT NULL,
  -- Pushes sent in the last 30 days.
  pushes_30d     integer NOT NULL,
  PRIMARY KEY (tenant_id, day)
);
ALTER TABLE tenant_usage ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_usage FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_usage
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_usage TO salesapp_app;

