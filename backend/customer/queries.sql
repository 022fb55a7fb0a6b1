-- Customers and what they did. Run inside tenant transactions.
-- The three list queries differ only in their order. Each takes the owners whose customers the caller
-- may see and, per owner, walks that owner's index in order (a top-N per owner), then merges: a plan
-- that stays an index scan whether the caller is a salesperson (one owner), a manager (a team) or an
-- admin (everyone). Keyset paging.

-- name: ListByLastActive :many
SELECT x.id, x.owner_id, x.display_name, x.avatar_url, x.phone, x.phone_verified, x.stage, x.source_channel, x.source_share_id, x.remark, x.tags, x.views, x.dwell_ms, x.forwards, x.call_clicks, x.wechat_clicks, x.intent_score, x.first_seen_at, x.last_active_at, x.created_at
FROM unnest(@owner_ids::uuid[]) AS o (owner)
CROSS JOIN LATERAL (
  SELECT c.id, c.owner_id, c.display_name, c.avatar_url, c.phone, c.phone_verified, c.stage, c.source_channel, c.source_share_id, c.remark, c.tags, c.views, c.dwell_ms, c.forwards, c.call_clicks, c.wechat_clicks, c.intent_score, c.first_seen_at, c.last_active_at, c.created_at FROM customers c
  WHERE c.tenant_id = @tenant_id AND c.owner_id = o.owner AND c.merged_into IS NULL
    AND (sqlc.narg(tag)::text IS NULL OR c.tags @> ARRAY[sqlc.narg(tag)::text])
    AND (sqlc.narg(stage)::text IS NULL OR c.stage = sqlc.narg(stage)::text)
    AND (sqlc.narg(channel)::text IS NULL OR c.source_channel = sqlc.narg(channel)::text)
    AND (sqlc.narg(material_id)::uuid IS NULL OR EXISTS (
          SELECT 1 FROM events e WHERE e.tenant_id = @tenant_id AND e.kind = 'material_view'
            AND e.material_id = sqlc.narg(material_id)::uuid AND e.customer_id = c.id))
    AND (NOT @has_cursor::bool OR (c.last_active_at, c.id) < (@after_time::timestamptz, @after_id::uuid))
  ORDER BY c.last_active_at DESC, c.id DESC
  LIMIT @max_rows
) AS x
ORDER BY x.last_active_at DESC, x.id DESC
LIMIT @max_rows;

-- name: ListByIntent :many
SELECT x.id, x.owner_id, x.display_name, x.avatar_url, x.phone, x.phone_verified, x.stage, x.source_channel, x.source_share_id, x.remark, x.tags, x.views, x.dwell_ms, x.forwards, x.call_clicks, x.wechat_clicks, x.intent_score, x.first_seen_at, x.last_active_at, x.created_at
FROM unnest(@owner_ids::uuid[]) AS o (owner)
CROSS JOIN LATERAL (
  SELECT c.id, c.owner_id, c.display_name, c.avatar_url, c.phone, c.phone_verified, c.stage, c.source_channel, c.source_share_id, c.remark, c.tags, c.views, c.dwell_ms, c.forwards, c.call_clicks, c.wechat_clicks, c.intent_score, c.first_seen_at, c.last_active_at, c.created_at FROM customers c
  WHERE c.tenant_id = @tenant_id AND c.owner_id = o.owner AND c.merged_into IS NULL
    AND (sqlc.narg(tag)::text IS NULL OR c.tags @> ARRAY[sqlc.narg(tag)::text])
    AND (sqlc.narg(stage)::text IS NULL OR c.stage = sqlc.narg(stage)::text)
    AND (sqlc.narg(channel)::text IS NULL OR c.source_channel = sqlc.narg(channel)::text)
    AND (sqlc.narg(material_id)::uuid IS NULL OR EXISTS (
          SELECT 1 FROM events e WHERE e.tenant_id = @tenant_id AND e.kind = 'material_view'
            AND e.material_id = sqlc.narg(material_id)::uuid AND e.customer_id = c.id))
    AND (NOT @has_cursor::bool OR (c.intent_score, c.id) < (@after_score::int, @after_id::uuid))
  ORDER BY c.intent_score DESC, c.id DESC
  LIMIT @max_rows
) AS x
ORDER BY x.intent_score DESC, x.id DESC
LIMIT @max_rows;

