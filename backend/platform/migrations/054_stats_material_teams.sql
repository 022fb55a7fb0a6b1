-- A team's dashboard shows what materials did through its own salespeople (issue 15): the materials'
-- counters per team, by day and by week (from Monday), beside the tenant-wide ones (014, 050). An event
-- counts for the team its salesperson was in when it was recorded (the team of the share's salesperson,
-- as a forward's views are credited to them); a salesperson without a team adds to the tenant's rows only.
-- Written by stats.AddMaterialDays in the same statement as the tenant-wide rows.
CREATE TABLE stats_material_team_days (
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  team_id      uuid NOT NULL,
  day          date NOT NULL,
  material_id  uuid NOT NULL,
  shares       integer NOT NULL DEFAULT 0,
  views        integer NOT NULL DEFAULT 0,
  dwell_ms     bigint NOT NULL DEFAULT 0,
  forwards     integer NOT NULL DEFAULT 0,
  leads        integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, team_id, day, material_id)
);
CREATE TABLE stats_material_team_weeks (
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  team_id      uuid NOT NULL,
  start_day    date NOT NULL,
  material_id  uuid NOT NULL,
  shares       integer NOT NULL DEFAULT 0,
  views        integer NOT NULL DEFAULT 0,
  dwell_ms     bigint NOT NULL DEFAULT 0,
  forwards     integer NOT NULL DEFAULT 0,
  leads        integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, team_id, start_day, material_id)
);
ALTER TABLE stats_material_team_days ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON stats_material_team_days
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE stats_material_team_weeks ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON stats_material_team_weeks
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- What is already recorded, counted from the events and shares (the team: the salesperson's now), with the
-- forcing of row-level security lifted inside this file's transaction, as 053 explains.
ALTER TABLE tenants NO FORCE ROW LEVEL SECURITY;
ALTER TABLE employees NO FORCE ROW LEVEL SECURITY;
ALTER TABLE events NO FORCE ROW LEVEL SECURITY;
ALTER TABLE shares NO FORCE ROW LEVEL SECURITY;

INSERT INTO stats_material_team_days (tenant_id, team_id, day, material_id, shares, views, dwell_ms, forwards, leads)
SELECT x.tenant_id, x.team_id, x.day, x.material_id, sum(x.sh), sum(x.v), sum(x.dw), sum(x.f), sum(x.l)
  FROM (SELECT ev.tenant_id, e.team_id, (ev.occurred_at AT TIME ZONE t.time_zone)::date AS day, ev.material_id,
               0 AS sh, (ev.kind IN ('card_view', 'material_view'))::int AS v,
               CASE WHEN ev.kind IN ('card_view', 'material_view') THEN ev.dwell_ms ELSE 0 END::bigint AS dw,
               (ev.kind = 'forward')::int AS f, (ev.kind = 'phone_left')::int AS l
          FROM events ev
          JOIN employees e ON e.tenant_id = ev.tenant_id AND e.id = ev.employee_id
          JOIN tenants t ON t.id = ev.tenant_id
         WHERE ev.material_id IS NOT NULL AND e.team_id IS NOT NULL
           AND ev.kind IN ('card_view', 'material_view', 'forward', 'phone_left')
        UNION ALL
        SELECT s.tenant_id, e.team_id, (s.created_at AT TIME ZONE t.time_zone)::date, s.material_id, 1, 0, 0, 0, 0
          FROM shares s
          JOIN employees e ON e.tenant_id = s.tenant_id AND e.id = s.employee_id
          JOIN tenants t ON t.id = s.tenant_id
         WHERE s.material_id IS NOT NULL AND s.parent_id IS NULL AND NOT s.standing AND e.team_id IS NOT NULL) x
 GROUP BY 1, 2, 3, 4;

INSERT INTO stats_material_team_weeks (tenant_id, team_id, start_day, material_id, shares, views, dwell_ms, forwards, leads)
SELECT tenant_id, team_id, date_trunc('week', day::timestamp)::date, material_id, sum(shares), sum(views), sum(dwell_ms),
       sum(forwards), sum(leads)
  FROM stats_material_team_days
 GROUP BY 1, 2, 3, 4;

ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
ALTER TABLE employees FORCE ROW LEVEL SECURITY;
ALTER TABLE events FORCE ROW LEVEL SECURITY;
ALTER TABLE shares FORCE ROW LEVEL SECURITY;
ALTER TABLE stats_material_team_days FORCE ROW LEVEL SECURITY;
ALTER TABLE stats_material_team_weeks FORCE ROW LEVEL SECURITY;
