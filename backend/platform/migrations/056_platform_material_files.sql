-- A platform material the operator deletes takes its objects with it: its file, cover and images, unless
-- another platform material not deleted names the same key (an operator may use one upload twice). The
-- function now answers those keys beside the count; OperatorService queues their deletion in the same
-- transaction, as a tenant's material deletion does. Platform keys are the operator's uploads
-- (media.PlatformKey): no tenant's material can name one, and the owner's platform_operator policy (008)
-- shows every platform material, published or not.
DROP FUNCTION operator_delete_platform_material(uuid);

CREATE FUNCTION operator_delete_platform_material(p_id uuid) RETURNS TABLE (changed integer, object_keys text[])
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
  AS $$
  WITH gone AS (
    UPDATE materials SET deleted_at = now(), version = version + 1, updated_at = now()
    WHERE id = p_id AND tier = 'platform' AND deleted_at IS NULL
    RETURNING file_key, cover_key, image_keys),
  keys AS (
    SELECT DISTINCT k.key
    FROM gone g CROSS JOIN LATERAL unnest(array[g.file_key, g.cover_key] || g.image_keys) AS k(key)
    WHERE k.key <> ''
      AND NOT EXISTS (SELECT FROM materials o
                      WHERE o.tier = 'platform' AND o.id <> p_id AND o.deleted_at IS NULL
                        AND (o.file_key = k.key OR o.cover_key = k.key OR k.key = ANY (o.image_keys))))
  SELECT (SELECT count(*)::integer FROM gone), coalesce((SELECT array_agg(key ORDER BY key) FROM keys), '{}')
$$;

REVOKE ALL ON FUNCTION operator_delete_platform_material(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION operator_delete_platform_material(uuid) TO salesapp_app;
