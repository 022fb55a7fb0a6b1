-- Import of a tenant's existing WeCom external contacts (issue 16, point 6): when a tenant connects WeCom,
-- the customers its members already have on WeCom become customers here, read a page at a time through
-- externalcontact/batch/get_by_user. One row per tenant holds where the import stands, written in the
-- transaction that applies each page, so an import stopped by a crash or a deploy resumes at the page
-- after the last one applied and applies no page twice. Written only by backend/wecom/contact.
CREATE TABLE wecom_contact_imports (
  tenant_id    uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  started_at   timestamptz NOT NULL,
  finished_at  timestamptz,
  -- The members (WeCom userids) of the chunk being read (at most 100, batch/get_by_user's limit), sorted;
  -- empty between chunks. The next chunk starts after the last member of the previous one.
  chunk        text[] NOT NULL DEFAULT '{}',
  after_userid text NOT NULL DEFAULT '',
  -- WeCom's cursor of the next page of the chunk ('' for its first).
  cursor       text NOT NULL DEFAULT '' CHECK (length(cursor) <= 1000),
  pages        integer NOT NULL DEFAULT 0,
  -- Contacts applied, customers made for them, and contacts who joined a customer already known.
  contacts     integer NOT NULL DEFAULT 0,
  created      integer NOT NULL DEFAULT 0,
  merged       integer NOT NULL DEFAULT 0,
  error        text NOT NULL DEFAULT '' CHECK (length(error) <= 1000)
);
ALTER TABLE wecom_contact_imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE wecom_contact_imports FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON wecom_contact_imports
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON wecom_contact_imports TO salesapp_app;
