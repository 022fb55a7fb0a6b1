-- Platform materials through OperatorService (issue 17, point 4: "platform materials' whole lifecycle"):
-- until now only `salesctl platform-material add`, connected as the table owner, could write them. The
-- application role cannot write rows of no tenant, so operators reach them through these functions, which
-- run as the owner (whose platform_operator policy, migration 008, admits rows of no tenant and only
-- those) and touch platform materials only. OperatorService's authenticator admits operator tokens alone.
-- Withdrawing returns a material to draft: tenants stop seeing it and their devices get tombstones (the
-- sync trigger, 005); publishing it again brings it back. Deleting is for good.

-- operator_add_platform_material publishes a new platform material (articles and moments copy: the kinds
-- without a file; files go through salesctl).
CREATE FUNCTION operator_add_platform_material(p_id uuid, p_kind text, p_title text, p_summary text,
    p_body_html text, p_text_body text, p_tags text[]) RETURNS void
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
  AS $$
  INSERT INTO materials (id, tier, kind, status, title, summary, body_html, text_body, tags, published_at)
  VALUES (p_id, 'platform', p_kind, 'published', p_title, p_summary, p_body_html, p_text_body, p_tags, now())
$$;

-- operator_edit_platform_material changes a platform material's text (NULL arguments leave a column as it
-- is) and answers 1, or 0 when there is no such material.
CREATE FUNCTION operator_edit_platform_material(p_id uuid, p_title text, p_summary text, p_body_html text,
    p_text_body text, p_tags text[]) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
  AS $$
  WITH changed AS (
    UPDATE materials SET
      title = coalesce(p_title, title), summary = coalesce(p_summary, summary),
      body_html = coalesce(p_body_html, body_html), text_body = coalesce(p_text_body, text_body),
      tags = coalesce(p_tags, tags), version = version + 1, updated_at = now()
    WHERE id = p_id AND tier = 'platform' AND deleted_at IS NULL
    RETURNING 1)
  SELECT count(*)::integer FROM changed
$$;

-- operator_publish_platform_material publishes (true) or withdraws (false) a platform material; 0: none.
CREATE FUNCTION operator_publish_platform_material(p_id uuid, p_published boolean) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
  AS $$
  WITH changed AS (
    UPDATE materials SET
      status = CASE WHEN p_published THEN 'published' ELSE 'draft' END,
      published_at = CASE WHEN p_published THEN coalesce(published_at, now()) ELSE published_at END,
      version = version + 1, updated_at = now()
    WHERE id = p_id AND tier = 'platform' AND deleted_at IS NULL
    RETURNING 1)
  SELECT count(*)::integer FROM changed
$$;

-- operator_delete_platform_material deletes a platform material for good; 0: none.
CREATE FUNCTION operator_delete_platform_material(p_id uuid) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
  AS $$
  WITH changed AS (
    UPDATE materials SET deleted_at = now(), version = version + 1, updated_at = now()
    WHERE id = p_id AND tier = 'platform' AND deleted_at IS NULL
    RETURNING 1)
  SELECT count(*)::integer FROM changed
$$;

-- operator_platform_materials lists the platform materials not deleted, newest first.
CREATE FUNCTION operator_platform_materials()
  RETURNS TABLE (id uuid, kind text, status text, title text, summary text, tags text[], created_at timestamptz,
                 updated_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$
  SELECT m.id, m.kind, m.status, m.title, m.summary, m.tags, m.created_at, m.updated_at
  FROM materials m WHERE m.tier = 'platform' AND m.deleted_at IS NULL
  ORDER BY m.created_at DESC, m.id DESC
$$;

REVOKE ALL ON FUNCTION operator_add_platform_material(uuid, text, text, text, text, text, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION operator_edit_platform_material(uuid, text, text, text, text, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION operator_publish_platform_material(uuid, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION operator_delete_platform_material(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION operator_platform_materials() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION operator_add_platform_material(uuid, text, text, text, text, text, text[]) TO salesapp_app;
GRANT EXECUTE ON FUNCTION operator_edit_platform_material(uuid, text, text, text, text, text[]) TO salesapp_app;
GRANT EXECUTE ON FUNCTION operator_publish_platform_material(uuid, boolean) TO salesapp_app;
GRANT EXECUTE ON FUNCTION operator_delete_platform_material(uuid) TO salesapp_app;
GRANT EXECUTE ON FUNCTION operator_platform_materials() TO salesapp_app;
