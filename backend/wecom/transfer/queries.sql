-- WeCom transfers: the WeCom side of handovers. Run inside tenant transactions. RecordTransfers reads the
-- customers' identities, the employees and the WeCom configuration (read only); only wecom_transfers is ours.

-- name: RecordTransfers :execrows
-- The moved customers who are WeCom external contacts, when the departing employee and the new owner both
-- have WeCom userids and the tenant has WeCom set up.
INSERT INTO wecom_transfers (tenant_id, handover_id, customer_id, external_userid, handover_userid, takeover_userid, resigned)
SELECT @tenant_id, @handover_id, m.customer_id, ci.value, f.wecom_userid, t.wecom_userid, false
FROM (SELECT unnest(@customer_ids::uuid[]) AS customer_id, unnest(@owner_ids::uuid[]) AS owner_id) m
JOIN customer_identities ci ON ci.tenant_id = @tenant_id AND ci.customer_id = m.customer_id AND ci.kind = 'external_userid'
JOIN employees f ON f.tenant_id = @tenant_id AND f.id = @from_id AND f.wecom_userid <> ''
JOIN employees t ON t.tenant_id = @tenant_id AND t.id = m.owner_id AND t.wecom_userid <> '' AND t.wecom_userid <> f.wecom_userid
WHERE EXISTS (SELECT 1 FROM wecom_configs c WHERE c.tenant_id = @tenant_id)
ON CONFLICT DO NOTHING;

-- name: PendingTransfers :many
-- What is still to ask WeCom, and whether the departing member has left (disabled here, as the directory
-- disables those who leave WeCom, or as an admin did): then the resigned transfer.
SELECT w.customer_id, w.external_userid, w.handover_userid, w.takeover_userid,
       coalesce((SELECT e.status = 'disabled' FROM employees e
                 WHERE e.tenant_id = w.tenant_id AND e.wecom_userid = w.handover_userid), true)::bool AS resigned
FROM wecom_transfers w
WHERE w.tenant_id = @tenant_id AND w.handover_id = @handover_id AND w.status = 'pending'
ORDER BY w.handover_userid, w.takeover_userid, w.customer_id;

-- name: MarkRequested :exec
-- WeCom's answer to a request, per customer: errcode 0 is waiting, anything else failed.
UPDATE wecom_transfers w
SET status = CASE WHEN x.errcode = 0 THEN 'waiting' ELSE 'failed' END, errcode = x.errcode, resigned = @resigned,
    requested_at = @now::timestamptz, updated_at = @now::timestamptz
FROM (SELECT unnest(@external_userids::text[]) AS external_userid, unnest(@errcodes::int[]) AS errcode) AS x
WHERE w.tenant_id = @tenant_id AND w.handover_id = @handover_id AND w.handover_userid = @handover_userid
  AND w.takeover_userid = @takeover_userid AND w.external_userid = x.external_userid AND w.status = 'pending';

-- name: WaitingPairs :many
SELECT DISTINCT handover_userid, takeover_userid, resigned FROM wecom_transfers
WHERE tenant_id = @tenant_id AND handover_id = @handover_id AND status = 'waiting';

-- name: SetResults :exec
-- How WeCom says the waiting transfers stand.
UPDATE wecom_transfers w SET status = x.status, takeover_at = x.takeover_at, updated_at = @now
FROM (SELECT unnest(@external_userids::text[]) AS external_userid, unnest(@statuses::text[]) AS status,
             unnest(@takeover_ats::timestamptz[]) AS takeover_at) AS x
WHERE w.tenant_id = @tenant_id AND w.handover_id = @handover_id AND w.handover_userid = @handover_userid
  AND w.takeover_userid = @takeover_userid AND w.external_userid = x.external_userid AND w.status = 'waiting';

-- name: ListTransfers :many
SELECT customer_id, external_userid, handover_userid, takeover_userid, resigned, status, errcode, requested_at, takeover_at
FROM wecom_transfers WHERE tenant_id = @tenant_id AND handover_id = @handover_id
ORDER BY customer_id LIMIT @max;

-- name: CountTransfers :many
SELECT status, count(*)::int AS n FROM wecom_transfers WHERE tenant_id = @tenant_id AND handover_id = @handover_id GROUP BY status;

-- name: AdoptionOf :one
-- What adopting a handover's WeCom-only contacts needs: the departing member's WeCom userid ('' for none),
-- whether the handover took everything (no stages or tags chosen), and whether the tenant has WeCom set up.
SELECT h.from_id, coalesce(f.wecom_userid, '')::text AS from_userid,
       (cardinality(h.stages) = 0 AND cardinality(h.tags) = 0)::bool AS whole,
       EXISTS (SELECT 1 FROM wecom_configs c WHERE c.tenant_id = h.tenant_id)::bool AS configured
FROM handovers h LEFT JOIN employees f ON f.tenant_id = h.tenant_id AND f.id = h.from_id
WHERE h.tenant_id = @tenant_id AND h.id = @handover_id;

-- name: SuccessorsWithWeCom :many
-- The handover's successors who have a WeCom userid other than the departing member's, in its order.
SELECT e.id FROM handovers h
CROSS JOIN LATERAL unnest(h.to_ids) WITH ORDINALITY AS s (id, n)
JOIN employees e ON e.tenant_id = h.tenant_id AND e.id = s.id AND e.wecom_userid <> ''
LEFT JOIN employees f ON f.tenant_id = h.tenant_id AND f.id = h.from_id
WHERE h.tenant_id = @tenant_id AND h.id = @handover_id AND e.wecom_userid IS DISTINCT FROM f.wecom_userid
ORDER BY s.n;
