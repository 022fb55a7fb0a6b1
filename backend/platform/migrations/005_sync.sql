-- Delta sync: what changed, for whom, in an order that never skips a change.
--
-- sync_changes holds one row per (scope, kind, entity): the entity's latest change in that scope. A scope
-- is a salesperson (their customers, those customers' recent timelines and notes, their card, alerts and
-- personal materials and folders), a tenant (its published materials and folders) or the platform (its
-- published materials). Triggers on the synced tables keep it current in the same transaction as the
-- change, so nothing can change without its row moving.
--
-- Each write stamps the row with the writing transaction's id (xid8) and a sequence number. A pull reads
-- rows after its cursor in (xid, seq) order inside one REPEATABLE READ snapshot and never moves its cursor
-- past the snapshot's xmin: every transaction that was still running (and so invisible) has an xid at or
-- above xmin, so a transaction that commits out of order is picked up by the next pull instead of being
-- skipped, as a bigserial or timestamp cursor would skip it. A row that leaves a scope (a customer
-- reassigned, a material unpublished, a note deleted) becomes a tombstone there. Tombstones are pruned
-- after 30 days; a cursor older than that gets a reset. Timeline entries and alerts expire (90 and 7 days)
-- and are dropped without tombstones: the app drops them on the same schedule.

CREATE SEQUENCE sync_seq CACHE 32;

-- Transaction ids cross the wire as bigint (they stay far below 2^63).
CREATE FUNCTION sync_xid(bigint) RETURNS xid8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT $1::text::xid8 $$;

CREATE TABLE sync_changes (
  scope       uuid NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('customer', 'timeline', 'note', 'card', 'alert', 'material', 'folder')),
  entity_id   uuid NOT NULL,
  tenant_id   uuid,   -- NULL only in the platform scope
  parent_id   uuid,   -- the customer of a timeline entry or note
  xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
  seq         bigint NOT NULL DEFAULT nextval('sync_seq'),
  tombstone   boolean NOT NULL DEFAULT false,
  expires_at  timestamptz,
  changed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, kind, entity_id)
);
CREATE INDEX sync_changes_pull_idx ON sync_changes (scope, xid, seq) INCLUDE (kind, entity_id, tombstone, expires_at, tenant_id);
CREATE INDEX sync_changes_tombstone_idx ON sync_changes (changed_at) WHERE tombstone;
-- (No index on expires_at: the hourly prune scans, rather than every ingest paying for one more index.)
ALTER TABLE sync_changes ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON sync_changes
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
CREATE POLICY platform_read ON sync_changes FOR SELECT
  USING (tenant_id IS NULL AND scope = '00000000-0000-0000-0000-000000000000');

-- The newest tombstone pruned so far: a cursor at or before it may have missed a delete and is reset.
CREATE TABLE sync_horizon (
  only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  pruned_xid  xid8 NOT NULL DEFAULT '0'
);
INSERT INTO sync_horizon DEFAULT VALUES;
REVOKE INSERT, UPDATE, DELETE ON sync_horizon FROM salesapp_app;

-- A tenant's sync epoch: the operator bumps it (after a restore, say) to make every device start over.
ALTER TABLE tenants ADD COLUMN sync_epoch integer NOT NULL DEFAULT 1;

-- Each device's last applied mutation, stored in the same transaction as the mutation's effects, and
-- what became of each recent mutation (so a resent one is answered the same way).
CREATE TABLE sync_devices (
  tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  employee_id       uuid NOT NULL,
  device_id         text NOT NULL CHECK (length(device_id) BETWEEN 1 AND 128),
  last_mutation_id  bigint NOT NULL DEFAULT 0,
  schema_version    integer NOT NULL DEFAULT 0,
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, employee_id, device_id)
);
ALTER TABLE sync_devices ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sync_devices
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

CREATE TABLE sync_mutations (
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  employee_id  uuid NOT NULL,
  device_id    text NOT NULL,
  mutation_id  bigint NOT NULL,
  outcome      text NOT NULL CHECK (outcome IN ('applied', 'lost', 'rejected')),
  code         text NOT NULL DEFAULT '',
  field        text NOT NULL DEFAULT '',
  message      text NOT NULL DEFAULT '',
  applied_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, employee_id, device_id, mutation_id)
);
CREATE INDEX sync_mutations_age_idx ON sync_mutations (applied_at);
ALTER TABLE sync_mutations ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sync_mutations
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- Notes can be edited and deleted now (by their author, also from a device that was offline).
ALTER TABLE customer_notes ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- An alert by its id (its latest entry), for sync.
CREATE INDEX alerts_alert_id_idx ON alerts (tenant_id, alert_id, seq DESC);

