package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/salesapp/scrm/backend/tenant"
)

// Sizes of recycle-ingest (issue 17: "Recycling 100,000 due leads ≤ 30 s, with the batched-ingest figure
// during it within 10% of without").
const (
	recycleLeads   = 100_000
	recycleHolders = 100
	recycleCap     = 3 * time.Minute // the scenario fails if recycling has not finished by then
)

// recycleIngest measures the batched ingest twice, on a fresh salesd each time: alone, then while that
// salesd's recycle job (River's periodic job, run at start) sends 100,000 neglected leads of another
// tenant back to their pool. The leads are seeded between the two: 100 salespeople of a tenant of their
// own each holding 1,000 leads of a pool that recycles after 3 days without a follow-up, claimed 10 days
// ago. Recycling's progress is read from the database once a second.
func recycleIngest(ctx context.Context, b *bench) (rows []row, err error) {
	alone, protocol, err := ingestWindow(ctx, b, "recycle-ingest-alone")
	if err != nil {
		return nil, fmt.Errorf("ingest alone: %w", err)
	}
	db, err := pgxpool.New(ctx, b.seedURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	tenantID, err := seedRecycle(ctx, b, db)
	if err != nil {
		return nil, fmt.Errorf("seed the leads: %w", err)
	}

	// The recycle runs when the next salesd starts; its progress is watched from now.
	type progress struct{ first, last time.Duration }
	watched := make(chan progress, 1)
	watchErr := make(chan error, 1)
	started := time.Now()
	go func() {
		var p progress
		for {
			var held int
			if err := db.QueryRow(ctx, `SELECT count(*) FROM pool_claims WHERE tenant_id = $1 AND released_at IS NULL`, tenantID).Scan(&held); err != nil {
				watchErr <- err
				return
			}
			if held < recycleLeads && p.first == 0 {
				p.first = time.Since(started)
			}
			if held == 0 {
				p.last = time.Since(started)
				watched <- p
				return
			}
			if time.Since(started) > recycleCap {
				watchErr <- fmt.Errorf("%d of %d leads still held after %s", held, recycleLeads, recycleCap)
				return
			}
			time.Sleep(time.Second)
		}
	}()
	s, err := b.startReady(ctx, "recycle-ingest-during")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	windowStart := time.Since(started)
	during, _, err := ingestOn(ctx, b, s)
	if err != nil {
		return nil, fmt.Errorf("ingest during the recycle: %w", err)
	}
	windowEnd := time.Since(started)
	var p progress
	select {
	case p = <-watched:
	case err := <-watchErr:
		return nil, err
	}
	aloneRate, duringRate := alone.rps()*ingestBatchSize, during.rps()*ingestBatchSize
	return []row{
		{"ingest", protocol + fmt.Sprintf(", %d events per request, %d workers, %s measured after %s warm-up", ingestBatchSize,
			b.opts.concurrency, b.opts.duration, b.opts.warmup), ""},
		{"recycle", fmt.Sprintf("%s leads of %d salespeople, due (no follow-up in 3 days, claimed 10 days ago), another tenant",
			thousands(recycleLeads), recycleHolders), ""},
		{"recycling, from salesd's start", fmt.Sprintf("first lead back by %s, last by %s (took at most %s)",
			p.first.Round(time.Second), p.last.Round(time.Second), (p.last - max(p.first-time.Second, 0)).Round(time.Second)), "≤ 30 s"},
		{"ingest window, from salesd's start", fmt.Sprintf("%s to %s (warm-up included)", windowStart.Round(time.Second), windowEnd.Round(time.Second)), ""},
		{"events/s alone / during the recycle", fmt.Sprintf("%s / %s (%.0f%%)", thousands(int64(aloneRate)), thousands(int64(duringRate)),
			100*duringRate/aloneRate), "during within 10% of alone"},
		{"latency p99 alone / during", millis(percentile(alone.lat, 99)) + " / " + millis(percentile(during.lat, 99)), ""},
	}, nil
}

// seedRecycle makes the recycling tenant: its salespeople, its pool and the held, neglected leads.
func seedRecycle(ctx context.Context, b *bench, db *pgxpool.Pool) (uuid.UUID, error) {
	owner, err := pgxpool.New(ctx, b.ownerURL)
	if err != nil {
		return uuid.Nil, err
	}
	defer owner.Close()
	t, err := tenant.CreateTenant(ctx, owner, tenant.NewTenant{Name: "Recycle", Plan: tenant.PlanEnterprise, SeatLimit: recycleHolders + 1,
		ExpiresAt: time.Now().AddDate(1, 0, 0)})
	if err != nil {
		return uuid.Nil, err
	}
	pool, claimed := uuid.Must(uuid.NewV7()), time.Now().Add(-10*24*time.Hour)
	steps := []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO employees (id, tenant_id, name, role) SELECT gen_random_uuid(), $1, 'Holder ' || g, 'sales' FROM generate_series(1, $2) g`,
			[]any{t.ID, recycleHolders}},
		{`INSERT INTO pools (tenant_id, id, name, is_default, daily_claim_cap, max_held, recycle_follow_up_days, created_by)
		  SELECT $1, $2, 'Default', true, 10000, 100000, 3, min(id::text)::uuid FROM employees WHERE tenant_id = $1`, []any{t.ID, pool}},
		{`WITH holders AS (SELECT array_agg(id ORDER BY id) AS ids FROM employees WHERE tenant_id = $1),
		  c AS (INSERT INTO customers (id, tenant_id, owner_id, display_name, created_at)
		        SELECT gen_random_uuid(), $1, h.ids[1 + g % $4], 'Lead ' || g, $3 FROM generate_series(1, $5) g, holders h
		        RETURNING id, owner_id)
		  INSERT INTO pool_claims (tenant_id, id, pool_id, customer_id, employee_id, claimed_at, next_check_at)
		  SELECT $1, gen_random_uuid(), $2, c.id, c.owner_id, $3, $3::timestamptz + interval '2 days' FROM c`,
			[]any{t.ID, pool, claimed, recycleHolders, recycleLeads}},
		{`ANALYZE customers, pool_claims, employees, team_leads`, nil}, // as autovacuum would have
	}
	for _, s := range steps {
		if _, err := db.Exec(ctx, s.sql, s.args...); err != nil {
			return uuid.Nil, errors.Join(err, fmt.Errorf("in %.60q", s.sql))
		}
	}
	return t.ID, nil
}
