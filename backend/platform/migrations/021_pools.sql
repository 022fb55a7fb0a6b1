-- Lead pools (issue 17): several pools per tenant (by team or region) that salespeople claim leads from.
-- A lead is a customer nobody owns (customers.owner_id IS NULL, owned by the customer domain); pool_leads
-- says which pool it waits in. A customer without a pool_leads row (a new visitor under the `pool` owner
-- rule) waits in the tenant's default pool. Claiming sets the owner through the customer domain, whose
-- UPDATE ... WHERE owner_id IS NULL decides a race: exactly one claimer changes the row.

CREATE TABLE pools (
  tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id               uuid NOT NULL,
  name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
  region           text NOT NULL DEFAULT '' CHECK (length(region) <= 60),
  -- The pool new unassigned customers land in; at most one per tenant.
  is_default       boolean NOT NULL DEFAULT false,
  -- Per salesperson and pool: claims per day (in the tenant's time zone) and leads held at once.
  daily_claim_cap  integer NOT NULL CHECK (daily_claim_cap BETWEEN 1 AND 10000),
  max_held         integer NOT NULL CHECK (max_held BETWEEN 1 AND 100000),
  -- The teams whose members may claim from the pool; empty: every employee of the tenant.
  team_ids         uuid[] NOT NULL DEFAULT '{}',
  -- Recycle rules (0: off): a held lead with no follow-up in this many days, or no stage change in this
  -- many, goes back to the pool (warned a day before); its last holder may claim it again only after
  -- cooldown_days.
  recycle_follow_up_days  integer NOT NULL DEFAULT 0 CHECK (recycle_follow_up_days BETWEEN 0 AND 365),
  recycle_progress_days   integer NOT NULL DEFAULT 0 CHECK (recycle_progress_days BETWEEN 0 AND 365),
  cooldown_days           integer NOT NULL DEFAULT 0 CHECK (cooldown_days BETWEEN 0 AND 365),
  created_by       uuid NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT pools_name_key UNIQUE (tenant_id, name)
);
CREATE UNIQUE INDEX pools_default_idx ON pools (tenant_id) WHERE is_default;
ALTER TABLE pools ENABLE ROW LEVEL SECURITY;
ALTER TABLE pools FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pools
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON pools TO salesapp_app;

-- Which pool an unowned customer waits in, and how it got there. A row whose customer has an owner again
-- (claimed, or assigned by an admin) is stale and ignored; the next release overwrites it.
CREATE TABLE pool_leads (
  tenant_id    uuid NOT NULL,
  customer_id  uuid NOT NULL,
  pool_id      uuid NOT NULL,
  reason       text NOT NULL CHECK (reason IN ('released', 'recycled', 'imported')),
  note         text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
  -- Who released it (uuid.Nil for a job or an import).
  released_by  uuid,
  entered_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, customer_id),
  FOREIGN KEY (tenant_id, pool_id) REFERENCES pools (tenant_id, id) ON DELETE CASCADE
);
-- A pool's leads, newest first (ListLeads).
CREATE INDEX pool_leads_pool_idx ON pool_leads (tenant_id, pool_id, entered_at DESC, customer_id);
ALTER TABLE pool_leads ENABLE ROW LEVEL SECURITY;
ALTER TABLE pool_leads FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pool_leads
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON pool_leads TO salesapp_app;

