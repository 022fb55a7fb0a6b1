-- Our tags to WeCom, through an outbox of our own (replacing migration 034's trigger body, which wrote River's
-- job table directly: River is used through its Go API only). The trigger on customers now records each
-- change of a WeCom contact's tags here, in the same transaction; a River periodic job finds the tenants
-- with changes (wecom_tag_change_tenants) and queues one job per tenant (backend/wecom/contact), which
-- marks the changes on WeCom in order and deletes them.
CREATE TABLE wecom_tag_changes (
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id           bigint GENERATED ALWAYS AS IDENTITY,
  customer_id  uuid NOT NULL,
  added        text[] NOT NULL,
  removed      text[] NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
ALTER TABLE wecom_tag_changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE wecom_tag_changes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON wecom_tag_changes
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
-- The owner reads across tenants for wecom_tag_change_tenants below, which answers tenant ids only.
CREATE POLICY tag_change_scan ON wecom_tag_changes FOR SELECT TO CURRENT_USER USING (true);
GRANT SELECT, INSERT, DELETE ON wecom_tag_changes TO salesapp_app;

CREATE OR REPLACE FUNCTION customers_wecom_tags() RETURNS trigger
LANGUAGE plpgsql SET search_path = public AS $$
DECLARE
  added   text[] := ARRAY(SELECT unnest(NEW.tags) EXCEPT SELECT unnest(OLD.tags));
  removed text[] := ARRAY(SELECT unnest(OLD.tags) EXCEPT SELECT unnest(NEW.tags));
BEGIN
  IF (cardinality(added) = 0 AND cardinality(removed) = 0)
     OR NOT EXISTS (SELECT FROM customer_identities
                    WHERE tenant_id = NEW.tenant_id AND customer_id = NEW.id AND kind = 'external_userid')
     OR NOT EXISTS (SELECT FROM wecom_configs WHERE tenant_id = NEW.tenant_id) THEN
    RETURN NULL;
  END IF;
  INSERT INTO wecom_tag_changes (tenant_id, customer_id, added, removed) VALUES (NEW.tenant_id, NEW.id, added, removed);
  RETURN NULL;
END
$$;

-- wecom_tag_change_tenants lists the tenants with tag changes to mark (at most 1,000 a call).
CREATE FUNCTION wecom_tag_change_tenants() RETURNS SETOF uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$ SELECT DISTINCT tenant_id FROM wecom_tag_changes LIMIT 1000 $$;
REVOKE ALL ON FUNCTION wecom_tag_change_tenants() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wecom_tag_change_tenants() TO salesapp_app;
