-- A channel's welcome message may carry a mini-program card instead of a link card (issue 16, point 8): the
-- platform's mini-program opens the salesperson's share of the material or card. Its cover is an image
-- uploaded to WeCom as temporary media, which works three days: wecom_media keeps the media id of each
-- object uploaded, per tenant (media ids are the corp's), so a busy channel uploads its cover once in
-- that time, not once per customer.
ALTER TABLE wecom_channels ADD COLUMN welcome_mini_program boolean NOT NULL DEFAULT false;

CREATE TABLE wecom_media (
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  object_key   text NOT NULL,
  media_id     text NOT NULL,
  uploaded_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, object_key)
);
ALTER TABLE wecom_media ENABLE ROW LEVEL SECURITY;
ALTER TABLE wecom_media FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON wecom_media
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON wecom_media TO salesapp_app;
