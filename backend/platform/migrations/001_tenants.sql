-- Tenants, teams, employees and sessions, with row-level security.
--
-- The role that runs migrations owns every table. The application connects as salesapp_app, which owns
-- nothing and has no BYPASSRLS, so each policy below is enforced on every query it makes: a transaction
-- sees only the rows of the tenant named by the transaction-local setting app.tenant_id
-- (set by platform.SetTenant), and a query without a WHERE clause still cannot reach another tenant.

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'salesapp_app') THEN
    CREATE ROLE salesapp_app LOGIN;
  END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO salesapp_app;
-- tern's version table exists before this file runs; the app reads it to report readiness.
GRANT SELECT ON schema_version TO salesapp_app;
-- Tables and sequences created later by the owner (ours and River's) are usable by the app role.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO salesapp_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO salesapp_app;

-- The tenant of the current transaction, or NULL when none is set (which matches no row).
CREATE FUNCTION app_tenant_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;

CREATE TABLE tenants (
  id          uuid PRIMARY KEY,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  plan        text NOT NULL CHECK (plan IN ('trial', 'standard', 'professional', 'enterprise')),
  seat_limit  integer NOT NULL CHECK (seat_limit >= 0),
  expires_at  timestamptz NOT NULL,
  time_zone   text NOT NULL DEFAULT 'Asia/Shanghai',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
  USING (id = app_tenant_id()) WITH CHECK (id = app_tenant_id());
-- Tenants are created and removed by the operator (salesctl, as the owner), never by the app.
REVOKE INSERT, DELETE ON tenants FROM salesapp_app;

CREATE TABLE teams (
  id          uuid PRIMARY KEY,
  tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT teams_tenant_id_id_key UNIQUE (tenant_id, id),
  CONSTRAINT teams_name_key UNIQUE (tenant_id, name)
);
ALTER TABLE teams ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON teams
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

CREATE TABLE employees (
  id            uuid PRIMARY KEY,
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  role          text NOT NULL CHECK (role IN ('admin', 'manager', 'sales')),
  team_id       uuid,
  status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  title         text NOT NULL DEFAULT '',
  phone         text NOT NULL DEFAULT '',
  email         text NOT NULL DEFAULT '',
  wecom_userid  text NOT NULL DEFAULT '',
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT employees_tenant_id_id_key UNIQUE (tenant_id, id),
  -- A composite key: an employee can only join a team of their own tenant.
  CONSTRAINT employees_team_fk FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id)
);
CREATE UNIQUE INDEX employees_wecom_userid_key ON employees (tenant_id, wecom_userid) WHERE wecom_userid <> '';
CREATE INDEX employees_team_idx ON employees (tenant_id, team_id);
CREATE INDEX employees_name_idx ON employees (tenant_id, name, id);
ALTER TABLE employees ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON employees
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- A session is one signed-in device. Its refresh token is stored only as a SHA-256 hash; the previous
-- hash is kept briefly so that a client whose refresh response was lost can retry once.
CREATE TABLE sessions (
  id                 uuid PRIMARY KEY,
  tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  employee_id        uuid NOT NULL,
  device_id          text NOT NULL CHECK (length(device_id) BETWEEN 1 AND 128),
  refresh_hash       bytea NOT NULL,
  prev_refresh_hash  bytea,
  rotated_at         timestamptz NOT NULL DEFAULT now(),
  created_at         timestamptz NOT NULL DEFAULT now(),
  expires_at         timestamptz NOT NULL,
  revoked_at         timestamptz,
  CONSTRAINT sessions_employee_fk FOREIGN KEY (tenant_id, employee_id)
    REFERENCES employees (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_employee_idx ON sessions (tenant_id, employee_id) WHERE revoked_at IS NULL;
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sessions
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
