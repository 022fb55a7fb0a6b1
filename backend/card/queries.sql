-- Business cards and the company profile. Run inside tenant transactions.

-- name: EnsureCard :exec
-- A card is made on first use from the employee's own fields.
INSERT INTO cards (tenant_id, employee_id, display_name, title, phone, email)
SELECT e.tenant_id, e.id, e.name, e.title, e.phone, e.email
FROM employees e WHERE e.tenant_id = @tenant_id AND e.id = @employee_id
ON CONFLICT (tenant_id, employee_id) DO NOTHING;

-- name: GetCard :one
SELECT c.*, e.status AS employee_status
FROM cards c JOIN employees e ON e.tenant_id = c.tenant_id AND e.id = c.employee_id
WHERE c.tenant_id = @tenant_id AND c.employee_id = @employee_id;

-- name: UpdateCard :exec
UPDATE cards SET
  display_name    = coalesce(sqlc.narg(display_name), display_name),
  title           = coalesce(sqlc.narg(title), title),
  phone           = coalesce(sqlc.narg(phone), phone),
  wechat_id       = coalesce(sqlc.narg(wechat_id), wechat_id),
  email           = coalesce(sqlc.narg(email), email),
  avatar_key      = coalesce(sqlc.narg(avatar_key), avatar_key),
  bio             = coalesce(sqlc.narg(bio), bio),
  photo_keys      = CASE WHEN @set_photos::bool THEN @photo_keys::text[] ELSE photo_keys END,
  intro_video_key = coalesce(sqlc.narg(intro_video_key), intro_video_key),
  featured_material_ids = CASE WHEN @set_featured::bool THEN @featured_material_ids::uuid[] ELSE featured_material_ids END,
  version = version + 1,
  updated_at = now()
WHERE tenant_id = @tenant_id AND employee_id = @employee_id;

-- name: SetCardQR :exec
UPDATE cards SET qr_token = @qr_token, qr_key = @qr_key WHERE tenant_id = @tenant_id AND employee_id = @employee_id;

-- name: GetCompany :one
SELECT * FROM company_profiles WHERE tenant_id = @tenant_id;

-- name: UpsertCompany :one
INSERT INTO company_profiles (tenant_id, company_name, logo_key, website, address)
VALUES (@tenant_id, coalesce(sqlc.narg(company_name), ''), coalesce(sqlc.narg(logo_key), ''),
        coalesce(sqlc.narg(website), ''), coalesce(sqlc.narg(address), ''))
ON CONFLICT (tenant_id) DO UPDATE SET
  company_name = coalesce(sqlc.narg(company_name), company_profiles.company_name),
  logo_key     = coalesce(sqlc.narg(logo_key), company_profiles.logo_key),
  website      = coalesce(sqlc.narg(website), company_profiles.website),
  address      = coalesce(sqlc.narg(address), company_profiles.address),
  updated_at   = now()
RETURNING *;

-- name: CreditedEmployee :one
-- Whose card a link of @employee_id shows: theirs, or, once disabled, their successor's (migration 023).
SELECT credited_employee(@tenant_id, @employee_id)::uuid AS credited_id;