-- name: ListByNewest :many
SELECT x.id, x.owner_id, x.display_name, x.avatar_url, x.phone, x.phone_verified, x.stage, x.source_channel, x.source_share_id, x.remark, x.tags, x.views, x.dwell_ms, x.forwards, x.call_clicks, x.wechat_clicks, x.intent_score, x.first_seen_at, x.last_active_at, x.created_at
FROM unnest(@owner_ids::uuid[]) AS o (owner)
CROSS JOIN LATERAL (
  SELECT c.id, c.owner_id, c.display_name, c.avatar_url, c.phone, c.phone_verified, c.stage, c.source_channel, c.source_share_id, c.remark, c.tags, c.views, c.dwell_ms, c.forwards, c.call_clicks, c.wechat_clicks, c.intent_score, c.first_seen_at, c.last_active_at, c.created_at FROM customers c
  WHERE c.tenant_id = @tenant_id AND c.owner_id = o.owner AND c.merged_into IS NULL
    AND (sqlc.narg(tag)::text IS NULL OR c.tags @> ARRAY[sqlc.narg(tag)::text])
    AND (sqlc.narg(stage)::text IS NULL OR c.stage = sqlc.narg(stage)::text)
    AND (sqlc.narg(channel)::text IS NULL OR c.source_channel = sqlc.narg(channel)::text)
    AND (sqlc.narg(material_id)::uuid IS NULL OR EXISTS (
          SELECT 1 FROM events e WHERE e.tenant_id = @tenant_id AND e.kind = 'material_view'
            AND e.material_id = sqlc.narg(material_id)::uuid AND e.customer_id = c.id))
    AND (NOT @has_cursor::bool OR (c.created_at, c.id) < (@after_time::timestamptz, @after_id::uuid))
  ORDER BY c.created_at DESC, c.id DESC
  LIMIT @max_rows
) AS x
ORDER BY x.created_at DESC, x.id DESC
LIMIT @max_rows;

-- name: GetCustomer :one
SELECT c.id, c.owner_id, c.display_name, c.avatar_url, c.phone, c.phone_verified, c.stage, c.source_channel, c.source_share_id, c.remark, c.tags, c.views, c.dwell_ms, c.forwards, c.call_clicks, c.wechat_clicks, c.intent_score, c.first_seen_at, c.last_active_at, c.created_at FROM customers c WHERE c.tenant_id = @tenant_id AND c.id = @id AND c.merged_into IS NULL;

-- name: AllEmployees :many
SELECT id FROM employees WHERE tenant_id = @tenant_id;

-- name: TeamMembers :many
-- The members of the teams a manager leads.
SELECT id FROM employees WHERE tenant_id = @tenant_id AND team_id = ANY (@team_ids::uuid[]);

-- name: Identities :many
SELECT kind, value FROM customer_identities WHERE tenant_id = @tenant_id AND customer_id = @customer_id ORDER BY kind, value;

-- name: Interests :many
-- What the customer cares about: the tags of the materials they viewed, weighted by how long they read
-- (at least 5 s per view, so a glance still counts a little).
SELECT x.tag::text AS tag, sum(x.weight)::bigint AS weight
FROM (SELECT unnest(m.tags) AS tag, greatest(e.dwell_ms, 5000) AS weight
      FROM events e JOIN materials m ON m.id = e.material_id
      WHERE e.tenant_id = @tenant_id AND e.customer_id = @customer_id AND e.kind = 'material_view') x
GROUP BY x.tag ORDER BY weight DESC, tag LIMIT 10;

-- name: Timeline :many
SELECT e.id, e.kind, e.occurred_at, e.dwell_ms, e.value, e.material_id, e.share_id, coalesce(m.title, '')::text AS material_title
FROM events e LEFT JOIN materials m ON m.id = e.material_id
WHERE e.tenant_id = @tenant_id AND e.customer_id = @customer_id AND e.kind <> 'dwell'
  AND (NOT @has_cursor::bool OR (e.occurred_at, e.id) < (@after_time::timestamptz, @after_id::uuid))
ORDER BY e.occurred_at DESC, e.id DESC
LIMIT @max_rows;

-- name: ForwardReach :many
-- For forwards of the given shares by the customer: how many people opened the forwarded links, and how
-- many of them read for at least 10 s.
SELECT f.parent_id::uuid AS share_id,
       count(DISTINCT v.customer_id)::int AS opened,
       count(DISTINCT v.customer_id) FILTER (WHERE v.dwell_ms >= 10000)::int AS read
