package stats_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/stats"
)

// BenchmarkRankings ranks a tenant of 10,000 salespeople (in 100 teams) with a month of daily counters
// each (300,000 rows): top 50 and the caller's place, this month, and for the caller's team. read-ms is
// the first request, which reads the whole order; p99-ms the requests answered from it.
//
//	go test -run '^$' -bench Rankings -benchtime 2000x ./backend/stats/
func BenchmarkRankings(b *testing.B) {
	db := pgtest.New(b)
	ctx := context.Background()
	tn := db.NewTenant(b, "Bench")
	team := db.NewTeam(b, tn.ID, "Team 0")
	_, err := db.Super.Exec(ctx, `
		INSERT INTO teams (id, tenant_id, name) SELECT gen_random_uuid(), $1, 'Team ' || g FROM generate_series(1, 99) g`, tn.ID)
	require.NoError(b, err)
	_, err = db.Super.Exec(ctx, `
		INSERT INTO employees (id, tenant_id, name, role, team_id)
		SELECT gen_random_uuid(), $1, 'Sales ' || g, 'sales',
		       CASE WHEN g % 100 = 0 THEN $2 ELSE (SELECT id FROM teams WHERE tenant_id = $1 AND name = 'Team ' || (g % 100)) END
		FROM generate_series(1, 10000) g`, tn.ID, team)
	require.NoError(b, err)
	_, err = db.Super.Exec(ctx, `
		INSERT INTO stats_employee_days (tenant_id, day, employee_id, shares, views, visitors, new_customers, leads, forwards)
		SELECT $1, d::date, e.id, (random() * 5)::int, (random() * 100)::int, (random() * 40)::int, (random() * 5)::int,
		       (random() * 2)::int, (random() * 10)::int
		FROM employees e, generate_series('2026-03-01'::date, '2026-03-30'::date, '1 day') d
		WHERE e.tenant_id = $1 AND e.role = 'sales'`, tn.ID)
	require.NoError(b, err)
	_, err = db.Super.Exec(ctx, `
		INSERT INTO stats_employee_periods (tenant_id, period, start_day, employee_id, shares, views, visitors, new_customers, leads, forwards)
		SELECT tenant_id, 'month', '2026-03-01', employee_id, sum(shares), sum(views), sum(visitors), sum(new_customers), sum(leads), sum(forwards)
		FROM stats_employee_days WHERE tenant_id = $1 GROUP BY tenant_id, employee_id`, tn.ID)
	require.NoError(b, err)
	_, err = db.Super.Exec(ctx, "ANALYZE stats_employee_days; ANALYZE stats_employee_periods; ANALYZE employees")
	require.NoError(b, err)
	// The caller: a newcomer with nothing counted (ranked among the zeros, after everyone), or one of the
	// 10,000 in the middle of the table.
	newcomer := db.NewEmployee(b, tn.ID, authn.RoleSales, team)
	mid := authn.Principal{TenantID: tn.ID, Role: authn.RoleSales}
	require.NoError(b, db.Super.QueryRow(ctx, `SELECT id, team_id FROM employees WHERE tenant_id = $1 AND name = 'Sales 5000'`, tn.ID).
		Scan(&mid.EmployeeID, &mid.TeamID))
	now := time.Date(2026, 3, 30, 12, 0, 0, 0, time.UTC)
	for _, bc := range []struct {
		name string
		me   authn.Principal
		team bool
		per  stats.Period
	}{
		{"month-newcomer", newcomer, false, stats.ThisMonth}, {"month-middle", mid, false, stats.ThisMonth},
		{"month-team", newcomer, true, stats.ThisMonth}, {"custom-30-days", mid, false, stats.Custom},
	} {
		b.Run(bc.name, func(b *testing.B) {
			q := stats.RankingQuery{Metric: stats.Views, Span: stats.Span{Period: bc.per, From: "2026-03-01", To: "2026-03-30"}, Team: bc.team, Top: 50}
			if bc.per != stats.Custom {
				q.Span.From, q.Span.To = "", ""
			}
			// The first request reads the order (what one read costs, once a second while the ranking
			// is asked for); the clock stands still, so the rest answer from it.
			svc := stats.NewService(db.App, func() time.Time { return now })
			t0 := time.Now()
			if _, err := svc.Rank(ctx, bc.me, q); err != nil {
				b.Fatal(err)
			}
			read := time.Since(t0)
			var took []time.Duration
			for b.Loop() {
				t0 := time.Now()
				r, err := svc.Rank(ctx, bc.me, q)
				took = append(took, time.Since(t0))
				if err != nil || r.Me == nil || r.Ahead == nil || len(r.Top) != 50 && !bc.team {
					b.Fatalf("rank: %v %+v", err, r.Me)
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(read.Microseconds())/1000, "read-ms")
		})
	}
}

// BenchmarkRecordEventsTx records what one ingest batch adds to the counters: 400 events (views, forwards
// and leads of 20 materials, credited to 50 salespeople in 5 teams) and 100 heartbeats' reading time, in a
// tenant transaction, as the tracking ingest does. Materials' counters go to the tenant's rows and to the
// teams' (migration 054).
//
//	go test -run '^$' -bench RecordEventsTx -benchtime 400x -count 5 ./backend/stats/
func BenchmarkRecordEventsTx(b *testing.B) {
	db := pgtest.New(b)
	ctx := context.Background()
	tn := db.NewTenant(b, "Bench")
	var sellers []uuid.UUID
	for t := range 5 {
		team := db.NewTeam(b, tn.ID, fmt.Sprintf("Team %d", t))
		for range 10 {
			sellers = append(sellers, db.NewEmployee(b, tn.ID, authn.RoleSales, team).EmployeeID)
		}
	}
	materials := make([]uuid.UUID, 20)
	for i := range materials {
		materials[i] = uuid.New()
	}
	kinds := []event.Kind{event.MaterialView, event.MaterialView, event.MaterialView, event.Forward, event.PhoneLeft}
	at := time.Now()
	b.ResetTimer()
	for i := range b.N {
		var batch stats.Batch
		for j := range 400 {
			batch.Events = append(batch.Events, stats.Event{EmployeeID: sellers[(i+j)%len(sellers)], MaterialID: materials[j%len(materials)],
				CustomerID: uuid.New(), Kind: kinds[j%len(kinds)], At: at})
		}
		for j := range 100 {
			batch.Dwell = append(batch.Dwell, stats.Dwell{EmployeeID: sellers[(i+j)%len(sellers)], MaterialID: materials[j%len(materials)],
				At: at, AddedMs: 15_000})
		}
		require.NoError(b, db.App.InTenantTx(ctx, tn.ID, func(tx pgx.Tx) error {
			return stats.RecordEventsTx(ctx, tx, tn.ID, batch)
		}))
	}
}
