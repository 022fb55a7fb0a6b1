package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
)

// Sizes of dashboards (issue 15: "manager dashboard for a 500-person team over 30 days p99 ≤ 50 ms";
// "today's follow-ups p99 ≤ 20 ms for a salesperson with 20,000 customers").
const (
	dashTeam          = 500
	dashDays          = 30
	dashTeamCustomers = 40  // per member, first seen in the 30 days
	dashMaterials     = 300 // with daily counters in the 30 days
	dashFollowUps     = 2_000
	dashRate          = 10  // team dashboards/s
	followUpRate      = 20  // follow-up lists/s
	dashIngestRate    = 100 // views/s of the salesperson's card beside both
)

// dashboards measures the two other reads issue 15 names, open loop at a stated load: the team
// dashboard of a team of dashTeam people over the last dashDays days (counters per person and day,
// dashMaterials materials' days, dashTeamCustomers customers each), asked by an admin; and the
// follow-up list of the benchmark salesperson, who owns the seeded 20,000 customers and has
// dashFollowUps follow-ups due from three days ago to three days ahead. Views of that salesperson's
// card arrive beside both (new visitors: new customers of theirs, hot ones).
func dashboards(ctx context.Context, b *bench) (rows []row, err error) {
	team, today, err := seedDashboards(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("seed the dashboards: %w", err)
	}
	s, httpClient, protocol, err := startForLoad(ctx, b, "dashboards")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	defer httpClient.CloseIdleConnections()
	base := "http://" + s.addr
	stats := salesappv1connect.NewStatsServiceClient(httpClient, base)
	span := &salesappv1.StatsSpan{Period: salesappv1.StatsPeriod_STATS_PERIOD_CUSTOM,
		FromDate: today.AddDate(0, 0, 1-dashDays).Format(time.DateOnly), ToDate: today.Format(time.DateOnly)}
	dashboard := func(ctx context.Context) error {
		req := connect.NewRequest(&salesappv1.GetTeamDashboardRequest{TeamId: team.String(), Span: span})
		req.Header().Set("Authorization", "Bearer "+b.token)
		res, err := stats.GetTeamDashboard(ctx, req)
		if err == nil && len(res.Msg.People) != dashTeam {
			err = fmt.Errorf("a team dashboard of %d people", len(res.Msg.People))
		}
		return err
	}
	followUps := func(ctx context.Context) error {
		req := connect.NewRequest(&salesappv1.ListFollowUpsRequest{})
		req.Header().Set("Authorization", "Bearer "+b.salesToken)
		res, err := stats.ListFollowUps(ctx, req)
		if err == nil && len(res.Msg.FollowUps) == 0 {
			err = errors.New("an empty follow-up list")
		}
		return err
	}
	for _, warm := range []func(context.Context) error{dashboard, followUps} {
		if err := warm(ctx); err != nil {
			return nil, err
		}
	}

	track := salesappv1connect.NewTrackingServiceClient(httpClient, base)
	stopLoad := beside(ctx, dashIngestRate, func(ctx context.Context) error {
		_, err := track.Track(ctx, cardView(b.shareToken, "dash-load-"+uuid.NewString()[:12]))
		return err
	})
	defer stopLoad()
	time.Sleep(3 * time.Second) // measure once the load beside is steady
	rows = []row{
		{"protocol", protocol, ""},
		{"team dashboard", fmt.Sprintf("%d people, the last %d days (custom span), as an admin", dashTeam, dashDays), ""},
		{"follow-ups", fmt.Sprintf("a salesperson with %s customers, %s follow-ups due within three days", thousands(seedCustomers), thousands(dashFollowUps)), ""},
	}
	for _, c := range []struct {
		label  string
		rate   int
		call   func(context.Context) error
		target string
	}{{"team dashboard", dashRate, dashboard, "≤ 50 ms"}, {"follow-ups", followUpRate, followUps, "≤ 20 ms"}} {
		lat, failed := paced(ctx, c.rate, b.opts.duration, c.call)
		if failed > 0 || len(lat) == 0 {
			return nil, fmt.Errorf("%s at %d/s: %d calls failed of %d", c.label, c.rate, failed, int64(len(lat))+failed)
		}
		at := fmt.Sprintf(", %s at %d/s (open loop)", c.label, c.rate)
		rows = append(rows, row{"latency p50" + at, millis(percentile(lat, 50)), ""}, row{"latency p99" + at, millis(percentile(lat, 99)), c.target})
	}
	loadSent, loadFailed := stopLoad()
	return append(rows, row{"load beside", fmt.Sprintf("%d views/s of the salesperson's card, new visitors, open loop (%s sent, %s failed)",
		dashIngestRate, thousands(loadSent), thousands(loadFailed)), ""}), nil
}