FROM shares f
JOIN events v ON v.tenant_id = f.tenant_id AND v.share_id = f.id AND v.kind IN ('card_view', 'material_view')
WHERE f.tenant_id = @tenant_id AND f.parent_id = ANY (@share_ids::uuid[])
  AND f.forwarder IN (SELECT ci.value FROM customer_identities ci
                      WHERE ci.tenant_id = @tenant_id AND ci.customer_id = @customer_id AND ci.kind = 'visitor')
  AND v.customer_id <> @customer_id
GROUP BY f.parent_id;

-- name: UpdateCustomer :execrows
-- Changes a customer the caller may see (all, the owners listed, or the pool); 0 rows: not theirs.
UPDATE customers SET
  display_name = coalesce(sqlc.narg(display_name), display_name),
  stage = coalesce(sqlc.narg(stage), stage),
  stage_changed_at = CASE WHEN sqlc.narg(stage)::text IS DISTINCT FROM NULL AND sqlc.narg(stage)::text <> stage THEN now() ELSE stage_changed_at END,
  remark = coalesce(sqlc.narg(remark), remark),
  phone = coalesce(sqlc.narg(phone), phone),
  -- A number the salesperson types is theirs to vouch for, not WeChat's: a changed number is unverified.
  phone_verified = phone_verified AND coalesce(sqlc.narg(phone), phone) = phone,
  tags = CASE WHEN @set_tags::bool THEN @tags::text[] ELSE tags END,
  updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id AND merged_into IS NULL
  AND (@all_owners::bool OR owner_id = ANY (@owners::uuid[]) OR (@pool::bool AND owner_id IS NULL));

-- name: InsertNote :one
-- Adds a note to a customer the caller may see; no row: not theirs.
INSERT INTO customer_notes (id, tenant_id, customer_id, author_id, kind, body, next_at)
SELECT @id, @tenant_id, c.id, @author_id, @kind, @body, sqlc.narg(next_at)
FROM customers c
WHERE c.tenant_id = @tenant_id AND c.id = @customer_id AND c.merged_into IS NULL
  AND (@all_owners::bool OR c.owner_id = ANY (@owners::uuid[]) OR (@pool::bool AND c.owner_id IS NULL))
RETURNING *;

-- name: Notes :many
SELECT * FROM customer_notes WHERE tenant_id = @tenant_id AND customer_id = @customer_id
ORDER BY created_at DESC LIMIT @max_rows;

-- name: CustomerByIdentity :one
SELECT ci.customer_id FROM customer_identities ci
WHERE ci.tenant_id = @tenant_id AND ci.kind = @kind AND ci.value = @value;

-- name: AddIdentity :one
-- Returns the customer the identity belongs to: this one, or the one that had it first (an insert racing
-- this one waits for it and then sees it).
INSERT INTO customer_identities (tenant_id, kind, value, customer_id) VALUES (@tenant_id, @kind, @value, @customer_id)
ON CONFLICT (tenant_id, kind, value) DO UPDATE SET customer_id = customer_identities.customer_id
RETURNING customer_id;

-- name: NewCustomer :exec
INSERT INTO customers (id, tenant_id, owner_id, source_channel, source_share_id)
VALUES (@id, @tenant_id, sqlc.narg(owner_id), @source_channel, sqlc.narg(source_share_id));

-- name: LockCustomers :many
SELECT id, merged_into FROM customers WHERE tenant_id = @tenant_id AND id = ANY (@ids::uuid[]) ORDER BY id FOR UPDATE;

-- name: MoveEvents :exec
UPDATE events SET customer_id = @into_id WHERE tenant_id = @tenant_id AND customer_id = @from_id;

-- name: MoveIdentities :exec
UPDATE customer_identities SET customer_id = @into_id WHERE tenant_id = @tenant_id AND customer_id = @from_id;

-- name: MoveNotes :exec
UPDATE customer_notes SET customer_id = @into_id WHERE tenant_id = @tenant_id AND customer_id = @from_id;

