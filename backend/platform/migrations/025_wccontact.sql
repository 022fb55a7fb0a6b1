-- WeCom external contacts (issue 16, points 6-8): a customer added on WeCom gets a timeline entry
-- ('wecom_added', written by the WeCom contact handler through the customer domain) and their salesperson an
-- alert (added, or deleted by the customer). Channel codes (contact ways) credit the adds their state names.

ALTER TABLE events DROP CONSTRAINT events_kind_check;
ALTER TABLE events ADD CONSTRAINT events_kind_check CHECK (kind IN ('card_view', 'material_view', 'dwell', 'forward',
  'call_click', 'wechat_click', 'phone_left', 'video_progress', 'brochure_page', 'wecom_added'));

ALTER TABLE alerts DROP CONSTRAINT alerts_kind_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_kind_check CHECK (kind IN ('first_view', 'return', 'long_read', 'forward',
  'call_click', 'wechat_click', 'phone_left', 'new_customer', 'view', 'task_assigned', 'task_completed', 'task_cancelled',
  'lead_recycle_warning', 'lead_recycled', 'pool_lead_active', 'wecom_added', 'wecom_deleted'));

-- Channel codes: each a WeCom contact way ("contact me" QR code) with its own state, which comes back on the
-- add event and credits the channel. employee_ids are the members adds go to (one, or several that WeCom
-- rotates among); tags are put on the customers it brings; welcome_text greets them.
CREATE TABLE wecom_channels (
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id            uuid NOT NULL,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
  state         text NOT NULL CHECK (length(state) BETWEEN 1 AND 30),
  config_id     text NOT NULL DEFAULT '',
  qr_code       text NOT NULL DEFAULT '',
  employee_ids  uuid[] NOT NULL CHECK (cardinality(employee_ids) BETWEEN 1 AND 100),
  tags          text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 20),
  welcome_text  text NOT NULL DEFAULT '' CHECK (length(welcome_text) <= 1000),
  created_by    uuid NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT wecom_channels_state_key UNIQUE (tenant_id, state)
);
CREATE INDEX wecom_channels_list_idx ON wecom_channels (tenant_id, created_at DESC, id);
ALTER TABLE wecom_channels ENABLE ROW LEVEL SECURITY;
ALTER TABLE wecom_channels FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON wecom_channels
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON wecom_channels TO salesapp_app;

-- Each customer a channel brought, once (a customer who deletes and adds again is counted once): what the
-- channel's counts of adds, leads and wins are read from (the customer's stage now).
CREATE TABLE wecom_channel_adds (
  tenant_id    uuid NOT NULL,
  channel_id   uuid NOT NULL,
  customer_id  uuid NOT NULL,
  employee_id  uuid,
  added_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, channel_id, customer_id),
  FOREIGN KEY (tenant_id, channel_id) REFERENCES wecom_channels (tenant_id, id) ON DELETE CASCADE
);
ALTER TABLE wecom_channel_adds ENABLE ROW LEVEL SECURITY;
ALTER TABLE wecom_channel_adds FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON wecom_channel_adds
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON wecom_channel_adds TO salesapp_app;
