-- Stats: daily counters written inside the ingest and share transactions, read by rankings and
-- dashboards. Days are in the tenant's time zone (tenants.time_zone), computed here from each event's time.
-- Upserts go in key order, so concurrent batches touching the same rows queue rather than deadlock.

-- name: AddEmployeeDays :exec
-- Adds one batch's counters to salespeople's days. The arrays hold one element per (employee, time) pair;
-- pairs falling on the same day are summed before the upsert (an upsert cannot touch a row twice).
WITH tz AS (SELECT t.time_zone FROM tenants t WHERE t.id = @tenant_id),
x AS (
  SELECT u.e, (u.t AT TIME ZONE (SELECT tz.time_zone FROM tz))::date AS d,
         sum(u.sh)::int AS sh, sum(u.v)::int AS v, sum(u.nc)::int AS nc, sum(u.l)::int AS l, sum(u.f)::int AS f, sum(u.tc)::int AS tc
  FROM (SELECT unnest(@employee_ids::uuid[]) AS e, unnest(@at::timestamptz[]) AS t, unnest(@shares::int[]) AS sh,
               unnest(@views::int[]) AS v, unnest(@new_customers::int[]) AS nc, unnest(@leads::int[]) AS l,
               unnest(@forwards::int[]) AS f, unnest(@tasks_completed::int[]) AS tc) AS u
  GROUP BY 1, 2
),
per AS (
  INSERT INTO stats_employee_periods AS p (tenant_id, period, start_day, employee_id, shares, views, new_customers, leads, forwards, tasks_completed)
  SELECT @tenant_id, k.period, CASE k.period WHEN 'week' THEN date_trunc('week', x.d::timestamp)::date ELSE date_trunc('month', x.d::timestamp)::date END, x.e,
         sum(x.sh), sum(x.v), sum(x.nc), sum(x.l), sum(x.f), sum(x.tc)
  FROM x CROSS JOIN (VALUES ('week'), ('month')) AS k(period)
  GROUP BY 2, 3, 4 ORDER BY 2, 3, 4
  ON CONFLICT (tenant_id, period, start_day, employee_id) DO UPDATE SET
    shares = p.shares + excluded.shares, views = p.views + excluded.views,
    new_customers = p.new_customers + excluded.new_customers, leads = p.leads + excluded.leads,
    forwards = p.forwards + excluded.forwards, tasks_completed = p.tasks_completed + excluded.tasks_completed
)
INSERT INTO stats_employee_days AS s (tenant_id, day, employee_id, shares, views, new_customers, leads, forwards, tasks_completed)
SELECT @tenant_id, x.d, x.e, x.sh, x.v, x.nc, x.l, x.f, x.tc FROM x ORDER BY x.d, x.e
ON CONFLICT (tenant_id, day, employee_id) DO UPDATE SET
  shares = s.shares + excluded.shares, views = s.views + excluded.views,
  new_customers = s.new_customers + excluded.new_customers, leads = s.leads + excluded.leads,
  forwards = s.forwards + excluded.forwards, tasks_completed = s.tasks_completed + excluded.tasks_completed;