-- Each claim: what the daily cap counts (claims today) and the held cap counts (claims not released,
-- whose customer the claimer still owns).
CREATE TABLE pool_claims (
  tenant_id    uuid NOT NULL,
  id           uuid NOT NULL,
  pool_id      uuid NOT NULL,
  customer_id  uuid NOT NULL,
  employee_id  uuid NOT NULL,
  claimed_at   timestamptz NOT NULL DEFAULT now(),
  released_at  timestamptz,
  -- When the recycle job looks at the claim next (NULL: the pool has no recycle rule). It is the earliest
  -- the claim could be due for a warning, computed at the claim; the job, finding a follow-up or a stage
  -- change since, moves it on, so a follow-up writes nothing here and the job reads only rows due now.
  next_check_at  timestamptz,
  -- The due time the holder was warned about (a later follow-up moves the due time: a new warning).
  warned_for     timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, pool_id) REFERENCES pools (tenant_id, id) ON DELETE CASCADE
);
-- Claims today per salesperson and pool (the daily cap).
CREATE INDEX pool_claims_day_idx ON pool_claims (tenant_id, employee_id, pool_id, claimed_at DESC);
-- Leads held (the held cap), and the claim a release closes.
CREATE INDEX pool_claims_held_idx ON pool_claims (tenant_id, employee_id, pool_id) WHERE released_at IS NULL;
-- The recycle job's due rows, per tenant and across tenants (pool_due_tenants).
CREATE INDEX pool_claims_due_idx ON pool_claims (tenant_id, next_check_at) WHERE released_at IS NULL AND next_check_at IS NOT NULL;
CREATE INDEX pool_claims_due_tenants_idx ON pool_claims (next_check_at) INCLUDE (tenant_id) WHERE released_at IS NULL AND next_check_at IS NOT NULL;
CREATE INDEX pool_claims_customer_idx ON pool_claims (tenant_id, customer_id) WHERE released_at IS NULL;
ALTER TABLE pool_claims ENABLE ROW LEVEL SECURITY;
ALTER TABLE pool_claims FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pool_claims
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON pool_claims TO salesapp_app;

-- The default pool's implicit leads (unowned customers that never entered a pool), newest first.
CREATE INDEX customers_pool_created_idx ON customers (tenant_id, created_at DESC, id) WHERE owner_id IS NULL AND merged_into IS NULL;

-- A recycled lead's last holder may not claim it again until `until`.
CREATE TABLE pool_cooldowns (
  tenant_id    uuid NOT NULL,
  customer_id  uuid NOT NULL,
  employee_id  uuid NOT NULL,
  until        timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, customer_id, employee_id)
);
ALTER TABLE pool_cooldowns ENABLE ROW LEVEL SECURITY;
ALTER TABLE pool_cooldowns FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pool_cooldowns
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON pool_cooldowns TO salesapp_app;

-- When a customer's stage last changed (NULL: never since it was made); the customer domain keeps it, the
-- recycle rule "no stage progress in M days" reads it.
ALTER TABLE customers ADD COLUMN stage_changed_at timestamptz;

-- pool_due_tenants lists the tenants with claims the recycle job should look at by p_now, across tenants,
-- in the manner of share_tenant (008): the owner may read open claims that have a check scheduled and
-- nothing else, and the function returns only their tenants. The job then works each tenant in a tenant
-- transaction. An index-only walk of pool_claims_due_tenants_idx up to p_now.
CREATE FUNCTION pool_due_tenants(p_now timestamptz) RETURNS SETOF uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$ SELECT DISTINCT tenant_id FROM pool_claims WHERE released_at IS NULL AND next_check_at IS NOT NULL AND next_check_at <= p_now $$;
CREATE POLICY pool_due_tenants_read ON pool_claims FOR SELECT TO CURRENT_USER
  USING (released_at IS NULL AND next_check_at IS NOT NULL);
REVOKE ALL ON FUNCTION pool_due_tenants(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pool_due_tenants(timestamptz) TO salesapp_app;

-- Pool alerts: a held lead goes back to the pool tomorrow (to its holder); a lead in a pool is reading
-- again (to the pool's managers).
ALTER TABLE alerts DROP CONSTRAINT alerts_kind_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_kind_check CHECK (kind IN ('first_view', 'return', 'long_read', 'forward',
  'call_click', 'wechat_click', 'phone_left', 'new_customer', 'view', 'task_assigned', 'task_completed', 'task_cancelled',
  'lead_recycle_warning', 'lead_recycled', 'pool_lead_active'));

-- An import de-duplicates its rows by phone against the tenant's customers.
CREATE INDEX customers_phone_idx ON customers (tenant_id, phone) WHERE phone <> '' AND merged_into IS NULL;
