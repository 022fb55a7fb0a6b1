-- Staff sign-in: passwords, invitations, sign-in records, and the brute-force counters.
--
-- Where a credential lives. A person signs in with a phone number or an email and a password before any
-- tenant is known, and one person may work for several tenants. The credential is kept per employee, in
-- the employee's tenant (employee_passwords, under row-level security like every tenant table), not in one
-- global account per phone number or email:
--   - each tenant's admin controls only their own tenant's credentials. With one global account per phone
--     number, the admin of tenant B could create an employee with the phone number of tenant A's manager,
--     accept the invitation (the admin holds the link) and so set the password that opens A. Here that
--     password opens B's employee and nothing else;
--   - a reset, an invitation or a password change in one tenant touches that tenant only.
-- A person who set the same password in two tenants signs in once and picks the tenant; with different
-- passwords, each password opens its own tenants. The login itself is the employee's phone or email
-- (employees.phone, employees.email, owned by the tenant domain), compared in the canonical form login_key
-- gives: there is no second copy of it to fall out of date when an admin changes a number.
--
-- The lookup before a tenant is known is signin_candidates, a SECURITY DEFINER function in the manner of
-- share_tenant (008): it names the login it looks for in a transaction-local setting, and the owner's
-- policies below show it exactly the employees with that login and their credentials, nothing else.
--
-- Two tables have no tenant_id and no row-level security, on purpose: signin_throttle (failure counters
-- keyed by a hash of a login or of a client address, so that every node agrees and an unknown login is
-- throttled exactly like a known one) and signin_tickets (a signed-in person's short-lived choice of
-- tenants, reachable only by its secret). Neither holds a tenant's data: a ticket lists the tenants whose
-- password the person just proved.

DO $$
BEGIN
  IF (SELECT relowner FROM pg_class WHERE oid = 'employees'::regclass) <> (SELECT oid FROM pg_roles WHERE rolname = current_user) THEN
    RAISE EXCEPTION 'migration 009 must run as the role that owns the tables (%), not as %',
      (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'employees'::regclass), current_user;
  END IF;
END
$$;

-- The canonical form of a login: 'e:' and the lowercased email, or 'p:' and the phone number without
-- spaces, dashes, dots or brackets, with 00 read as + and an 11-digit mainland mobile number (1xxxxxxxxxx)
-- given +86. NULL for an empty value. auth.loginKey computes the same in Go (a test holds the two together).
CREATE FUNCTION login_key(v text) RETURNS text
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  AS $$
DECLARE
  d text;
BEGIN
  IF btrim(v) = '' THEN
    RETURN NULL;
  END IF;
  IF position('@' IN v) > 0 THEN
    RETURN 'e:' || lower(btrim(v));
  END IF;
  d := regexp_replace(v, '[[:space:]().-]', '', 'g');
  IF d LIKE '+%' THEN
    RETURN 'p:' || d;
  ELSIF d LIKE '00%' THEN
    RETURN 'p:+' || substr(d, 3);
  ELSIF d ~ '^1[0-9]{10}$' THEN
    RETURN 'p:+86' || d;
  END IF;
  RETURN 'p:' || d;
END $$;

-- A login names one person within a tenant: two employees of a tenant cannot share a phone number or an
-- email (the tenant domain answers AlreadyExists). Leading with the login, these indexes also serve the
-- lookup across tenants.
CREATE UNIQUE INDEX employees_phone_login_key ON employees (login_key(phone), tenant_id);
CREATE UNIQUE INDEX employees_email_login_key ON employees (login_key(email), tenant_id);