-- name: AddVisitorDays :exec
-- Records the batch's viewers per salesperson and day, and counts those not counted yet that day (and
-- those who are identified now but were not when first counted).
WITH tz AS (SELECT t.time_zone FROM tenants t WHERE t.id = @tenant_id),
x AS (
  SELECT DISTINCT u.e, (u.t AT TIME ZONE (SELECT tz.time_zone FROM tz))::date AS d, u.c
  FROM (SELECT unnest(@employee_ids::uuid[]) AS e, unnest(@at::timestamptz[]) AS t, unnest(@customer_ids::uuid[]) AS c) AS u
),
ins AS (
  INSERT INTO stats_visitor_days AS v (tenant_id, day, employee_id, customer_id, identified)
  SELECT @tenant_id, x.d, x.e, x.c,
         EXISTS (SELECT 1 FROM customer_identities i WHERE i.tenant_id = @tenant_id AND i.customer_id = x.c AND i.kind <> 'visitor')
  FROM x ORDER BY x.d, x.e, x.c
  ON CONFLICT (tenant_id, day, employee_id, customer_id) DO UPDATE SET identified = true
    WHERE NOT v.identified AND excluded.identified
  RETURNING v.day, v.employee_id, (v.xmax = 0) AS fresh, v.identified
),
agg AS (
  SELECT ins.day, ins.employee_id, count(*) FILTER (WHERE ins.fresh)::int AS visitors,
         count(*) FILTER (WHERE ins.identified)::int AS identified
  FROM ins GROUP BY 1, 2
),
per AS (
  INSERT INTO stats_employee_periods AS p (tenant_id, period, start_day, employee_id, visitors, identified)
  SELECT @tenant_id, k.period, CASE k.period WHEN 'week' THEN date_trunc('week', agg.day::timestamp)::date ELSE date_trunc('month', agg.day::timestamp)::date END,
         agg.employee_id, sum(agg.visitors), sum(agg.identified)
  FROM agg CROSS JOIN (VALUES ('week'), ('month')) AS k(period)
  GROUP BY 2, 3, 4 ORDER BY 2, 3, 4
  ON CONFLICT (tenant_id, period, start_day, employee_id) DO UPDATE SET
    visitors = p.visitors + excluded.visitors, identified = p.identified + excluded.identified
)
INSERT INTO stats_employee_days AS s (tenant_id, day, employee_id, visitors, identified)
SELECT @tenant_id, agg.day, agg.employee_id, agg.visitors, agg.identified FROM agg ORDER BY agg.day, agg.employee_id
ON CONFLICT (tenant_id, day, employee_id) DO UPDATE SET
  visitors = s.visitors + excluded.visitors, identified = s.identified + excluded.identified;

