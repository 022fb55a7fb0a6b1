-- A resent mutation is answered from the record of its outcome. A different change sent under an id
-- already used means the device id belongs to another installation (a fresh install reusing it, a store
-- restored from a backup): answering it "applied" would lose it silently. Each outcome now keeps a digest
-- of the change it answered, and a resend that does not match is refused. NULL for outcomes recorded
-- before; those cannot be checked.
ALTER TABLE sync_mutations ADD COLUMN op_digest bytea;

-- sync_ingested_rows runs in every ingest batch: as plpgsql its plan is cached, where a LANGUAGE sql
-- function that is not inlined is planned on every call (005's sync_touch is plpgsql for the same reason).
CREATE OR REPLACE FUNCTION sync_ingested_rows(p_tenant uuid, p_scopes uuid[], p_kinds text[], p_ids uuid[],
                                              p_parents uuid[], p_occurred timestamptz[]) RETURNS void
  LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO sync_changes AS s (scope, kind, entity_id, tenant_id, parent_id, tombstone, expires_at)
  SELECT x.scope, x.kind, x.id, p_tenant, NULLIF(x.parent, '00000000-0000-0000-0000-000000000000'), false,
         CASE WHEN x.kind = 'timeline' THEN x.occurred + interval '90 days' END
    FROM unnest(p_scopes, p_kinds, p_ids, p_parents, p_occurred) AS x (scope, kind, id, parent, occurred)
  ON CONFLICT (scope, kind, entity_id) DO UPDATE
    SET xid = pg_current_xact_id(), seq = nextval('sync_seq'), tenant_id = excluded.tenant_id,
        parent_id = excluded.parent_id, tombstone = false, expires_at = excluded.expires_at, changed_at = now();
END $$;
