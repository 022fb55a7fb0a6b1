-- Delta sync reads: the change index in (xid, seq) order, and the synced entities by id.
-- name: Snapshot :one
-- The fence of this transaction's snapshot: every transaction with a lower id has finished.
SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin,
       (SELECT sync_epoch FROM tenants WHERE id = @tenant_id) AS epoch,
       (SELECT pruned_xid::text::bigint FROM sync_horizon) AS pruned_xid;

-- name: Changes :many
-- The next rows of the three scopes after a position, merged in (xid, seq) order. Each scope is its own
-- index range read in order with the same limit, so a page costs its size, not the scope's.
SELECT u.kind, u.entity_id, u.tombstone, u.xid, u.seq FROM (
  (SELECT c.kind, c.entity_id, c.tombstone, c.xid::text::bigint AS xid, c.seq FROM sync_changes c
    WHERE c.scope = @own_scope AND (c.xid, c.seq) > (sync_xid(@after_xid::bigint), @after_seq::bigint)
      AND (c.expires_at IS NULL OR c.expires_at > now())
    ORDER BY c.xid, c.seq LIMIT @max_rows)
  UNION ALL
  (SELECT c.kind, c.entity_id, c.tombstone, c.xid::text::bigint AS xid, c.seq FROM sync_changes c
    WHERE c.scope = @tenant_scope AND (c.xid, c.seq) > (sync_xid(@after_xid::bigint), @after_seq::bigint)
      AND (c.expires_at IS NULL OR c.expires_at > now())
    ORDER BY c.xid, c.seq LIMIT @max_rows)
  UNION ALL
  (SELECT c.kind, c.entity_id, c.tombstone, c.xid::text::bigint AS xid, c.seq FROM sync_changes c
    WHERE c.scope = '00000000-0000-0000-0000-000000000000'::uuid AND c.tenant_id IS NULL
      AND (c.xid, c.seq) > (sync_xid(@after_xid::bigint), @after_seq::bigint)
    ORDER BY c.xid, c.seq LIMIT @max_rows)
) u ORDER BY u.xid, u.seq LIMIT @max_rows;

-- name: DeviceMark :one
SELECT last_mutation_id FROM sync_devices
WHERE tenant_id = @tenant_id AND employee_id = @employee_id AND device_id = @device_id;

-- name: LockDevice :one
-- Makes the device known and locks it: one push per device at a time.
INSERT INTO sync_devices AS d (tenant_id, employee_id, device_id, schema_version)
VALUES (@tenant_id, @employee_id, @device_id, @schema_version)
ON CONFLICT (tenant_id, employee_id, device_id) DO UPDATE SET schema_version = excluded.schema_version, updated_at = now()
RETURNING d.last_mutation_id;

-- name: SetDeviceMark :exec
UPDATE sync_devices SET last_mutation_id = @last_mutation_id, updated_at = now()
WHERE tenant_id = @tenant_id AND employee_id = @employee_id AND device_id = @device_id;

-- name: RecordMutations :exec
-- (COPY is not allowed under row-level security.)
INSERT INTO sync_mutations (tenant_id, employee_id, device_id, mutation_id, outcome, code, field, message, op_digest)
SELECT @tenant_id, @employee_id, @device_id, unnest(@mutation_ids::bigint[]), unnest(@outcomes::text[]),
       unnest(@codes::text[]), unnest(@fields::text[]), unnest(@messages::text[]), unnest(@op_digests::bytea[]);

-- name: RecordedMutations :many
SELECT mutation_id, outcome, code, field, message, op_digest FROM sync_mutations
WHERE tenant_id = @tenant_id AND employee_id = @employee_id AND device_id = @device_id
  AND mutation_id BETWEEN @from_id AND @to_id;

-- name: Customers :many
SELECT id, display_name, avatar_url, phone, stage, source_channel, remark, tags, views, dwell_ms, forwards,
       call_clicks, wechat_clicks, intent_score, first_seen_at, last_active_at
FROM customers WHERE tenant_id = @tenant_id AND id = ANY (@ids::uuid[]) AND owner_id = @owner_id AND merged_into IS NULL;

-- name: TimelineEntries :many
SELECT e.id, e.customer_id, e.kind, e.material_id, e.share_id, e.occurred_at, e.dwell_ms, e.value
FROM events e WHERE e.tenant_id = @tenant_id AND e.id = ANY (@ids::uuid[]);

-- name: Notes :many
SELECT id, customer_id, author_id, kind, body, next_at, created_at, updated_at
FROM customer_notes WHERE tenant_id = @tenant_id AND id = ANY (@ids::uuid[]);

-- name: Cards :many
SELECT employee_id, display_name, title, phone, wechat_id, email, avatar_key, bio, photo_keys, intro_video_key,
       featured_material_ids, version, updated_at
FROM cards WHERE tenant_id = @tenant_id AND employee_id = ANY (@ids::uuid[]);

-- name: Alerts :many
SELECT DISTINCT ON (alert_id) alert_id, seq, kind, customer_id, material_id, body, created_at, read_at
FROM alerts WHERE tenant_id = @tenant_id AND employee_id = @employee_id AND alert_id = ANY (@ids::uuid[])
ORDER BY alert_id, seq DESC;

-- name: Materials :many
SELECT id, tier, kind, status, reject_reason, folder_id, title, summary, body_html, text_body, file_key, image_keys,
       cover_key, tags, version, published_at
FROM materials WHERE id = ANY (@ids::uuid[]) AND deleted_at IS NULL;

-- name: Folders :many
SELECT id, tier, name FROM material_folders WHERE tenant_id = @tenant_id AND id = ANY (@ids::uuid[]);