-- name: AddMaterialDays :exec
-- Adds one batch's counters to materials' days and weeks, as AddEmployeeDays does to salespeople's, and to
-- the days and weeks of the teams the credited salespeople are in (migration 054; uuid.Nil: no one's).
WITH tz AS (SELECT t.time_zone FROM tenants t WHERE t.id = @tenant_id),
u AS (
  SELECT u.m, u.e, (u.t AT TIME ZONE (SELECT tz.time_zone FROM tz))::date AS d, u.sh, u.v, u.dw, u.f, u.l
  FROM (SELECT unnest(@material_ids::uuid[]) AS m, unnest(@employee_ids::uuid[]) AS e, unnest(@at::timestamptz[]) AS t,
               unnest(@shares::int[]) AS sh, unnest(@views::int[]) AS v, unnest(@dwell_ms::bigint[]) AS dw,
               unnest(@forwards::int[]) AS f, unnest(@leads::int[]) AS l) AS u
),
x AS (
  SELECT u.m, u.d, sum(u.sh)::int AS sh, sum(u.v)::int AS v, sum(u.dw)::bigint AS dw, sum(u.f)::int AS f, sum(u.l)::int AS l
  FROM u GROUP BY 1, 2
),
xt AS (
  SELECT emp.team_id AS team, u.m, u.d, sum(u.sh)::int AS sh, sum(u.v)::int AS v, sum(u.dw)::bigint AS dw,
         sum(u.f)::int AS f, sum(u.l)::int AS l
  FROM u JOIN employees emp ON emp.tenant_id = @tenant_id AND emp.id = u.e
  WHERE emp.team_id IS NOT NULL
  GROUP BY 1, 2, 3
),
wk AS (
  INSERT INTO stats_material_weeks AS w (tenant_id, start_day, material_id, shares, views, dwell_ms, forwards, leads)
  SELECT @tenant_id, date_trunc('week', x.d::timestamp)::date, x.m, sum(x.sh), sum(x.v), sum(x.dw), sum(x.f), sum(x.l)
  FROM x GROUP BY 2, 3 ORDER BY 2, 3
  ON CONFLICT (tenant_id, start_day, material_id) DO UPDATE SET
    shares = w.shares + excluded.shares, views = w.views + excluded.views, dwell_ms = w.dwell_ms + excluded.dwell_ms,
    forwards = w.forwards + excluded.forwards, leads = w.leads + excluded.leads
),
twk AS (
  INSERT INTO stats_material_team_weeks AS w (tenant_id, team_id, start_day, material_id, shares, views, dwell_ms, forwards, leads)
  SELECT @tenant_id, xt.team, date_trunc('week', xt.d::timestamp)::date, xt.m, sum(xt.sh), sum(xt.v), sum(xt.dw), sum(xt.f), sum(xt.l)
  FROM xt GROUP BY 2, 3, 4 ORDER BY 2, 3, 4
  ON CONFLICT (tenant_id, team_id, start_day, material_id) DO UPDATE SET
    shares = w.shares + excluded.shares, views = w.views + excluded.views, dwell_ms = w.dwell_ms + excluded.dwell_ms,
    forwards = w.forwards + excluded.forwards, leads = w.leads + excluded.leads
),
tday AS (
  INSERT INTO stats_material_team_days AS s (tenant_id, team_id, day, material_id, shares, views, dwell_ms, forwards, leads)
  SELECT @tenant_id, xt.team, xt.d, xt.m, xt.sh, xt.v, xt.dw, xt.f, xt.l FROM xt ORDER BY xt.team, xt.d, xt.m
  ON CONFLICT (tenant_id, team_id, day, material_id) DO UPDATE SET
    shares = s.shares + excluded.shares, views = s.views + excluded.views, dwell_ms = s.dwell_ms + excluded.dwell_ms,
    forwards = s.forwards + excluded.forwards, leads = s.leads + excluded.leads
)
INSERT INTO stats_material_days AS s (tenant_id, day, material_id, shares, views, dwell_ms, forwards, leads)
SELECT @tenant_id, x.d, x.m, x.sh, x.v, x.dw, x.f, x.l FROM x ORDER BY x.d, x.m
ON CONFLICT (tenant_id, day, material_id) DO UPDATE SET
  shares = s.shares + excluded.shares, views = s.views + excluded.views, dwell_ms = s.dwell_ms + excluded.dwell_ms,
  forwards = s.forwards + excluded.forwards, leads = s.leads + excluded.leads;

-- name: TenantTimeZone :one
SELECT time_zone FROM tenants WHERE id = @tenant_id;

-- name: EmployeeTeam :one
SELECT team_id FROM employees WHERE tenant_id = @tenant_id AND id = @id;

-- name: RankAll :many
-- Everyone ranked in a scope (the tenant's active employees, or one team's) with one metric summed over
-- [from, to], in ranking order: value first, then name, then id, so ties always come out in the same
-- order. Those with nothing counted are ranked too, at zero.
WITH s AS (
  SELECT d.employee_id,
         sum(CASE @metric::text
               WHEN 'shares' THEN d.shares WHEN 'views' THEN d.views WHEN 'visitors' THEN d.visitors
               WHEN 'new_customers' THEN d.new_customers WHEN 'leads' THEN d.leads WHEN 'forwards' THEN d.forwards
               WHEN 'tasks_completed' THEN d.tasks_completed ELSE 0 END)::bigint AS value
  FROM stats_employee_days d
  WHERE d.tenant_id = @tenant_id AND d.day BETWEEN @from_day::date AND @to_day::date
    AND (NOT @by_team::bool OR d.employee_id IN (SELECT t.id FROM employees t WHERE t.tenant_id = @tenant_id AND t.team_id = @team_id::uuid))
  GROUP BY d.employee_id
)
SELECT e.id, e.name, coalesce(s.value, 0)::bigint AS value
FROM employees e LEFT JOIN s ON s.employee_id = e.id
WHERE e.tenant_id = @tenant_id AND e.status = 'active'
  AND (NOT @by_team::bool OR e.team_id = @team_id::uuid)
ORDER BY 3 DESC, e.name, e.id;

-- name: RankAllPeriod :many
-- RankAll over one whole week or month so far, from its rollup (one row per person).
SELECT e.id, e.name,
       coalesce(CASE @metric::text
                  WHEN 'shares' THEN d.shares WHEN 'views' THEN d.views WHEN 'visitors' THEN d.visitors
                  WHEN 'new_customers' THEN d.new_customers WHEN 'leads' THEN d.leads WHEN 'forwards' THEN d.forwards
                  WHEN 'tasks_completed' THEN d.tasks_completed ELSE 0 END, 0)::bigint AS value
FROM employees e
LEFT JOIN stats_employee_periods d
  ON d.tenant_id = @tenant_id AND d.period = @period::text AND d.start_day = @from_day::date AND d.employee_id = e.id
WHERE e.tenant_id = @tenant_id AND e.status = 'active'
  AND (NOT @by_team::bool OR e.team_id = @team_id::uuid)
ORDER BY 3 DESC, e.name, e.id;

-- name: EmployeeTotals :one
-- One employee's counters summed over [from, to].
SELECT coalesce(sum(shares), 0)::int AS shares, coalesce(sum(views), 0)::int AS views,
       coalesce(sum(visitors), 0)::int AS visitors, coalesce(sum(identified), 0)::int AS identified,
       coalesce(sum(new_customers), 0)::int AS new_customers, coalesce(sum(leads), 0)::int AS leads,
       coalesce(sum(forwards), 0)::int AS forwards, coalesce(sum(tasks_completed), 0)::int AS tasks_completed
FROM stats_employee_days
WHERE tenant_id = @tenant_id AND employee_id = @employee_id AND day BETWEEN @from_day::date AND @to_day::date;

-- name: PeopleTotals :many
-- Counters of the active employees in scope summed over [from, to], one row each (zeros included), with
-- how many of the customers first seen in those days they own are at "contacted" or beyond (049). The
-- whole weeks (Monday to Sunday) inside [from, to] are read from their rollup rows, the days around them
-- from day rows: 30 days are about 6 rows a person rather than 30.
-- first_monday and last_sunday bound those weeks (Days.wholeWeeks); no whole week when first_monday
-- comes after last_sunday.
WITH u AS (
  SELECT w.employee_id, w.shares, w.views, w.visitors, w.identified, w.new_customers, w.leads, w.forwards,
         w.tasks_completed, w.contacted
  FROM stats_employee_periods w
  WHERE w.tenant_id = @tenant_id AND w.period = 'week' AND w.start_day >= @first_monday::date AND w.start_day + 6 <= @last_sunday::date
    AND (NOT @by_team::bool OR w.employee_id IN (SELECT t.id FROM employees t WHERE t.tenant_id = @tenant_id AND t.team_id = ANY (@team_ids::uuid[])))
  UNION ALL
  SELECT d.employee_id, d.shares, d.views, d.visitors, d.identified, d.new_customers, d.leads, d.forwards,
         d.tasks_completed, d.contacted
  FROM stats_employee_days d
  WHERE d.tenant_id = @tenant_id AND d.day BETWEEN @from_day::date AND @to_day::date
    AND (d.day < @first_monday::date OR d.day > @last_sunday::date)
    AND (NOT @by_team::bool OR d.employee_id IN (SELECT t.id FROM employees t WHERE t.tenant_id = @tenant_id AND t.team_id = ANY (@team_ids::uuid[])))
),
s AS (
  SELECT u.employee_id, sum(u.shares)::int AS shares, sum(u.views)::int AS views, sum(u.visitors)::int AS visitors,
         sum(u.identified)::int AS identified, sum(u.new_customers)::int AS new_customers, sum(u.leads)::int AS leads,
         sum(u.forwards)::int AS forwards, sum(u.tasks_completed)::int AS tasks_completed, sum(u.contacted)::int AS contacted
  FROM u GROUP BY u.employee_id
)
SELECT e.id, e.name, coalesce(s.shares, 0)::int AS shares, coalesce(s.views, 0)::int AS views,
       coalesce(s.visitors, 0)::int AS visitors, coalesce(s.identified, 0)::int AS identified,
       coalesce(s.new_customers, 0)::int AS new_customers, coalesce(s.leads, 0)::int AS leads,
       coalesce(s.forwards, 0)::int AS forwards, coalesce(s.tasks_completed, 0)::int AS tasks_completed,
       coalesce(s.contacted, 0)::int AS contacted
FROM employees e LEFT JOIN s ON s.employee_id = e.id
WHERE e.tenant_id = @tenant_id AND e.status = 'active' AND (NOT @by_team::bool OR e.team_id = ANY (@team_ids::uuid[]))
ORDER BY coalesce(s.views, 0) DESC, e.name, e.id;

-- name: MaterialEffect :many
-- Each material's effect over [from, to] in the tenant, or through some teams' salespeople (by_team), most
-- viewed first: the whole weeks inside the span (first_monday to last_sunday, as PeopleTotals) from the
-- weekly rows, the days around them from daily ones. Run with custom plans: the branches by_team switches
-- off are not executed.
WITH u AS (
  SELECT w.material_id, w.shares, w.views, w.dwell_ms, w.forwards, w.leads
  FROM stats_material_weeks w
  WHERE NOT @by_team::bool AND w.tenant_id = @tenant_id
    AND w.start_day >= @first_monday::date AND w.start_day + 6 <= @last_sunday::date
  UNION ALL
  SELECT d.material_id, d.shares, d.views, d.dwell_ms, d.forwards, d.leads
  FROM stats_material_days d
  WHERE NOT @by_team::bool AND d.tenant_id = @tenant_id AND d.day BETWEEN @from_day::date AND @to_day::date
    AND (d.day < @first_monday::date OR d.day > @last_sunday::date)
  UNION ALL
  SELECT w.material_id, w.shares, w.views, w.dwell_ms, w.forwards, w.leads
  FROM stats_material_team_weeks w
  WHERE @by_team::bool AND w.tenant_id = @tenant_id AND w.team_id = ANY (@team_ids::uuid[])
    AND w.start_day >= @first_monday::date AND w.start_day + 6 <= @last_sunday::date
  UNION ALL
  SELECT d.material_id, d.shares, d.views, d.dwell_ms, d.forwards, d.leads
  FROM stats_material_team_days d
  WHERE @by_team::bool AND d.tenant_id = @tenant_id AND d.team_id = ANY (@team_ids::uuid[]) AND d.day BETWEEN @from_day::date AND @to_day::date
    AND (d.day < @first_monday::date OR d.day > @last_sunday::date)
)
SELECT u.material_id, coalesce(m.title, '')::text AS title, coalesce(m.tier, '')::text AS tier,
       sum(u.shares)::int AS shares, sum(u.views)::int AS views, sum(u.dwell_ms)::bigint AS dwell_ms,
       sum(u.forwards)::int AS forwards, sum(u.leads)::int AS leads
FROM u LEFT JOIN materials m ON m.id = u.material_id
GROUP BY u.material_id, m.title, m.tier
ORDER BY sum(u.views) DESC, u.material_id
LIMIT @max_rows;

-- name: HottestCustomers :many
-- The owner's customers active since a time, hottest first.
SELECT c.id, c.display_name, c.intent_score, c.last_active_at, c.stage
FROM customers c
WHERE c.tenant_id = @tenant_id AND c.owner_id = @owner_id AND c.merged_into IS NULL AND c.last_active_at >= @since
ORDER BY c.intent_score DESC, c.last_active_at DESC, c.id
LIMIT @max_rows;

-- name: DueFollowUps :many
-- The owner's follow-ups due before a time (today's end), from the last window (older ones are stale):
-- per customer their latest follow-up note, if it has a next step in that window and no later follow-up
-- note replaced it.
SELECT c.id, c.display_name, c.intent_score, c.last_active_at, n.next_at::timestamptz AS next_at
FROM customer_notes n JOIN customers c ON c.tenant_id = n.tenant_id AND c.id = n.customer_id
WHERE n.tenant_id = @tenant_id AND n.author_id = @owner_id AND n.next_at >= @window_start::timestamptz AND n.next_at < @before::timestamptz
  AND c.owner_id = @owner_id AND c.merged_into IS NULL
  AND NOT EXISTS (SELECT 1 FROM customer_notes l WHERE l.tenant_id = n.tenant_id AND l.customer_id = n.customer_id
                  AND l.kind = 'follow_up' AND l.created_at > n.created_at)
