-- Marketing tasks (issue 15): an admin or manager asks salespeople to share materials and reach customers,
-- the ingest scores each person's progress from what customers actually did through the task's shares.

CREATE TABLE tasks (
  tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id             uuid NOT NULL,
  created_by     uuid NOT NULL,
  title          text NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
  brief          text NOT NULL DEFAULT '' CHECK (length(brief) <= 2000),
  material_ids   uuid[] NOT NULL DEFAULT '{}',
  -- Targets; 0 means "not a target".
  target_shares         integer NOT NULL DEFAULT 0 CHECK (target_shares >= 0),
  target_views          integer NOT NULL DEFAULT 0 CHECK (target_views >= 0),
  target_viewers        integer NOT NULL DEFAULT 0 CHECK (target_viewers >= 0),
  target_forwards       integer NOT NULL DEFAULT 0 CHECK (target_forwards >= 0),
  target_new_customers  integer NOT NULL DEFAULT 0 CHECK (target_new_customers >= 0),
  target_leads          integer NOT NULL DEFAULT 0 CHECK (target_leads >= 0),
  starts_at      timestamptz NOT NULL,
  ends_at        timestamptz NOT NULL,
  -- Who may take it: the whole tenant, some teams, or chosen employees.
  audience       text NOT NULL CHECK (audience IN ('tenant', 'teams', 'employees')),
  team_ids       uuid[] NOT NULL DEFAULT '{}',
  employee_ids   uuid[] NOT NULL DEFAULT '{}',
  claim_required boolean NOT NULL,
  -- 0: no cap on claimers.
  max_claimers   integer NOT NULL DEFAULT 0 CHECK (max_claimers >= 0),
  claimers       integer NOT NULL DEFAULT 0,
  status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled')),
  version        bigint NOT NULL DEFAULT 1,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  cancelled_at   timestamptz,
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT tasks_window CHECK (ends_at > starts_at),
  CONSTRAINT tasks_some_target CHECK (target_shares + target_views + target_viewers + target_forwards
                                      + target_new_customers + target_leads > 0),
  CONSTRAINT tasks_cap CHECK (max_claimers = 0 OR claimers <= max_claimers)
);
CREATE INDEX tasks_list_idx ON tasks (tenant_id, status, ends_at DESC);
ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE tasks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tasks
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- One salesperson on a task (claimed, or assigned outright) and their progress, kept by the ingest.
CREATE TABLE task_assignees (
  tenant_id      uuid NOT NULL,
  task_id        uuid NOT NULL,
  employee_id    uuid NOT NULL,
  claimed        boolean NOT NULL,
  joined_at      timestamptz NOT NULL DEFAULT now(),
  shares         integer NOT NULL DEFAULT 0,
  views          integer NOT NULL DEFAULT 0,
  viewers        integer NOT NULL DEFAULT 0,
  forwards       integer NOT NULL DEFAULT 0,
  new_customers  integer NOT NULL DEFAULT 0,
  leads          integer NOT NULL DEFAULT 0,
  completed_at   timestamptz,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, task_id, employee_id),
  CONSTRAINT task_assignees_task_fk FOREIGN KEY (tenant_id, task_id) REFERENCES tasks (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT task_assignees_employee_fk FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX task_assignees_employee_idx ON task_assignees (tenant_id, employee_id);
ALTER TABLE task_assignees ENABLE ROW LEVEL SECURITY;
ALTER TABLE task_assignees FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON task_assignees
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- The customers a salesperson reached through a task's shares, one row per customer and what they did
-- (viewed, left a phone number, became a new customer): what managers read, and what makes unique viewers,
-- leads and new customers count each customer once (a row inserted is a count added).
CREATE TABLE task_reach (
  tenant_id      uuid NOT NULL,
  task_id        uuid NOT NULL,
  employee_id    uuid NOT NULL,
  customer_id    uuid NOT NULL,
  what           text NOT NULL CHECK (what IN ('viewer', 'lead', 'new_customer', 'forwarder')),
  first_at       timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, task_id, employee_id, customer_id, what),
  CONSTRAINT task_reach_assignee_fk FOREIGN KEY (tenant_id, task_id, employee_id)
    REFERENCES task_assignees (tenant_id, task_id, employee_id) ON DELETE CASCADE
);
ALTER TABLE task_reach ENABLE ROW LEVEL SECURITY;
ALTER TABLE task_reach FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON task_reach
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- A share made for a task carries it; forwards inherit their root's.
ALTER TABLE shares ADD COLUMN task_id uuid;

-- Task alerts: assigned, completed, cancelled (no customer: customer_id is the nil uuid).
ALTER TABLE alerts DROP CONSTRAINT alerts_kind_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_kind_check CHECK (kind IN ('first_view', 'return', 'long_read', 'forward',
  'call_click', 'wechat_click', 'phone_left', 'new_customer', 'view', 'task_assigned', 'task_completed', 'task_cancelled'));
