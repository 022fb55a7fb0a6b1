-- Lead pools. Run inside tenant transactions. Customers are read here (what a lead shows) but only the
-- customer domain writes them (customer.ClaimTx, customer.ReleaseTx).

-- name: InsertPool :one
INSERT INTO pools (tenant_id, id, name, region, is_default, daily_claim_cap, max_held, team_ids,
                   recycle_follow_up_days, recycle_progress_days, cooldown_days, created_by)
VALUES (@tenant_id, @id, @name, @region, @is_default, @daily_claim_cap, @max_held, @team_ids::uuid[],
        @recycle_follow_up_days, @recycle_progress_days, @cooldown_days, @created_by)
RETURNING *;

-- name: UpdatePool :one
UPDATE pools SET name = @name, region = @region, is_default = @is_default, daily_claim_cap = @daily_claim_cap,
  max_held = @max_held, team_ids = @team_ids::uuid[], recycle_follow_up_days = @recycle_follow_up_days,
  recycle_progress_days = @recycle_progress_days, cooldown_days = @cooldown_days, updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id
RETURNING *;

-- name: ClearDefault :exec
-- Another pool becomes the default: this one stops being it first (one default per tenant).
UPDATE pools SET is_default = false, updated_at = now() WHERE tenant_id = @tenant_id AND is_default AND id <> @id;

-- name: HasPools :one
SELECT EXISTS (SELECT FROM pools WHERE tenant_id = @tenant_id);

-- name: GetPool :one
SELECT * FROM pools WHERE tenant_id = @tenant_id AND id = @id;

-- name: ListPools :many
SELECT * FROM pools WHERE tenant_id = @tenant_id ORDER BY is_default DESC, name;

-- name: CountTeams :one
SELECT count(*)::int FROM teams WHERE tenant_id = @tenant_id AND id = ANY (@ids::uuid[]);

-- name: ListLeads :many
-- A pool's leads, newest in the pool first (keyset on entered_at, customer_id): those released, recycled
-- or imported into it and, for the default pool, the unowned customers that never entered any pool (new
-- visitors under the `pool` owner rule, who entered when they were first seen). Each branch walks its own
-- index and stops at max_rows.
SELECT x.customer_id::uuid AS customer_id, x.entered_at::timestamptz AS entered_at, x.reason::text AS reason,
       x.note::text AS note, c.display_name, c.phone, c.stage, c.source_channel, c.tags, c.intent_score, c.last_active_at
FROM (
  (SELECT pl.customer_id, pl.entered_at, pl.reason, pl.note
   FROM pool_leads pl JOIN customers c ON c.tenant_id = pl.tenant_id AND c.id = pl.customer_id
   WHERE pl.tenant_id = @tenant_id AND pl.pool_id = @pool_id AND c.owner_id IS NULL AND c.merged_into IS NULL
     AND (NOT @has_cursor::bool OR (pl.entered_at, pl.customer_id) < (@after_time::timestamptz, @after_id::uuid))
   ORDER BY pl.entered_at DESC, pl.customer_id DESC
   LIMIT @max_rows)
  UNION ALL
  (SELECT c.id, c.created_at, 'owner_rule', ''
   FROM customers c
   WHERE @is_default::bool AND c.tenant_id = @tenant_id AND c.owner_id IS NULL AND c.merged_into IS NULL
     AND NOT EXISTS (SELECT FROM pool_leads pl WHERE pl.tenant_id = c.tenant_id AND pl.customer_id = c.id)
     AND (NOT @has_cursor::bool OR (c.created_at, c.id) < (@after_time::timestamptz, @after_id::uuid))
   ORDER BY c.created_at DESC, c.id DESC
   LIMIT @max_rows)
) AS x (customer_id, entered_at, reason, note)
JOIN customers c ON c.tenant_id = @tenant_id AND c.id = x.customer_id
ORDER BY x.entered_at DESC, x.customer_id DESC
LIMIT @max_rows;

-- name: LeadPool :one
-- The pool an unowned customer waits in (no row: the default pool, if it waits at all).
SELECT pool_id FROM pool_leads WHERE tenant_id = @tenant_id AND customer_id = @customer_id;

-- name: LockClaimer :exec
-- Serializes one salesperson's claims from one pool, so two claims at once cannot both pass the caps.
SELECT pg_advisory_xact_lock(hashtextextended(@lock_key::text, 0));

-- name: ClaimsSince :one
SELECT count(*)::int FROM pool_claims
WHERE tenant_id = @tenant_id AND employee_id = @employee_id AND pool_id = @pool_id AND claimed_at >= @since::timestamptz;

-- name: Held :one
-- Leads claimed from the pool and still owned by the claimer (not released, not reassigned).
SELECT count(*)::int FROM pool_claims pc
JOIN customers c ON c.tenant_id = pc.tenant_id AND c.id = pc.customer_id
WHERE pc.tenant_id = @tenant_id AND pc.employee_id = @employee_id AND pc.pool_id = @pool_id
  AND pc.released_at IS NULL AND c.owner_id = pc.employee_id AND c.merged_into IS NULL;

-- name: TenantZone :one
SELECT time_zone FROM tenants WHERE id = @tenant_id;

-- name: InsertClaim :exec
INSERT INTO pool_claims (tenant_id, id, pool_id, customer_id, employee_id, claimed_at, next_check_at)
VALUES (@tenant_id, @id, @pool_id, @customer_id, @employee_id, @claimed_at, sqlc.narg(next_check_at));

