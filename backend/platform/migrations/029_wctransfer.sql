-- WeCom transfers (issue 16, point 10; issue 17, point 2): when a handover moves customers who are WeCom
-- external contacts of the departing employee, the WeCom side is asked to move them too
-- (externalcontact/transfer_customer while the member is on the job, resigned/transfer_customer after they
-- left), and the outcome WeCom reports (transfer_result) is kept per customer. Written only by the WeCom
-- transfer domain (backend/wecom/transfer), from the handover's transaction and its job.
CREATE TABLE wecom_transfers (
  tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  handover_id      uuid NOT NULL,
  customer_id      uuid NOT NULL,
  external_userid  text NOT NULL,
  handover_userid  text NOT NULL,
  takeover_userid  text NOT NULL,
  -- The member had left (disabled here): WeCom's resigned transfer, which sends the customer no message.
  resigned         boolean NOT NULL,
  -- pending: not asked yet; waiting: WeCom moves the customer within 24 hours unless they refuse; done;
  -- refused (by the customer); limit (the takeover member has as many customers as WeCom allows); failed
  -- (WeCom refused the request, errcode says why); none (WeCom has no record of it).
  status           text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'waiting', 'done', 'refused', 'limit', 'failed', 'none')),
  errcode          integer NOT NULL DEFAULT 0,
  requested_at     timestamptz,
  -- When WeCom moved the customer (or will, while waiting).
  takeover_at      timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, handover_id, customer_id)
);
CREATE INDEX wecom_transfers_open_idx ON wecom_transfers (tenant_id, handover_id) WHERE status IN ('pending', 'waiting');
ALTER TABLE wecom_transfers ENABLE ROW LEVEL SECURITY;
ALTER TABLE wecom_transfers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON wecom_transfers
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON wecom_transfers TO salesapp_app;
