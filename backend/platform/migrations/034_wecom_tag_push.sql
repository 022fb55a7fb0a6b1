-- Our tags to WeCom (issue 16, point 9: the corp tag library "synced both ways"). Whenever a customer's
-- tags change, however they change (staff, offline sync, a reading rule, a channel's auto-tags, a merge),
-- and the customer is a WeCom external contact of a tenant with WeCom configured, the change is queued
-- as a River job in the same transaction (queue wecom, kind wecom_mark_tags, handled by
-- backend/wecom/contact): it marks on WeCom, as the customer's owner, the added and removed tags that the
-- corp tag library knows by name. Tags the library lacks stay ours. The job row is written as River's own
-- clients write one (args, kind, queue, max_attempts; the rest River's defaults).
CREATE FUNCTION customers_wecom_tags() RETURNS trigger
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
  INSERT INTO river_job (args, kind, queue, max_attempts)
  VALUES (jsonb_build_object('tenant_id', NEW.tenant_id, 'customer_id', NEW.id,
                             'added', to_jsonb(added), 'removed', to_jsonb(removed)),
          'wecom_mark_tags', 'wecom', 10);
  RETURN NULL;
END
$$;
CREATE TRIGGER customers_wecom_tags AFTER UPDATE OF tags ON customers
  FOR EACH ROW WHEN (OLD.tags IS DISTINCT FROM NEW.tags) EXECUTE FUNCTION customers_wecom_tags();