-- name: LeaveLead :exec
DELETE FROM pool_leads WHERE tenant_id = @tenant_id AND customer_id = @customer_id;

-- name: EnterLead :exec
INSERT INTO pool_leads (tenant_id, customer_id, pool_id, reason, note, released_by)
VALUES (@tenant_id, @customer_id, @pool_id, @reason, @note, sqlc.narg(released_by))
ON CONFLICT (tenant_id, customer_id) DO UPDATE
  SET pool_id = excluded.pool_id, reason = excluded.reason, note = excluded.note,
      released_by = excluded.released_by, entered_at = now();

-- name: CloseClaims :exec
UPDATE pool_claims SET released_at = now()
WHERE tenant_id = @tenant_id AND customer_id = @customer_id AND released_at IS NULL;

-- name: Cooldown :one
SELECT until FROM pool_cooldowns WHERE tenant_id = @tenant_id AND customer_id = @customer_id AND employee_id = @employee_id;

-- name: SetCooldown :exec
INSERT INTO pool_cooldowns (tenant_id, customer_id, employee_id, until) VALUES (@tenant_id, @customer_id, @employee_id, @until)
ON CONFLICT (tenant_id, customer_id, employee_id) DO UPDATE SET until = excluded.until;

-- name: RecheckPool :exec
-- A pool's recycle rules changed: its open claims are looked at again by the next recycle run.
UPDATE pool_claims SET next_check_at = @at::timestamptz
WHERE tenant_id = @tenant_id AND pool_id = @pool_id AND released_at IS NULL;

-- name: DueTenants :many
SELECT t::uuid AS tenant_id FROM pool_due_tenants(@now::timestamptz) AS t;

-- name: DueClaims :many
-- The claims due for a look by now, oldest first, with their pool's rules: a walk of pool_claims_due_idx
-- (tenant_id, next_check_at), never a scan of customers or of all claims. Rows another run holds are
-- skipped.
SELECT pc.id, pc.pool_id, pc.customer_id, pc.employee_id, pc.claimed_at, pc.warned_for,
       p.name AS pool_name, p.recycle_follow_up_days, p.recycle_progress_days, p.cooldown_days
FROM pool_claims pc
JOIN pools p ON p.tenant_id = pc.tenant_id AND p.id = pc.pool_id
WHERE pc.tenant_id = @tenant_id AND pc.released_at IS NULL AND pc.next_check_at IS NOT NULL AND pc.next_check_at <= @now::timestamptz
ORDER BY pc.next_check_at
LIMIT @max_rows
FOR UPDATE OF pc SKIP LOCKED;

-- name: Reschedule :exec
UPDATE pool_claims SET next_check_at = sqlc.narg(next_check_at), warned_for = sqlc.narg(warned_for)
WHERE tenant_id = @tenant_id AND id = @id;

-- name: CloseClaim :exec
UPDATE pool_claims SET released_at = @at::timestamptz WHERE tenant_id = @tenant_id AND id = @id;

-- name: EnterLeads :exec
-- New customers of an import wait in the pool.
INSERT INTO pool_leads (tenant_id, customer_id, pool_id, reason, released_by)
SELECT @tenant_id, unnest(@customer_ids::uuid[]), @pool_id, 'imported', sqlc.narg(released_by)
ON CONFLICT (tenant_id, customer_id) DO NOTHING;

-- name: ActiveLeadManagers :many
-- For customers waiting in a pool, who manages their pool: the active managers of the pool's teams, or,
-- for a pool open to everyone, the tenant's active admins. Customers owned by someone (or in no pool:
-- there is no default pool) are left out.
WITH leads AS (
  SELECT c.id AS customer_id, c.display_name, coalesce(pl.pool_id, d.id) AS pool_id
  FROM customers c
  LEFT JOIN pool_leads pl ON pl.tenant_id = c.tenant_id AND pl.customer_id = c.id
  LEFT JOIN pools d ON d.tenant_id = c.tenant_id AND d.is_default
  WHERE c.tenant_id = @tenant_id AND c.id = ANY (@customer_ids::uuid[]) AND c.owner_id IS NULL AND c.merged_into IS NULL
)
SELECT l.customer_id::uuid AS customer_id, l.display_name::text AS display_name, p.name AS pool_name, e.id AS employee_id
FROM leads l
JOIN pools p ON p.tenant_id = @tenant_id AND p.id = l.pool_id
JOIN employees e ON e.tenant_id = @tenant_id AND e.status = 'active'
  AND ((cardinality(p.team_ids) > 0 AND e.role = 'manager' AND e.team_id = ANY (p.team_ids))
    OR (cardinality(p.team_ids) = 0 AND e.role = 'admin'));

-- name: DefaultPool :one
SELECT id FROM pools WHERE tenant_id = @tenant_id AND is_default;

-- name: CloseClaimsOf :exec
UPDATE pool_claims SET released_at = now()
WHERE tenant_id = @tenant_id AND customer_id = ANY (@customer_ids::uuid[]) AND released_at IS NULL;

-- name: EnterReleased :exec
-- Customers an admin released together (a departing employee's) wait in @pool_id with the reason.
INSERT INTO pool_leads (tenant_id, customer_id, pool_id, reason, note, released_by)
SELECT @tenant_id, unnest(@customer_ids::uuid[]), @pool_id, 'released', @note, sqlc.narg(released_by)
ON CONFLICT (tenant_id, customer_id) DO UPDATE
  SET pool_id = excluded.pool_id, reason = excluded.reason, note = excluded.note,
      released_by = excluded.released_by, entered_at = now();
