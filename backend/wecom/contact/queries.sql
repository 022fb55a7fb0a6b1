-- name: EmployeeByWeComUserID :one
-- The active employee a WeCom member is (employees belong to the tenant domain; this only reads them).
SELECT id, name FROM employees
WHERE tenant_id = @tenant_id AND wecom_userid = @wecom_userid AND wecom_userid <> '' AND status = 'active';

-- name: EmployeeName :one
SELECT name FROM employees WHERE tenant_id = @tenant_id AND id = @id;

-- name: CardAvatar :one
-- The salesperson's card avatar ("": none, or no card yet): a mini-program card's cover when it opens the card.
SELECT coalesce((SELECT avatar_key FROM cards WHERE tenant_id = @tenant_id AND employee_id = @employee_id), '')::text;

-- name: ChannelByState :one
SELECT id, name, welcome_text, tags, daily_cap FROM wecom_channels WHERE tenant_id = @tenant_id AND state = @state;

-- name: ChannelWelcome :one
SELECT name, welcome_text, welcome_material_id, welcome_mini_program FROM wecom_channels WHERE tenant_id = @tenant_id AND id = @id;

-- name: PauseIfCapped :one
-- After an add the channel credited to the employee: when they have reached its daily cap today (the
-- tenant's day), they are paused for the rest of the day. A row: paused now, and when the day ends.
WITH day AS (
  SELECT (now() AT TIME ZONE t.time_zone)::date AS today, t.time_zone FROM tenants t WHERE t.id = @tenant_id
), n AS (
  SELECT count(*) AS adds FROM wecom_channel_adds a, day
  WHERE a.tenant_id = @tenant_id AND a.channel_id = @channel_id AND a.employee_id = @employee_id::uuid
    AND a.added_at >= (day.today::timestamp AT TIME ZONE day.time_zone)
)
UPDATE wecom_channels c SET
  paused_ids = CASE WHEN c.paused_on = day.today THEN array_append(c.paused_ids, @employee_id::uuid)
                    ELSE ARRAY[@employee_id::uuid] END,
  paused_on = day.today
FROM day, n
WHERE c.tenant_id = @tenant_id AND c.id = @channel_id AND c.daily_cap > 0 AND n.adds >= c.daily_cap
  AND @employee_id::uuid = ANY (c.employee_ids)
  AND NOT (c.paused_on IS NOT DISTINCT FROM day.today AND @employee_id::uuid = ANY (c.paused_ids))
RETURNING ((day.today + 1)::timestamp AT TIME ZONE day.time_zone)::timestamptz AS day_ends;

-- name: ChannelRotation :one
-- A channel locked, with who of its employees is paused today (the tenant's day).
SELECT c.name, c.config_id, c.state, c.employee_ids,
       CASE WHEN c.paused_on = (now() AT TIME ZONE t.time_zone)::date THEN c.paused_ids ELSE '{}'::uuid[] END::uuid[] AS paused_today
FROM wecom_channels c JOIN tenants t ON t.id = c.tenant_id
WHERE c.tenant_id = @tenant_id AND c.id = @id
FOR UPDATE OF c;

-- name: CreditChannel :execrows
INSERT INTO wecom_channel_adds (tenant_id, channel_id, customer_id, employee_id, added_at)
VALUES (@tenant_id, @channel_id, @customer_id, sqlc.narg(employee_id), now())
ON CONFLICT (tenant_id, channel_id, customer_id) DO NOTHING;

-- name: WeComUserIDs :many
-- The WeCom userids of active employees among ids.
SELECT id, wecom_userid FROM employees
WHERE tenant_id = @tenant_id AND id = ANY (@ids::uuid[]) AND status = 'active' AND wecom_userid <> '';

-- name: InsertChannel :exec
INSERT INTO wecom_channels (tenant_id, id, name, state, config_id, qr_code, employee_ids, tags, welcome_text, created_by,
                            welcome_material_id, daily_cap, welcome_mini_program)
VALUES (@tenant_id, @id, @name, @state, @config_id, @qr_code, @employee_ids, @tags, @welcome_text, @created_by,
        sqlc.narg(welcome_material_id), @daily_cap, @welcome_mini_program);

-- name: LockChannel :one
SELECT * FROM wecom_channels WHERE tenant_id = @tenant_id AND id = @id FOR UPDATE;

-- name: UpdateChannel :exec
UPDATE wecom_channels SET name = @name, employee_ids = @employee_ids, tags = @tags, welcome_text = @welcome_text,
  welcome_material_id = sqlc.narg(welcome_material_id), daily_cap = @daily_cap,
  welcome_mini_program = @welcome_mini_program, updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id;

-- name: DeleteChannel :exec
DELETE FROM wecom_channels WHERE tenant_id = @tenant_id AND id = @id;

-- name: ListChannels :many
-- Channels newest first, with their counts: customers brought, those past "new" (not lost), those won.
SELECT c.id, c.name, c.state, c.qr_code, c.employee_ids, c.tags, c.welcome_text, c.created_at,
       c.welcome_material_id, c.daily_cap, c.welcome_mini_program,
       (CASE WHEN c.paused_on = (SELECT (now() AT TIME ZONE t.time_zone)::date FROM tenants t WHERE t.id = c.tenant_id)
             THEN c.paused_ids ELSE '{}'::uuid[] END)::uuid[] AS paused_today,
       count(a.customer_id)::int AS adds,
       count(a.customer_id) FILTER (WHERE cu.stage IN ('contacted', 'interested', 'negotiating', 'won'))::int AS leads,
       count(a.customer_id) FILTER (WHERE cu.stage = 'won')::int AS wins
FROM wecom_channels c
LEFT JOIN wecom_channel_adds a ON a.tenant_id = c.tenant_id AND a.channel_id = c.id
LEFT JOIN customers cu ON cu.tenant_id = a.tenant_id AND cu.id = a.customer_id
WHERE c.tenant_id = @tenant_id
  AND (sqlc.narg(only_id)::uuid IS NULL OR c.id = sqlc.narg(only_id)::uuid)
  AND (NOT @has_cursor::bool OR (c.created_at, c.id) < (@before_at::timestamptz, @before_id::uuid))
GROUP BY c.tenant_id, c.id
ORDER BY c.created_at DESC, c.id DESC
LIMIT @max_rows;

-- The import of existing contacts (import.go).

-- name: StartImport :one
-- Starts an import unless one is under way (begun and not finished): true when this call started it.
INSERT INTO wecom_contact_imports (tenant_id, started_at) VALUES (@tenant_id, @started_at)
ON CONFLICT (tenant_id) DO UPDATE SET started_at = excluded.started_at, finished_at = NULL, chunk = '{}',
  after_userid = '', cursor = '', pages = 0, contacts = 0, created = 0, merged = 0, error = ''
  WHERE wecom_contact_imports.finished_at IS NOT NULL
RETURNING true AS started;

-- name: GetImport :one
SELECT * FROM wecom_contact_imports WHERE tenant_id = @tenant_id;

-- name: LockImport :one
SELECT * FROM wecom_contact_imports WHERE tenant_id = @tenant_id FOR UPDATE;

-- name: ImportMembers :many
-- The next members to import the customers of: active employees with a WeCom userid after the last one
-- done, in userid order.
SELECT wecom_userid FROM employees
WHERE tenant_id = @tenant_id AND status = 'active' AND wecom_userid > @after_userid AND wecom_userid <> ''
ORDER BY wecom_userid
LIMIT @max_rows;

-- name: ImportEmployees :many
-- The active employees of the chunk's members.
SELECT id, wecom_userid FROM employees
WHERE tenant_id = @tenant_id AND status = 'active' AND wecom_userid = ANY (@userids::text[]) AND wecom_userid <> '';

-- name: SaveImport :exec
UPDATE wecom_contact_imports SET chunk = @chunk, after_userid = @after_userid, cursor = @cursor, pages = @pages,
  contacts = @contacts, created = @created, merged = @merged, error = @error, finished_at = sqlc.narg(finished_at)
WHERE tenant_id = @tenant_id;

-- name: ImportFailed :exec
UPDATE wecom_contact_imports SET error = @error WHERE tenant_id = @tenant_id;

-- name: TagPushTargets :many
-- Where a customer's tags are marked on WeCom: as their owner (a WeCom member), on each external userid
-- they have. No rows: not a contact any more, merged, their owner is not a WeCom member, or the tenant's
-- plan no longer includes the WeCom bridge.
SELECT e.wecom_userid, ci.value AS external_userid
FROM customers c
JOIN employees e ON e.tenant_id = c.tenant_id AND e.id = c.owner_id AND e.wecom_userid <> ''
JOIN customer_identities ci ON ci.tenant_id = c.tenant_id AND ci.customer_id = c.id AND ci.kind = 'external_userid'
JOIN tenants t ON t.id = c.tenant_id JOIN plans p ON p.name = t.plan AND 'wecom' = ANY (p.features)
WHERE c.tenant_id = @tenant_id AND c.id = @customer_id AND c.merged_into IS NULL
ORDER BY ci.value;

-- name: TagChangeTenants :many
SELECT t::uuid AS tenant_id FROM wecom_tag_change_tenants() AS t;

-- name: NextTagChanges :many
-- The tenant's oldest tag changes to mark on WeCom.
SELECT id, customer_id, added, removed FROM wecom_tag_changes
WHERE tenant_id = @tenant_id ORDER BY id LIMIT @max_rows;

-- name: DeleteTagChange :exec
DELETE FROM wecom_tag_changes WHERE tenant_id = @tenant_id AND id = @id;

-- name: StoredCorpTags :many
-- Our copy of the tenant's corp tag library (migration 040).
SELECT tag_id, name FROM wecom_corp_tags WHERE tenant_id = @tenant_id;

-- name: DeleteStoredCorpTags :exec
DELETE FROM wecom_corp_tags WHERE tenant_id = @tenant_id;

-- name: StoreCorpTags :exec
INSERT INTO wecom_corp_tags (tenant_id, tag_id, group_id, name)
SELECT @tenant_id, t.tag_id, t.group_id, t.name
FROM (SELECT unnest(@tag_ids::text[]) AS tag_id, unnest(@group_ids::text[]) AS group_id, unnest(@names::text[]) AS name) AS t
-- (Two reads of the library at once: the later one's copy wins.)
ON CONFLICT (tenant_id, tag_id) DO UPDATE SET group_id = excluded.group_id, name = excluded.name;

-- name: MarkTagsFromWeCom :exec
-- The tag changes that follow in this transaction came from WeCom: the outbox trigger (migration 040) does
-- not send them back. from_wecom false ends that.
SELECT set_config('app.wecom_tags_from_wecom', CASE WHEN @from_wecom::bool THEN 'on' ELSE 'off' END, true);

-- name: CachedMedia :one
-- The media id of an object uploaded to WeCom since @since (a temporary media works three days).
SELECT media_id FROM wecom_media WHERE tenant_id = @tenant_id AND object_key = @object_key AND uploaded_at > @since;

-- name: SaveMedia :exec
INSERT INTO wecom_media (tenant_id, object_key, media_id, uploaded_at) VALUES (@tenant_id, @object_key, @media_id, @uploaded_at)
ON CONFLICT (tenant_id, object_key) DO UPDATE SET media_id = excluded.media_id, uploaded_at = excluded.uploaded_at;
