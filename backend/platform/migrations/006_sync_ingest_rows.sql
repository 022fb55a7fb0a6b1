-- The tracking ingest records its sync changes from what it already knows, without reading customers and
-- events again: it holds the batch's customers locked (so their owners cannot change under it), and it has
-- each entry's customer and time. sync_ingested looked all of that up a second time, a third of the
-- ingest's database time on single-event beacons.

-- One row per (scope, kind, id), as the arrays give them (the caller sends each key once): customers
-- (parent the nil uuid, stored as NULL) and timeline entries (expiring 90 days after they happened, as
-- the event triggers' do).
CREATE FUNCTION sync_ingested_rows(p_tenant uuid, p_scopes uuid[], p_kinds text[], p_ids uuid[],
                                   p_parents uuid[], p_occurred timestamptz[]) RETURNS void
  LANGUAGE sql AS $$
  INSERT INTO sync_changes AS s (scope, kind, entity_id, tenant_id, parent_id, tombstone, expires_at)
  SELECT x.scope, x.kind, x.id, p_tenant, NULLIF(x.parent, '00000000-0000-0000-0000-000000000000'), false,
         CASE WHEN x.kind = 'timeline' THEN x.occurred + interval '90 days' END
    FROM unnest(p_scopes, p_kinds, p_ids, p_parents, p_occurred) AS x (scope, kind, id, parent, occurred)
  ON CONFLICT (scope, kind, entity_id) DO UPDATE
    SET xid = pg_current_xact_id(), seq = nextval('sync_seq'), tenant_id = excluded.tenant_id,
        parent_id = excluded.parent_id, tombstone = false, expires_at = excluded.expires_at, changed_at = now();
$$;

DROP FUNCTION sync_ingested(uuid, uuid[], uuid[]);