// seedDashboards writes, as the ingest and the app would have left them, a team of dashTeam salespeople
// with dashDays days of counters each, their customers, dashMaterials materials' days, and the
// benchmark salesperson's follow-up notes. It returns the team, and today in the tenant's time zone (the
// day the server's spans end on).
func seedDashboards(ctx context.Context, b *bench) (uuid.UUID, time.Time, error) {
	pool, err := pgxpool.New(ctx, b.seedURL)
	if err != nil {
		return uuid.Nil, time.Time{}, err
	}
	defer pool.Close()
	var today time.Time
	if err := pool.QueryRow(ctx, `SELECT (now() AT TIME ZONE time_zone)::date FROM tenants WHERE id = $1`, b.tenantID).Scan(&today); err != nil {
		return uuid.Nil, time.Time{}, err
	}
	team := uuid.Must(uuid.NewV7())
	steps := []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO teams (id, tenant_id, name) VALUES ($1, $2, 'Bench team of 500')`, []any{team, b.tenantID}},
		{`INSERT INTO employees (id, tenant_id, name, role, team_id)
		  SELECT gen_random_uuid(), $1, 'Team member ' || g, 'sales', $2 FROM generate_series(1, $3) g`, []any{b.tenantID, team, dashTeam}},
		{`WITH today AS (SELECT (now() AT TIME ZONE t.time_zone)::date AS d FROM tenants t WHERE t.id = $1)
		  INSERT INTO stats_employee_days (tenant_id, day, employee_id, shares, views, visitors, identified, new_customers, leads, forwards)
		  SELECT $1, today.d - k, e.id, (random() * 6)::int, (random() * 80)::int, (random() * 30)::int, (random() * 10)::int,
		         (random() * 4)::int, (random() * 2)::int, (random() * 8)::int
		  FROM employees e, today, generate_series(0, $3 - 1) k WHERE e.tenant_id = $1 AND e.team_id = $2`, []any{b.tenantID, team, dashDays}},
		{`WITH today AS (SELECT (now() AT TIME ZONE t.time_zone)::date AS d FROM tenants t WHERE t.id = $1)
		  INSERT INTO stats_material_days (tenant_id, day, material_id, shares, views, dwell_ms, forwards, leads)
		  SELECT $1, today.d - k, m.id, (random() * 20)::int, (random() * 300)::int, (random() * 3000000)::bigint,
		         (random() * 20)::int, (random() * 5)::int
		  FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, $2)) m, today, generate_series(0, $3 - 1) k`, []any{b.tenantID, dashMaterials, dashDays}},
		// The rollups, as the ingest writes them beside the days.
		{`INSERT INTO stats_employee_periods (tenant_id, period, start_day, employee_id, shares, views, visitors, identified,
		                                     new_customers, leads, forwards)
		  SELECT d.tenant_id, k.period, date_trunc(k.period, d.day::timestamp)::date, d.employee_id, sum(d.shares), sum(d.views),
		         sum(d.visitors), sum(d.identified), sum(d.new_customers), sum(d.leads), sum(d.forwards)
		  FROM stats_employee_days d JOIN employees e ON e.tenant_id = d.tenant_id AND e.id = d.employee_id,
		       (VALUES ('week'), ('month')) AS k (period)
		  WHERE d.tenant_id = $1 AND e.team_id = $2
		  GROUP BY 1, 2, 3, 4`, []any{b.tenantID, team}},
		{`INSERT INTO stats_material_weeks (tenant_id, start_day, material_id, shares, views, dwell_ms, forwards, leads)
		  SELECT tenant_id, date_trunc('week', day::timestamp)::date, material_id, sum(shares), sum(views), sum(dwell_ms), sum(forwards), sum(leads)
		  FROM stats_material_days WHERE tenant_id = $1 GROUP BY 1, 2, 3
		  ON CONFLICT (tenant_id, start_day, material_id) DO NOTHING`, []any{b.tenantID}},
		// The team's share of them (all of it: the team's dashboard reads as many rows as the tenant's).
		{`INSERT INTO stats_material_team_days (tenant_id, team_id, day, material_id, shares, views, dwell_ms, forwards, leads)
		  SELECT tenant_id, $2, day, material_id, shares, views, dwell_ms, forwards, leads FROM stats_material_days WHERE tenant_id = $1
		  ON CONFLICT DO NOTHING`, []any{b.tenantID, team}},
		{`INSERT INTO stats_material_team_weeks (tenant_id, team_id, start_day, material_id, shares, views, dwell_ms, forwards, leads)
		  SELECT tenant_id, team_id, date_trunc('week', day::timestamp)::date, material_id, sum(shares), sum(views), sum(dwell_ms),
		         sum(forwards), sum(leads)
		  FROM stats_material_team_days WHERE tenant_id = $1 AND team_id = $2 GROUP BY 1, 2, 3, 4
		  ON CONFLICT DO NOTHING`, []any{b.tenantID, team}},
		{`INSERT INTO customers (id, tenant_id, owner_id, source_channel, views, intent_score, first_seen_at, last_active_at, created_at, stage)
		  SELECT gen_random_uuid(), $1, e.id, 'chat', g % 20, g % 101, now() - ((g * 37) % 43000 || ' minutes')::interval,
		         now() - ((g * 13) % 43000 || ' minutes')::interval, now() - ((g * 37) % 43000 || ' minutes')::interval,
		         (ARRAY['new', 'contacted', 'interested', 'negotiating', 'won', 'lost'])[1 + g % 6]
		  FROM employees e, generate_series(1, $3) g WHERE e.tenant_id = $1 AND e.team_id = $2`, []any{b.tenantID, team, dashTeamCustomers}},
		{`INSERT INTO customer_notes (id, tenant_id, customer_id, author_id, kind, body, next_at, created_at)
		  SELECT gen_random_uuid(), $1, c.id, $2, 'follow_up', 'Call back about the quote',
		         now() + ((row_number() OVER (ORDER BY c.id) * 4321) % 518400 - 259200 || ' seconds')::interval, now() - interval '4 days'
		  FROM (SELECT id FROM customers WHERE tenant_id = $1 AND owner_id = $2 ORDER BY id LIMIT $3) c`, []any{b.tenantID, b.salesID, dashFollowUps}},
	}
	for _, st := range steps {
		if _, err := pool.Exec(ctx, st.sql, st.args...); err != nil {
			return uuid.Nil, time.Time{}, err
		}
	}
	for _, table := range []string{"employees", "customers", "customer_notes", "stats_employee_days", "stats_employee_periods",
		"stats_material_days", "stats_material_weeks", "stats_material_team_days", "stats_material_team_weeks"} {
		if _, err := pool.Exec(ctx, "VACUUM ANALYZE "+table); err != nil {
			return uuid.Nil, time.Time{}, err
		}
	}
	return team, today, nil
}
