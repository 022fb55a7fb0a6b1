-- Sessions the person can see and end, with an absolute lifetime, and push registrations that belong to
-- a session.
--
-- sessions gains what SessionService.ListSessions shows of each signed-in device (its name, platform and
-- app version as the app reports them, the client's address, when it was last seen; written at sign-in and
-- at each refresh) and ends_at, the session's absolute end: refreshing never extends a session past it
-- (SALESD_SESSION_LIFETIME after sign-in). Sessions signed in before this file end 90 days after it ran.
--
-- devices (push registrations) gains session_id: a registration belongs to the sign-in that made it, and
-- ending that session, by any route, ends its pushes. Registrations from before this file go to the live
-- session on the same device id; those with none are removed (they could only reach a phone nobody is
-- signed in on). registered_at orders an employee's registrations for the cap of 10 (the oldest goes).
--
-- The backfills below read and write every tenant's rows, which forced row-level security (008) hides from
-- the owner running this file. The forcing is lifted for them and put back before the file ends, inside
-- this file's transaction: ALTER TABLE holds its exclusive lock until commit, so no other session ever
-- runs against the tables with it lifted (and the application role is bound by the policies either way).

ALTER TABLE sessions
  ADD COLUMN device_name    text NOT NULL DEFAULT '' CHECK (length(device_name) <= 64),
  ADD COLUMN platform       text NOT NULL DEFAULT '' CHECK (length(platform) <= 16),
  ADD COLUMN app_version    text NOT NULL DEFAULT '' CHECK (length(app_version) <= 32),
  ADD COLUMN client_address text NOT NULL DEFAULT '' CHECK (length(client_address) <= 64),
  ADD COLUMN last_seen_at   timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN ends_at        timestamptz NOT NULL DEFAULT now() + interval '90 days';
-- Every session is issued with its own end from here on.
ALTER TABLE sessions ALTER COLUMN ends_at DROP DEFAULT;

ALTER TABLE devices
  ADD COLUMN session_id    uuid CONSTRAINT devices_session_fk REFERENCES sessions (id) ON DELETE CASCADE,
  ADD COLUMN registered_at timestamptz NOT NULL DEFAULT now();

ALTER TABLE sessions NO FORCE ROW LEVEL SECURITY;
ALTER TABLE devices NO FORCE ROW LEVEL SECURITY;

UPDATE sessions SET last_seen_at = rotated_at;
UPDATE devices d SET registered_at = d.updated_at,
  session_id = (SELECT s.id FROM sessions s
                 WHERE s.tenant_id = d.tenant_id AND s.employee_id = d.employee_id AND s.device_id = d.device_id
                   AND s.revoked_at IS NULL AND s.expires_at > now()
                 ORDER BY s.created_at DESC, s.id DESC LIMIT 1);
DELETE FROM devices WHERE session_id IS NULL;

ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
ALTER TABLE devices FORCE ROW LEVEL SECURITY;

ALTER TABLE devices ALTER COLUMN session_id SET NOT NULL;
-- Ending a session disables its registrations.
CREATE INDEX devices_session_idx ON devices (tenant_id, session_id);
