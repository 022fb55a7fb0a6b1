-- Uploads, business cards, the material library and share links.

-- An upload is an object a client put into storage by presigned request and the server then checked
-- (media.Finalize: size, declared and sniffed type). Cards and materials reference only finalized uploads.
CREATE TABLE uploads (
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  object_key    text NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('image', 'pdf', 'video')),
  content_type  text NOT NULL,
  size_bytes    bigint NOT NULL CHECK (size_bytes > 0),
  uploaded_by   uuid NOT NULL,
  -- A JPEG thumbnail of an image upload, set by a background job once made.
  thumb_key     text NOT NULL DEFAULT '',
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, object_key)
);
ALTER TABLE uploads ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON uploads
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- Company fields every card of the tenant shows; only admins change them.
CREATE TABLE company_profiles (
  tenant_id     uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  company_name  text NOT NULL DEFAULT '',
  logo_key      text NOT NULL DEFAULT '',
  website       text NOT NULL DEFAULT '',
  address       text NOT NULL DEFAULT '',
  updated_at    timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE company_profiles ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON company_profiles
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- One card per employee, made on first use from the employee's own fields.
CREATE TABLE cards (
  tenant_id             uuid NOT NULL,
  employee_id           uuid NOT NULL,
  display_name          text NOT NULL,
  title                 text NOT NULL DEFAULT '',
  phone                 text NOT NULL DEFAULT '',
  wechat_id             text NOT NULL DEFAULT '',
  email                 text NOT NULL DEFAULT '',
  avatar_key            text NOT NULL DEFAULT '',
  bio                   text NOT NULL DEFAULT '',
  photo_keys            text[] NOT NULL DEFAULT '{}',
  intro_video_key       text NOT NULL DEFAULT '',
  featured_material_ids uuid[] NOT NULL DEFAULT '{}',
  -- The card's own share link (channel qr) and the PNG of its QR code.
  qr_token              text NOT NULL DEFAULT '',
  qr_key                text NOT NULL DEFAULT '',
  version               bigint NOT NULL DEFAULT 1,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, employee_id),
  CONSTRAINT cards_employee_fk FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id) ON DELETE CASCADE
);
ALTER TABLE cards ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON cards
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- Materials in three tiers. Platform materials belong to the SaaS operator (tenant_id NULL) and are
-- visible to every tenant once published; the application role can read them but never write them.
CREATE TABLE material_folders (
  id          uuid PRIMARY KEY,
  tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  tier        text NOT NULL CHECK (tier IN ('enterprise', 'personal')),
  owner_id    uuid,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  created_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT material_folders_owner CHECK ((tier = 'personal') = (owner_id IS NOT NULL))
);
CREATE UNIQUE INDEX material_folders_name_key ON material_folders (tenant_id, tier, coalesce(owner_id, '00000000-0000-0000-0000-000000000000'::uuid), name);
ALTER TABLE material_folders ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON material_folders
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

