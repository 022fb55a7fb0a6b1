-- Follow-up reminders (issue 15, point 4: "a reminder push at each follow-up's next_at, once, outside quiet
-- hours"). A note's author is alerted (stream, push, sync) when its next_at comes; during their quiet hours
-- the reminder waits until the hours end instead of being dropped. follow_up_reminders records each
-- (note, next_at) reminded, so a reminder goes out once, and a new next_at brings a new one. It is kept
-- apart from customer_notes so that recording a reminder does not touch the note (and its sync row).
CREATE TABLE follow_up_reminders (
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  note_id      uuid NOT NULL,
  next_at      timestamptz NOT NULL,
  reminded_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, note_id, next_at)
);
ALTER TABLE follow_up_reminders ENABLE ROW LEVEL SECURITY;
ALTER TABLE follow_up_reminders FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON follow_up_reminders
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, DELETE ON follow_up_reminders TO salesapp_app;

-- The reminder job's walk: notes by next_at, across tenants (follow_up_due_tenants) and per tenant.
CREATE INDEX customer_notes_next_at_idx ON customer_notes (next_at) INCLUDE (tenant_id) WHERE next_at IS NOT NULL;

-- follow_up_due_tenants lists the tenants with follow-ups due in (p_since, p_now] and not yet reminded,
-- across tenants, in the manner of pool_due_tenants (021): the owner may read notes with a next_at and the
-- reminders, and the function returns only tenant ids. The job then works each tenant in a tenant
-- transaction.
CREATE FUNCTION follow_up_due_tenants(p_since timestamptz, p_now timestamptz) RETURNS SETOF uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$
  SELECT DISTINCT n.tenant_id FROM customer_notes n
   WHERE n.next_at IS NOT NULL AND n.next_at > p_since AND n.next_at <= p_now
     AND NOT EXISTS (SELECT 1 FROM follow_up_reminders r
                     WHERE r.tenant_id = n.tenant_id AND r.note_id = n.id AND r.next_at = n.next_at)
$$;
CREATE POLICY follow_up_due_read ON customer_notes FOR SELECT TO CURRENT_USER USING (next_at IS NOT NULL);
CREATE POLICY follow_up_due_read ON follow_up_reminders FOR SELECT TO CURRENT_USER USING (true);
REVOKE ALL ON FUNCTION follow_up_due_tenants(timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION follow_up_due_tenants(timestamptz, timestamptz) TO salesapp_app;

ALTER TABLE alerts DROP CONSTRAINT alerts_kind_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_kind_check CHECK (kind IN ('first_view', 'return', 'long_read', 'forward',
  'call_click', 'wechat_click', 'phone_left', 'new_customer', 'view', 'task_assigned', 'task_completed', 'task_cancelled',
  'lead_recycle_warning', 'lead_recycled', 'pool_lead_active', 'wecom_added', 'wecom_deleted', 'follow_up_due'));