-- sync_touch records changes: each (scope, kind, entity) moves to the current transaction, live or as a
-- tombstone. The arrays are parallel; a key given twice keeps its last entry.
CREATE FUNCTION sync_touch(p_scope uuid[], p_kind text, p_id uuid[], p_tenant uuid[], p_parent uuid[],
                           p_tombstone boolean[], p_expires timestamptz[]) RETURNS void
  -- plpgsql, not sql: its plan is cached for the session instead of made again on every call.
  LANGUAGE plpgsql
  AS $$ BEGIN
    INSERT INTO sync_changes AS s (scope, kind, entity_id, tenant_id, parent_id, tombstone, expires_at)
    SELECT DISTINCT ON (x.scope, x.id) x.scope, p_kind, x.id, x.tenant, x.parent, x.tombstone, x.expires
      FROM unnest(p_scope, p_id, p_tenant, p_parent, p_tombstone, p_expires)
             WITH ORDINALITY AS x (scope, id, tenant, parent, tombstone, expires, n)
     WHERE x.scope IS NOT NULL
     ORDER BY x.scope, x.id, x.n DESC
    ON CONFLICT (scope, kind, entity_id) DO UPDATE
      SET xid = pg_current_xact_id(), seq = nextval('sync_seq'), tenant_id = excluded.tenant_id,
          parent_id = excluded.parent_id, tombstone = excluded.tombstone, expires_at = excluded.expires_at,
          changed_at = now();
  END $$;

-- Customers: in their owner's scope unless merged away. An owner change moves the customer's notes and
-- recent timeline with it.
CREATE FUNCTION sync_customers() RETURNS trigger LANGUAGE plpgsql AS $$
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
     FROM (SELECT n.owner_id, n.id, n.tenant_id, cn.id AS note_id
             FROM new_rows n JOIN old_rows o ON o.id = n.id
             JOIN customer_notes cn ON cn.tenant_id = n.tenant_id AND cn.customer_id = n.id
            WHERE n.owner_id IS NOT NULL AND n.merged_into IS NULL
              AND n.owner_id IS DISTINCT FROM o.owner_id) c
    HAVING count(*) > 0;
  PERFORM sync_touch(array_agg(c.owner_id), 'timeline', array_agg(c.event_id), array_agg(c.tenant_id),
                     array_agg(c.id), array_agg(false), array_agg(c.expires))
     FROM (SELECT n.owner_id, n.id, n.tenant_id, e.id AS event_id, e.occurred_at + interval '90 days' AS expires
             FROM new_rows n JOIN old_rows o ON o.id = n.id
             JOIN events e ON e.tenant_id = n.tenant_id AND e.customer_id = n.id
            WHERE n.owner_id IS NOT NULL AND n.merged_into IS NULL
              AND n.owner_id IS DISTINCT FROM o.owner_id
              AND e.kind <> 'dwell' AND e.occurred_at > now() - interval '90 days') c
    HAVING count(*) > 0;
  RETURN NULL;
END $$;
CREATE TRIGGER sync_customers_ins AFTER INSERT ON customers
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_customers();
CREATE TRIGGER sync_customers_upd AFTER UPDATE ON customers
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_customers();