CREATE TABLE materials (
  id            uuid PRIMARY KEY,
  tenant_id     uuid REFERENCES tenants (id) ON DELETE CASCADE,
  tier          text NOT NULL CHECK (tier IN ('platform', 'enterprise', 'personal')),
  owner_id      uuid,
  kind          text NOT NULL CHECK (kind IN ('poster', 'article', 'brochure', 'video', 'moments')),
  status        text NOT NULL CHECK (status IN ('draft', 'in_review', 'published', 'rejected')),
  reject_reason text NOT NULL DEFAULT '',
  folder_id     uuid REFERENCES material_folders (id) ON DELETE SET NULL,
  title         text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  summary       text NOT NULL DEFAULT '',
  body_html     text NOT NULL DEFAULT '',
  text_body     text NOT NULL DEFAULT '',
  file_key      text NOT NULL DEFAULT '',
  image_keys    text[] NOT NULL DEFAULT '{}',
  cover_key     text NOT NULL DEFAULT '',
  poster_layout jsonb,
  tags          text[] NOT NULL DEFAULT '{}',
  version       bigint NOT NULL DEFAULT 1,
  share_count   bigint NOT NULL DEFAULT 0,
  created_by    uuid,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  published_at  timestamptz,
  deleted_at    timestamptz,
  CONSTRAINT materials_tier_tenant CHECK ((tier = 'platform') = (tenant_id IS NULL)),
  CONSTRAINT materials_tier_owner CHECK ((tier = 'personal') = (owner_id IS NOT NULL))
);
CREATE INDEX materials_list_idx ON materials (tenant_id, tier, status, created_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX materials_platform_idx ON materials (created_at DESC) WHERE tier = 'platform' AND status = 'published' AND deleted_at IS NULL;
CREATE INDEX materials_tags_idx ON materials USING gin (tags);
CREATE INDEX materials_title_idx ON materials USING gin (to_tsvector('simple', title));
ALTER TABLE materials ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON materials
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
CREATE POLICY platform_read ON materials FOR SELECT
  USING (tier = 'platform' AND status = 'published' AND deleted_at IS NULL);

-- Share counts of platform materials are per tenant (a tenant must not learn another's activity).
CREATE TABLE platform_material_shares (
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  material_id  uuid NOT NULL REFERENCES materials (id) ON DELETE CASCADE,
  share_count  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, material_id)
);
ALTER TABLE platform_material_shares ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON platform_material_shares
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- Personalized posters already rendered: (material version, layout, salesperson, share link) → object.
-- The share token is reused for later versions, so a reprinted poster's QR code keeps its attribution.
CREATE TABLE poster_renders (
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  cache_key    text NOT NULL,
  material_id  uuid NOT NULL REFERENCES materials (id) ON DELETE CASCADE,
  employee_id  uuid NOT NULL,
  channel      text NOT NULL,
  share_token  text NOT NULL,
  object_key   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, cache_key)
);
CREATE INDEX poster_renders_share_idx ON poster_renders (tenant_id, material_id, employee_id, channel, created_at DESC);
ALTER TABLE poster_renders ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON poster_renders
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- A share link. A salesperson's share has no parent; a customer's forward is a child of the share they
-- forwarded, so forwards form a tree rooted at the salesperson's share, and every node names the
-- salesperson (employee_id) whom its views are credited to.
CREATE TABLE shares (
  id           uuid PRIMARY KEY,
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  token        text NOT NULL,
  employee_id  uuid NOT NULL,
  target_kind  text NOT NULL CHECK (target_kind IN ('material', 'card')),
  material_id  uuid REFERENCES materials (id) ON DELETE CASCADE,
  channel      text NOT NULL CHECK (channel IN ('chat', 'group', 'moments', 'qr', 'other')),
  parent_id    uuid REFERENCES shares (id) ON DELETE CASCADE,
  root_id      uuid NOT NULL,
  depth        integer NOT NULL DEFAULT 0,
  forwarder    text NOT NULL DEFAULT '',
  -- Made by the system (a card's own QR link), not by the salesperson sharing: not counted as a share.
  standing     boolean NOT NULL DEFAULT false,
  created_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT shares_token_key UNIQUE (token),
  CONSTRAINT shares_target CHECK ((target_kind = 'material') = (material_id IS NOT NULL)),
  CONSTRAINT shares_employee_fk FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX shares_employee_idx ON shares (tenant_id, employee_id, created_at DESC);
CREATE INDEX shares_material_idx ON shares (tenant_id, material_id) WHERE material_id IS NOT NULL;
CREATE INDEX shares_parent_idx ON shares (parent_id) WHERE parent_id IS NOT NULL;
ALTER TABLE shares ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON shares
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- A share token is all a customer's page has. This returns the tenant it belongs to (and nothing else),
-- so that the public path can open a tenant transaction; it runs as the owner, past row-level security.
CREATE FUNCTION share_tenant(p_token text) RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$ SELECT tenant_id FROM shares WHERE token = p_token $$;
REVOKE ALL ON FUNCTION share_tenant(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION share_tenant(text) TO salesapp_app;
