-- Delta sync reads: the change index in (xid, seq) order, and the synced entities by id.
-- name: Snapshot :one
-- What this transaction's snapshot saw of the others: every transaction below xmin had finished; of those
-- from xmin up to xmax, the ones in xip were still in progress (their rows invisible) and the rest had
-- finished; none from xmax up is visible. In xid8, which never wraps around, as bigint. (On a standby xip
-- is empty whatever is in progress: see view in delta.go.)
SELECT pg_snapshot_xmin(s.snap)::text::bigint AS xmin,
       pg_snapshot_xmax(s.snap)::text::bigint AS xmax,
       ARRAY(SELECT x::text::bigint FROM pg_snapshot_xip(s.snap) AS x ORDER BY 1)::bigint[] AS xip,
       (SELECT t.sync_epoch FROM tenants t WHERE t.id = @tenant_id) AS epoch,
       -- The scope of platform materials published to the tenant's plan alone (migration 039).
       (SELECT p.sync_scope FROM tenants t JOIN plans p ON p.name = t.plan WHERE t.id = @tenant_id)::uuid AS plan_scope,
       (SELECT pruned_xid::text::bigint FROM sync_horizon) AS pruned_xid,
       pg_is_in_recovery() AS in_recovery
FROM (SELECT pg_current_snapshot() AS snap) s;

-- name: Changes :many
-- The next rows of the four scopes after a cursor (own, tenant, platform, the tenant's plan), merged in
-- (xid, seq) order: the rows after the cursor's position, and those of the transactions it still waits for
-- (in progress when it was made), each after the sequence number it had reached in them. Each scope's range is its own index range read in order with
-- the same limit, and each waited-for transaction one short range per scope, so a page costs its size,
-- not the scope's. (Ordered by the xid8 itself, as the index is, so that the merge needs no sort.)
SELECT u.kind, u.entity_id, u.tombstone, u.xid::text::bigint AS xid, u.seq FROM (
  (SELECT c.kind, c.entity_id, c.tombstone, c.xid, c.seq FROM sync_changes c
    WHERE c.scope = @own_scope AND (c.xid, c.seq) > (sync_xid(@after_xid::bigint), @after_seq::bigint)
      AND (c.expires_at IS NULL OR c.expires_at > now())
    ORDER BY c.xid, c.seq LIMIT @max_rows)
  UNION ALL
  (SELECT c.kind, c.entity_id, c.tombstone, c.xid, c.seq FROM sync_changes c
    WHERE c.scope = @tenant_scope AND (c.xid, c.seq) > (sync_xid(@after_xid::bigint), @after_seq::bigint)
      AND (c.expires_at IS NULL OR c.expires_at > now())
    ORDER BY c.xid, c.seq LIMIT @max_rows)
  UNION ALL
  (SELECT c.kind, c.entity_id, c.tombstone, c.xid, c.seq FROM sync_changes c
    WHERE c.scope = '00000000-0000-0000-0000-000000000000'::uuid AND c.tenant_id IS NULL
      AND (c.xid, c.seq) > (sync_xid(@after_xid::bigint), @after_seq::bigint)
    ORDER BY c.xid, c.seq LIMIT @max_rows)
  UNION ALL
  (SELECT c.kind, c.entity_id, c.tombstone, c.xid, c.seq FROM sync_changes c
    WHERE c.scope = @plan_scope AND c.tenant_id IS NULL
      AND (c.xid, c.seq) > (sync_xid(@after_xid::bigint), @after_seq::bigint)
    ORDER BY c.xid, c.seq LIMIT @max_rows)
  UNION ALL
  (SELECT w.kind, w.entity_id, w.tombstone, w.xid, w.seq
    FROM unnest(@pending_xids::bigint[]) WITH ORDINALITY AS p (xid, n)
    CROSS JOIN unnest(ARRAY[@own_scope::uuid, @tenant_scope::uuid, '00000000-0000-0000-0000-000000000000'::uuid,
                            @plan_scope::uuid]) AS s (scope)
    CROSS JOIN LATERAL (
      SELECT c.kind, c.entity_id, c.tombstone, c.xid, c.seq FROM sync_changes c
       WHERE c.scope = s.scope AND c.xid = sync_xid(p.xid) AND c.seq > (@pending_seqs::bigint[])[p.n]
         AND (s.scope NOT IN ('00000000-0000-0000-0000-000000000000'::uuid, @plan_scope::uuid) OR c.tenant_id IS NULL)
         AND (c.expires_at IS NULL OR c.expires_at > now())
       ORDER BY c.seq LIMIT @max_rows) w
    ORDER BY w.xid, w.seq LIMIT @max_rows)
) u ORDER BY u.xid, u.seq LIMIT @max_rows;

-- name: ChangeLogWriters :many
-- Which of these transactions (by their 32-bit xids, as pg_locks shows them) hold rows of the change log
-- that they have not committed: a transaction that wrote sync_changes in this database holds its
-- RowExclusiveLock until it ends. Any tenant's: the lock does not say.
SELECT DISTINCT t.transactionid::text::bigint AS xid32
FROM pg_catalog.pg_locks t JOIN pg_catalog.pg_locks r ON r.virtualtransaction = t.virtualtransaction
WHERE t.locktype = 'transactionid' AND t.mode = 'ExclusiveLock' AND t.granted
  AND t.transactionid::text::bigint = ANY (@xids32::bigint[])
  AND r.locktype = 'relation' AND r.mode = 'RowExclusiveLock' AND r.granted
  AND r.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = current_database())
  AND r.relation = 'sync_changes'::regclass;

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
-- The customers of these ids, with their owners: the caller keeps those whose owner is in its scope (its
-- own, and a manager's team's). By the primary key only: a filter on owner_id = ANY (500 owners) here
-- had the planner scan the owners' index, every customer of the team, on every page.
SELECT id, owner_id, display_name, avatar_url, phone, stage, source_channel, remark, tags, views,
       dwell_ms, forwards, call_clicks, wechat_clicks, intent_score, first_seen_at, last_active_at
