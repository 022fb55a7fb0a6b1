-- Rankings and dashboards (issue 15): counters kept as events are ingested and shares made, per day in the
-- tenant's time zone, so that a ranking or a dashboard sums a few days' rows instead of scanning events.
-- Written only by the stats domain (stats.RecordEventsTx, RecordShareTx, RecordTaskCompletedTx), inside
-- the transaction of the write they count, so a replayed event (stored once, by its id) counts once.

-- One salesperson's day. visitors and identified count distinct customers who viewed something of theirs
-- that day (stats_visitor_days keeps who), identified those known by more than a browser (a phone, an
-- openid, a unionid, a WeCom contact).
CREATE TABLE stats_employee_days (
  tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  day              date NOT NULL,
  employee_id      uuid NOT NULL,
  shares           integer NOT NULL DEFAULT 0,
  views            integer NOT NULL DEFAULT 0,
  visitors         integer NOT NULL DEFAULT 0,
  identified       integer NOT NULL DEFAULT 0,
  new_customers    integer NOT NULL DEFAULT 0,
  leads            integer NOT NULL DEFAULT 0,
  forwards         integer NOT NULL DEFAULT 0,
  tasks_completed  integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, day, employee_id)
);
CREATE INDEX stats_employee_days_employee_idx ON stats_employee_days (tenant_id, employee_id, day);
ALTER TABLE stats_employee_days ENABLE ROW LEVEL SECURITY;
ALTER TABLE stats_employee_days FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON stats_employee_days
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- Who has been counted as a visitor of a salesperson on a day (and whether as identified).
CREATE TABLE stats_visitor_days (
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  day          date NOT NULL,
  employee_id  uuid NOT NULL,
  customer_id  uuid NOT NULL,
  identified   boolean NOT NULL DEFAULT false,
  PRIMARY KEY (tenant_id, day, employee_id, customer_id)
);
ALTER TABLE stats_visitor_days ENABLE ROW LEVEL SECURITY;
ALTER TABLE stats_visitor_days FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON stats_visitor_days
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- One material's day in one tenant (platform materials too: no foreign key, their rows have no tenant).
CREATE TABLE stats_material_days (
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  day          date NOT NULL,
  material_id  uuid NOT NULL,
  shares       integer NOT NULL DEFAULT 0,
  views        integer NOT NULL DEFAULT 0,
  dwell_ms     bigint NOT NULL DEFAULT 0,
  forwards     integer NOT NULL DEFAULT 0,
  leads        integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, day, material_id)
);
ALTER TABLE stats_material_days ENABLE ROW LEVEL SECURITY;
ALTER TABLE stats_material_days FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON stats_material_days
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());


-- Today's follow-ups: a salesperson's follow-up notes by when their next step is due.
CREATE INDEX customer_notes_due_idx ON customer_notes (tenant_id, author_id, next_at) WHERE next_at IS NOT NULL;

-- The same counters per calendar week (from Monday) and month, kept beside the days so that "this week"
-- and "this month" rank 10,000 people from 10,000 rows rather than 300,000.
CREATE TABLE stats_employee_periods (
  tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  period           text NOT NULL CHECK (period IN ('week', 'month')),
  start_day        date NOT NULL,
  employee_id      uuid NOT NULL,
  shares           integer NOT NULL DEFAULT 0,
  views            integer NOT NULL DEFAULT 0,
  visitors         integer NOT NULL DEFAULT 0,
  identified       integer NOT NULL DEFAULT 0,
  new_customers    integer NOT NULL DEFAULT 0,
  leads            integer NOT NULL DEFAULT 0,
  forwards         integer NOT NULL DEFAULT 0,
  tasks_completed  integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, period, start_day, employee_id)
);
ALTER TABLE stats_employee_periods ENABLE ROW LEVEL SECURITY;
ALTER TABLE stats_employee_periods FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON stats_employee_periods
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
