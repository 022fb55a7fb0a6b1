-- Alert streams. Run inside tenant transactions.

-- name: Advance :one
-- Reserves n sequence numbers of a salesperson's stream (making the stream on first use).
INSERT INTO alert_streams (tenant_id, employee_id, epoch, head) VALUES (@tenant_id, @employee_id, @new_epoch, @n::bigint)
ON CONFLICT (tenant_id, employee_id) DO UPDATE SET head = alert_streams.head + @n::bigint
RETURNING head, epoch, new_customer_until;

-- name: OpenNewCustomerWindow :exec
-- Starts a window of new-visitor pushes (the stream row is locked by Advance already).
UPDATE alert_streams SET new_customer_until = @until::timestamptz WHERE tenant_id = @tenant_id AND employee_id = @employee_id;

-- name: CloseNewCustomerWindow :exec
-- Ends the window the summary push of until covers, if it is still the open one. It waits for the
-- transactions alerting this salesperson that hold the stream row: what they left to the window is
-- committed before the summary counts it, and the ones after find no window (or a later one).
UPDATE alert_streams SET new_customer_until = NULL
WHERE tenant_id = @tenant_id AND employee_id = @employee_id AND new_customer_until = @until::timestamptz;

-- name: CollapsedNewCustomers :one
-- The new-visitor alerts left to a window's summary push: how many, and the last one's entry.
SELECT count(*)::int AS n, coalesce(max(seq), 0)::bigint AS last_seq FROM alerts
WHERE tenant_id = @tenant_id AND employee_id = @employee_id AND collapsed_until = @until::timestamptz;

-- name: InsertAlerts :exec
-- Appends entries to a stream and records the alerts for the apps' offline copies (sync_changes) in the
-- same statement: the ingest's hot path, so no trigger does it (updates, marking read, go through one).
WITH ins AS (
  INSERT INTO alerts (tenant_id, employee_id, seq, alert_id, kind, customer_id, material_id, body, pushed, created_at, collapsed_until)
  SELECT @tenant_id, @employee_id, x.seq, x.alert_id, x.kind, x.customer_id,
         nullif(x.material_id, '00000000-0000-0000-0000-000000000000'::uuid), x.body, x.pushed, x.created_at,
         nullif(x.collapsed_until, 'epoch'::timestamptz)
  FROM (SELECT unnest(@seqs::bigint[]) AS seq, unnest(@alert_ids::uuid[]) AS alert_id, unnest(@kinds::text[]) AS kind,
               unnest(@customer_ids::uuid[]) AS customer_id, unnest(@material_ids::uuid[]) AS material_id,
               unnest(@bodies::text[]) AS body, unnest(@pushed::bool[]) AS pushed,
               unnest(@created_at::timestamptz[]) AS created_at,
               unnest(@collapsed_until::timestamptz[]) AS collapsed_until) AS x
  RETURNING tenant_id, employee_id, seq, alert_id, created_at
)
SELECT sync_touch(array_agg(i.employee_id ORDER BY i.seq), 'alert', array_agg(i.alert_id ORDER BY i.seq),
                  array_agg(i.tenant_id ORDER BY i.seq), array_agg(NULL::uuid), array_agg(false),
                  array_agg(i.created_at + interval '7 days' ORDER BY i.seq))
FROM ins i;

-- name: RecentAlerts :many
-- The latest view alert per (customer, material) in the last minutes: views within a few minutes update
-- one alert.
SELECT DISTINCT ON (customer_id, material_id) customer_id,
       coalesce(material_id, '00000000-0000-0000-0000-000000000000'::uuid)::uuid AS material_id, alert_id
FROM alerts
WHERE tenant_id = @tenant_id AND employee_id = @employee_id AND customer_id = ANY (@customer_ids::uuid[])
  AND kind IN ('first_view', 'return', 'long_read', 'new_customer')
  AND created_at > @since::timestamptz
ORDER BY customer_id, material_id, seq DESC;

-- name: PrefsOf :many
-- The alert prefs of salespeople (those who set none have no row).
SELECT employee_id, muted_kinds, quiet_start_min, quiet_end_min FROM alert_prefs
WHERE tenant_id = @tenant_id AND employee_id = ANY (@employee_ids::uuid[]);

-- name: TenantZone :one
SELECT time_zone FROM tenants WHERE id = @tenant_id;