-- Timeline entries (events other than dwell heartbeats, which fold into their view's dwell) and notes are
-- in the scope of their customer's owner. An entry moved to another customer (a merge) follows it.
CREATE FUNCTION sync_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('app.sync_deferred', true) = 'on' THEN
    RETURN NULL; -- the tracking ingest records its changes itself, at once (sync_ingested)
  END IF;
  IF TG_OP = 'UPDATE' THEN
    PERFORM sync_touch(array_agg(c.owner_id), 'timeline', array_agg(o.id), array_agg(o.tenant_id),
                       array_agg(o.customer_id), array_agg(true), array_agg(NULL::timestamptz))
       FROM old_rows o
       JOIN new_rows n ON n.id = o.id AND n.tenant_id = o.tenant_id
       JOIN customers c ON c.tenant_id = o.tenant_id AND c.id = o.customer_id
       JOIN customers nc ON nc.tenant_id = n.tenant_id AND nc.id = n.customer_id
      WHERE o.kind <> 'dwell' AND c.owner_id IS NOT NULL AND nc.owner_id IS DISTINCT FROM c.owner_id
     HAVING count(*) > 0;
    PERFORM sync_touch(array_agg(c.owner_id), 'timeline', array_agg(n.id), array_agg(n.tenant_id),
                       array_agg(n.customer_id), array_agg(false), array_agg(n.occurred_at + interval '90 days'))
       FROM new_rows n
       JOIN old_rows o ON o.id = n.id AND o.tenant_id = n.tenant_id
       JOIN customers c ON c.tenant_id = n.tenant_id AND c.id = n.customer_id
      WHERE n.kind <> 'dwell' AND c.owner_id IS NOT NULL AND c.merged_into IS NULL
        AND (n.customer_id, n.dwell_ms, n.value, n.material_id) IS DISTINCT FROM (o.customer_id, o.dwell_ms, o.value, o.material_id)
     HAVING count(*) > 0;
  ELSE
    PERFORM sync_touch(array_agg(c.owner_id), 'timeline', array_agg(n.id), array_agg(n.tenant_id),
                       array_agg(n.customer_id), array_agg(false), array_agg(n.occurred_at + interval '90 days'))
       FROM new_rows n
       JOIN customers c ON c.tenant_id = n.tenant_id AND c.id = n.customer_id
      WHERE n.kind <> 'dwell' AND c.owner_id IS NOT NULL AND c.merged_into IS NULL
     HAVING count(*) > 0;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER sync_events_ins AFTER INSERT ON events
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_events();
CREATE TRIGGER sync_events_upd AFTER UPDATE ON events
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_events();

-- The tracking ingest, the hottest writer, runs with app.sync_deferred on (transaction-local): the two
-- triggers above stand aside and the ingest records what it changed in one call at the end of its batch,
-- a quarter of the statements the triggers would run. It never reassigns or merges customers, so its
-- changes are all live rows in the owner's scope: the customers it touched and the timeline entries it
-- inserted or whose dwell grew.
CREATE FUNCTION sync_ingested(p_tenant uuid, p_events uuid[], p_customers uuid[]) RETURNS void
  LANGUAGE plpgsql AS $$
BEGIN
  -- One statement for both kinds; each key appears once (customers and events by their ids).
  INSERT INTO sync_changes AS s (scope, kind, entity_id, tenant_id, parent_id, tombstone, expires_at)
  SELECT c.owner_id, 'customer', c.id, c.tenant_id, NULL, false, NULL
    FROM customers c
   WHERE c.tenant_id = p_tenant AND c.id = ANY (p_customers) AND c.owner_id IS NOT NULL AND c.merged_into IS NULL
  UNION ALL
  SELECT c.owner_id, 'timeline', e.id, e.tenant_id, e.customer_id, false, e.occurred_at + interval '90 days'
    FROM events e JOIN customers c ON c.tenant_id = e.tenant_id AND c.id = e.customer_id
   WHERE e.tenant_id = p_tenant AND e.id = ANY (p_events) AND e.kind <> 'dwell'
     AND c.owner_id IS NOT NULL AND c.merged_into IS NULL
  ON CONFLICT (scope, kind, entity_id) DO UPDATE
    SET xid = pg_current_xact_id(), seq = nextval('sync_seq'), tenant_id = excluded.tenant_id,
        parent_id = excluded.parent_id, tombstone = false, expires_at = excluded.expires_at, changed_at = now();
END $$;

CREATE FUNCTION sync_notes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM sync_touch(array_agg(c.owner_id), 'note', array_agg(o.id), array_agg(o.tenant_id),
                       array_agg(o.customer_id), array_agg(true), array_agg(NULL::timestamptz))
       FROM old_rows o
       JOIN customers c ON c.tenant_id = o.tenant_id AND c.id = o.customer_id
      WHERE c.owner_id IS NOT NULL
     HAVING count(*) > 0;
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    -- Moved to a customer of another owner (a merge): gone from the old owner's scope.
    PERFORM sync_touch(array_agg(c.owner_id), 'note', array_agg(o.id), array_agg(o.tenant_id),
                       array_agg(o.customer_id), array_agg(true), array_agg(NULL::timestamptz))
       FROM old_rows o
       JOIN new_rows n ON n.id = o.id
       JOIN customers c ON c.tenant_id = o.tenant_id AND c.id = o.customer_id
       JOIN customers nc ON nc.tenant_id = n.tenant_id AND nc.id = n.customer_id
      WHERE c.owner_id IS NOT NULL AND nc.owner_id IS DISTINCT FROM c.owner_id
     HAVING count(*) > 0;
  END IF;
  PERFORM sync_touch(array_agg(c.owner_id), 'note', array_agg(n.id), array_agg(n.tenant_id),
                     array_agg(n.customer_id), array_agg(false), array_agg(NULL::timestamptz))
     FROM new_rows n
     JOIN customers c ON c.tenant_id = n.tenant_id AND c.id = n.customer_id
    WHERE c.owner_id IS NOT NULL AND c.merged_into IS NULL
   HAVING count(*) > 0;
  RETURN NULL;
END $$;
CREATE TRIGGER sync_notes_ins AFTER INSERT ON customer_notes
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_notes();
CREATE TRIGGER sync_notes_upd AFTER UPDATE ON customer_notes
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_notes();
CREATE TRIGGER sync_notes_del AFTER DELETE ON customer_notes
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_notes();

-- Cards: in their salesperson's scope.
CREATE FUNCTION sync_cards() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM sync_touch(array_agg(o.employee_id), 'card', array_agg(o.employee_id), array_agg(o.tenant_id),
                       array_agg(NULL::uuid), array_agg(true), array_agg(NULL::timestamptz))
       FROM old_rows o HAVING count(*) > 0;
  ELSE
    PERFORM sync_touch(array_agg(n.employee_id), 'card', array_agg(n.employee_id), array_agg(n.tenant_id),
                       array_agg(NULL::uuid), array_agg(false), array_agg(NULL::timestamptz))
       FROM new_rows n HAVING count(*) > 0;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER sync_cards_ins AFTER INSERT ON cards
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_cards();
CREATE TRIGGER sync_cards_upd AFTER UPDATE ON cards
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_cards();
CREATE TRIGGER sync_cards_del AFTER DELETE ON cards
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_cards();

-- Alerts: an alert (all entries of one alert_id, shown at the latest) in its salesperson's scope. Alerts
-- are purged after 7 days; their rows expire with them (no tombstones). New entries are recorded by the
-- statement that inserts them; this trigger records updates (marked read).
CREATE FUNCTION sync_alerts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM sync_touch(array_agg(n.employee_id ORDER BY n.seq), 'alert', array_agg(n.alert_id ORDER BY n.seq),
                     array_agg(n.tenant_id ORDER BY n.seq), array_agg(NULL::uuid), array_agg(false),
                     array_agg(n.created_at + interval '7 days' ORDER BY n.seq))
     FROM new_rows n HAVING count(*) > 0;
  RETURN NULL;
END $$;
-- (Inserts record themselves: push/alert's InsertAlerts, on the ingest's hot path.)
CREATE TRIGGER sync_alerts_upd AFTER UPDATE ON alerts
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_alerts();

-- Materials: published enterprise ones in the tenant's scope, published platform ones in the platform's,
-- personal ones (any status) in their owner's. Share counts move on every share and are not synced.
CREATE FUNCTION sync_material_scope(tier text, status text, deleted_at timestamptz, tenant_id uuid, owner_id uuid)
  RETURNS uuid LANGUAGE sql IMMUTABLE
  AS $$ SELECT CASE
    WHEN deleted_at IS NOT NULL THEN NULL
    WHEN tier = 'personal' THEN owner_id
    WHEN status <> 'published' THEN NULL
    WHEN tier = 'enterprise' THEN tenant_id
    ELSE '00000000-0000-0000-0000-000000000000'::uuid END $$;

CREATE FUNCTION sync_materials() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM sync_touch(array_agg(x.scope), 'material', array_agg(x.id), array_agg(x.tenant_id),
                       array_agg(NULL::uuid), array_agg(true), array_agg(NULL::timestamptz))
       FROM (SELECT sync_material_scope(o.tier, o.status, o.deleted_at, o.tenant_id, o.owner_id) AS scope, o.id, o.tenant_id
               FROM old_rows o) x
      WHERE x.scope IS NOT NULL HAVING count(*) > 0;
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    -- Left its scope (unpublished, deleted).
    PERFORM sync_touch(array_agg(x.scope), 'material', array_agg(x.id), array_agg(x.tenant_id),
                       array_agg(NULL::uuid), array_agg(true), array_agg(NULL::timestamptz))
       FROM (SELECT sync_material_scope(o.tier, o.status, o.deleted_at, o.tenant_id, o.owner_id) AS scope, o.id, o.tenant_id
               FROM old_rows o JOIN new_rows n ON n.id = o.id
              WHERE sync_material_scope(n.tier, n.status, n.deleted_at, n.tenant_id, n.owner_id) IS DISTINCT FROM
                    sync_material_scope(o.tier, o.status, o.deleted_at, o.tenant_id, o.owner_id)) x
      WHERE x.scope IS NOT NULL HAVING count(*) > 0;
  END IF;
  IF TG_OP = 'INSERT' THEN
    PERFORM sync_touch(array_agg(x.scope), 'material', array_agg(x.id), array_agg(x.tenant_id),
                       array_agg(NULL::uuid), array_agg(false), array_agg(NULL::timestamptz))
       FROM (SELECT sync_material_scope(n.tier, n.status, n.deleted_at, n.tenant_id, n.owner_id) AS scope, n.id, n.tenant_id
               FROM new_rows n) x
      WHERE x.scope IS NOT NULL HAVING count(*) > 0;
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM sync_touch(array_agg(x.scope), 'material', array_agg(x.id), array_agg(x.tenant_id),
                       array_agg(NULL::uuid), array_agg(false), array_agg(NULL::timestamptz))
       FROM (SELECT sync_material_scope(n.tier, n.status, n.deleted_at, n.tenant_id, n.owner_id) AS scope, n.id, n.tenant_id
               FROM new_rows n JOIN old_rows o ON o.id = n.id
              WHERE (n.tier, n.owner_id, n.kind, n.status, n.reject_reason, n.folder_id, n.title, n.summary, n.body_html,
                     n.text_body, n.file_key, n.image_keys, n.cover_key, n.tags, n.version, n.published_at, n.deleted_at)
                    IS DISTINCT FROM
                    (o.tier, o.owner_id, o.kind, o.status, o.reject_reason, o.folder_id, o.title, o.summary, o.body_html,
                     o.text_body, o.file_key, o.image_keys, o.cover_key, o.tags, o.version, o.published_at, o.deleted_at)) x
      WHERE x.scope IS NOT NULL HAVING count(*) > 0;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER sync_materials_ins AFTER INSERT ON materials
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_materials();
CREATE TRIGGER sync_materials_upd AFTER UPDATE ON materials
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_materials();
CREATE TRIGGER sync_materials_del AFTER DELETE ON materials
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_materials();

-- Folders: the tenant's in its scope, personal ones in their owner's.
CREATE FUNCTION sync_folders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM sync_touch(array_agg(coalesce(o.owner_id, o.tenant_id)), 'folder', array_agg(o.id), array_agg(o.tenant_id),
                       array_agg(NULL::uuid), array_agg(true), array_agg(NULL::timestamptz))
       FROM old_rows o HAVING count(*) > 0;
  ELSE
    PERFORM sync_touch(array_agg(coalesce(n.owner_id, n.tenant_id)), 'folder', array_agg(n.id), array_agg(n.tenant_id),
                       array_agg(NULL::uuid), array_agg(false), array_agg(NULL::timestamptz))
       FROM new_rows n HAVING count(*) > 0;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER sync_folders_ins AFTER INSERT ON material_folders
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_folders();
CREATE TRIGGER sync_folders_upd AFTER UPDATE ON material_folders
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_folders();
CREATE TRIGGER sync_folders_del AFTER DELETE ON material_folders
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_folders();

-- Housekeeping across tenants (so as the owner, past row-level security): drop expired rows, prune
-- tombstones older than 30 days and remember the newest pruned, forget mutation outcomes after 30 days.
CREATE FUNCTION sync_prune() RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
  AS $$
DECLARE
  expired bigint;
  pruned bigint;
  newest xid8;
BEGIN
  DELETE FROM sync_changes WHERE expires_at < now();
  GET DIAGNOSTICS expired = ROW_COUNT;
  WITH gone AS (DELETE FROM sync_changes WHERE tombstone AND changed_at < now() - interval '30 days' RETURNING xid)
  SELECT count(*), max(xid) INTO pruned, newest FROM gone;
  IF newest IS NOT NULL THEN
    UPDATE sync_horizon SET pruned_xid = greatest(pruned_xid, newest);
  END IF;
  DELETE FROM sync_mutations WHERE applied_at < now() - interval '30 days';
  RETURN expired + pruned;
END $$;
REVOKE ALL ON FUNCTION sync_prune() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sync_prune() TO salesapp_app;
