-- The material library. Run inside tenant transactions: row-level security shows the tenant's rows and
-- published platform rows; the visibility rules below narrow that to what the viewer may see.

-- name: ListMaterials :many
SELECT m.id, m.tenant_id, m.tier, m.owner_id, m.kind, m.status, m.reject_reason, m.folder_id, m.title, m.summary,
       m.body_html, m.text_body, m.file_key, m.image_keys, m.cover_key, m.poster_layout, m.tags, m.version,
       m.created_at, m.updated_at, m.published_at,
       (CASE WHEN m.tier = 'platform' THEN coalesce(pms.share_count, 0) ELSE m.share_count END)::bigint AS shares,
       coalesce((SELECT u.thumb_key FROM uploads u WHERE u.tenant_id = @tenant_id
                   AND u.object_key = coalesce(nullif(m.cover_key, ''), m.file_key)), '')::text AS thumb_key
FROM materials m
LEFT JOIN platform_material_shares pms ON pms.tenant_id = @tenant_id AND pms.material_id = m.id
WHERE m.deleted_at IS NULL
  AND (
       (m.tier = 'platform' AND m.status = 'published')
    OR (m.tier = 'enterprise' AND m.tenant_id = @tenant_id AND (@see_unpublished::bool OR m.status = 'published'))
    OR (m.tier = 'personal' AND m.tenant_id = @tenant_id AND m.owner_id = @viewer_id::uuid)
  )
  AND (sqlc.narg(tier)::text IS NULL OR m.tier = sqlc.narg(tier)::text)
  AND (sqlc.narg(kind)::text IS NULL OR m.kind = sqlc.narg(kind)::text)
  AND (sqlc.narg(status)::text IS NULL OR m.status = sqlc.narg(status)::text)
  AND (sqlc.narg(folder_id)::uuid IS NULL OR m.folder_id = sqlc.narg(folder_id)::uuid)
  AND (sqlc.narg(tag)::text IS NULL OR m.tags @> ARRAY[sqlc.narg(tag)::text])
  AND (sqlc.narg(title_pattern)::text IS NULL OR m.title ILIKE sqlc.narg(title_pattern)::text)
ORDER BY (CASE WHEN @most_shared::bool THEN (CASE WHEN m.tier = 'platform' THEN coalesce(pms.share_count, 0) ELSE m.share_count END) ELSE 0 END) DESC,
         m.created_at DESC, m.id DESC
LIMIT @max_rows OFFSET @skip_rows;

-- name: GetMaterial :one
SELECT m.id, m.tenant_id, m.tier, m.owner_id, m.kind, m.status, m.reject_reason, m.folder_id, m.title, m.summary,
       m.body_html, m.text_body, m.file_key, m.image_keys, m.cover_key, m.poster_layout, m.tags, m.version,
       m.created_at, m.updated_at, m.published_at,
       (CASE WHEN m.tier = 'platform' THEN coalesce(pms.share_count, 0) ELSE m.share_count END)::bigint AS shares,
       coalesce((SELECT u.thumb_key FROM uploads u WHERE u.tenant_id = @tenant_id
                   AND u.object_key = coalesce(nullif(m.cover_key, ''), m.file_key)), '')::text AS thumb_key
FROM materials m
LEFT JOIN platform_material_shares pms ON pms.tenant_id = @tenant_id AND pms.material_id = m.id
-- The tenant condition repeats row-level security's: it keeps a tenant to its own and the platform's
-- materials even on a connection that security does not bind.
WHERE m.id = @id AND m.deleted_at IS NULL AND (m.tenant_id = @tenant_id OR (m.tenant_id IS NULL AND m.tier = 'platform'));

-- name: LockMaterial :one
SELECT id FROM materials WHERE id = @id AND tenant_id = @tenant_id::uuid AND deleted_at IS NULL FOR UPDATE;

-- name: InsertMaterial :exec
INSERT INTO materials (id, tenant_id, tier, owner_id, kind, status, folder_id, title, summary, body_html, text_body,
                       file_key, image_keys, cover_key, poster_layout, tags, created_by, published_at)
VALUES (@id, sqlc.narg(tenant_id), @tier, sqlc.narg(owner_id), @kind, @status, sqlc.narg(folder_id), @title, @summary,
        @body_html, @text_body, @file_key, @image_keys, @cover_key, @poster_layout, @tags, sqlc.narg(created_by),
        sqlc.narg(published_at));

