-- Usage: what a tenant uses of the SaaS, for operators. Run inside tenant transactions. The reads below look
-- at other domains' tables (employees, sessions, stats days, customers, uploads, push_days) and write
-- nothing: an aggregate for operators, so no domain's rule is repeated here. Only tenant_usage is ours.
-- The windows read the stats days (a row per salesperson per day) and sessions, never events.

-- name: Today :one
-- The tenant's day at @now, in its time zone.
SELECT timezone(time_zone, @now::timestamptz)::date AS day FROM tenants WHERE id = @tenant_id;

-- name: Staff :one
-- Active employees, and those of them who used the app (a session seen) or shared something (on a stats
-- day) in the last 7 and in the last 30 days: each side read once as a set, for both windows.
WITH seen AS (
  SELECT s.employee_id, max(s.last_seen_at) AS at FROM sessions s
  WHERE s.tenant_id = @tenant_id AND s.last_seen_at > @month_seen::timestamptz GROUP BY s.employee_id
), shared AS (
  SELECT sd.employee_id, max(sd.day) AS day FROM stats_employee_days sd
  WHERE sd.tenant_id = @tenant_id AND sd.day >= @month_shared::date AND sd.shares > 0 GROUP BY sd.employee_id
)
SELECT count(*)::int AS seats,
  count(*) FILTER (WHERE seen.at > @week_seen::timestamptz OR shared.day >= @week_shared::date)::int AS active_7d,
  count(*) FILTER (WHERE seen.at IS NOT NULL OR shared.day IS NOT NULL)::int AS active_30d
FROM employees e
LEFT JOIN seen ON seen.employee_id = e.id
LEFT JOIN shared ON shared.employee_id = e.id
WHERE e.tenant_id = @tenant_id AND e.status = 'active';

-- name: Totals :one
-- Shares and views since @since (stats days, read once), customers, storage, and pushes since @push_since
-- (UTC days).
WITH days AS (
  SELECT coalesce(sum(sd.shares), 0)::int AS shares, coalesce(sum(sd.views), 0)::int AS views
  FROM stats_employee_days sd WHERE sd.tenant_id = @tenant_id AND sd.day >= @since::date
)
SELECT days.shares, days.views,
  (SELECT count(*) FROM customers c WHERE c.tenant_id = @tenant_id AND c.merged_into IS NULL)::int AS customers,
  (SELECT coalesce(sum(u.size_bytes), 0) FROM uploads u WHERE u.tenant_id = @tenant_id)::bigint AS storage_bytes,
  (SELECT coalesce(sum(p.sent), 0) FROM push_days p WHERE p.tenant_id = @tenant_id AND p.day >= @push_since::date)::int AS pushes
FROM days;

-- name: SaveUsage :one
-- Keeps a measure as its day's (a later measure of the same day replaces it).
INSERT INTO tenant_usage (tenant_id, day, measured_at, seats_used, active_7d, active_30d, shares_30d, views_30d,
                          customers, storage_bytes, pushes_30d)
VALUES (@tenant_id, @day, @measured_at, @seats_used, @active_7d, @active_30d, @shares_30d, @views_30d,
        @customers, @storage_bytes, @pushes_30d)
ON CONFLICT (tenant_id, day) DO UPDATE SET
  measured_at = excluded.measured_at, seats_used = excluded.seats_used, active_7d = excluded.active_7d,
  active_30d = excluded.active_30d, shares_30d = excluded.shares_30d, views_30d = excluded.views_30d,
  customers = excluded.customers, storage_bytes = excluded.storage_bytes, pushes_30d = excluded.pushes_30d
RETURNING *;

-- name: History :many
-- The tenant's daily measures, newest first.
SELECT * FROM tenant_usage WHERE tenant_id = @tenant_id ORDER BY day DESC LIMIT @days;
