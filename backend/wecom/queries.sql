-- name: GetConfig :one
SELECT * FROM wecom_configs WHERE tenant_id = $1;

-- name: GetConfigForUpdate :one
SELECT * FROM wecom_configs WHERE tenant_id = $1 FOR UPDATE;

-- name: UpsertConfig :exec
INSERT INTO wecom_configs (tenant_id, corp_id, agent_id, agent_secret, contact_secret, callback_token,
                           encoding_aes_key, seal_key, updated_at, updated_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), $9)
ON CONFLICT (tenant_id) DO UPDATE
SET corp_id = excluded.corp_id, agent_id = excluded.agent_id, agent_secret = excluded.agent_secret,
    contact_secret = excluded.contact_secret, callback_token = excluded.callback_token,
    encoding_aes_key = excluded.encoding_aes_key, seal_key = excluded.seal_key,
    updated_at = now(), updated_by = excluded.updated_by;

-- name: UpdateSeals :exec
UPDATE wecom_configs
SET agent_secret = $2, contact_secret = $3, callback_token = $4, encoding_aes_key = $5, seal_key = $6
WHERE tenant_id = $1;

-- name: StaleSeals :many
SELECT t::uuid AS tenant_id FROM wecom_stale_seals(sqlc.arg(current_key)::text) AS t;

-- name: LockEvents :many
-- A job's events to process, locked, in the order WeCom sent them, each with whether the tenant's plan
-- includes the WeCom bridge now (a downgrade stops the processing of callbacks): one round trip.
SELECT sqlc.embed(e), ('wecom' = ANY (p.features))::bool AS plan_has_wecom
FROM wecom_events e JOIN tenants t ON t.id = e.tenant_id JOIN plans p ON p.name = t.plan
WHERE e.tenant_id = @tenant_id AND e.id = ANY (@ids::uuid[])
ORDER BY e.received_at, e.id
FOR UPDATE OF e;

-- name: FinishEvents :exec
UPDATE wecom_events
SET status = sqlc.arg(status), attempts = attempts + 1, last_error = '', processed_at = now()
WHERE tenant_id = @tenant_id AND id = ANY (@ids::uuid[]);

-- name: FailEvents :exec
-- Records a try that failed for each event (its error beside it); an event done or ignored meanwhile is
-- left as it is.
UPDATE wecom_events e
SET status = sqlc.arg(status), attempts = e.attempts + 1, last_error = f.last_error,
    processed_at = CASE WHEN sqlc.arg(status) = 'failed' THEN now() END
FROM (SELECT unnest(@ids::uuid[]) AS id, unnest(@last_errors::text[]) AS last_error) f
WHERE e.tenant_id = @tenant_id AND e.id = f.id AND e.status NOT IN ('done', 'ignored');

-- name: ListEvents :many
SELECT * FROM wecom_events
WHERE tenant_id = $1
  AND (sqlc.arg(status)::text = '' OR status = sqlc.arg(status)::text)
  AND (sqlc.narg(before_at)::timestamptz IS NULL
       OR (received_at, id) < (sqlc.narg(before_at)::timestamptz, sqlc.arg(before_id)::uuid))
ORDER BY received_at DESC, id DESC
LIMIT sqlc.arg(max_rows);

-- name: ReplayEvent :one
UPDATE wecom_events SET status = 'pending', processed_at = NULL
WHERE tenant_id = $1 AND id = $2 AND status = 'failed'
RETURNING id;

-- name: EventStatus :one
SELECT status FROM wecom_events WHERE tenant_id = $1 AND id = $2;

-- name: InsertEvents :many
-- Stores a batch of callbacks of one tenant; those whose dedup key is stored already (WeCom's resends,
-- also within the batch) are left out. The ids of the rows inserted.
INSERT INTO wecom_events (tenant_id, id, dedup_key, msg_type, event, change_type, xml)
SELECT @tenant_id, x.id, x.dedup_key, x.msg_type, x.event, x.change_type, x.xml
FROM (SELECT unnest(@ids::uuid[]) AS id, unnest(@dedup_keys::text[]) AS dedup_key, unnest(@msg_types::text[]) AS msg_type,
             unnest(@events::text[]) AS event, unnest(@change_types::text[]) AS change_type,
             unnest(@xmls::text[]) AS xml) x
ON CONFLICT (tenant_id, dedup_key) DO NOTHING
RETURNING id;

-- name: PlanHasWeCom :one
-- Whether the tenant's plan includes the WeCom bridge (the plans table has no tenant: any transaction reads it).
SELECT EXISTS (SELECT 1 FROM tenants t JOIN plans p ON p.name = t.plan
               WHERE t.id = @tenant_id AND 'wecom' = ANY (p.features))::bool AS in_plan;