ORDER BY n.next_at, c.id
LIMIT @max_rows;

-- name: PlanForValues :exec
-- The statements after it in the transaction are planned for their values (PlanAsUsual undoes it).
SELECT set_config('plan_cache_mode', 'force_custom_plan', true);

-- name: PlanAsUsual :exec
SELECT set_config('plan_cache_mode', 'auto', true);

-- name: ColdCustomers :many
-- The owner's customers who were hot (intent at least min_intent) and have been silent since a time, but
-- active after the floor (not long lost), and not won or lost: the hottest first.
SELECT c.id, c.display_name, c.intent_score, c.last_active_at
FROM customers c
WHERE c.tenant_id = @tenant_id AND c.owner_id = @owner_id AND c.merged_into IS NULL
  AND c.intent_score >= @min_intent::int AND c.last_active_at < @silent_since AND c.last_active_at >= @floor
  AND c.stage NOT IN ('won', 'lost')
ORDER BY c.intent_score DESC, c.last_active_at DESC, c.id
LIMIT @max_rows;

-- name: RecentReading :many
-- What each customer read since a time: per customer, their most read material, with its views and the
-- total time read.
SELECT DISTINCT ON (x.customer_id) x.customer_id, x.material_id, coalesce(m.title, '')::text AS title, x.views, x.dwell_ms
FROM (
  SELECT e.customer_id, e.material_id, count(*)::int AS views, sum(e.dwell_ms)::bigint AS dwell_ms
  FROM events e
  WHERE e.tenant_id = @tenant_id AND e.customer_id = ANY (@customer_ids::uuid[]) AND e.kind = 'material_view'
    AND e.occurred_at >= @since
  GROUP BY e.customer_id, e.material_id
) x LEFT JOIN materials m ON m.id = x.material_id
ORDER BY x.customer_id, x.views DESC, x.dwell_ms DESC, x.material_id;

