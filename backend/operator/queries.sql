-- name: InsertOperator :one
INSERT INTO operators (id, email, password_hash) VALUES ($1, $2, $3)
RETURNING id, email, created_at;

-- name: OperatorByEmail :one
SELECT id, email, password_hash FROM operators WHERE email = $1 AND disabled_at IS NULL;

-- name: OperatorByID :one
SELECT id, email FROM operators WHERE id = $1 AND disabled_at IS NULL;