FROM customers WHERE tenant_id = @tenant_id AND id = ANY (@ids::uuid[]) AND merged_into IS NULL;

-- name: ManagedMembers :many
-- The members of the teams a manager leads (none when the employee is not a manager or leads no team):
-- whose customers their scope also holds (the fan-out writes them there; manages_member, 055, is the rule).
SELECT x.id FROM team_leads l
JOIN employees m ON m.tenant_id = l.tenant_id AND m.id = l.manager_id
JOIN employees x ON x.tenant_id = l.tenant_id AND x.team_id = l.team_id
WHERE l.tenant_id = @tenant_id AND l.manager_id = @employee_id AND m.role = 'manager' AND x.id <> m.id;

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

-- name: Tasks :many
-- The employee's tasks among these: those they are on, with their progress, those they may claim now
-- (task_offered, migration 045) and, for a manager, those they oversee (task_overseen, 045). Any other
-- is sent as a tombstone.
SELECT t.id, t.created_by, t.title, t.brief, t.material_ids, t.target_shares, t.target_views, t.target_viewers,
       t.target_forwards, t.target_new_customers, t.target_leads, t.starts_at, t.ends_at, t.claim_required,
       t.max_claimers, t.claimers, t.status, t.version,
       (a.employee_id IS NOT NULL)::bool AS joined, coalesce(a.claimed, false)::bool AS claimed,
       coalesce(a.shares, 0)::int AS shares, coalesce(a.views, 0)::int AS views, coalesce(a.viewers, 0)::int AS viewers,
       coalesce(a.forwards, 0)::int AS forwards, coalesce(a.new_customers, 0)::int AS new_customers,
       coalesce(a.leads, 0)::int AS leads, a.completed_at, task_overseen(t, e)::bool AS overseen
FROM tasks t
JOIN employees e ON e.tenant_id = t.tenant_id AND e.id = @employee_id
LEFT JOIN task_assignees a ON a.tenant_id = t.tenant_id AND a.task_id = t.id AND a.employee_id = @employee_id
WHERE t.tenant_id = @tenant_id AND t.id = ANY (@ids::uuid[])
  AND (a.employee_id IS NOT NULL OR task_offered(t, e) OR task_overseen(t, e));

-- name: TeamProgress :many
-- The people of a manager's teams on these tasks, with their progress (as GetTaskProgress shows a manager).
SELECT a.task_id, a.employee_id, x.name, x.team_id, a.claimed, a.joined_at, a.shares, a.views, a.viewers, a.forwards,
       a.new_customers, a.leads, a.completed_at
FROM team_leads l
JOIN employees m ON m.tenant_id = l.tenant_id AND m.id = l.manager_id
JOIN employees x ON x.tenant_id = l.tenant_id AND x.team_id = l.team_id
JOIN task_assignees a ON a.tenant_id = l.tenant_id AND a.employee_id = x.id AND a.task_id = ANY (@task_ids::uuid[])
WHERE l.tenant_id = @tenant_id AND l.manager_id = @employee_id AND m.role = 'manager'
ORDER BY a.task_id, x.name, x.id;

-- name: Members :many
-- The members among these of the team the employee manages (manages_member, migration 046). Any other is
-- sent as a tombstone.
SELECT x.id, x.name, x.title, x.role, x.team_id, x.status
FROM employees m JOIN employees x ON x.tenant_id = m.tenant_id AND x.id = ANY (@ids::uuid[])
WHERE m.tenant_id = @tenant_id AND m.id = @employee_id AND manages_member(m, x);