-- name: AbsorbCustomer :exec
-- Adds the merged customer's activity to the survivor. The one first seen keeps the owner and source
-- ("whose share brought them first").
UPDATE customers k SET
  views = k.views + f.views, dwell_ms = k.dwell_ms + f.dwell_ms, forwards = k.forwards + f.forwards,
  call_clicks = k.call_clicks + f.call_clicks, wechat_clicks = k.wechat_clicks + f.wechat_clicks,
  -- A verified number wins over a typed one; between equals, the survivor's.
  phone = CASE WHEN k.phone = '' OR (f.phone_verified AND NOT k.phone_verified) THEN f.phone ELSE k.phone END,
  phone_verified = CASE WHEN k.phone = '' OR (f.phone_verified AND NOT k.phone_verified) THEN f.phone_verified ELSE k.phone_verified END,
  owner_id = CASE WHEN f.first_seen_at < k.first_seen_at THEN coalesce(f.owner_id, k.owner_id) ELSE coalesce(k.owner_id, f.owner_id) END,
  source_channel = CASE WHEN f.first_seen_at < k.first_seen_at THEN f.source_channel ELSE k.source_channel END,
  source_share_id = CASE WHEN f.first_seen_at < k.first_seen_at THEN f.source_share_id ELSE k.source_share_id END,
  first_seen_at = least(k.first_seen_at, f.first_seen_at), last_active_at = greatest(k.last_active_at, f.last_active_at),
  tags = ARRAY(SELECT DISTINCT unnest(k.tags || f.tags)),
  intent_score = customer_intent(k.views + f.views, k.dwell_ms + f.dwell_ms, k.forwards + f.forwards,
                                 k.call_clicks + f.call_clicks, k.wechat_clicks + f.wechat_clicks, k.phone <> '' OR f.phone <> ''),
  updated_at = now()
FROM customers f
WHERE k.tenant_id = @tenant_id AND k.id = @into_id AND f.tenant_id = @tenant_id AND f.id = @from_id
  AND f.merged_into IS NULL;

-- name: MarkMerged :exec
-- Its activity now counts on the survivor: zeroed here, so it can never be added twice.
UPDATE customers SET merged_into = @into_id::uuid, views = 0, dwell_ms = 0, forwards = 0, call_clicks = 0,
  wechat_clicks = 0, intent_score = 0, updated_at = now()
WHERE tenant_id = @tenant_id AND id = @from_id;

-- name: OwnerRule :one
SELECT customer_owner_rule FROM tenants WHERE id = @tenant_id;

-- name: ListUnassigned :many
-- The tenant's pool: customers nobody owns yet, most recently active first.
SELECT c.id, c.owner_id, c.display_name, c.avatar_url, c.phone, c.phone_verified, c.stage, c.source_channel, c.source_share_id, c.remark, c.tags, c.views, c.dwell_ms, c.forwards, c.call_clicks, c.wechat_clicks, c.intent_score, c.first_seen_at, c.last_active_at, c.created_at
FROM customers c
WHERE c.tenant_id = @tenant_id AND c.owner_id IS NULL AND c.merged_into IS NULL
  AND (NOT @has_cursor::bool OR (c.last_active_at, c.id) < (@after_time::timestamptz, @after_id::uuid))
ORDER BY c.last_active_at DESC, c.id DESC
LIMIT @max_rows;

-- name: EmployeeForAssignment :one
SELECT team_id, status FROM employees WHERE tenant_id = @tenant_id AND id = @id;

-- name: AssignCustomer :exec
UPDATE customers SET owner_id = @owner_id::uuid, updated_at = now() WHERE tenant_id = @tenant_id AND id = @id;

-- name: MergedInto :one
SELECT merged_into FROM customers WHERE tenant_id = @tenant_id AND id = @id;

-- name: GetNote :one
SELECT * FROM customer_notes WHERE tenant_id = @tenant_id AND id = @id;

-- name: EditNote :exec
UPDATE customer_notes SET body = @body, next_at = sqlc.narg(next_at), updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id;

-- name: DeleteNote :exec
DELETE FROM customer_notes WHERE tenant_id = @tenant_id AND id = @id;

-- name: SetTag :one
-- Adds or removes one tag of a customer the caller may see, leaving the others, and answers how many tags
-- it has now; no row: not theirs.
UPDATE customers SET
  tags = CASE WHEN NOT @add::bool THEN array_remove(tags, @tag::text)
              WHEN @tag::text = ANY (tags) THEN tags
              ELSE array_append(tags, @tag::text) END,
  updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id AND merged_into IS NULL
  AND (@all_owners::bool OR owner_id = ANY (@owners::uuid[]) OR (@pool::bool AND owner_id IS NULL))
RETURNING cardinality(tags)::int;

-- Ingest: set-based statements over one batch of one tenant, run inside the tracking transaction
-- (IdentifyVisitorsTx and Batch.RecordActivityTx). Each takes parallel arrays, one element per row.

