-- Finalized uploads that nothing references go (issue 13, point 7: the storage quota charges what a tenant
-- keeps). An upload is due a check (check_at) a day after it is finalized, and a day after a card, a
-- material or the company profile stops referencing it; the hourly sweep (upload.DeleteUnreferenced) takes
-- the due rows, forgets those nothing references and queues their objects' deletion, and clears the check of
-- the rest. A referenced upload is never checked again until a reference to it is dropped. The day's grace
-- lets an app finalize a file and attach it a while later, and lets a page cached with an old avatar still
-- show it.

-- When a check falls due from now: the one place the grace is stated.
CREATE FUNCTION uploads_check_after() RETURNS timestamptz LANGUAGE sql STABLE
  AS $$ SELECT now() + interval '24 hours' $$;

ALTER TABLE uploads ADD COLUMN check_at timestamptz;
-- Uploads finalized before this migration are each checked once. Forced row-level security (008) hides
-- every tenant's rows from the owner running this file: it is lifted for the update and put back in this
-- file's transaction, as 010 does (ALTER TABLE holds its lock until commit).
ALTER TABLE uploads NO FORCE ROW LEVEL SECURITY;
UPDATE uploads SET check_at = uploads_check_after();
ALTER TABLE uploads FORCE ROW LEVEL SECURITY;
ALTER TABLE uploads ALTER COLUMN check_at SET DEFAULT uploads_check_after();
CREATE INDEX uploads_check_idx ON uploads (tenant_id, check_at) WHERE check_at IS NOT NULL;

-- uploads_unreferenced: of p_keys, those no live material, card or company profile of the tenant references.
-- The one statement of what counts as a reference: material.Delete and the sweep both use it (through
-- uploads_forget_unreferenced). One pass over the tenant's materials and cards, whatever the number of keys.
CREATE FUNCTION uploads_unreferenced(p_tenant uuid, p_keys text[]) RETURNS SETOF text LANGUAGE sql STABLE
  AS $$
  SELECT k FROM unnest(p_keys) AS k
  EXCEPT
  (SELECT unnest(m.image_keys || ARRAY[m.file_key, m.cover_key]) FROM materials m
    WHERE m.tenant_id = p_tenant AND m.deleted_at IS NULL
   UNION ALL
   SELECT unnest(c.photo_keys || ARRAY[c.avatar_key, c.intro_video_key]) FROM cards c WHERE c.tenant_id = p_tenant
   UNION ALL
   SELECT cp.logo_key FROM company_profiles cp WHERE cp.tenant_id = p_tenant)
$$;

-- uploads_forget_unreferenced deletes the uploads among p_keys that nothing references and returns their
-- keys and thumbnails' keys (for the caller to queue their objects' deletion in the same transaction). It
-- locks the rows first and only then looks for references, in a statement of its own: upload.Require locks
-- the row it accepts (FOR KEY SHARE) until the referencing write commits, so an upload being attached
-- either waits for this to finish (and is then refused as not finalized) or is seen referenced here.
CREATE FUNCTION uploads_forget_unreferenced(p_tenant uuid, p_keys text[]) RETURNS TABLE (object_key text, thumb_key text)
  LANGUAGE plpgsql AS $$
BEGIN
  PERFORM FROM uploads u WHERE u.tenant_id = p_tenant AND u.object_key = ANY (p_keys) ORDER BY u.object_key FOR UPDATE OF u;
  RETURN QUERY
    DELETE FROM uploads u
     WHERE u.tenant_id = p_tenant AND u.object_key IN (SELECT uploads_unreferenced(p_tenant, p_keys))
    RETURNING u.object_key, u.thumb_key;
END $$;

