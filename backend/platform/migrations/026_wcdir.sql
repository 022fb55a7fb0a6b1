-- WeCom directory (issue 16, point 4): departments become teams and members employees, kept in step by a
-- full sync (on connect and on demand) and by change_contact callbacks. A team made from a department
-- carries its id; a member who leaves WeCom is disabled and keeps their customers until an admin hands
-- them over (an employee disabled while owning customers is what "awaiting handover" means).

ALTER TABLE teams ADD COLUMN wecom_dept_id bigint CHECK (wecom_dept_id > 0);
CREATE UNIQUE INDEX teams_wecom_dept_key ON teams (tenant_id, wecom_dept_id) WHERE wecom_dept_id IS NOT NULL;

-- The last full sync of each tenant's directory and how it went, for the admin's status screen.
CREATE TABLE wecom_directory_syncs (
  tenant_id    uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  started_at   timestamptz NOT NULL,
  finished_at  timestamptz,
  -- Counts of what the sync did (teams and employees created, updated, disabled; members left out for
  -- want of a seat; disabled employees who still own customers).
  result       jsonb NOT NULL DEFAULT '{}',
  error        text NOT NULL DEFAULT '' CHECK (length(error) <= 1000)
);
ALTER TABLE wecom_directory_syncs ENABLE ROW LEVEL SECURITY;
ALTER TABLE wecom_directory_syncs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON wecom_directory_syncs
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON wecom_directory_syncs TO salesapp_app;
