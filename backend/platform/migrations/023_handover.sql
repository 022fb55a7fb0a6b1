-- Employee handover (issue 17): an admin transfers a departing or reassigned employee's customers, open
-- tasks and follow-ups to one colleague or spreads them over several. Each transfer is recorded here
-- (owned by the handover domain); the customers, notes and task rows change through their own domains.

CREATE TABLE handovers (
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id            uuid NOT NULL,  -- UUIDv7: time-ordered
  at            timestamptz NOT NULL DEFAULT now(),
  actor_id      uuid NOT NULL,
  from_id       uuid NOT NULL,
  -- The successors, in the order customers were dealt to them; to_ids[1] is the one the departed
  -- employee's links and card credit.
  to_ids        uuid[] NOT NULL CHECK (cardinality(to_ids) BETWEEN 1 AND 50),
  -- What was asked: stages and tags (empty: all), and how much moved.
  stages        text[] NOT NULL DEFAULT '{}',
  tags          text[] NOT NULL DEFAULT '{}',
  customers     integer NOT NULL DEFAULT 0,
  -- Per successor, how many customers they received (same order as to_ids).
  per_successor integer[] NOT NULL DEFAULT '{}',
  tasks         integer NOT NULL DEFAULT 0,
  follow_ups    integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX handovers_at_idx ON handovers (tenant_id, at DESC, id DESC);
CREATE INDEX handovers_from_idx ON handovers (tenant_id, from_id, at DESC);
ALTER TABLE handovers ENABLE ROW LEVEL SECURITY;
ALTER TABLE handovers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON handovers
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
-- A record of what happened: the application adds and reads, never changes one.
REVOKE UPDATE, DELETE, TRUNCATE ON handovers FROM salesapp_app;

-- Who answers for an employee once they are disabled: their share links, posters and card credit the
-- successor. The latest handover with one successor (or the disable that named one) sets it.
CREATE TABLE employee_successors (
  tenant_id     uuid NOT NULL,
  employee_id   uuid NOT NULL,
  successor_id  uuid NOT NULL,
  set_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, employee_id),
  CHECK (successor_id <> employee_id),
  FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, successor_id) REFERENCES employees (tenant_id, id) ON DELETE CASCADE
);
ALTER TABLE employee_successors ENABLE ROW LEVEL SECURITY;
ALTER TABLE employee_successors FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON employee_successors
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON employee_successors TO salesapp_app;

-- credited_employee is who answers for p_employee now: p_employee while active (or when no successor was
-- recorded), else their successor, followed while the successor is disabled too (at most 16 steps, so a
-- cycle of disabled employees ends). Runs with the caller's rights, inside a tenant transaction.
CREATE FUNCTION credited_employee(p_tenant uuid, p_employee uuid) RETURNS uuid
  LANGUAGE sql STABLE SET search_path = public
  AS $$
    WITH RECURSIVE chain (id, depth) AS (
      SELECT p_employee, 0
      UNION ALL
      SELECT s.successor_id, c.depth + 1
      FROM chain c
      JOIN employees e ON e.tenant_id = p_tenant AND e.id = c.id AND e.status = 'disabled'
      JOIN employee_successors s ON s.tenant_id = p_tenant AND s.employee_id = c.id
      WHERE c.depth < 16
    )
    SELECT id FROM chain ORDER BY depth DESC LIMIT 1
  $$;
GRANT EXECUTE ON FUNCTION credited_employee(uuid, uuid) TO salesapp_app;
