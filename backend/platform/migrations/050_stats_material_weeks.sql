-- Materials' counters per calendar week (from Monday), kept beside their days as the salespeople's are
-- (014), so that the team dashboard's material effect over 30 days reads about 6 rows a material (its
-- whole weeks, and the days around them) rather than 30. Written by stats.AddMaterialDays in the same
-- statement as the days.
CREATE TABLE stats_material_weeks (
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  start_day    date NOT NULL,
  material_id  uuid NOT NULL,
  shares       integer NOT NULL DEFAULT 0,
  views        integer NOT NULL DEFAULT 0,
  dwell_ms     bigint NOT NULL DEFAULT 0,
  forwards     integer NOT NULL DEFAULT 0,
  leads        integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, start_day, material_id)
);
ALTER TABLE stats_material_weeks ENABLE ROW LEVEL SECURITY;
ALTER TABLE stats_material_weeks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON stats_material_weeks
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

INSERT INTO stats_material_weeks (tenant_id, start_day, material_id, shares, views, dwell_ms, forwards, leads)
SELECT tenant_id, date_trunc('week', day::timestamp)::date, material_id, sum(shares), sum(views), sum(dwell_ms), sum(forwards), sum(leads)
  FROM stats_material_days
 GROUP BY 1, 2, 3;
