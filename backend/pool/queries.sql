-- Lead pools. Run inside tenant transactions. Customers are read here (what a lead shows) but only the
-- customer domain writes them (customer.ClaimTx, customer.ReleaseTx).

-- name: InsertPool :one
INSERT INTO pools (tenant_id, id, name, region, is_default, daily_claim_cap, max_held, team_ids,
                   recycle_follow_up_days, recycle_progress_days, cooldown_days, offer_hot_leads, created_by)
VALUES (@tenant_id, @id, @name, @region, @is_default, @daily_claim_cap, @max_held, @team_ids::uuid[],
        @recycle_follow_up_days, @recycle_progress_days, @cooldown_days, @offer_hot_leads, @created_by)
RETURNING *;

-- name: UpdatePool :one
UPDATE pools SET name = @name, region = @region, is_default = @is_default, daily_claim_cap = @daily_claim_cap,
  max_held = @max_held, team_ids = @team_ids::uuid[], recycle_follow_up_days = @recycle_follow_up_days,
  recycle_progress_days = @recycle_progress_days, cooldown_days = @cooldown_days, offer_hot_leads = @offer_hot_leads,
  updated_at = now()
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

-- name: ClaimChecks :one
-- What a claim checks, in one round trip: the pool the lead waits in (the nil uuid: no row, the default pool
-- if it waits at all), when the caller's cooldown on it ends (the epoch: none), the tenant's time zone, and the
-- caller's claims from the pool since the tenant's midnight and the leads from it they still hold (claimed,
-- not released, and still theirs: not reassigned or merged).
SELECT coalesce((SELECT pl.pool_id FROM pool_leads pl WHERE pl.tenant_id = t.id AND pl.customer_id = @customer_id),
                '00000000-0000-0000-0000-000000000000')::uuid AS lead_pool,
       coalesce((SELECT cd.until FROM pool_cooldowns cd
                  WHERE cd.tenant_id = t.id AND cd.customer_id = @customer_id AND cd.employee_id = @employee_id),
                'epoch')::timestamptz AS cooldown_until,
       t.time_zone,
       (SELECT count(*) FROM pool_claims pc
         WHERE pc.tenant_id = t.id AND pc.employee_id = @employee_id AND pc.pool_id = @pool_id
           AND pc.claimed_at >= timezone(t.time_zone, date_trunc('day', timezone(t.time_zone, @now::timestamptz)))) ::int AS today,
       (SELECT count(*) FROM pool_claims pc JOIN customers c ON c.tenant_id = pc.tenant_id AND c.id = pc.customer_id
         WHERE pc.tenant_id = t.id AND pc.employee_id = @employee_id AND pc.pool_id = @pool_id
           AND pc.released_at IS NULL AND c.owner_id = pc.employee_id AND c.merged_into IS NULL)::int AS held
FROM tenants t WHERE t.id = @tenant_id;

-- name: TakeLead :exec
-- The lead leaves its pool and the claim is recorded, in one statement.
WITH left_pool AS (DELETE FROM pool_leads WHERE tenant_id = @tenant_id AND customer_id = @customer_id)
INSERT INTO pool_claims (tenant_id, id, pool_id, customer_id, employee_id, claimed_at, next_check_at)
VALUES (@tenant_id, @id, @pool_id, @customer_id, @employee_id, @claimed_at, sqlc.narg(next_check_at));

-- name: LockClaimer :exec
-- Serializes one salesperson's claims from one pool, so two claims at once cannot both pass the caps.
SELECT pg_advisory_xact_lock(hashtextextended(@lock_key::text, 0));

-- name: EnterLead :exec
INSERT INTO pool_leads (tenant_id, customer_id, pool_id, reason, note, released_by)
VALUES (@tenant_id, @customer_id, @pool_id, @reason, @note, sqlc.narg(released_by))
ON CONFLICT (tenant_id, customer_id) DO UPDATE
  SET pool_id = excluded.pool_id, reason = excluded.reason, note = excluded.note,
      released_by = excluded.released_by, entered_at = now();

-- name: CloseClaims :exec
UPDATE pool_claims SET released_at = now()
WHERE tenant_id = @tenant_id AND customer_id = @customer_id AND released_at IS NULL;

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

-- name: EnterLeads :exec
-- New customers of an import wait in the pool.
INSERT INTO pool_leads (tenant_id, customer_id, pool_id, reason, released_by)
SELECT @tenant_id, unnest(@customer_ids::uuid[]), @pool_id, 'imported', sqlc.narg(released_by)
ON CONFLICT (tenant_id, customer_id) DO NOTHING;

