-- Customers, their identities, and what they did (events).

-- How likely a customer is to buy, from what they did: views, minutes read, forwards, and above all
-- contact (calls, WeChat, a phone number). Kept on the row so "hottest first" is an index scan.
CREATE FUNCTION customer_intent(views integer, dwell_ms bigint, forwards integer, calls integer, wechats integer, has_phone boolean)
  RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT least(100,
      least(views, 10) * 3 + least(dwell_ms / 60000, 10)::int * 3 + least(forwards, 5) * 4
    + least(calls, 2) * 10 + least(wechats, 2) * 8 + CASE WHEN has_phone THEN 15 ELSE 0 END) $$;

-- A customer is one person per tenant, whatever identities they came with. A customer merged into
-- another (an anonymous visitor who logged in as a known person) keeps its row, pointing at the survivor.
CREATE TABLE customers (
  id              uuid PRIMARY KEY,
  tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  owner_id        uuid,
  display_name    text NOT NULL DEFAULT '',
  avatar_url      text NOT NULL DEFAULT '',
  phone           text NOT NULL DEFAULT '',
  stage           text NOT NULL DEFAULT 'new'
                  CHECK (stage IN ('new', 'contacted', 'interested', 'negotiating', 'won', 'lost')),
  source_channel  text NOT NULL DEFAULT '',
  source_share_id uuid,
  remark          text NOT NULL DEFAULT '',
  tags            text[] NOT NULL DEFAULT '{}',
  views           integer NOT NULL DEFAULT 0,
  dwell_ms        bigint NOT NULL DEFAULT 0,
  forwards        integer NOT NULL DEFAULT 0,
  call_clicks     integer NOT NULL DEFAULT 0,
  wechat_clicks   integer NOT NULL DEFAULT 0,
  intent_score    integer NOT NULL DEFAULT 0,  -- customer_intent(...) of the columns above
  first_seen_at   timestamptz NOT NULL DEFAULT now(),
  last_active_at  timestamptz NOT NULL DEFAULT now(),
  merged_into     uuid,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT customers_tenant_id_id_key UNIQUE (tenant_id, id)
);
CREATE INDEX customers_owner_active_idx ON customers (tenant_id, owner_id, last_active_at DESC, id) WHERE merged_into IS NULL;
CREATE INDEX customers_owner_intent_idx ON customers (tenant_id, owner_id, intent_score DESC, id) WHERE merged_into IS NULL;
CREATE INDEX customers_owner_created_idx ON customers (tenant_id, owner_id, created_at DESC, id) WHERE merged_into IS NULL;
ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customers
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- One row per identity: an anonymous visitor id, mini-program or H5 openid, unionid, WeCom external
-- userid, phone. Unique per tenant, so one unionid is one customer.
CREATE TABLE customer_identities (
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  kind         text NOT NULL CHECK (kind IN ('visitor', 'mp_openid', 'h5_openid', 'unionid', 'external_userid', 'phone')),
  value        text NOT NULL CHECK (length(value) BETWEEN 1 AND 128),
  customer_id  uuid NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, kind, value)
);
CREATE INDEX customer_identities_customer_idx ON customer_identities (tenant_id, customer_id);
ALTER TABLE customer_identities ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_identities
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- What customers did, keyed by the id the client gave each event (so a resent batch is stored once).
-- Dwell heartbeats are stored (for idempotency) but fold into their view's dwell_ms.
CREATE TABLE events (
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id           uuid NOT NULL,
  customer_id  uuid NOT NULL,
  employee_id  uuid,
  share_id     uuid,
  material_id  uuid,
  kind         text NOT NULL CHECK (kind IN ('card_view', 'material_view', 'dwell', 'forward', 'call_click',
                                             'wechat_click', 'phone_left', 'video_progress', 'brochure_page')),
  view_id      uuid,
  occurred_at  timestamptz NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  dwell_ms     integer NOT NULL DEFAULT 0,
  value        integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX events_timeline_idx ON events (tenant_id, customer_id, occurred_at DESC, id) WHERE kind <> 'dwell';
-- Heartbeats by the view they extend: a view's dwell is recomputed from them on every batch.
CREATE INDEX events_view_idx ON events (tenant_id, view_id) WHERE kind = 'dwell';
CREATE INDEX events_material_idx ON events (tenant_id, material_id, customer_id) WHERE kind = 'material_view';
ALTER TABLE events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON events
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());


-- What a salesperson wrote about a customer: notes, and follow-up records (a call made, a visit, the next
-- step and when).
CREATE TABLE customer_notes (
  id            uuid PRIMARY KEY,
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  customer_id   uuid NOT NULL,
  author_id     uuid NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('note', 'follow_up')),
  body          text NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
  next_at       timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customer_notes_customer_idx ON customer_notes (tenant_id, customer_id, created_at DESC);
ALTER TABLE customer_notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_notes
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- Who owns a customer that a share brings in: 'first_share', the salesperson whose share brought them
-- first; or 'pool', nobody yet: the tenant's pool, from which admins and managers assign.
ALTER TABLE tenants ADD COLUMN customer_owner_rule text NOT NULL DEFAULT 'first_share'
  CHECK (customer_owner_rule IN ('first_share', 'pool'));
CREATE INDEX customers_pool_idx ON customers (tenant_id, last_active_at DESC, id) WHERE owner_id IS NULL AND merged_into IS NULL;
