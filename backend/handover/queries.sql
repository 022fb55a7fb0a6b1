-- Handover records and successors. Run inside tenant transactions.

-- name: InsertHandover :one
INSERT INTO handovers (tenant_id, id, at, actor_id, from_id, to_ids, stages, tags, customers, per_successor, tasks, follow_ups)
VALUES (@tenant_id, @id, @at, @actor_id, @from_id, @to_ids, @stages, @tags, @customers, @per_successor, @tasks, @follow_ups)
RETURNING *;

-- name: ListHandovers :many
-- Newest first; @from_id uuid.Nil lists every employee's.
SELECT * FROM handovers
WHERE tenant_id = @tenant_id
  AND (@from_id::uuid = '00000000-0000-0000-0000-000000000000'::uuid OR from_id = @from_id::uuid)
  AND (sqlc.narg(before_at)::timestamptz IS NULL OR (at, id) < (sqlc.narg(before_at)::timestamptz, @before_id::uuid))
ORDER BY at DESC, id DESC
LIMIT @lim;

-- name: SetSuccessor :exec
INSERT INTO employee_successors (tenant_id, employee_id, successor_id) VALUES (@tenant_id, @employee_id, @successor_id)
ON CONFLICT (tenant_id, employee_id) DO UPDATE SET successor_id = excluded.successor_id, set_at = now();

-- name: Employees :many
-- The employees a handover names, with what it checks.
SELECT id, status, name FROM employees WHERE tenant_id = @tenant_id AND id = ANY (@ids::uuid[]);

-- name: LockEmployee :exec
-- Two handovers from one employee run one after the other.
SELECT 1 FROM employees WHERE tenant_id = @tenant_id AND id = @id FOR UPDATE;

-- name: Credited :one
SELECT credited_employee(@tenant_id, @employee_id)::uuid;
