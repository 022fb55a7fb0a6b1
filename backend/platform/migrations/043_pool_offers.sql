-- Hot leads offered (issue 17, point 1: "where the pool says so, offers itself to the salespeople who may
-- claim it ('a hot lead is waiting'), first come first served"). A pool with offer_hot_leads tells the
-- salespeople who may claim from it, beside its managers, when a lead waiting in it reads again
-- (pool_lead_offer); the first to claim it has it, as any claim.
ALTER TABLE pools ADD COLUMN offer_hot_leads boolean NOT NULL DEFAULT false;

ALTER TABLE alerts DROP CONSTRAINT alerts_kind_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_kind_check CHECK (kind IN ('first_view', 'return', 'long_read', 'forward',
  'call_click', 'wechat_click', 'phone_left', 'new_customer', 'view', 'task_assigned', 'task_completed', 'task_cancelled',
  'lead_recycle_warning', 'lead_recycled', 'pool_lead_active', 'wecom_added', 'wecom_deleted', 'follow_up_due',
  'pool_lead_offer'));
