-- The backfills of migrations 022, 045, 046, 049 and 050 again, this time seeing the rows they fill in.
--
-- Each of those files filled in existing rows with a plain statement, run by the owner, whom forced
-- row-level security (008) binds: without a tenant scope it sees no tenant's rows. Where migrations run as
-- the owner, as `salesctl migrate` does, they found nothing and did nothing:
--   - 022: customers' numbers that came through getuserphonenumber were left unverified;
--   - 045: tasks already there never reached their assignees', claimers' and managers' sync scopes;
--   - 046: team members never reached their managers' sync scopes (until the member or team changed);
--   - 049: customers at "contacted" or beyond before 049 are missing from the funnel's contacted counts;
--   - 050: the materials' weeks before 050 are empty, so the team dashboard's material effect over those
--     weeks reads zero.
-- Here each is done with the forcing lifted (and put back before the file ends, inside its transaction, as
-- 010 does: ALTER TABLE holds its exclusive lock until commit, so no session runs against the tables with
-- it lifted, and the application role is bound by the policies either way), in a form that is right
-- whether or not the original found the rows (a migration run by a superuser did): 022's only where not
-- yet true, 045's and 046's without replacing change rows there are, 049's and 050's counted again from
-- scratch (both are functions of other rows: the customers, the materials' days).

ALTER TABLE tenants NO FORCE ROW LEVEL SECURITY;
ALTER TABLE employees NO FORCE ROW LEVEL SECURITY;
ALTER TABLE customers NO FORCE ROW LEVEL SECURITY;
ALTER TABLE customer_identities NO FORCE ROW LEVEL SECURITY;
ALTER TABLE tasks NO FORCE ROW LEVEL SECURITY;
ALTER TABLE task_assignees NO FORCE ROW LEVEL SECURITY;
ALTER TABLE sync_changes NO FORCE ROW LEVEL SECURITY;
ALTER TABLE stats_employee_days NO FORCE ROW LEVEL SECURITY;
ALTER TABLE stats_employee_periods NO FORCE ROW LEVEL SECURITY;
ALTER TABLE stats_material_days NO FORCE ROW LEVEL SECURITY;
ALTER TABLE stats_material_weeks NO FORCE ROW LEVEL SECURITY;

-- 022
UPDATE customers c SET phone_verified = true
WHERE NOT c.phone_verified AND c.phone <> ''
  AND EXISTS (SELECT 1 FROM customer_identities i
               WHERE i.tenant_id = c.tenant_id AND i.customer_id = c.id AND i.kind = 'phone' AND i.value = c.phone);

-- 045
INSERT INTO sync_changes (scope, kind, entity_id, tenant_id, tombstone, expires_at)
SELECT a.employee_id, 'task', a.task_id, a.tenant_id, false, t.ends_at + interval '90 days'
  FROM task_assignees a JOIN tasks t ON t.tenant_id = a.tenant_id AND t.id = a.task_id
 WHERE t.ends_at + interval '90 days' > now()
UNION ALL
SELECT e.id, 'task', t.id, t.tenant_id, false, t.ends_at
  FROM tasks t JOIN employees e ON e.tenant_id = t.tenant_id AND task_offered(t, e) AND NOT task_overseen(t, e)
 WHERE NOT EXISTS (SELECT 1 FROM task_assignees a WHERE a.tenant_id = t.tenant_id AND a.task_id = t.id AND a.employee_id = e.id)
UNION ALL
SELECT m.id, 'task', t.id, t.tenant_id, false, t.ends_at + interval '90 days'
  FROM tasks t JOIN employees m ON m.tenant_id = t.tenant_id AND task_overseen(t, m)
 WHERE t.ends_at + interval '90 days' > now()
   AND NOT EXISTS (SELECT 1 FROM task_assignees a WHERE a.tenant_id = t.tenant_id AND a.task_id = t.id AND a.employee_id = m.id)
ON CONFLICT (scope, kind, entity_id) DO NOTHING;

-- 046
INSERT INTO sync_changes (scope, kind, entity_id, tenant_id, tombstone)
SELECT m.id, 'member', x.id, x.tenant_id, false
  FROM employees m JOIN employees x ON x.tenant_id = m.tenant_id AND x.team_id = m.team_id
 WHERE manages_member(m, x)
ON CONFLICT (scope, kind, entity_id) DO NOTHING;

-- 049
UPDATE stats_employee_days SET contacted = 0 WHERE contacted <> 0;
UPDATE stats_employee_periods SET contacted = 0 WHERE contacted <> 0;
SELECT stats_contacted_add(array_agg(c.tenant_id), array_agg(c.owner_id), array_agg(c.created_at), array_agg(1))
  FROM customers c
 WHERE c.owner_id IS NOT NULL AND c.merged_into IS NULL AND c.stage <> 'new'
HAVING count(*) > 0;

-- 050
DELETE FROM stats_material_weeks;
INSERT INTO stats_material_weeks (tenant_id, start_day, material_id, shares, views, dwell_ms, forwards, leads)
SELECT tenant_id, date_trunc('week', day::timestamp)::date, material_id, sum(shares), sum(views), sum(dwell_ms), sum(forwards), sum(leads)
  FROM stats_material_days
 GROUP BY 1, 2, 3;

ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
ALTER TABLE employees FORCE ROW LEVEL SECURITY;
ALTER TABLE customers FORCE ROW LEVEL SECURITY;
ALTER TABLE customer_identities FORCE ROW LEVEL SECURITY;
ALTER TABLE tasks FORCE ROW LEVEL SECURITY;
ALTER TABLE task_assignees FORCE ROW LEVEL SECURITY;
ALTER TABLE sync_changes FORCE ROW LEVEL SECURITY;
ALTER TABLE stats_employee_days FORCE ROW LEVEL SECURITY;
ALTER TABLE stats_employee_periods FORCE ROW LEVEL SECURITY;
ALTER TABLE stats_material_days FORCE ROW LEVEL SECURITY;
ALTER TABLE stats_material_weeks FORCE ROW LEVEL SECURITY;
