-- The WeCom corp tag library, both ways (issue 16, point 9): our copy of each tenant's library (tag id,
-- group, name), so that when WeCom says a tag changed (change_external_tag) or a read of the library finds
-- it changed, we know the name it had. A tag renamed in WeCom is renamed on the customers who are WeCom
-- contacts; a tag deleted there is taken off them (WeCom took it off every contact). Customers who are not
-- contacts keep their tags: there the names are ours.
CREATE TABLE wecom_corp_tags (
  tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  tag_id      text NOT NULL CHECK (length(tag_id) BETWEEN 1 AND 128),
  group_id    text NOT NULL CHECK (length(group_id) <= 128),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  PRIMARY KEY (tenant_id, tag_id)
);
ALTER TABLE wecom_corp_tags ENABLE ROW LEVEL SECURITY;
ALTER TABLE wecom_corp_tags FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON wecom_corp_tags
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON wecom_corp_tags TO salesapp_app;

-- A change of tags that came from WeCom (the library's renames and deletions) is not sent back to WeCom:
-- the transaction says so with the local setting app.wecom_tags_from_wecom.
CREATE OR REPLACE FUNCTION customers_wecom_tags() RETURNS trigger
LANGUAGE plpgsql SET search_path = public AS $$
DECLARE
  added   text[] := ARRAY(SELECT unnest(NEW.tags) EXCEPT SELECT unnest(OLD.tags));
  removed text[] := ARRAY(SELECT unnest(OLD.tags) EXCEPT SELECT unnest(NEW.tags));
BEGIN
  IF (cardinality(added) = 0 AND cardinality(removed) = 0)
     OR current_setting('app.wecom_tags_from_wecom', true) = 'on'
     OR NOT EXISTS (SELECT FROM customer_identities
                    WHERE tenant_id = NEW.tenant_id AND customer_id = NEW.id AND kind = 'external_userid')
     OR NOT EXISTS (SELECT FROM wecom_configs WHERE tenant_id = NEW.tenant_id) THEN
    RETURN NULL;
  END IF;
  INSERT INTO wecom_tag_changes (tenant_id, customer_id, added, removed) VALUES (NEW.tenant_id, NEW.id, added, removed);
  RETURN NULL;
END
$$;
