-- name: InsertOperator :one
INSERT INTO operators (id, email, password_hash) VALUES ($1, $2, $3)
RETURNING id, email, created_at;

-- name: OperatorByEmail :one
SELECT id, email, password_hash FROM operators WHERE email = $1 AND disabled_at IS NULL;

-- name: OperatorByID :one
SELECT id, email FROM operators WHERE id = $1 AND disabled_at IS NULL;

-- name: SetOperatorDisabled :execrows
-- Disables (their tokens stop at once: CheckOperator reads this) or enables an operator account.
UPDATE operators SET disabled_at = CASE WHEN @disable::bool THEN coalesce(disabled_at, now()) ELSE NULL END
WHERE email = @email;
