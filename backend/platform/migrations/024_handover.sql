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


-- sync_customers (005) as it was, but for the two statements that bring a reassigned customer's notes and
-- timeline to the new owner: the customers that changed hands are worked out first (a materialized CTE),
-- then joined to notes and events. Joined in one query, the tenant condition of the events' row-level
-- security made the planner guess one moved customer and rescan the old rows for each: quadratic, about
-- 2 s for 3,000 customers and past the statement timeout for a handover of 20,000.
CREATE OR REPLACE FUNCTION sync_customers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('app.sync_deferred', true) = 'on' THEN
    RETURN NULL; -- the tracking ingest records its changes itself, at once (sync_ingested)
  END IF;
  IF TG_OP = 'INSERT' THEN
    PERFORM sync_touch(array_agg(n.owner_id), 'customer', array_agg(n.id), array_agg(n.tenant_id),
                       array_agg(NULL::uuid), array_agg(false), array_agg(NULL::timestamptz))
       FROM new_rows n WHERE n.owner_id IS NOT NULL AND n.merged_into IS NULL
      HAVING count(*) > 0;
    RETURN NULL;
  END IF;
  -- One statement for the common case: gone from the old owner's scope (reassigned or merged away), and
  -- changed in (or new to) the current owner's. Only what the app shows counts as a change; tombstones
  -- come first, so a page that holds both applies them in that order.
  PERFORM sync_touch(array_agg(x.scope ORDER BY x.tombstone DESC), 'customer', array_agg(x.id ORDER BY x.tombstone DESC),
                     array_agg(x.tenant_id ORDER BY x.tombstone DESC), array_agg(NULL::uuid),
                     array_agg(x.tombstone ORDER BY x.tombstone DESC), array_agg(NULL::timestamptz))
     FROM (SELECT o.owner_id AS scope, o.id, o.tenant_id, true AS tombstone
             FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.owner_id IS NOT NULL AND o.merged_into IS NULL
              AND (n.owner_id IS DISTINCT FROM o.owner_id OR n.merged_into IS NOT NULL)
           UNION ALL
           SELECT n.owner_id, n.id, n.tenant_id, false
             FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE n.owner_id IS NOT NULL AND n.merged_into IS NULL
              AND (n.owner_id, n.display_name, n.avatar_url, n.phone, n.stage, n.source_channel, n.remark, n.tags,
                   n.views, n.dwell_ms, n.forwards, n.call_clicks, n.wechat_clicks, n.intent_score, n.last_active_at)
                  IS DISTINCT FROM
                  (o.owner_id, o.display_name, o.avatar_url, o.phone, o.stage, o.source_channel, o.remark, o.tags,
                   o.views, o.dwell_ms, o.forwards, o.call_clicks, o.wechat_clicks, o.intent_score, o.last_active_at)) x
    HAVING count(*) > 0;
  IF NOT EXISTS (SELECT FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE n.owner_id IS DISTINCT FROM o.owner_id) THEN
    RETURN NULL;
  END IF;
  -- A new owner: the children leave with the customer...
  UPDATE sync_changes s
     SET tombstone = true, xid = pg_current_xact_id(), seq = nextval('sync_seq'), changed_at = now()
    FROM old_rows o JOIN new_rows n ON n.id = o.id
   WHERE o.owner_id IS NOT NULL AND n.owner_id IS DISTINCT FROM o.owner_id
     AND s.scope = o.owner_id AND s.parent_id = o.id AND NOT s.tombstone;
  -- ...and arrive with it.
  PERFORM sync_touch(array_agg(c.owner_id), 'note', array_agg(c.note_id), array_agg(c.tenant_id),
                     array_agg(c.id), array_agg(false), array_agg(NULL::timestamptz))
     FROM (WITH moved AS MATERIALIZED (
             SELECT n.owner_id, n.id, n.tenant_id FROM new_rows n JOIN old_rows o ON o.id = n.id
              WHERE n.owner_id IS NOT NULL AND n.merged_into IS NULL AND n.owner_id IS DISTINCT FROM o.owner_id)
           SELECT m.owner_id, m.id, m.tenant_id, cn.id AS note_id
             FROM moved m JOIN customer_notes cn ON cn.tenant_id = m.tenant_id AND cn.customer_id = m.id) c
    HAVING count(*) > 0;
  PERFORM sync_touch(array_agg(c.owner_id), 'timeline', array_agg(c.event_id), array_agg(c.tenant_id),
                     array_agg(c.id), array_agg(false), array_agg(c.expires))
     FROM (WITH moved AS MATERIALIZED (
             SELECT n.owner_id, n.id, n.tenant_id FROM new_rows n JOIN old_rows o ON o.id = n.id
              WHERE n.owner_id IS NOT NULL AND n.merged_into IS NULL AND n.owner_id IS DISTINCT FROM o.owner_id)
           SELECT m.owner_id, m.id, m.tenant_id, e.id AS event_id, e.occurred_at + interval '90 days' AS expires
             FROM moved m JOIN events e ON e.tenant_id = m.tenant_id AND e.customer_id = m.id
            WHERE e.kind <> 'dwell' AND e.occurred_at > now() - interval '90 days') c
    HAVING count(*) > 0;
  RETURN NULL;
END $$;
