package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
)

// Sizes of ranking (issue 15: "rankings (top 50 + my rank) p99 ≤ 10 ms for a tenant of 10,000
// salespeople with 10,000,000 events").
const (
	rankingPeople = 10_000
	// rankingViews is how many views this month's counters add up to (about rankingPeople × 1,000).
	rankingViews = 10_000_000
	// rankingRate is the stated load, and rankingIngestRate the views tracked beside it, of the cards of
	// rankingViewed salespeople picked at random: they move the counters being ranked.
	rankingRate       = 200
	rankingIngestRate = 200
	rankingViewed     = 1_000
)

// ranking asks for the whole tenant's ranking by views, top 50 and the caller's place, this month and
// this week, in a tenant grown to rankingPeople salespeople whose counters for the month add up to
// rankingViews views (written as the ingest leaves them: one rollup row per person and period). The
// caller is the tenant's admin, placed in the middle of the table, while views of rankingViewed
// salespeople's cards move them through the same order. The node answers from its copy of each order,
// read again in the background once it is a second old. It runs last: the tenant's other scenarios do
// not expect 10,000 colleagues.
func ranking(ctx context.Context, b *bench) (rows []row, err error) {
	tokens, err := seedRanking(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("seed the ranking: %w", err)
	}
	s, httpClient, protocol, err := startForLoad(ctx, b, "ranking")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	defer httpClient.CloseIdleConnections()
	base := "http://" + s.addr
	stats := salesappv1connect.NewStatsServiceClient(httpClient, base)
	call := func(period salesappv1.StatsPeriod) func(context.Context) error {
		return func(ctx context.Context) error {
			req := connect.NewRequest(&salesappv1.GetRankingsRequest{Metric: salesappv1.StatsMetric_STATS_METRIC_VIEWS,
				Span: &salesappv1.StatsSpan{Period: period}, Top: 50})
			req.Header().Set("Authorization", "Bearer "+b.token)
			res, err := stats.GetRankings(ctx, req)
			if err != nil {
				return err
			}
			if m := res.Msg; len(m.Top) != 50 || m.Total < rankingPeople || m.Me == nil || m.Me.Rank < m.Total/4 || m.Me.Rank > m.Total*3/4 {
				return fmt.Errorf("a ranking of %d places, %d ranked, the caller at %v: not the tenant seeded", len(m.Top), m.Total, m.Me)
			}
			return nil
		}
	}
	// The first ranking of each period reads its whole order; the node then reads it again in the
	// background at most once a second while it is asked for.
	var firsts []string
	for _, p := range []salesappv1.StatsPeriod{salesappv1.StatsPeriod_STATS_PERIOD_THIS_MONTH, salesappv1.StatsPeriod_STATS_PERIOD_THIS_WEEK} {
		t0 := time.Now()
		if err := call(p)(ctx); err != nil {
			return nil, fmt.Errorf("first ranking: %w", err)
		}
		firsts = append(firsts, millis(time.Since(t0)))
	}

	track := salesappv1connect.NewTrackingServiceClient(httpClient, base)
	stopLoad := beside(ctx, rankingIngestRate, func(ctx context.Context) error {
		_, err := track.Track(ctx, cardView(tokens[rand.IntN(len(tokens))], "ranking-load-"+uuid.NewString()[:12]))
		return err
	})
	defer stopLoad()
	// The load's first views look up a thousand links the node has not cached yet: measure once it is
	// steady.
	time.Sleep(3 * time.Second)

	rows = []row{
		{"protocol", protocol + ", views, whole tenant, top 50 and the caller's place (in the middle)", ""},
		{"tenant", fmt.Sprintf("%s salespeople, this month's counters adding up to %s views", thousands(rankingPeople), thousands(rankingViews)), ""},
		{"first request (reads the whole order), this month / this week", strings.Join(firsts, " / "), ""},
	}
	for _, c := range []struct {
		label  string
		period salesappv1.StatsPeriod
	}{{"this month", salesappv1.StatsPeriod_STATS_PERIOD_THIS_MONTH}, {"this week", salesappv1.StatsPeriod_STATS_PERIOD_THIS_WEEK}} {
		lat, failed := paced(ctx, rankingRate, b.opts.duration, call(c.period))
		if failed > 0 || len(lat) == 0 {
			return nil, fmt.Errorf("ranking %s at %d/s: %d calls failed of %d", c.label, rankingRate, failed, int64(len(lat))+failed)
		}
		at := fmt.Sprintf(", %s, at %d requests/s (open loop)", c.label, rankingRate)
		rows = append(rows,
			row{"latency p50" + at, millis(percentile(lat, 50)), ""},
			row{"latency p99" + at, millis(percentile(lat, 99)), "≤ 10 ms"})
	}
	loadSent, loadFailed := stopLoad()
	return append(rows, row{"load beside", fmt.Sprintf("%d views/s of the cards of %s salespeople at random, open loop (%s sent, %s failed)",
		rankingIngestRate, thousands(rankingViewed), thousands(loadSent), thousands(loadFailed)), ""}), nil
}