-- name: VisitorCustomers :many
SELECT value, customer_id FROM customer_identities
WHERE tenant_id = @tenant_id AND kind = 'visitor' AND value = ANY (@visitors::text[]);

-- name: LockForActivity :many
-- Locks the batch's customers, in id order, for the aggregates it adds: concurrent batches touching the
-- same customer queue up instead of deadlocking, and a sign-in merging one of them waits for this batch
-- (or this batch for the merge, and then follows merged_into): events never land on a customer merged
-- away. (Two steps, identities then customers, so that both are primary-key lookups.)
SELECT id, merged_into, owner_id, display_name, views, last_active_at FROM customers
WHERE tenant_id = @tenant_id AND id = ANY (@ids::uuid[])
ORDER BY id
FOR UPDATE;

-- name: ClaimVisitors :many
-- Claims identities for new visitors; a concurrent batch that claimed one first wins (its row is returned
-- by VisitorCustomers afterwards instead).
INSERT INTO customer_identities (tenant_id, kind, value, customer_id)
SELECT @tenant_id, 'visitor', v, c FROM (SELECT unnest(@visitors::text[]) AS v, unnest(@customer_ids::uuid[]) AS c) AS t
ON CONFLICT (tenant_id, kind, value) DO NOTHING
RETURNING value, customer_id;

-- name: InsertCustomers :exec
INSERT INTO customers (id, tenant_id, owner_id, source_channel, source_share_id, first_seen_at, last_active_at)
SELECT c, @tenant_id, nullif(o, '00000000-0000-0000-0000-000000000000'::uuid), ch, s, t, t
FROM (SELECT unnest(@ids::uuid[]) AS c, unnest(@owner_ids::uuid[]) AS o, unnest(@channels::text[]) AS ch, unnest(@share_ids::uuid[]) AS s, unnest(@seen_at::timestamptz[]) AS t) AS x;

-- name: RecordActivity :exec
-- Adds the batch to its customers' aggregates, and records for the apps' offline copies the customers,
-- the new timeline entries and the views whose dwell grew (sync_ingested_rows, given by the caller, who
-- knows their owners; the updated aggregates are read from the table when a device pulls, so the
-- function may run beside the UPDATE).
WITH bumped AS (
  UPDATE customers c SET
    views = c.views + x.views, dwell_ms = c.dwell_ms + x.dwell, forwards = c.forwards + x.forwards,
    call_clicks = c.call_clicks + x.calls, wechat_clicks = c.wechat_clicks + x.wechats,
    -- A number left on a page (unverified) never replaces one WeChat verified (getuserphonenumber).
    phone = CASE WHEN x.phone <> '' AND (x.verified OR NOT c.phone_verified) THEN x.phone ELSE c.phone END,
    phone_verified = CASE WHEN x.phone <> '' AND (x.verified OR NOT c.phone_verified) THEN x.verified ELSE c.phone_verified END,
    last_active_at = greatest(c.last_active_at, x.active), updated_at = now(),
    intent_score = customer_intent(c.views + x.views, c.dwell_ms + x.dwell, c.forwards + x.forwards,
                                   c.call_clicks + x.calls, c.wechat_clicks + x.wechats, x.phone <> '' OR c.phone <> '')
  FROM (SELECT unnest(@ids::uuid[]) AS id, unnest(@views::int[]) AS views, unnest(@dwell::bigint[]) AS dwell, unnest(@forwards::int[]) AS forwards, unnest(@calls::int[]) AS calls, unnest(@wechats::int[]) AS wechats, unnest(@phones::text[]) AS phone, unnest(@phones_verified::bool[]) AS verified, unnest(@active::timestamptz[]) AS active) AS x
  WHERE c.tenant_id = @tenant_id AND c.id = x.id
  RETURNING 1
)
SELECT sync_ingested_rows(@tenant_id, @sync_scopes::uuid[], @sync_kinds::text[], @sync_ids::uuid[],
                          @sync_parents::uuid[], @sync_occurred::timestamptz[]);

-- name: LiveOwners :many
-- The owners of live customers (a customer merged away is left out).
SELECT id, owner_id FROM customers
WHERE tenant_id = @tenant_id AND id = ANY (@ids::uuid[]) AND merged_into IS NULL;

