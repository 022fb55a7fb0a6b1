-- The managers' copy of 030: when customers leave a team (their owner changes to someone outside it), the
-- team's managers lose the customers' notes and timeline entries. sync_customers_managers (020) found them
-- by (scope, parent_id), which no index serves, so a statement moving customers of a team with a manager
-- scanned sync_changes whole. It now finds the children from their own tables and their sync rows by the
-- primary key, as sync_customers does since 030. Which managers lose what is 020's rule, unchanged.
CREATE OR REPLACE FUNCTION sync_customers_managers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT FROM old_rows o JOIN new_rows n ON n.id = o.id
                  WHERE o.owner_id IS NOT NULL AND n.owner_id IS DISTINCT FROM o.owner_id) THEN
    RETURN NULL;
  END IF;
  UPDATE sync_changes s
     SET tombstone = true, xid = pg_current_xact_id(), seq = nextval('sync_seq'), changed_at = now()
    FROM (WITH gone AS MATERIALIZED (
            SELECT DISTINCT m.id AS scope, o.id, o.tenant_id
              FROM old_rows o JOIN new_rows n ON n.id = o.id
              JOIN employees oe ON oe.tenant_id = o.tenant_id AND oe.id = o.owner_id
              JOIN employees m ON m.tenant_id = oe.tenant_id AND m.team_id = oe.team_id AND m.role = 'manager' AND m.id <> oe.id
             WHERE n.owner_id IS DISTINCT FROM o.owner_id
               AND n.owner_id IS DISTINCT FROM m.id
               AND NOT EXISTS (SELECT FROM employees ne WHERE ne.tenant_id = n.tenant_id AND ne.id = n.owner_id AND ne.team_id = m.team_id))
          SELECT g.scope, 'note'::text AS kind, cn.id AS entity_id
            FROM gone g JOIN customer_notes cn ON cn.tenant_id = g.tenant_id AND cn.customer_id = g.id
          UNION ALL
          SELECT g.scope, 'timeline', e.id
            FROM gone g JOIN events e ON e.tenant_id = g.tenant_id AND e.customer_id = g.id
           WHERE e.kind <> 'dwell') c
   WHERE s.scope = c.scope AND s.kind = c.kind AND s.entity_id = c.entity_id AND NOT s.tombstone;
  RETURN NULL;
END $$;
