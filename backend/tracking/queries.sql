-- Tracking ingest: set-based statements over one batch of one tenant, run inside a tenant transaction.
-- (Each takes parallel arrays, one element per row.)

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
  RETURNING v.id, v.customer_id, v.material_id, v.employee_id, v.dwell_ms, v.occurred_at
)
SELECT upd.id AS view_id, upd.customer_id, upd.material_id, upd.employee_id, old.dwell_ms AS old_dwell_ms, upd.dwell_ms AS new_dwell_ms,
       (upd.dwell_ms - old.dwell_ms)::bigint AS added, upd.occurred_at
FROM upd JOIN old ON old.id = upd.id;

-- name: MaterialTitles :many
SELECT id, title FROM materials WHERE id = ANY (@ids::uuid[]);

-- name: ScopeIngest :exec
-- Scopes the transaction to the tenant (as platform.SetTenant does) and tells the sync triggers that it
-- records its sync changes itself (customer.Batch.RecordActivityTx), in one round trip.
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