-- name: LiveDevicesOf :many
-- The phones to push salespeople's alerts to: enabled registrations of sessions still signed in.
SELECT d.employee_id, d.id FROM devices d
JOIN sessions s ON s.tenant_id = d.tenant_id AND s.id = d.session_id
WHERE d.tenant_id = @tenant_id AND d.employee_id = ANY (@employee_ids::uuid[]) AND d.disabled_at IS NULL
  AND s.revoked_at IS NULL AND s.expires_at > now();

-- name: Head :one
SELECT epoch, head FROM alert_streams WHERE tenant_id = @tenant_id AND employee_id = @employee_id;

-- name: Since :many
SELECT seq, alert_id, kind, customer_id, material_id, body, created_at, read_at FROM alerts
WHERE tenant_id = @tenant_id AND employee_id = @employee_id AND seq > @after_seq
ORDER BY seq LIMIT @max_rows;

-- name: Latest :many
-- Each alert once, at its latest entry, newest first.
SELECT DISTINCT ON (a.alert_id) a.seq, a.alert_id, a.kind, a.customer_id, a.material_id, a.body, a.created_at, a.read_at
FROM alerts a
WHERE a.tenant_id = @tenant_id AND a.employee_id = @employee_id AND (NOT @has_cursor::bool OR a.seq < @before_seq::bigint)
ORDER BY a.alert_id, a.seq DESC;

-- name: MarkRead :execrows
UPDATE alerts SET read_at = now()
WHERE tenant_id = @tenant_id AND employee_id = @employee_id AND seq <= @through_seq AND read_at IS NULL;

-- name: Unread :one
SELECT count(DISTINCT alert_id)::int FROM alerts
WHERE tenant_id = @tenant_id AND employee_id = @employee_id AND read_at IS NULL;

-- name: SetPrefs :exec
INSERT INTO alert_prefs (tenant_id, employee_id, muted_kinds, quiet_start_min, quiet_end_min)
VALUES (@tenant_id, @employee_id, @muted_kinds, sqlc.narg(quiet_start_min), sqlc.narg(quiet_end_min))
ON CONFLICT (tenant_id, employee_id) DO UPDATE SET muted_kinds = excluded.muted_kinds,
  quiet_start_min = excluded.quiet_start_min, quiet_end_min = excluded.quiet_end_min;

-- name: LockLiveDevices :exec
-- Serializes registrations of one salesperson, so that the cap (EvictDevices) counts every one of them.
SELECT id FROM devices WHERE tenant_id = @tenant_id AND employee_id = @employee_id AND disabled_at IS NULL
FOR UPDATE;

-- name: UpsertDevice :one
-- Registers a phone for a salesperson's pushes, under the session (sign-in) making the call: ending that
-- session ends the registration. A session is one app install, so its earlier registration under another
-- device id is removed. A push token reaches one app install: any other registration of it in the tenant
-- (a colleague who used this phone before, an earlier install id) is disabled, so that nobody else's alerts
-- reach it. (The two sets are disjoint: one statement never touches a row twice.)
WITH others AS (
  UPDATE devices SET disabled_at = now(), disabled_reason = 'token registered again', updated_at = now()
  WHERE tenant_id = @tenant_id AND push_token = @push_token AND disabled_at IS NULL
    AND (employee_id <> @employee_id OR device_id <> @device_id) AND session_id <> @session_id
), replaced AS (
  DELETE FROM devices
  WHERE tenant_id = @tenant_id AND session_id = @session_id AND (employee_id <> @employee_id OR device_id <> @device_id)
)
INSERT INTO devices (id, tenant_id, employee_id, device_id, session_id, platform, push_token, bundle_id, sandbox, locale)
VALUES (@id, @tenant_id, @employee_id, @device_id, @session_id, @platform, @push_token, @bundle_id, @sandbox, @locale)
ON CONFLICT (tenant_id, employee_id, device_id) DO UPDATE SET session_id = excluded.session_id,
  platform = excluded.platform, push_token = excluded.push_token, bundle_id = excluded.bundle_id,
  sandbox = excluded.sandbox, locale = excluded.locale, disabled_at = NULL, disabled_reason = '',
  registered_at = now(), updated_at = now()
RETURNING id;

-- name: EvictDevices :execrows
-- Keeps a salesperson's newest registrations enabled (the one just made, and keep others), disabling the
-- older ones.
UPDATE devices d SET disabled_at = now(), disabled_reason = @reason, updated_at = now()
WHERE d.tenant_id = @tenant_id AND d.employee_id = @employee_id AND d.disabled_at IS NULL AND d.id <> @newest
  AND d.id NOT IN (
    SELECT k.id FROM devices k
    WHERE k.tenant_id = @tenant_id AND k.employee_id = @employee_id AND k.disabled_at IS NULL AND k.id <> @newest
    ORDER BY k.registered_at DESC, k.id DESC
    LIMIT @keep);

