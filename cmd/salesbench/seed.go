package main

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Sizes of the seeded data the read scenarios run against (the numbers).
const (
	seedCustomers      = 20_000
	seedTimelineEvents = 10_000
)

// seeded names the data the read scenarios use.
type seeded struct {
	// busyCustomer has seedTimelineEvents events; the salesperson owns seedCustomers customers.
	busyCustomer uuid.UUID
}

// seed writes, as the superuser (seedURL) and in bulk, a salesperson's seedCustomers customers (spread over
// the last month, with varied scores) and one customer's seedTimelineEvents events (views with dwell,
// forwards, clicks), the way the ingest would have left them.
func seed(ctx context.Context, seedURL string, si signedIn) (seeded, error) {
	pool, err := pgxpool.New(ctx, seedURL)
	if err != nil {
		return seeded{}, err
	}
	defer pool.Close()
	var shareID uuid.UUID
	if err := pool.QueryRow(ctx, "SELECT id FROM shares WHERE token = $1", si.shareToken).Scan(&shareID); err != nil {
		return seeded{}, err
	}
	_, err = pool.Exec(ctx, `
		INSERT INTO customers (id, tenant_id, owner_id, source_channel, source_share_id, views, dwell_ms, intent_score,
		                       first_seen_at, last_active_at, created_at, tags, stage)
		SELECT gen_random_uuid(), $1, $2, 'chat', $3, g % 37, (g % 601) * 1000, g % 101,
		       now() - (g || ' minutes')::interval, now() - ((g * 7) % 43200 || ' minutes')::interval,
		       now() - (g || ' minutes')::interval,
		       CASE WHEN g % 10 = 0 THEN ARRAY['vip'] ELSE ARRAY[]::text[] END,
		       (ARRAY['new', 'contacted', 'interested', 'negotiating', 'won', 'lost'])[1 + g % 6]
		FROM generate_series(1, $4) AS g`, si.tenantID, si.salesID, shareID, seedCustomers)
	if err != nil {
		return seeded{}, err
	}
	busy := uuid.Must(uuid.NewV7())
	if _, err := pool.Exec(ctx, `INSERT INTO customers (id, tenant_id, owner_id, source_channel, views, last_active_at)
		VALUES ($1, $2, $3, 'chat', $4, now())`, busy, si.tenantID, si.salesID, seedTimelineEvents/2); err != nil {
		return seeded{}, err
	}
	_, err = pool.Exec(ctx, `
		INSERT INTO events (tenant_id, id, customer_id, employee_id, share_id, kind, occurred_at, dwell_ms)
		SELECT $1, gen_random_uuid(), $2, $3, $4,
		       (ARRAY['card_view', 'card_view', 'forward', 'call_click', 'dwell'])[1 + g % 5],
		       now() - (g || ' minutes')::interval, CASE WHEN g % 5 IN (0, 1) THEN (g % 300) * 1000 ELSE 0 END
		FROM generate_series(1, $5) AS g`, si.tenantID, busy, si.salesID, shareID, seedTimelineEvents)
	if err != nil {
		return seeded{}, err
	}
	_, err = pool.Exec(ctx, "ANALYZE customers; ANALYZE events")
	return seeded{busyCustomer: busy}, err
}