-- name: SetWeChatProfile :execrows
-- Records the nickname and avatar a customer's WeChat sign-in gave. display_name takes the nickname only
-- while it is empty or still the previous WeChat nickname, so a name the salesperson typed is kept.
UPDATE customers SET
  display_name = CASE WHEN @nickname::text <> '' AND (display_name = '' OR display_name = wechat_nickname)
                      THEN @nickname::text ELSE display_name END,
  wechat_nickname = CASE WHEN @nickname::text <> '' THEN @nickname::text ELSE wechat_nickname END,
  avatar_url = CASE WHEN @avatar_url::text <> '' THEN @avatar_url::text ELSE avatar_url END,
  updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id AND merged_into IS NULL;

-- name: ClaimCustomer :execrows
-- Gives an unowned customer to the claimer. Two claims at once: the second waits for the first's row
-- lock, then sees an owner and changes nothing (0 rows), so exactly one wins.
UPDATE customers SET owner_id = @owner_id::uuid, updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id AND owner_id IS NULL AND merged_into IS NULL;

-- name: ReleaseCustomer :one
-- Returns an owned customer the caller may see to the pool (no owner), and says whose it was.
WITH old AS (
  SELECT o.id AS old_id, o.owner_id AS old_owner FROM customers o
  WHERE o.tenant_id = @tenant_id AND o.id = @id AND o.merged_into IS NULL AND o.owner_id IS NOT NULL
    AND (@all_owners::bool OR o.owner_id = ANY (@owners::uuid[]))
  FOR UPDATE
)
UPDATE customers c SET owner_id = NULL, updated_at = now()
FROM old WHERE c.tenant_id = @tenant_id AND c.id = old.old_id
RETURNING old.old_owner::uuid AS previous_owner;

