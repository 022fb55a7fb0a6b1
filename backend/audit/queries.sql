-- name: InsertEntry :exec
INSERT INTO audit_log (tenant_id, id, at, actor_id, actor_role, address, action, target_kind, target_id, before, after)
VALUES (@tenant_id, @id, @at, @actor_id, @actor_role, @address, @action, @target_kind, @target_id, @before, @after);

-- name: ListEntries :many
-- A page of the tenant's entries, newest first, after a (at, id) position, optionally for one actor, one
-- target, actions starting with a prefix ("employee." for every employee action), and a time range.
SELECT id, at, actor_id, actor_role, address, action, target_kind, target_id, before, after
FROM audit_log
WHERE tenant_id = @tenant_id
  AND (sqlc.narg(actor_id)::uuid IS NULL OR actor_id = sqlc.narg(actor_id))
  AND (sqlc.narg(target_id)::uuid IS NULL OR target_id = sqlc.narg(target_id))
  AND (@action_prefix::text = '' OR starts_with(action, @action_prefix::text))
  AND at >= @since AND at < @until
  AND (at, id) < (@before_at::timestamptz, @before_id::uuid)
ORDER BY at DESC, id DESC
LIMIT @max_rows;
