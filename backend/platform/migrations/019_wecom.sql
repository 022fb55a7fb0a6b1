-- WeCom bridge (issue 16): each tenant's WeCom configuration, its secrets sealed (platform/sealed), and the
-- callbacks WeCom sent, stored before they are acknowledged and processed by a River job.

-- One per tenant. The secrets are sealed values ("v1:<key id>:..."), bound to the tenant and the column;
-- seal_key is the key they are all sealed under (they are resealed together), so the hourly rewrap finds
-- the rows an older key sealed without opening anything.
CREATE TABLE wecom_configs (
  tenant_id         uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  corp_id           text NOT NULL CHECK (corp_id ~ '^[A-Za-z0-9]{1,64}$'),
  agent_id          bigint NOT NULL CHECK (agent_id > 0),
  agent_secret      text NOT NULL DEFAULT '',
  contact_secret    text NOT NULL DEFAULT '',
  callback_token    text NOT NULL DEFAULT '',
  encoding_aes_key  text NOT NULL DEFAULT '',
  seal_key          text NOT NULL,
  updated_at        timestamptz NOT NULL DEFAULT now(),
  -- NULL: the platform (salesctl, the rewrap job).
  updated_by        uuid
);
ALTER TABLE wecom_configs ENABLE ROW LEVEL SECURITY;
ALTER TABLE wecom_configs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON wecom_configs
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- wecom_stale_seals lists the tenants whose secrets are sealed under another key than p_key, across
-- tenants. The owner may see those rows' tenant ids and key names only through this function (the
-- setting names the current key while it reads); it never returns a secret.
CREATE FUNCTION wecom_stale_seals(p_key text) RETURNS SETOF uuid
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public
  AS $$
BEGIN
  PERFORM set_config('app.wecom_seal_key', p_key, true);
  RETURN QUERY SELECT tenant_id FROM wecom_configs WHERE seal_key <> p_key ORDER BY tenant_id LIMIT 1000;
  PERFORM set_config('app.wecom_seal_key', '', true);
END $$;
REVOKE ALL ON FUNCTION wecom_stale_seals(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wecom_stale_seals(text) TO salesapp_app;
CREATE POLICY wecom_stale_seals_scan ON wecom_configs FOR SELECT TO CURRENT_USER
  USING (seal_key <> NULLIF(current_setting('app.wecom_seal_key', true), ''));

-- Every callback WeCom sent and we acknowledged, once per dedup_key (WeCom retries a callback it got no
-- "success" for, up to three times).
CREATE TABLE wecom_events (
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id            uuid NOT NULL,
  dedup_key     text NOT NULL CHECK (length(dedup_key) BETWEEN 1 AND 512),
  msg_type      text NOT NULL DEFAULT '',
  event         text NOT NULL DEFAULT '',
  change_type   text NOT NULL DEFAULT '',
  -- The decrypted message as WeCom sent it.
  xml           text NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed', 'ignored')),
  attempts      integer NOT NULL DEFAULT 0,
  last_error    text NOT NULL DEFAULT '',
  processed_at  timestamptz,
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT wecom_events_dedup UNIQUE (tenant_id, dedup_key)
);
-- ListEvents: newest first, optionally one status.
CREATE INDEX wecom_events_list_idx ON wecom_events (tenant_id, received_at DESC, id DESC);
CREATE INDEX wecom_events_status_idx ON wecom_events (tenant_id, status, received_at DESC, id DESC);
ALTER TABLE wecom_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE wecom_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON wecom_events
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