-- name: SuggestMaterials :many
-- For each customer, a published material sharing most tags with what they read, that they have not been
-- sent (no view of it): the best match, then the most shared.
SELECT c.id::uuid AS customer_id, s.id AS material_id, s.title
FROM unnest(@customer_ids::uuid[]) AS c(id)
CROSS JOIN LATERAL (
  SELECT coalesce(array_agg(DISTINCT t.tag), '{}')::text[] AS tags
  FROM events ev JOIN materials r ON r.id = ev.material_id CROSS JOIN LATERAL unnest(r.tags) AS t(tag)
  WHERE ev.tenant_id = @tenant_id AND ev.customer_id = c.id AND ev.kind = 'material_view'
) ct
CROSS JOIN LATERAL (
  SELECT m.id, m.title FROM materials m
  WHERE m.status = 'published' AND m.deleted_at IS NULL AND m.tier IN ('enterprise', 'platform')
    AND NOT EXISTS (SELECT 1 FROM events v WHERE v.tenant_id = @tenant_id AND v.material_id = m.id
                    AND v.customer_id = c.id AND v.kind = 'material_view')
  ORDER BY (SELECT count(*) FROM unnest(m.tags) AS mt(tag) WHERE mt.tag = ANY (ct.tags)) DESC, m.share_count DESC, m.id
  LIMIT 1
) s;

-- name: TeamExists :one
SELECT EXISTS (SELECT 1 FROM teams WHERE tenant_id = @tenant_id AND id = @id) AS found;