-- name: RecycleClocks :many
-- What recycle rules judge held customers by: their owner, last stage change and last follow-up (the
-- customer's creation when there was none).
SELECT c.id, c.owner_id, c.display_name, coalesce(c.stage_changed_at, c.created_at)::timestamptz AS stage_changed_at,
  coalesce((SELECT max(n.created_at) FROM customer_notes n
            WHERE n.tenant_id = c.tenant_id AND n.customer_id = c.id AND n.kind = 'follow_up'), c.created_at)::timestamptz AS last_follow_up
FROM customers c
WHERE c.tenant_id = @tenant_id AND c.id = ANY (@ids::uuid[]) AND c.merged_into IS NULL;

-- name: CustomersByPhone :many
-- Live customers with one of these phone numbers (an import's de-duplication).
SELECT id, phone FROM customers
WHERE tenant_id = @tenant_id AND phone = ANY (@phones::text[]) AND phone <> '' AND merged_into IS NULL;

-- name: CustomersByIdentity :many
-- An import's de-duplication: the customers known by any of the values. Joined to the values rather than
-- matched with = ANY, whose generic plan (a prepared statement's after five runs) scanned the whole
-- identities table for each batch of an import and made an import of 100,000 rows take a minute instead of
-- seconds.
SELECT ci.value, ci.customer_id
FROM unnest(@values::text[]) AS v (value)
JOIN customer_identities ci ON ci.tenant_id = @tenant_id AND ci.kind = @kind AND ci.value = v.value;

-- name: InsertImported :exec
-- New customers from an import: nobody owns them (they wait in a pool).
INSERT INTO customers (id, tenant_id, owner_id, display_name, phone, remark, tags, source_channel, intent_score)
SELECT x.id, @tenant_id, NULL, x.name, x.phone, x.remark, string_to_array(x.tags, E'\x1f'), 'other',
       customer_intent(0, 0, 0, 0, 0, x.phone <> '')
FROM (SELECT unnest(@ids::uuid[]) AS id, unnest(@names::text[]) AS name, unnest(@phones::text[]) AS phone,
             unnest(@remarks::text[]) AS remark, unnest(@tags::text[]) AS tags) AS x;

-- name: AddIdentities :exec
INSERT INTO customer_identities (tenant_id, kind, value, customer_id)
SELECT @tenant_id, x.kind, x.value, x.customer_id
FROM (SELECT unnest(@kinds::text[]) AS kind, unnest(@values::text[]) AS value, unnest(@customer_ids::uuid[]) AS customer_id) AS x
ON CONFLICT (tenant_id, kind, value) DO NOTHING;

-- name: MergeImported :exec
-- Known customers an import names again: their tags gain the row's, an empty name or phone is filled.
UPDATE customers c SET
  tags = ARRAY(SELECT DISTINCT unnest(c.tags || string_to_array(x.tags, E'\x1f'))),
  display_name = CASE WHEN c.display_name = '' THEN x.name ELSE c.display_name END,
  phone = CASE WHEN c.phone = '' THEN x.phone ELSE c.phone END,
  updated_at = now()
FROM (SELECT unnest(@ids::uuid[]) AS id, unnest(@names::text[]) AS name, unnest(@phones::text[]) AS phone,
             unnest(@tags::text[]) AS tags) AS x
WHERE c.tenant_id = @tenant_id AND c.id = x.id;

-- name: HandOverCustomers :many
-- Deals the customers @from_id owns (all, or those in @stages or carrying any of @tags) to @to_ids in
-- turn, in one statement: the sync triggers run once for the whole set. A customer changing hands
-- meanwhile is left out (the owner is checked again on update).
WITH picked AS (
  SELECT c.id, (row_number() OVER (ORDER BY c.created_at, c.id) - 1) AS n
  FROM customers c
  WHERE c.tenant_id = @tenant_id AND c.owner_id = @from_id::uuid AND c.merged_into IS NULL
    AND (cardinality(@stages::text[]) = 0 OR c.stage = ANY (@stages::text[]))
    AND (cardinality(@tags::text[]) = 0 OR c.tags && @tags::text[])
)
UPDATE customers c SET owner_id = (@to_ids::uuid[])[(p.n % cardinality(@to_ids::uuid[]))::int + 1], updated_at = now()
FROM picked p
WHERE c.tenant_id = @tenant_id AND c.id = p.id AND c.owner_id = @from_id::uuid
RETURNING c.id, c.owner_id::uuid AS owner_id;

-- name: HandOverFollowUps :execrows
-- The follow-ups @from_id scheduled on customers that moved go to their new owner, whose due list reads
-- them by author.
-- The ids are joined as a set (unnest), not matched with = ANY, which compares each note with the whole
-- array: quadratic for a handover of thousands.
UPDATE customer_notes n SET author_id = c.owner_id, updated_at = now()
FROM unnest(@customer_ids::uuid[]) AS m (id)
JOIN customers c ON c.tenant_id = @tenant_id AND c.id = m.id
WHERE n.tenant_id = @tenant_id AND n.customer_id = m.id AND n.author_id = @from_id::uuid AND n.next_at IS NOT NULL
  AND c.owner_id IS NOT NULL;

-- name: ReleaseOwnedCustomers :many
-- Every customer @from_id owns goes back to the pool (no owner), in one statement.
UPDATE customers SET owner_id = NULL, updated_at = now()
WHERE tenant_id = @tenant_id AND owner_id = @from_id::uuid AND merged_into IS NULL
RETURNING id;

-- name: CountOwned :one
SELECT count(*)::int FROM customers WHERE tenant_id = @tenant_id AND owner_id = @from_id::uuid AND merged_into IS NULL;

-- name: NewWeComCustomer :exec
-- A customer first met as a WeCom external contact, owned by the member they added (NULL: not ours).
INSERT INTO customers (id, tenant_id, owner_id, display_name, avatar_url)
VALUES (@id, @tenant_id, sqlc.narg(owner_id), @display_name, @avatar_url);

-- name: MirrorWeComContact :one
-- Mirrors what WeCom says of a customer: the WeChat name and avatar while the customer has none, and the
-- member's remark and description (as the remark) when WeCom has one; an unowned customer goes to the
-- member. Returns the customer as it is now.
UPDATE customers SET
  display_name = CASE WHEN display_name = '' THEN @name::text ELSE display_name END,
  avatar_url = CASE WHEN avatar_url = '' THEN @avatar_url::text ELSE avatar_url END,
  remark = CASE WHEN @remark::text <> '' THEN @remark::text ELSE remark END,
  owner_id = coalesce(owner_id, sqlc.narg(owner_id)),
  updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id
RETURNING owner_id, display_name;

-- name: RecordWeComAdded :execrows
-- The timeline entry of a WeCom add, keyed by the callback's id: a callback processed again adds nothing.
INSERT INTO events (tenant_id, id, customer_id, employee_id, kind, occurred_at)
VALUES (@tenant_id, @id, @customer_id, sqlc.narg(employee_id), 'wecom_added', @occurred_at)
ON CONFLICT (tenant_id, id) DO NOTHING;

-- name: AddTags :exec
-- Adds tags a customer lacks after the ones they have, up to 20 in all (MaxTags).
UPDATE customers SET tags = customer_tags_add(tags, @tags::text[]), updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id AND NOT (tags @> @tags::text[]);

-- name: RecycleCustomers :many
-- RecycleCustomer for many at once (one statement: the sync trigger runs once for the batch); answers those
-- taken back (still their judged owner's, not merged).
UPDATE customers c SET owner_id = NULL, updated_at = now()
FROM (SELECT unnest(@ids::uuid[]) AS id, unnest(@owner_ids::uuid[]) AS owner_id) AS x
WHERE c.tenant_id = @tenant_id AND c.id = x.id AND c.owner_id = x.owner_id AND c.merged_into IS NULL
RETURNING c.id;

-- name: RenameContactsTag :execrows
-- A tag of the WeCom corp library renamed there: the customers who are WeCom contacts and carry the old
-- name carry the new one in its place (once, where they had both).
UPDATE customers c
SET tags = CASE WHEN @new_name::text = ANY (c.tags) THEN array_remove(c.tags, @old_name::text)
                ELSE array_replace(c.tags, @old_name::text, @new_name::text) END,
    updated_at = now()
WHERE c.tenant_id = @tenant_id AND c.tags @> ARRAY[@old_name::text] AND c.merged_into IS NULL
  AND EXISTS (SELECT FROM customer_identities ci
              WHERE ci.tenant_id = c.tenant_id AND ci.customer_id = c.id AND ci.kind = 'external_userid');

-- name: RemoveContactsTags :execrows
-- Tags deleted from the WeCom corp library: taken off the customers who are WeCom contacts.
UPDATE customers c
SET tags = ARRAY(SELECT t FROM unnest(c.tags) WITH ORDINALITY AS x (t, o) WHERE t <> ALL (@names::text[]) ORDER BY o),
    updated_at = now()
WHERE c.tenant_id = @tenant_id AND c.tags && @names::text[] AND c.merged_into IS NULL
  AND EXISTS (SELECT FROM customer_identities ci
              WHERE ci.tenant_id = c.tenant_id AND ci.customer_id = c.id AND ci.kind = 'external_userid');

-- name: FollowUpDueTenants :many
SELECT t::uuid AS tenant_id FROM follow_up_due_tenants(@since::timestamptz, @now::timestamptz) AS t;

-- name: DueFollowUps :many
-- The tenant's follow-ups due in (since, now] not yet reminded, of active authors, with their customers'
-- names, oldest first after a position (next_at, id); locked, so that two runs never remind one twice.
SELECT n.id, n.author_id, n.customer_id, n.body, n.next_at, coalesce(c.display_name, '')::text AS customer_name
FROM customer_notes n
JOIN employees e ON e.tenant_id = n.tenant_id AND e.id = n.author_id AND e.status = 'active'
LEFT JOIN customers c ON c.tenant_id = n.tenant_id AND c.id = n.customer_id
WHERE n.tenant_id = @tenant_id AND n.next_at IS NOT NULL AND n.next_at > @since::timestamptz AND n.next_at <= @now::timestamptz
  AND NOT EXISTS (SELECT 1 FROM follow_up_reminders r
                  WHERE r.tenant_id = n.tenant_id AND r.note_id = n.id AND r.next_at = n.next_at)
  AND (n.next_at, n.id) > (@after_at::timestamptz, @after_id::uuid)
ORDER BY n.next_at, n.id
LIMIT @max_rows
FOR UPDATE OF n SKIP LOCKED;

-- name: RecordReminders :exec
INSERT INTO follow_up_reminders (tenant_id, note_id, next_at)
SELECT @tenant_id, x.note_id, x.next_at
FROM (SELECT unnest(@note_ids::uuid[]) AS note_id, unnest(@next_ats::timestamptz[]) AS next_at) AS x
ON CONFLICT DO NOTHING;

-- name: PurgeReminders :exec
-- Reminders older than the job's look-back are of no use any more.
DELETE FROM follow_up_reminders WHERE tenant_id = @tenant_id AND next_at <= @before::timestamptz;

-- name: VisitorOwner :one
-- The salesperson of the customer a visitor id names (NULL owner: none yet), for a signed-in customer's home.
SELECT c.id, c.owner_id FROM customer_identities ci
JOIN customers c ON c.tenant_id = ci.tenant_id AND c.id = ci.customer_id
WHERE ci.tenant_id = @tenant_id AND ci.kind = 'visitor' AND ci.value = @visitor AND c.merged_into IS NULL;