-- name: ActiveLeadManagers :many
-- For customers waiting in a pool, whom to tell that they read again: the active managers who lead the pool's
-- teams, or, for a pool open to everyone, the tenant's active admins; and, when the pool offers hot leads,
-- the active salespeople who may claim from it (offer), except one still cooling down from that lead, at
-- most maxOffers per lead, chosen afresh for each lead (a hash of the lead and the person: the same lead
-- always goes to the same people, and no one is always first or always left out). Customers owned by
-- someone (or in no pool: there is no default pool) are left out.
WITH leads AS (
  SELECT c.id AS customer_id, c.display_name, coalesce(pl.pool_id, d.id) AS pool_id
  FROM customers c
  LEFT JOIN pool_leads pl ON pl.tenant_id = c.tenant_id AND pl.customer_id = c.id
  LEFT JOIN pools d ON d.tenant_id = c.tenant_id AND d.is_default
  WHERE c.tenant_id = @tenant_id AND c.id = ANY (@customer_ids::uuid[]) AND c.owner_id IS NULL AND c.merged_into IS NULL
)
SELECT l.customer_id::uuid AS customer_id, l.display_name::text AS display_name, p.name AS pool_name, e.id AS employee_id,
       false AS offer
FROM leads l
JOIN pools p ON p.tenant_id = @tenant_id AND p.id = l.pool_id
JOIN employees e ON e.tenant_id = @tenant_id AND e.status = 'active'
  AND ((cardinality(p.team_ids) > 0 AND e.role = 'manager'
         AND EXISTS (SELECT FROM team_leads tl WHERE tl.tenant_id = @tenant_id AND tl.manager_id = e.id AND tl.team_id = ANY (p.team_ids)))
    OR (cardinality(p.team_ids) = 0 AND e.role = 'admin'))
UNION ALL
SELECT o.customer_id, o.display_name, o.pool_name, o.employee_id, true AS offer
FROM (
  SELECT l.customer_id::uuid AS customer_id, l.display_name::text AS display_name, p.name AS pool_name, e.id AS employee_id,
         row_number() OVER (PARTITION BY l.customer_id ORDER BY md5(l.customer_id::text || e.id::text), e.id) AS n
  FROM leads l
  JOIN pools p ON p.tenant_id = @tenant_id AND p.id = l.pool_id AND p.offer_hot_leads
  JOIN employees e ON e.tenant_id = @tenant_id AND e.status = 'active' AND e.role = 'sales'
    AND (cardinality(p.team_ids) = 0 OR e.team_id = ANY (p.team_ids))
  WHERE NOT EXISTS (SELECT 1 FROM pool_cooldowns k WHERE k.tenant_id = @tenant_id AND k.customer_id = l.customer_id
                      AND k.employee_id = e.id AND k.until > now())
) o
WHERE o.n <= @max_offers::int;

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

-- name: CloseClaimsByID :exec
-- The recycle job's closes of a batch, one statement.
UPDATE pool_claims SET released_at = @at::timestamptz WHERE tenant_id = @tenant_id AND id = ANY (@ids::uuid[]);

-- name: RescheduleMany :exec
-- The recycle job's reschedules of a batch, one statement; the epoch stands for NULL (no check, not warned).
UPDATE pool_claims pc SET next_check_at = NULLIF(x.next_check_at, 'epoch'), warned_for = NULLIF(x.warned_for, 'epoch')
FROM (SELECT unnest(@ids::uuid[]) AS id, unnest(@next_check_ats::timestamptz[]) AS next_check_at,
             unnest(@warned_fors::timestamptz[]) AS warned_for) AS x
WHERE pc.tenant_id = @tenant_id AND pc.id = x.id;

-- name: EnterRecycled :exec
-- Leads the recycle job took back wait in their pools again, each with why.
INSERT INTO pool_leads (tenant_id, customer_id, pool_id, reason, note)
SELECT @tenant_id, x.customer_id, x.pool_id, 'recycled', x.note
FROM (SELECT unnest(@customer_ids::uuid[]) AS customer_id, unnest(@pool_ids::uuid[]) AS pool_id, unnest(@notes::text[]) AS note) AS x
ON CONFLICT (tenant_id, customer_id) DO UPDATE
  SET pool_id = excluded.pool_id, reason = excluded.reason, note = excluded.note, released_by = NULL, entered_at = now();

-- name: SetCooldowns :exec
INSERT INTO pool_cooldowns (tenant_id, customer_id, employee_id, until)
SELECT @tenant_id, x.customer_id, x.employee_id, x.until
FROM (SELECT unnest(@customer_ids::uuid[]) AS customer_id, unnest(@employee_ids::uuid[]) AS employee_id,
             unnest(@untils::timestamptz[]) AS until) AS x
ON CONFLICT (tenant_id, customer_id, employee_id) DO UPDATE SET until = excluded.until;

-- name: MovePoolLeads :execrows
-- A pool deleted: its waiting leads wait in another (entered_at kept).
UPDATE pool_leads SET pool_id = @to_pool_id WHERE tenant_id = @tenant_id AND pool_id = @pool_id;

-- name: MovePoolClaims :exec
-- A pool deleted: the claims made from it count in another from then on (held ones judged by its rules at
-- the next recycle run).
UPDATE pool_claims SET pool_id = @to_pool_id,
  next_check_at = CASE WHEN released_at IS NULL THEN @at::timestamptz ELSE next_check_at END
WHERE tenant_id = @tenant_id AND pool_id = @pool_id;

-- name: DeletePool :exec
DELETE FROM pools WHERE tenant_id = @tenant_id AND id = @id;
