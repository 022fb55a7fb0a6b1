-- Operators add platform materials with a file (posters, brochures, videos) through OperatorService, not
-- only salesctl (issue 17): the operator's function takes the file's key, which salesd has checked to be a
-- finalized platform upload of the kind's type, and a poster's layout.
DROP FUNCTION operator_add_platform_material(uuid, text, text, text, text, text, text[], text[]);
CREATE FUNCTION operator_add_platform_material(p_id uuid, p_kind text, p_title text, p_summary text,
    p_body_html text, p_text_body text, p_tags text[], p_plans text[], p_file_key text, p_poster_layout jsonb)
  RETURNS void
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
  AS $$
  INSERT INTO materials (id, tier, kind, status, title, summary, body_html, text_body, file_key, poster_layout, tags,
                         plans, published_at)
  VALUES (p_id, 'platform', p_kind, 'published', p_title, p_summary, p_body_html, p_text_body, p_file_key,
          p_poster_layout, p_tags, p_plans, now())
$$;
REVOKE ALL ON FUNCTION operator_add_platform_material(uuid, text, text, text, text, text, text[], text[], text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION operator_add_platform_material(uuid, text, text, text, text, text, text[], text[], text, jsonb) TO salesapp_app;
