-- Tracking ingest: set-based statements over one batch of one tenant, run inside a tenant transaction.
-- (Each takes parallel arrays, one element per row.)

-- name: VisitorCustomers :many
SELECT value, customer_id FROM customer_identities
WHERE tenant_id = @tenant_id AND kind = 'visitor' AND value = ANY (@visitors::text[]);

-- name: LockCustomers :many
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

-- name: InsertEvents :many
INSERT INTO events (tenant_id, id, customer_id, employee_id, share_id, material_id, kind, view_id, occurred_at, dwell_ms, value)
SELECT @tenant_id, i, c, e, s, nullif(m, '00000000-0000-0000-0000-000000000000'::uuid), k,
       nullif(v, '00000000-0000-0000-0000-000000000000'::uuid), t, d, val
FROM (SELECT unnest(@ids::uuid[]) AS i, unnest(@customer_ids::uuid[]) AS c, unnest(@employee_ids::uuid[]) AS e, unnest(@share_ids::uuid[]) AS s, unnest(@material_ids::uuid[]) AS m, unnest(@kinds::text[]) AS k, unnest(@view_ids::uuid[]) AS v, unnest(@occurred_at::timestamptz[]) AS t, unnest(@dwell_ms::int[]) AS d, unnest(@vals::int[]) AS val) AS x
ON CONFLICT (tenant_id, id) DO NOTHING
RETURNING id;

-- name: RecomputeViewDwell :many
-- A view's dwell is the sum of its heartbeats, capped by the clock: it cannot exceed the time since the
-- view reached us plus one heartbeat interval. Recomputed from scratch, so the order in which a view and
-- its heartbeats arrive does not matter; returns how much each view's dwell grew.
WITH old AS (
  SELECT e.id, e.dwell_ms FROM events e
  WHERE e.tenant_id = @tenant_id AND e.id = ANY (@ids::uuid[]) AND e.kind IN ('card_view', 'material_view')
    AND EXISTS (SELECT 1 FROM events b WHERE b.tenant_id = @tenant_id AND b.kind = 'dwell' AND b.view_id = e.id)
  FOR UPDATE
), sums AS (
  SELECT h.view_id, sum(h.dwell_ms)::bigint AS total FROM events h
  WHERE h.tenant_id = @tenant_id AND h.kind = 'dwell' AND h.view_id IN (SELECT o.id FROM old o)
  GROUP BY h.view_id
), upd AS (
  UPDATE events v
  SET dwell_ms = least(s.total, (extract(epoch FROM (now() - v.received_at)) * 1000)::bigint + @slack_ms::bigint)::int
  FROM sums s
  WHERE v.tenant_id = @tenant_id AND v.id = s.view_id
  RETURNING v.id, v.customer_id, v.material_id, v.dwell_ms, v.occurred_at
)
SELECT upd.id AS view_id, upd.customer_id, upd.material_id, old.dwell_ms AS old_dwell_ms, upd.dwell_ms AS new_dwell_ms,
       (upd.dwell_ms - old.dwell_ms)::bigint AS added, upd.occurred_at
FROM upd JOIN old ON old.id = upd.id;

-- name: BumpCustomers :exec
-- Adds the batch to its customers' aggregates, and records for the apps' offline copies the customers,
-- the new timeline entries and the views whose dwell grew (sync_ingested_rows, given by the caller, who
-- knows their owners; the updated aggregates are read from the table when a device pulls, so the
-- function may run beside the UPDATE).
WITH bumped AS (
  UPDATE customers c SET
    views = c.views + x.views, dwell_ms = c.dwell_ms + x.dwell, forwards = c.forwards + x.forwards,
    call_clicks = c.call_clicks + x.calls, wechat_clicks = c.wechat_clicks + x.wechats,
    phone = CASE WHEN x.phone <> '' THEN x.phone ELSE c.phone END,
    last_active_at = greatest(c.last_active_at, x.active), updated_at = now(),
    intent_score = customer_intent(c.views + x.views, c.dwell_ms + x.dwell, c.forwards + x.forwards,
                                   c.call_clicks + x.calls, c.wechat_clicks + x.wechats, x.phone <> '' OR c.phone <> '')
  FROM (SELECT unnest(@ids::uuid[]) AS id, unnest(@views::int[]) AS views, unnest(@dwell::bigint[]) AS dwell, unnest(@forwards::int[]) AS forwards, unnest(@calls::int[]) AS calls, unnest(@wechats::int[]) AS wechats, unnest(@phones::text[]) AS phone, unnest(@active::timestamptz[]) AS active) AS x
  WHERE c.tenant_id = @tenant_id AND c.id = x.id
  RETURNING 1
)
SELECT sync_ingested_rows(@tenant_id, @sync_scopes::uuid[], @sync_kinds::text[], @sync_ids::uuid[],
                          @sync_parents::uuid[], @sync_occurred::timestamptz[]);

-- name: CustomerOwners :many
-- The owners of live customers (a customer merged away is left out).
SELECT id, owner_id FROM customers
WHERE tenant_id = @tenant_id AND id = ANY (@ids::uuid[]) AND merged_into IS NULL;

-- name: OwnerRule :one
SELECT customer_owner_rule FROM tenants WHERE id = @tenant_id;

-- name: MaterialTitles :many
SELECT id, title FROM materials WHERE id = ANY (@ids::uuid[]);

-- name: ScopeIngest :exec
-- Scopes the transaction to the tenant (as platform.SetTenant does) and tells the sync triggers that it
-- records its sync changes itself (BumpCustomers), in one round trip.
SELECT set_config('app.tenant_id', @tenant_id::text, true), set_config('app.sync_deferred', 'on', true);

-- name: ForwardContext :many
-- For forward alerts: how long each customer has read each material, and how often they forwarded it
-- (this batch included).
SELECT e.customer_id, e.material_id,
       coalesce(sum(e.dwell_ms) FILTER (WHERE e.kind IN ('card_view', 'material_view')), 0)::bigint AS dwell_ms,
       count(*) FILTER (WHERE e.kind = 'forward')::int AS forwards
FROM events e
WHERE e.tenant_id = @tenant_id AND e.customer_id = ANY (@customer_ids::uuid[]) AND e.kind <> 'dwell'
  AND e.material_id = ANY (@material_ids::uuid[])
GROUP BY e.customer_id, e.material_id;
