-- Reading rules (issue 16, point 9: "read ≥ 2 materials tagged 种植牙 → tag 种植牙意向"): a customer who has
-- opened at least min_reads different materials carrying material_tag gets customer_tag. Applied by the
-- tracking ingest to the customers of each batch who opened a material, and once to every customer when a
-- rule is made (backend/tagrule). A rule only adds its tag: staff may take it off again, and the rule does
-- not put it back until the customer opens another such material.
CREATE TABLE tag_rules (
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id           uuid NOT NULL,
  material_tag text NOT NULL CHECK (length(material_tag) BETWEEN 1 AND 32),
  min_reads    integer NOT NULL CHECK (min_reads BETWEEN 1 AND 100),
  customer_tag text NOT NULL CHECK (length(customer_tag) BETWEEN 1 AND 32),
  created_by   uuid NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  -- Customers the rule has tagged (the ingest's and the first pass's), for the admin's list.
  tagged       bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT tag_rules_once UNIQUE (tenant_id, material_tag, customer_tag)
);
ALTER TABLE tag_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE tag_rules FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tag_rules
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON tag_rules TO salesapp_app;

-- customer_tags_add is tags with add appended, those it lacks only, in order, at most 20 (customer.MaxTags).
CREATE FUNCTION customer_tags_add(tags text[], add text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(t ORDER BY o), '{}') FROM (
    SELECT t, min(o) AS o FROM unnest(tags || add) WITH ORDINALITY AS x(t, o)
    GROUP BY t ORDER BY min(o) LIMIT 20) AS y
$$;
