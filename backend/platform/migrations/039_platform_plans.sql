-- Platform materials published to chosen plans (issue 17, point 4: "publish to all tenants or to chosen
-- plans"). A platform material's plans (NULL: every plan) decide which enterprises see it: row-level
-- security admits a platform row to a tenant transaction only when the tenant's plan is among them, so every
-- listing, the share pages, tasks and sync read the same rule without repeating it.
--
-- Sync: a material for every plan stays in the platform scope (the zero id); one for chosen plans is in the
-- scope of each of those plans (plans.sync_scope), which devices of that plan's enterprises pull next to the
-- platform scope. Changing a material's plans tombstones it in the scopes it left and records it in those it
-- entered. Changing an enterprise's plan moves it to another scope whose older rows its devices never read,
-- so it bumps the enterprise's sync epoch: each device starts over, and drops what the old plan gave it.

ALTER TABLE plans ADD COLUMN sync_scope uuid NOT NULL UNIQUE DEFAULT gen_random_uuid();

ALTER TABLE materials ADD COLUMN plans text[]
  CHECK (plans IS NULL OR (tier = 'platform' AND cardinality(plans) > 0));

-- app_tenant_plan is the plan of the tenant of the transaction (NULL outside one). Policies call it in an
-- uncorrelated subquery, so a statement reads it once.
CREATE FUNCTION app_tenant_plan() RETURNS text LANGUAGE sql STABLE
  AS $$ SELECT t.plan FROM tenants t WHERE t.id = app_tenant_id() $$;

DROP POLICY platform_read ON materials;
CREATE POLICY platform_read ON materials FOR SELECT
  USING (tier = 'platform' AND status = 'published' AND deleted_at IS NULL
         AND (plans IS NULL OR (SELECT app_tenant_plan()) = ANY (plans)));

DROP POLICY platform_read ON sync_changes;
CREATE POLICY platform_read ON sync_changes FOR SELECT
  USING (tenant_id IS NULL AND (scope = '00000000-0000-0000-0000-000000000000'
         OR scope = (SELECT p.sync_scope FROM plans p WHERE p.name = (SELECT app_tenant_plan()))));

DROP POLICY platform_operator ON sync_changes;
CREATE POLICY platform_operator ON sync_changes TO CURRENT_USER
  USING (tenant_id IS NULL)
  WITH CHECK (tenant_id IS NULL AND (scope = '00000000-0000-0000-0000-000000000000'
              OR scope IN (SELECT p.sync_scope FROM plans p)));

-- sync_material_scopes: the scopes a material is in (none once deleted; a platform material for chosen plans
-- is in each of their scopes while published).
CREATE FUNCTION sync_material_scopes(tier text, status text, deleted_at timestamptz, tenant_id uuid, owner_id uuid,
                                     plans text[]) RETURNS SETOF uuid LANGUAGE sql STABLE
  AS $$
  SELECT s.scope FROM (SELECT sync_material_scope(tier, status, deleted_at, tenant_id, owner_id) AS scope) s
   WHERE s.scope IS NOT NULL AND (tier <> 'platform' OR plans IS NULL)
  UNION ALL
  SELECT p.sync_scope FROM plans p
   WHERE tier = 'platform' AND plans IS NOT NULL AND status = 'published' AND deleted_at IS NULL AND p.name = ANY (plans)
$$;

CREATE OR REPLACE FUNCTION sync_materials() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM sync_touch(array_agg(s.scope), 'material', array_agg(o.id), array_agg(o.tenant_id),
                       array_agg(NULL::uuid), array_agg(true), array_agg(NULL::timestamptz))
       FROM old_rows o
      CROSS JOIN LATERAL sync_material_scopes(o.tier, o.status, o.deleted_at, o.tenant_id, o.owner_id, o.plans) AS s (scope)
     HAVING count(*) > 0;
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    -- Left a scope (unpublished, deleted, no longer for that plan).
    PERFORM sync_touch(array_agg(x.scope), 'material', array_agg(x.id), array_agg(x.tenant_id),
                       array_agg(NULL::uuid), array_agg(true), array_agg(NULL::timestamptz))
       FROM (SELECT s.scope, o.id, o.tenant_id
               FROM old_rows o JOIN new_rows n ON n.id = o.id
              CROSS JOIN LATERAL sync_material_scopes(o.tier, o.status, o.deleted_at, o.tenant_id, o.owner_id, o.plans) AS s (scope)
              WHERE s.scope NOT IN (SELECT t.scope FROM sync_material_scopes(n.tier, n.status, n.deleted_at, n.tenant_id,
                                                                             n.owner_id, n.plans) AS t (scope))) x
     HAVING count(*) > 0;
  END IF;
  IF TG_OP = 'INSERT' THEN
    PERFORM sync_touch(array_agg(s.scope), 'material', array_agg(n.id), array_agg(n.tenant_id),
                       array_agg(NULL::uuid), array_agg(false), array_agg(NULL::timestamptz))
       FROM new_rows n
      CROSS JOIN LATERAL sync_material_scopes(n.tier, n.status, n.deleted_at, n.tenant_id, n.owner_id, n.plans) AS s (scope)
     HAVING count(*) > 0;
  ELSIF TG_OP = 'UPDATE' THEN
    -- Changed where it is, or entered a scope.
    PERFORM sync_touch(array_agg(x.scope), 'material', array_agg(x.id), array_agg(x.tenant_id),
                       array_agg(NULL::uuid), array_agg(false), array_agg(NULL::timestamptz))
       FROM (SELECT s.scope, n.id, n.tenant_id
               FROM new_rows n JOIN old_rows o ON o.id = n.id
              CROSS JOIN LATERAL sync_material_scopes(n.tier, n.status, n.deleted_at, n.tenant_id, n.owner_id, n.plans) AS s (scope)
              WHERE (n.tier, n.owner_id, n.kind, n.status, n.reject_reason, n.folder_id, n.title, n.summary, n.body_html,
                     n.text_body, n.file_key, n.image_keys, n.cover_key, n.tags, n.version, n.published_at, n.deleted_at)
                    IS DISTINCT FROM
                    (o.tier, o.owner_id, o.kind, o.status, o.reject_reason, o.folder_id, o.title, o.summary, o.body_html,
                     o.text_body, o.file_key, o.image_keys, o.cover_key, o.tags, o.version, o.published_at, o.deleted_at)
                 OR s.scope NOT IN (SELECT t.scope FROM sync_material_scopes(o.tier, o.status, o.deleted_at, o.tenant_id,
                                                                             o.owner_id, o.plans) AS t (scope))) x
     HAVING count(*) > 0;
  END IF;
  RETURN NULL;
END $$;

-- A new plan moves the enterprise to another plan scope: its devices start over.
CREATE FUNCTION tenants_plan_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.sync_epoch := OLD.sync_epoch + 1;
  RETURN NEW;
END $$;
CREATE TRIGGER tenants_plan_epoch BEFORE UPDATE OF plan ON tenants
  FOR EACH ROW WHEN (OLD.plan IS DISTINCT FROM NEW.plan) EXECUTE FUNCTION tenants_plan_epoch();

-- The operator's functions (036) take the plans (NULL: every plan) when adding and publishing, and list them.
DROP FUNCTION operator_add_platform_material(uuid, text, text, text, text, text, text[]);
CREATE FUNCTION operator_add_platform_material(p_id uuid, p_kind text, p_title text, p_summary text,
    p_body_html text, p_text_body text, p_tags text[], p_plans text[]) RETURNS void
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
  AS $$
  INSERT INTO materials (id, tier, kind, status, title, summary, body_html, text_body, tags, plans, published_at)
  VALUES (p_id, 'platform', p_kind, 'published', p_title, p_summary, p_body_html, p_text_body, p_tags, p_plans, now())
$$;

-- Publishing sets the plans as well (NULL: every plan); withdrawing leaves them.
DROP FUNCTION operator_publish_platform_material(uuid, boolean);
CREATE FUNCTION operator_publish_platform_material(p_id uuid, p_published boolean, p_plans text[]) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
  AS $$
  WITH changed AS (
    UPDATE materials SET
      status = CASE WHEN p_published THEN 'published' ELSE 'draft' END,
      published_at = CASE WHEN p_published THEN coalesce(published_at, now()) ELSE published_at END,
      plans = CASE WHEN p_published THEN p_plans ELSE plans END,
      version = version + 1, updated_at = now()
    WHERE id = p_id AND tier = 'platform' AND deleted_at IS NULL
    RETURNING 1)
  SELECT count(*)::integer FROM changed
$$;

DROP FUNCTION operator_platform_materials();
CREATE FUNCTION operator_platform_materials()
  RETURNS TABLE (id uuid, kind text, status text, title text, summary text, tags text[], plans text[],
                 created_at timestamptz, updated_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$
  SELECT m.id, m.kind, m.status, m.title, m.summary, m.tags, m.plans, m.created_at, m.updated_at
  FROM materials m WHERE m.tier = 'platform' AND m.deleted_at IS NULL
  ORDER BY m.created_at DESC, m.id DESC
$$;

REVOKE ALL ON FUNCTION operator_add_platform_material(uuid, text, text, text, text, text, text[], text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION operator_publish_platform_material(uuid, boolean, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION operator_platform_materials() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION operator_add_platform_material(uuid, text, text, text, text, text, text[], text[]) TO salesapp_app;
GRANT EXECUTE ON FUNCTION operator_publish_platform_material(uuid, boolean, text[]) TO salesapp_app;
GRANT EXECUTE ON FUNCTION operator_platform_materials() TO salesapp_app;
