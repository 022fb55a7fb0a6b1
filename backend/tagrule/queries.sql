-- name: CountRules :one
SELECT count(*)::int FROM tag_rules WHERE tenant_id = @tenant_id;

-- name: InsertRule :one
INSERT INTO tag_rules (tenant_id, id, material_tag, min_reads, customer_tag, created_by)
VALUES (@tenant_id, @id, @material_tag, @min_reads, @customer_tag, @created_by)
ON CONFLICT (tenant_id, material_tag, customer_tag) DO NOTHING
RETURNING *;

-- name: ListRules :many
SELECT * FROM tag_rules WHERE tenant_id = @tenant_id ORDER BY created_at, id;

-- name: GetRule :one
SELECT * FROM tag_rules WHERE tenant_id = @tenant_id AND id = @id;

-- name: DeleteRule :execrows
DELETE FROM tag_rules WHERE tenant_id = @tenant_id AND id = @id;

-- name: ApplyRules :many
-- The ingest's pass over the customers of a batch who opened a material: each gets the tags of the rules
-- they now meet and lack (opened at least min_reads different materials carrying the rule's material tag).
-- Joined to the ids rather than matched with = ANY (a generic plan of = ANY scans a growing table whole).
-- One row per (customer, rule) that tagged.
WITH due AS (
  SELECT c.id AS customer_id, r.id AS rule_id, r.customer_tag
  FROM unnest(@customer_ids::uuid[]) AS x (id)
  JOIN customers c ON c.tenant_id = @tenant_id AND c.id = x.id AND c.merged_into IS NULL
  JOIN tag_rules r ON r.tenant_id = @tenant_id AND NOT (r.customer_tag = ANY (c.tags))
  WHERE (SELECT count(DISTINCT e.material_id) FROM events e JOIN materials m ON m.id = e.material_id
         WHERE e.tenant_id = @tenant_id AND e.customer_id = c.id AND e.kind = 'material_view'
           AND r.material_tag = ANY (m.tags)) >= r.min_reads
),
tagged AS (
  UPDATE customers c SET tags = customer_tags_add(c.tags, d.tags), updated_at = now()
  FROM (SELECT customer_id, array_agg(DISTINCT customer_tag ORDER BY customer_tag) AS tags FROM due GROUP BY customer_id) d
  WHERE c.tenant_id = @tenant_id AND c.id = d.customer_id AND NOT (c.tags @> d.tags)
  RETURNING c.id, c.tags
),
counted AS (
  UPDATE tag_rules r SET tagged = r.tagged + n.n
  FROM (SELECT due.rule_id, count(*) AS n FROM due JOIN tagged t ON t.id = due.customer_id
        WHERE due.customer_tag = ANY (t.tags) GROUP BY due.rule_id) n
  WHERE r.tenant_id = @tenant_id AND r.id = n.rule_id
  RETURNING r.id
)
SELECT due.customer_id, due.rule_id, due.customer_tag FROM due JOIN tagged t ON t.id = due.customer_id
WHERE due.customer_tag = ANY (t.tags);

-- name: BackfillRule :one
-- A new rule's pass over every customer of the tenant: those who already meet it get its tag. Answers how
-- many it tagged.
WITH met AS (
  SELECT e.customer_id
  FROM events e JOIN materials m ON m.id = e.material_id
  WHERE e.tenant_id = @tenant_id AND e.kind = 'material_view' AND @material_tag::text = ANY (m.tags)
  GROUP BY e.customer_id
  HAVING count(DISTINCT e.material_id) >= @min_reads::int
),
tagged AS (
  UPDATE customers c SET tags = customer_tags_add(c.tags, ARRAY[@customer_tag::text]), updated_at = now()
  FROM met
  WHERE c.tenant_id = @tenant_id AND c.id = met.customer_id AND c.merged_into IS NULL
    AND NOT (@customer_tag::text = ANY (c.tags)) AND cardinality(c.tags) < 20
  RETURNING c.id
),
counted AS (
  UPDATE tag_rules r SET tagged = r.tagged + (SELECT count(*) FROM tagged)
  WHERE r.tenant_id = @tenant_id AND r.id = @id
  RETURNING r.id
)
SELECT count(*)::bigint FROM tagged;
