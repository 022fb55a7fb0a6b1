-- The team dashboard's funnel ends at customers first seen in the span, owned in scope, at "contacted"
-- or beyond (issue 15). Counting them per request read every such customer of the team (20,000 for a
-- team of 500 over a month: 20 ms of the dashboard's 50). They are counted here instead, beside the
-- other daily counters: stats_employee_days.contacted is, for an employee and a day, how many of the
-- customers first seen that day (in the tenant's zone) they own now, not merged, at a stage beyond
-- 'new'; the week and month rollups hold their days' sum, as for the other counters.
--
-- A change of stage, owner or merge moves a customer's one between rows. The update trigger runs for
-- every statement that updates customers (a trigger with transition tables cannot name columns); for the
-- ingest's activity updates it finds no customer whose counted state moved and writes nothing.

ALTER TABLE stats_employee_days ADD COLUMN contacted integer NOT NULL DEFAULT 0;

ALTER TABLE stats_employee_periods ADD COLUMN contacted integer NOT NULL DEFAULT 0;

-- stats_contacted_add adds counted customers' moves, n per (tenant, employee, first seen), to the days
-- and to the week and month rollups, in the ingest's key order (AddEmployeeDays).
CREATE FUNCTION stats_contacted_add(p_tenant uuid[], p_employee uuid[], p_created timestamptz[], p_n int[]) RETURNS void
  LANGUAGE sql
  AS $$
  WITH x AS (
    SELECT m.tenant_id, (m.created_at AT TIME ZONE t.time_zone)::date AS day, m.employee_id, sum(m.n)::int AS n
      FROM unnest(p_tenant, p_employee, p_created, p_n) AS m (tenant_id, employee_id, created_at, n)
      JOIN tenants t ON t.id = m.tenant_id
     GROUP BY 1, 2, 3
    HAVING sum(m.n) <> 0
  ), per AS (
    INSERT INTO stats_employee_periods AS p (tenant_id, period, start_day, employee_id, contacted)
    SELECT x.tenant_id, k.period, date_trunc(k.period, x.day::timestamp)::date, x.employee_id, sum(x.n)
      FROM x CROSS JOIN (VALUES ('week'), ('month')) AS k (period)
     GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (tenant_id, period, start_day, employee_id) DO UPDATE SET contacted = p.contacted + excluded.contacted
  )
  INSERT INTO stats_employee_days AS s (tenant_id, day, employee_id, contacted)
  SELECT x.tenant_id, x.day, x.employee_id, x.n FROM x ORDER BY 1, 2, 3
  ON CONFLICT (tenant_id, day, employee_id) DO UPDATE SET contacted = s.contacted + excluded.contacted
  $$;

CREATE FUNCTION stats_contacted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  tn uuid[];
  em uuid[];
  cr timestamptz[];
  n int[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(x.tenant_id), array_agg(x.owner_id), array_agg(x.created_at), array_agg(1)
      INTO tn, em, cr, n
      FROM new_rows x WHERE x.owner_id IS NOT NULL AND x.merged_into IS NULL AND x.stage <> 'new';
  ELSE
    -- Each customer whose counted state moved: -1 where it was counted, +1 where it is.
    WITH changed AS (
      SELECT o.tenant_id, o.owner_id AS o_owner, o.merged_into AS o_merged, o.stage AS o_stage, o.created_at AS o_created,
             x.owner_id, x.merged_into, x.stage, x.created_at
        FROM old_rows o JOIN new_rows x ON x.id = o.id
       WHERE (o.owner_id, o.merged_into, o.stage, o.created_at) IS DISTINCT FROM (x.owner_id, x.merged_into, x.stage, x.created_at)
    ), moved AS (
      SELECT c.tenant_id, c.o_owner AS employee_id, c.o_created AS created_at, -1 AS n FROM changed c
       WHERE c.o_owner IS NOT NULL AND c.o_merged IS NULL AND c.o_stage <> 'new'
      UNION ALL
      SELECT c.tenant_id, c.owner_id, c.created_at, 1 FROM changed c
       WHERE c.owner_id IS NOT NULL AND c.merged_into IS NULL AND c.stage <> 'new'
    )
    SELECT array_agg(m.tenant_id), array_agg(m.employee_id), array_agg(m.created_at), array_agg(m.n)
      INTO tn, em, cr, n
      FROM moved m;
  END IF;
  IF tn IS NOT NULL THEN
    PERFORM stats_contacted_add(tn, em, cr, n);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER stats_contacted_ins AFTER INSERT ON customers
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_contacted();
CREATE TRIGGER stats_contacted_upd AFTER UPDATE ON customers
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_contacted();

-- The customers there are.
SELECT stats_contacted_add(array_agg(c.tenant_id), array_agg(c.owner_id), array_agg(c.created_at), array_agg(1))
  FROM customers c
 WHERE c.owner_id IS NOT NULL AND c.merged_into IS NULL AND c.stage <> 'new'
HAVING count(*) > 0;