-- An employee's password, as an argon2id hash in the PHC string format ($argon2id$v=19$m=...,t=...,p=...$salt$hash),
-- which carries its own parameters so that sign-in can rehash under new ones.
CREATE TABLE employee_passwords (
  tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  employee_id    uuid NOT NULL,
  password_hash  text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, employee_id),
  CONSTRAINT employee_passwords_employee_fk FOREIGN KEY (tenant_id, employee_id)
    REFERENCES employees (tenant_id, id) ON DELETE CASCADE
);
ALTER TABLE employee_passwords ENABLE ROW LEVEL SECURITY;
ALTER TABLE employee_passwords FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON employee_passwords
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- A one-time invitation to set a password. The code handed out names the tenant and the invitation and
-- carries a secret, stored only as its SHA-256. Sending a new one voids the open one.
CREATE TABLE invitations (
  id           uuid PRIMARY KEY,
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  employee_id  uuid NOT NULL,
  secret_hash  bytea NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  used_at      timestamptz,
  voided_at    timestamptz,
  CONSTRAINT invitations_employee_fk FOREIGN KEY (tenant_id, employee_id)
    REFERENCES employees (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX invitations_open_idx ON invitations (tenant_id, employee_id) WHERE used_at IS NULL AND voided_at IS NULL;
ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invitations
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- What admins see of sign-ins: when, from which device and address, and how it ended. Never a password,
-- and never the login typed (a failed sign-in of an unknown login is recorded nowhere).
CREATE TABLE signin_records (
  id           uuid PRIMARY KEY,
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  employee_id  uuid NOT NULL,
  at           timestamptz NOT NULL,
  result       text NOT NULL CHECK (result IN ('success', 'wrong_password', 'locked', 'disabled', 'tenant_expired')),
  device_id    text NOT NULL DEFAULT '',
  device_name  text NOT NULL DEFAULT '',
  address      text NOT NULL DEFAULT '',
  CONSTRAINT signin_records_employee_fk FOREIGN KEY (tenant_id, employee_id)
    REFERENCES employees (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX signin_records_at_idx ON signin_records (tenant_id, at DESC, id DESC);
CREATE INDEX signin_records_employee_idx ON signin_records (tenant_id, employee_id, at DESC, id DESC);
ALTER TABLE signin_records ENABLE ROW LEVEL SECURITY;
ALTER TABLE signin_records FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON signin_records
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- Failed attempts per key: SHA-256 of a login's canonical form, of a client address, or of an employee (for
-- ChangePassword). An attempt counts as a failure when it starts and is taken back when the password was
-- right, so concurrent guesses cannot all slip in before the first failure is written.
CREATE TABLE signin_throttle (
  key              bytea PRIMARY KEY,
  failures         integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
  last_failure_at  timestamptz
);

-- A person whose password opened several tenants picks one with this ticket: single use, short-lived,
-- bound to the device that signed in. tenant_ids[i] goes with employee_ids[i].
CREATE TABLE signin_tickets (
  secret_hash   bytea PRIMARY KEY,
  tenant_ids    uuid[] NOT NULL,
  employee_ids  uuid[] NOT NULL,
  device_id     text NOT NULL,
  device_name   text NOT NULL DEFAULT '',
  address       text NOT NULL DEFAULT '',
  expires_at    timestamptz NOT NULL,
  CHECK (cardinality(tenant_ids) = cardinality(employee_ids))
);

-- The credentials of the employees, in any tenant, whose phone or email has the given canonical form, at
-- most 10. It reads as the owner: the policies below show the owner, while app.signin_login names a login,
-- the employees with that login and their credentials, and nothing else. The setting is cleared before
-- returning (an error on the way aborts the transaction, which ends it too).
CREATE FUNCTION signin_candidates(p_login text)
  RETURNS TABLE (tenant_id uuid, employee_id uuid, password_hash text)
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
  AS $$
#variable_conflict use_column
BEGIN
  PERFORM set_config('app.signin_login', p_login, true);
  RETURN QUERY
    SELECT c.tenant_id, c.employee_id, c.password_hash
      FROM employees e
      JOIN employee_passwords c ON c.tenant_id = e.tenant_id AND c.employee_id = e.id
     WHERE login_key(e.phone) = p_login OR login_key(e.email) = p_login
     ORDER BY c.tenant_id, c.employee_id
     LIMIT 10;
  PERFORM set_config('app.signin_login', '', true);
END $$;
REVOKE ALL ON FUNCTION signin_candidates(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION signin_candidates(text) TO salesapp_app;

CREATE POLICY signin_lookup ON employees FOR SELECT TO CURRENT_USER
  USING (current_setting('app.signin_login', true) <> ''
         AND current_setting('app.signin_login', true) IN (login_key(phone), login_key(email)));
CREATE POLICY signin_lookup ON employee_passwords FOR SELECT TO CURRENT_USER
  USING (current_setting('app.signin_login', true) <> ''
         AND EXISTS (SELECT FROM employees e WHERE e.tenant_id = employee_passwords.tenant_id AND e.id = employee_passwords.employee_id));

-- Sign-in records are kept 90 days and invitations 30 days past their expiry; counters idle for a day and
-- expired tickets go too. Across tenants, so as the owner: its policies reach exactly those rows.
CREATE FUNCTION purge_signin_data() RETURNS bigint
  LANGUAGE sql SECURITY DEFINER SET search_path = public
  AS $$
    WITH r AS (DELETE FROM signin_records WHERE at < now() - interval '90 days' RETURNING 1),
         i AS (DELETE FROM invitations WHERE expires_at < now() - interval '30 days' RETURNING 1),
         c AS (DELETE FROM signin_throttle WHERE last_failure_at IS NULL OR last_failure_at < now() - interval '1 day' RETURNING 1),
         t AS (DELETE FROM signin_tickets WHERE expires_at < now() RETURNING 1)
    SELECT (SELECT count(*) FROM r) + (SELECT count(*) FROM i) + (SELECT count(*) FROM c) + (SELECT count(*) FROM t)
  $$;
REVOKE ALL ON FUNCTION purge_signin_data() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION purge_signin_data() TO salesapp_app;
CREATE POLICY purge_signin_data_read ON signin_records FOR SELECT TO CURRENT_USER
  USING (at < now() - interval '90 days');
CREATE POLICY purge_signin_data ON signin_records FOR DELETE TO CURRENT_USER
  USING (at < now() - interval '90 days');
CREATE POLICY purge_signin_data_read ON invitations FOR SELECT TO CURRENT_USER
  USING (expires_at < now() - interval '30 days');
CREATE POLICY purge_signin_data ON invitations FOR DELETE TO CURRENT_USER
  USING (expires_at < now() - interval '30 days');