// seedRanking grows the benchmark tenant to rankingPeople salespeople, writes their counters for this
// week and this month (in the tenant's time zone) as the ingest's rollups hold them, and returns the
// tokens of card links of rankingViewed of them.
func seedRanking(ctx context.Context, b *bench) ([]string, error) {
	pool, err := pgxpool.New(ctx, b.seedURL)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `
		INSERT INTO employees (id, tenant_id, name, role)
		SELECT gen_random_uuid(), $1, 'Ranked ' || g, 'sales'
		FROM generate_series(1, $2 - (SELECT count(*) FROM employees WHERE tenant_id = $1)) g`, b.tenantID, rankingPeople); err != nil {
		return nil, err
	}
	// Views between 0 and 2 × the mean, so that the month adds up to about rankingViews; the week a
	// quarter of it. The admins (the caller) get the mean: the middle of the table.
	if _, err := pool.Exec(ctx, `
		WITH now_there AS (SELECT (now() AT TIME ZONE t.time_zone)::date AS today FROM tenants t WHERE t.id = $1)
		INSERT INTO stats_employee_periods AS p (tenant_id, period, start_day, employee_id, shares, views, visitors, new_customers,
		                                         leads, forwards)
		SELECT $1, k.period, date_trunc(k.period, n.today::timestamp)::date, e.id,
		       (random() * 40)::int, (random() * k.scale * 2 * $2 / $3)::int, (random() * 400)::int, (random() * 40)::int,
		       (random() * 10)::int, (random() * 80)::int
		FROM employees e, now_there n, (VALUES ('month', 1.0), ('week', 0.25)) AS k (period, scale)
		WHERE e.tenant_id = $1
		ON CONFLICT (tenant_id, period, start_day, employee_id) DO UPDATE SET views = excluded.views`,
		b.tenantID, rankingViews, rankingPeople); err != nil {
		return nil, err
	}
	if _, err := pool.Exec(ctx, `
		UPDATE stats_employee_periods p SET views = CASE p.period WHEN 'month' THEN $2 ELSE $2 / 4 END
		FROM employees e WHERE e.tenant_id = $1 AND e.role = 'admin' AND p.tenant_id = $1 AND p.employee_id = e.id`,
		b.tenantID, rankingViews/rankingPeople); err != nil {
		return nil, err
	}
	// As autovacuum leaves a table between bursts of writes.
	rs, err := pool.Query(ctx, `
		WITH s AS (
		  INSERT INTO shares (id, tenant_id, token, employee_id, target_kind, channel, root_id)
		  SELECT x.id, $1, 'rk' || left(replace(x.id::text, '-', ''), 14), e.id, 'card', 'chat', x.id
		  FROM (SELECT id FROM employees WHERE tenant_id = $1 AND role = 'sales' ORDER BY id LIMIT $2) e,
		       LATERAL (SELECT gen_random_uuid() AS id, e.id AS eid) x
		  RETURNING token)
		SELECT token FROM s`, b.tenantID, rankingViewed)
	if err != nil {
		return nil, err
	}
	tokens, err := pgx.CollectRows(rs, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	for _, table := range []string{"employees", "shares", "stats_employee_periods"} {
		if _, err := pool.Exec(ctx, "VACUUM ANALYZE "+table); err != nil {
			return nil, err
		}
	}
	return tokens, nil
}