-- name: SetForeground :exec
UPDATE devices SET foreground_until = sqlc.narg(until), updated_at = now()
WHERE tenant_id = @tenant_id AND employee_id = @employee_id AND device_id = @device_id;

-- name: PushTargets :many
-- The devices and stream entries named by a batch of push jobs of one tenant: row ord answers the
-- ord-th job (from 1). A job whose device or entry is gone (or whose device is not the entry's
-- salesperson's) has no row. signed_in is whether the registration's session can still be used: not
-- ended, its employee active, its enterprise not expired (a push job queued before a sign-out must not
-- reach the phone after it).
WITH j AS (
  SELECT unnest(@employee_ids::uuid[]) AS employee_id, unnest(@device_ids::uuid[]) AS device_id,
         unnest(@seqs::bigint[]) AS seq, generate_subscripts(@seqs::bigint[], 1) AS ord
)
SELECT j.ord::int AS ord, d.platform, d.push_token, d.bundle_id, d.sandbox, d.locale, d.disabled_at,
       d.foreground_until, a.alert_id, a.body, a.kind, a.customer_id,
       (s.revoked_at IS NULL AND s.expires_at > now() AND e.status = 'active' AND t.expires_at > now())::bool AS signed_in
FROM j
JOIN devices d ON d.tenant_id = @tenant_id AND d.id = j.device_id AND d.employee_id = j.employee_id
JOIN alerts a ON a.tenant_id = @tenant_id AND a.employee_id = j.employee_id AND a.seq = j.seq
JOIN sessions s ON s.tenant_id = @tenant_id AND s.id = d.session_id
JOIN employees e ON e.tenant_id = @tenant_id AND e.id = d.employee_id
JOIN tenants t ON t.id = @tenant_id;

-- name: DisableDevice :exec
UPDATE devices SET disabled_at = now(), disabled_reason = @reason, updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id AND disabled_at IS NULL;

-- name: EnsureStream :exec
-- A stream exists from its first reader on, so that its epoch never changes under a connected app.
INSERT INTO alert_streams (tenant_id, employee_id, epoch, head) VALUES (@tenant_id, @employee_id, @epoch, 0)
ON CONFLICT (tenant_id, employee_id) DO NOTHING;

-- name: Heads :many
-- The heads of many of a tenant's streams at once (the WebSocket hub's poll).
SELECT employee_id, epoch, head FROM alert_streams
WHERE tenant_id = @tenant_id AND employee_id = ANY (@employee_ids::uuid[]);

-- name: RenewForeground :many
-- Extends the foreground leases of a tenant's devices still recorded as open in the foreground (one
-- that reported "background" or "gone" meanwhile is left alone). Returns the devices renewed.
UPDATE devices d SET foreground_until = @until::timestamptz
FROM (SELECT unnest(@employee_ids::uuid[]) AS employee_id, unnest(@device_ids::text[]) AS device_id) AS x
WHERE d.tenant_id = @tenant_id AND d.employee_id = x.employee_id AND d.device_id = x.device_id
  AND d.foreground_until IS NOT NULL
RETURNING d.id;

-- name: DisableSessionDevices :exec
-- Stops pushes to the registrations of sessions that ended (in the transaction that ended them).
UPDATE devices SET disabled_at = now(), disabled_reason = @reason, updated_at = now()
WHERE tenant_id = @tenant_id AND session_id = ANY (@session_ids::uuid[]) AND disabled_at IS NULL;

-- name: DisableEmployeeDevices :exec
-- Stops pushes to every registration of a salesperson but those of one session (uuid.Nil keeps none).
UPDATE devices SET disabled_at = now(), disabled_reason = @reason, updated_at = now()
WHERE tenant_id = @tenant_id AND employee_id = @employee_id AND session_id <> @keep_session_id AND disabled_at IS NULL;

-- name: AddPushesSent :exec
-- Adds a node's count of pushes sent to the tenant's day (usage).
INSERT INTO push_days (tenant_id, day, sent) VALUES (@tenant_id, @day, @sent)
ON CONFLICT (tenant_id, day) DO UPDATE SET sent = push_days.sent + excluded.sent;
