-- name: GetSubscription :one
-- The operators' queries (OperatorService) follow: each runs in a tenant transaction, as every query here.
SELECT t.id, t.name, t.plan, t.seat_limit, t.expires_at, t.time_zone, t.created_at,
       (t.suspended_expires_at IS NOT NULL)::bool AS suspended, coalesce(t.suspended_expires_at, t.expires_at)::timestamptz AS ends_at,
       (SELECT count(*) FROM employees e WHERE e.tenant_id = t.id AND e.status = 'active')::int AS seats_used
FROM tenants t
WHERE t.id = @tenant_id;

-- name: UpdateSubscription :one
-- Through the owner's function (023): the application role may not write plans, seats or expiry.
SELECT operator_update_tenant(@tenant_id, sqlc.narg(name), sqlc.narg(plan), sqlc.narg(seat_limit)::integer,
  sqlc.narg(time_zone), sqlc.narg(expires_at)::timestamptz, sqlc.narg(suspend)::boolean, @now::timestamptz)::integer AS changed;

-- name: TenantIDs :many
SELECT operator_tenant_ids()::uuid AS id;

-- name: ListPlans :many
-- The plans table has no tenant: any transaction reads it.
SELECT name, seat_limit, storage_quota_mib, features, trial_days, updated_at FROM plans
ORDER BY array_position(ARRAY['trial', 'standard', 'professional', 'enterprise'], name);

-- name: UpdatePlan :one
-- Through the owner's function (027): the application role may not write plans.
SELECT operator_update_plan(@name, sqlc.narg(seat_limit)::integer, sqlc.narg(storage_quota_mib)::integer,
  sqlc.narg(features)::text[], sqlc.narg(trial_days)::integer)::integer AS changed;

-- name: AuditPlan :one
-- Through the owner's function (044): one entry in the log of each tenant on the plan.
SELECT operator_audit_plan(@name, sqlc.narg(actor_id)::uuid, @address, @before::jsonb, @after::jsonb)::integer AS logged;
