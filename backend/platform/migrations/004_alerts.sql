-- Alerts: each salesperson's gap-free stream of what their customers just did, their push devices, and
-- their alert preferences.

-- The head of each salesperson's stream: alerts are numbered 1, 2, 3... within an epoch, which changes only
-- when a stream is reset (its numbering would otherwise have to restart).
CREATE TABLE alert_streams (
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  employee_id  uuid NOT NULL,
  epoch        uuid NOT NULL,
  head         bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, employee_id)
);
ALTER TABLE alert_streams ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON alert_streams
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- One row per stream entry. An alert that is updated (more views of the same material within minutes)
-- gets a new entry with the same alert_id, so a resuming app sees the update in order; lists show each
-- alert_id once, at its latest entry.
CREATE TABLE alerts (
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  employee_id  uuid NOT NULL,
  seq          bigint NOT NULL,
  alert_id     uuid NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('first_view', 'return', 'long_read', 'forward', 'call_click',
                                             'wechat_click', 'phone_left', 'new_customer', 'view')),
  customer_id  uuid NOT NULL,
  material_id  uuid,
  body         text NOT NULL,
  pushed       boolean NOT NULL DEFAULT false,
  created_at   timestamptz NOT NULL DEFAULT now(),
  read_at      timestamptz,
  PRIMARY KEY (tenant_id, employee_id, seq)
);
CREATE INDEX alerts_merge_idx ON alerts (tenant_id, employee_id, customer_id, created_at DESC);
CREATE INDEX alerts_unread_idx ON alerts (tenant_id, employee_id) WHERE read_at IS NULL;
CREATE INDEX alerts_age_idx ON alerts (created_at);
ALTER TABLE alerts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON alerts
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- What a salesperson wants to hear about, and when not to be woken (minutes of the day in the tenant's
-- time zone; a window may wrap past midnight).
CREATE TABLE alert_prefs (
  tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  employee_id     uuid NOT NULL,
  muted_kinds     text[] NOT NULL DEFAULT '{}',
  quiet_start_min smallint CHECK (quiet_start_min BETWEEN 0 AND 1439),
  quiet_end_min   smallint CHECK (quiet_end_min BETWEEN 0 AND 1439),
  PRIMARY KEY (tenant_id, employee_id)
);
ALTER TABLE alert_prefs ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON alert_prefs
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- Push targets. A token APNs or FCM calls dead is disabled at once and never sent to again.
CREATE TABLE devices (
  id            uuid PRIMARY KEY,
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  employee_id   uuid NOT NULL,
  device_id     text NOT NULL CHECK (length(device_id) BETWEEN 1 AND 128),
  platform      text NOT NULL CHECK (platform IN ('ios', 'android')),
  push_token    text NOT NULL CHECK (length(push_token) BETWEEN 1 AND 4096),
  bundle_id     text NOT NULL DEFAULT '',
  sandbox       boolean NOT NULL DEFAULT false,
  locale        text NOT NULL DEFAULT '',
  -- The app is open in the foreground (its WebSocket says so) until then: no push meanwhile.
  foreground_until timestamptz,
  disabled_at   timestamptz,
  disabled_reason text NOT NULL DEFAULT '',
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT devices_device_key UNIQUE (tenant_id, employee_id, device_id)
);
ALTER TABLE devices ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON devices
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- Alerts are kept 7 days. The purge runs across tenants, so it runs as the owner, past row-level security,
-- and can do nothing but delete old alerts.
CREATE FUNCTION purge_old_alerts() RETURNS bigint
  LANGUAGE sql SECURITY DEFINER SET search_path = public
  AS $$ WITH gone AS (DELETE FROM alerts WHERE created_at < now() - interval '7 days' RETURNING 1)
        SELECT count(*) FROM gone $$;
REVOKE ALL ON FUNCTION purge_old_alerts() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION purge_old_alerts() TO salesapp_app;
