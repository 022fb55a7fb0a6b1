-- name: GetCredential :one
SELECT value, fetched_at, expires_at FROM wechat_credentials WHERE app_id = @app_id AND kind = @kind;

-- name: EnsureCredential :exec
-- Makes the row the refreshing node locks, so the first fetch ever is serialized like the later ones.
INSERT INTO wechat_credentials (app_id, kind) VALUES (@app_id, @kind) ON CONFLICT DO NOTHING;

-- name: LockCredential :one
-- One node refreshes at a time; the others wait here and then find the value it stored.
SELECT value, fetched_at, expires_at FROM wechat_credentials WHERE app_id = @app_id AND kind = @kind FOR UPDATE;

-- name: StoreCredential :exec
UPDATE wechat_credentials SET value = @value, fetched_at = @fetched_at, expires_at = @expires_at
WHERE app_id = @app_id AND kind = @kind;

-- name: InvalidateCredential :exec
-- Only the refused value: one another node stored since stays.
UPDATE wechat_credentials SET expires_at = 'epoch'
WHERE app_id = @app_id AND kind = @kind AND value = @value;