-- name: UpdateMaterialContent :exec
UPDATE materials SET folder_id = sqlc.narg(folder_id), title = @title, summary = @summary, body_html = @body_html,
  text_body = @text_body, file_key = @file_key, image_keys = @image_keys, cover_key = @cover_key,
  poster_layout = @poster_layout, tags = @tags, version = version + 1, updated_at = now()
WHERE id = @id AND tenant_id = @tenant_id::uuid;

-- name: SetMaterialStatus :exec
UPDATE materials SET status = @status, reject_reason = @reject_reason, updated_at = now(),
  published_at = CASE WHEN @status = 'published' THEN now() ELSE published_at END
WHERE id = @id AND tenant_id = @tenant_id::uuid;

-- name: SoftDeleteMaterial :exec
UPDATE materials SET deleted_at = now(), updated_at = now() WHERE id = @id AND tenant_id = @tenant_id::uuid;

-- name: RenderKeysOfMaterial :many
SELECT object_key FROM poster_renders WHERE tenant_id = @tenant_id AND material_id = @material_id;

-- name: InsertFolder :one
INSERT INTO material_folders (id, tenant_id, tier, owner_id, name) VALUES (@id, @tenant_id, @tier, sqlc.narg(owner_id), @name)
RETURNING *;

-- name: GetFolder :one
SELECT * FROM material_folders WHERE tenant_id = @tenant_id AND id = @id;

-- name: ListFolders :many
SELECT * FROM material_folders
WHERE tenant_id = @tenant_id AND (tier = 'enterprise' OR owner_id = @viewer_id::uuid)
ORDER BY tier, name;

-- name: PersonalOf :one
-- What a personalized poster writes: the card's name and title if the employee has a card, else theirs.
SELECT coalesce(c.display_name, e.name)::text AS name, coalesce(c.title, e.title)::text AS title
FROM employees e LEFT JOIN cards c ON c.tenant_id = e.tenant_id AND c.employee_id = e.id
WHERE e.tenant_id = @tenant_id AND e.id = @employee_id;

-- name: GetPosterRender :one
SELECT object_key FROM poster_renders WHERE tenant_id = @tenant_id AND cache_key = @cache_key;

-- name: InsertPosterRender :execrows
-- Only while the material exists: a render finishing after a delete must not outlive it unnoticed.
INSERT INTO poster_renders (tenant_id, cache_key, material_id, employee_id, channel, share_token, object_key)
SELECT @tenant_id, @cache_key, @material_id, @employee_id, @channel, @share_token, @object_key
WHERE EXISTS (SELECT 1 FROM materials m WHERE m.id = @material_id AND m.deleted_at IS NULL)
ON CONFLICT (tenant_id, cache_key) DO NOTHING;

-- name: LatestPosterRender :one
-- The salesperson's newest render of a poster made since the poster last changed: what their links show.
SELECT object_key FROM poster_renders
WHERE tenant_id = @tenant_id AND material_id = @material_id AND employee_id = @employee_id AND created_at >= @since
ORDER BY created_at DESC LIMIT 1;

-- Platform materials through OperatorService: the owner's functions (migration 036), called by the
-- application role.

-- name: OperatorAddPlatformMaterial :exec
SELECT operator_add_platform_material(@id, @kind, @title, @summary, @body_html, @text_body, @tags::text[],
  sqlc.narg(plans)::text[], @file_key, sqlc.narg(poster_layout)::jsonb);

-- name: OperatorEditPlatformMaterial :one
SELECT operator_edit_platform_material(@id, sqlc.narg(title), sqlc.narg(summary), sqlc.narg(body_html),
  sqlc.narg(text_body), sqlc.narg(tags)::text[])::int AS changed;

-- name: OperatorPublishPlatformMaterial :one
SELECT operator_publish_platform_material(@id, @published, sqlc.narg(plans)::text[])::int AS changed;

-- name: OperatorDeletePlatformMaterial :one
-- Deletes a platform material (changed 0: none) and answers the object keys only it named (056).
SELECT d.changed::int AS changed, d.object_keys::text[] AS object_keys FROM operator_delete_platform_material(@id) AS d;

-- name: OperatorPlatformMaterials :many
SELECT m.id::uuid AS id, m.kind::text AS kind, m.status::text AS status, m.title::text AS title, m.summary::text AS summary,
       m.tags::text[] AS tags, m.plans::text[] AS plans, m.created_at::timestamptz AS created_at,
       m.updated_at::timestamptz AS updated_at
FROM operator_platform_materials() AS m;

-- name: UnknownPlans :many
-- Which of these names no plan has (the plans table has no tenant: any transaction reads it).
SELECT n::text AS name FROM unnest(@names::text[]) AS n WHERE n NOT IN (SELECT p.name FROM plans p);