-- uploads_dropped schedules a check of the keys in p_old that are not in p_new (references just dropped), a
-- day from now (also when one was due sooner: the day's grace runs from the drop).
CREATE FUNCTION uploads_dropped(p_tenant uuid, p_old text[], p_new text[]) RETURNS void LANGUAGE sql
  AS $$
  UPDATE uploads SET check_at = uploads_check_after()
   WHERE tenant_id = p_tenant
     AND object_key IN (SELECT unnest(p_old) EXCEPT SELECT unnest(p_new))
$$;

CREATE FUNCTION cards_uploads_dropped() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM uploads_dropped(OLD.tenant_id, OLD.photo_keys || ARRAY[OLD.avatar_key, OLD.intro_video_key],
    CASE WHEN TG_OP = 'DELETE' THEN '{}'::text[] ELSE NEW.photo_keys || ARRAY[NEW.avatar_key, NEW.intro_video_key] END);
  RETURN NULL;
END $$;
CREATE TRIGGER cards_uploads_upd AFTER UPDATE ON cards FOR EACH ROW
  WHEN ((OLD.photo_keys, OLD.avatar_key, OLD.intro_video_key) IS DISTINCT FROM (NEW.photo_keys, NEW.avatar_key, NEW.intro_video_key))
  EXECUTE FUNCTION cards_uploads_dropped();
CREATE TRIGGER cards_uploads_del AFTER DELETE ON cards FOR EACH ROW EXECUTE FUNCTION cards_uploads_dropped();

-- A material's keys are dropped when its content changes them or it is deleted (material.Delete forgets
-- what nothing else references at once; this covers the rest).
CREATE FUNCTION materials_uploads_dropped() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.tenant_id IS NULL OR OLD.deleted_at IS NOT NULL THEN
    RETURN NULL;
  END IF;
  PERFORM uploads_dropped(OLD.tenant_id, OLD.image_keys || ARRAY[OLD.file_key, OLD.cover_key],
    CASE WHEN TG_OP = 'DELETE' OR NEW.deleted_at IS NOT NULL THEN '{}'::text[]
         ELSE NEW.image_keys || ARRAY[NEW.file_key, NEW.cover_key] END);
  RETURN NULL;
END $$;
CREATE TRIGGER materials_uploads_upd AFTER UPDATE ON materials FOR EACH ROW
  WHEN ((OLD.image_keys, OLD.file_key, OLD.cover_key, OLD.deleted_at) IS DISTINCT FROM (NEW.image_keys, NEW.file_key, NEW.cover_key, NEW.deleted_at))
  EXECUTE FUNCTION materials_uploads_dropped();
CREATE TRIGGER materials_uploads_del AFTER DELETE ON materials FOR EACH ROW EXECUTE FUNCTION materials_uploads_dropped();

CREATE FUNCTION company_profiles_uploads_dropped() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM uploads_dropped(OLD.tenant_id, ARRAY[OLD.logo_key],
    CASE WHEN TG_OP = 'DELETE' THEN '{}'::text[] ELSE ARRAY[NEW.logo_key] END);
  RETURN NULL;
END $$;
CREATE TRIGGER company_profiles_uploads_upd AFTER UPDATE ON company_profiles FOR EACH ROW
  WHEN (OLD.logo_key IS DISTINCT FROM NEW.logo_key)
  EXECUTE FUNCTION company_profiles_uploads_dropped();
CREATE TRIGGER company_profiles_uploads_del AFTER DELETE ON company_profiles FOR EACH ROW
  EXECUTE FUNCTION company_profiles_uploads_dropped();

-- upload_check_tenants lists the tenants with uploads due a check by p_now, across tenants, in the manner
-- of pool_due_tenants (021): the owner may read uploads with a check scheduled and nothing else, and the
-- function returns only their tenants. The sweep then works each tenant in a tenant transaction.
CREATE FUNCTION upload_check_tenants(p_now timestamptz) RETURNS SETOF uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$ SELECT DISTINCT tenant_id FROM uploads WHERE check_at IS NOT NULL AND check_at <= p_now $$;
CREATE POLICY upload_check_tenants_read ON uploads FOR SELECT TO CURRENT_USER USING (check_at IS NOT NULL);
REVOKE ALL ON FUNCTION upload_check_tenants(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION upload_check_tenants(timestamptz) TO salesapp_app;
