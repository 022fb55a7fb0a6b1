package stats_test

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/stats"
)

var shanghai = mustLoad("Asia/Shanghai")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// world is a tenant in Asia/Shanghai (the default) with two teams: East (a manager, Ann, Bob) and West
// (Cat), an admin, and a clock fixed at 00:30 on Tuesday 10 March 2026 in Shanghai, which is 16:30 on
// Monday 9 March in UTC: the server's day and the tenant's differ.
type world struct {
	db                            *pgtest.DB
	tenant, east, west            uuid.UUID
	admin, manager, ann, bob, cat authn.Principal
	now                           time.Time
	svc                           *stats.Service
}

func newWorld(t *testing.T) *world {
	t.Helper()
	db := pgtest.New(t)
	w := &world{db: db, now: time.Date(2026, 3, 9, 16, 30, 0, 0, time.UTC)}
	tn := db.NewTenant(t, "Stats")
	w.tenant, w.admin = tn.ID, tn.Admin
	w.east = db.NewTeam(t, w.tenant, "East")
	w.west = db.NewTeam(t, w.tenant, "West")
	w.manager = db.NewEmployee(t, w.tenant, authn.RoleManager, w.east)
	w.ann = db.NewEmployee(t, w.tenant, authn.RoleSales, w.east)
	w.bob = db.NewEmployee(t, w.tenant, authn.RoleSales, w.east)
	w.cat = db.NewEmployee(t, w.tenant, authn.RoleSales, w.west)
	// Names fix the order of ties: Ann before Bob before Cat; the admin and manager after them.
	for id, name := range map[uuid.UUID]string{w.ann.EmployeeID: "Ann", w.bob.EmployeeID: "Bob", w.cat.EmployeeID: "Cat",
		w.admin.EmployeeID: "Zed admin", w.manager.EmployeeID: "Max manager"} {
		_, err := db.Super.Exec(context.Background(), "UPDATE employees SET name = $1 WHERE id = $2", name, id)
		require.NoError(t, err)
	}
	w.svc = stats.NewService(db.App, func() time.Time { return w.now })
	return w
}

// record runs what the ingest runs for a batch of new events.
func (w *world) record(t *testing.T, b stats.Batch) {
	t.Helper()
	require.NoError(t, w.db.App.InTenantTx(context.Background(), w.tenant, func(tx pgx.Tx) error {
		return stats.RecordEventsTx(context.Background(), tx, w.tenant, b)
	}))
}

func views(emp authn.Principal, at time.Time, n int) []stats.Event {
	var out []stats.Event
	for range n {
		out = append(out, stats.Event{EmployeeID: emp.EmployeeID, CustomerID: uuid.New(), Kind: event.CardView, At: at})
	}
	return out
}

func (w *world) rank(t *testing.T, p authn.Principal, q stats.RankingQuery) stats.Ranking {
	t.Helper()
	if q.Top == 0 {
		q.Top = 10
	}
	r, err := w.svc.Rank(context.Background(), p, q)
	require.NoError(t, err)
	return r
}

func names(places []stats.Place) []string {
	var out []string
	for _, p := range places {
		out = append(out, p.Name)
	}
	return out
}

func TestRankingsFollowTheTenantsMidnightNotTheServers(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	beforeMidnight := time.Date(2026, 3, 9, 23, 59, 0, 0, shanghai) // 15:59 UTC on the 9th
	afterMidnight := time.Date(2026, 3, 10, 0, 1, 0, 0, shanghai)   // 16:01 UTC on the 9th
	var b stats.Batch
	b.Events = append(b.Events, views(w.bob, beforeMidnight, 5)...)
	b.Events = append(b.Events, views(w.ann, afterMidnight, 2)...)
	w.record(t, b)

	// Today in Shanghai began at 16:00 UTC: Ann's 2 views, not Bob's 5 (which are the same UTC day).
	today := w.rank(t, w.bob, stats.RankingQuery{Metric: stats.Views, Span: stats.Span{Period: stats.Today}})
	require.Equal(t, "Ann", today.Top[0].Name)
	require.EqualValues(t, 2, today.Top[0].Value)
	require.EqualValues(t, 2, today.Me.Rank)
	require.EqualValues(t, 0, today.Me.Value)
	require.Equal(t, "Ann", today.Ahead.Name)
	require.EqualValues(t, 2, today.Gap)
	require.EqualValues(t, 5, today.Total)
	require.Equal(t, time.Date(2026, 3, 10, 0, 0, 0, 0, shanghai), today.Days.From)

	// Yesterday (a custom day) holds Bob's.
	y := w.rank(t, w.bob, stats.RankingQuery{Metric: stats.Views, Span: stats.Span{Period: stats.Custom, From: "2026-03-09", To: "2026-03-09"}})
	require.Equal(t, "Bob", y.Top[0].Name)
	require.EqualValues(t, 5, y.Top[0].Value)
	require.EqualValues(t, 1, y.Me.Rank)
	require.Nil(t, y.Ahead)

	// The week (Monday the 9th on) has both; the month too.
	for _, per := range []stats.Period{stats.ThisWeek, stats.ThisMonth} {
		r := w.rank(t, w.ann, stats.RankingQuery{Metric: stats.Views, Span: stats.Span{Period: per}})
		require.Equal(t, []string{"Bob", "Ann", "Cat", "Max manager", "Zed admin"}, names(r.Top))
		require.EqualValues(t, 3, r.Gap, "Ann is 3 views behind #1")
	}
	// A late event (yesterday's, arriving now) lands on yesterday. Rankings are the node's orders, read
	// again once they are a second old (at once when half a minute old): a minute later it shows.
	w.record(t, stats.Batch{Events: views(w.cat, beforeMidnight.Add(-time.Hour), 1)})
	stale := w.rank(t, w.cat, stats.RankingQuery{Metric: stats.Views, Span: stats.Span{Period: stats.Custom, From: "2026-03-09", To: "2026-03-09"}})
	require.Equal(t, []string{"Bob", "Ann", "Cat", "Max manager", "Zed admin"}, names(stale.Top), "the order read a moment ago")
	w.now = w.now.Add(time.Minute)
	y = w.rank(t, w.cat, stats.RankingQuery{Metric: stats.Views, Span: stats.Span{Period: stats.Custom, From: "2026-03-09", To: "2026-03-09"}})
	require.Equal(t, []string{"Bob", "Cat", "Ann", "Max manager", "Zed admin"}, names(y.Top))
	today = w.rank(t, w.cat, stats.RankingQuery{Metric: stats.Views, Span: stats.Span{Period: stats.Today}})
	require.EqualValues(t, 0, today.Me.Value)
}

func TestTiesAreOrderedByNameThenIdAndTeamsRankAlone(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	at := w.now.Add(-time.Minute)
	var b stats.Batch
	for _, p := range []authn.Principal{w.cat, w.bob, w.ann} { // recorded in reverse name order
		b.Events = append(b.Events, views(p, at, 3)...)
	}
	w.record(t, b)
	for range 3 { // the same every time
		r := w.rank(t, w.cat, stats.RankingQuery{Metric: stats.Views, Span: stats.Span{Period: stats.Today}, Top: 2})
		require.Equal(t, []string{"Ann", "Bob"}, names(r.Top))
		require.EqualValues(t, 3, r.Me.Rank)
		require.Equal(t, "Bob", r.Ahead.Name)
		require.EqualValues(t, 0, r.Gap, "level with Bob")
	}
	// East's ranking: the manager, Ann, Bob; Cat (West) is not in it.
	r := w.rank(t, w.ann, stats.RankingQuery{Metric: stats.Views, Span: stats.Span{Period: stats.Today}, Team: true})
	require.Equal(t, []string{"Ann", "Bob", "Max manager"}, names(r.Top))
	// Cat may not rank East; an admin may; nobody may rank a team that does not exist.
	_, err := w.svc.Rank(context.Background(), w.cat, stats.RankingQuery{Metric: stats.Views, Team: true, TeamID: w.east, Top: 5})
	requireKind(t, platform.KindPermissionDenied, err)
	r = w.rank(t, w.admin, stats.RankingQuery{Metric: stats.Views, Span: stats.Span{Period: stats.Today}, Team: true, TeamID: w.west})
	require.Equal(t, []string{"Cat"}, names(r.Top))
	require.Nil(t, r.Me, "the admin is in no team")
	// East's manager ranks West only once they lead it as well (issue 18).
	_, err = w.svc.Rank(context.Background(), w.manager, stats.RankingQuery{Metric: stats.Views, Team: true, TeamID: w.west, Top: 5})
	requireKind(t, platform.KindPermissionDenied, err)
	regional := w.manager
	regional.Leads = append(slices.Clone(w.manager.Leads), w.west)
	r = w.rank(t, regional, stats.RankingQuery{Metric: stats.Views, Span: stats.Span{Period: stats.Today}, Team: true, TeamID: w.west})
	require.Equal(t, []string{"Cat"}, names(r.Top))
	_, err = w.svc.Rank(context.Background(), w.admin, stats.RankingQuery{Metric: stats.Views, Team: true, TeamID: uuid.New(), Top: 5})
	requireKind(t, platform.KindNotFound, err)
	_, err = w.svc.Rank(context.Background(), w.ann, stats.RankingQuery{Metric: "likes", Top: 5})
	requireKind(t, platform.KindInvalid, err)
	_, err = w.svc.Rank(context.Background(), w.ann, stats.RankingQuery{Metric: stats.Views, Top: 5,
		Span: stats.Span{Period: stats.Custom, From: "2026-03-09", To: "2026-03-01"}})
	requireKind(t, platform.KindInvalid, err)
}

func requireKind(t *testing.T, kind platform.Kind, err error) {
	t.Helper()
	var pe *platform.Error
	require.True(t, errors.As(err, &pe), "want a %v error, got %v", kind, err)
	require.Equal(t, kind, pe.Kind, err.Error())
}

func TestEveryCounterMovesAndVisitorsCountOncePerDay(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	at := w.now.Add(-time.Minute)
	material := uuid.New()
	visitor := uuid.New()
	// A share, through the share transaction's call.
	require.NoError(t, w.db.App.InTenantTx(ctx, w.tenant, func(tx pgx.Tx) error {
		return stats.RecordShareTx(ctx, tx, w.tenant, w.ann.EmployeeID, material, at)
	}))
	w.record(t, stats.Batch{
		Events: []stats.Event{
			{EmployeeID: w.ann.EmployeeID, MaterialID: material, CustomerID: visitor, Kind: event.MaterialView, At: at},
			{EmployeeID: w.ann.EmployeeID, MaterialID: material, CustomerID: visitor, Kind: event.MaterialView, At: at},
			{EmployeeID: w.ann.EmployeeID, MaterialID: material, CustomerID: visitor, Kind: event.Forward, At: at},
			{EmployeeID: w.ann.EmployeeID, MaterialID: material, CustomerID: visitor, Kind: event.PhoneLeft, At: at},
			{EmployeeID: w.ann.EmployeeID, MaterialID: material, CustomerID: visitor, Kind: event.CallClick, At: at},
		},
		NewCustomers: []stats.NewCustomer{{EmployeeID: w.ann.EmployeeID, At: at}},
		Dwell:        []stats.Dwell{{EmployeeID: w.ann.EmployeeID, MaterialID: material, At: at, AddedMs: 90_000}},
	})
	// The same visitor views again in a later batch: still one visitor today.
	w.record(t, stats.Batch{Events: []stats.Event{{EmployeeID: w.ann.EmployeeID, MaterialID: material, CustomerID: visitor, Kind: event.MaterialView, At: at}}})
	require.NoError(t, w.db.App.InTenantTx(ctx, w.tenant, func(tx pgx.Tx) error {
		return stats.RecordTaskCompletedTx(ctx, tx, w.tenant, []uuid.UUID{w.ann.EmployeeID}, at)
	}))

	d, err := w.svc.MyDashboard(ctx, w.ann, uuid.Nil)
	require.NoError(t, err)
	require.Equal(t, stats.Totals{Shares: 1, Views: 3, Visitors: 1, NewCustomers: 1, Leads: 1, Forwards: 1, TasksCompleted: 1}, d.Today.Current)
	require.Equal(t, stats.Totals{}, d.Today.Previous)
	require.Equal(t, d.Today.Current, d.Week.Current)
	require.Equal(t, time.Date(2026, 3, 9, 0, 0, 0, 0, shanghai), d.Today.PreviousDays.From)
	require.Equal(t, time.Date(2026, 3, 2, 0, 0, 0, 0, shanghai), d.Week.PreviousDays.From)
	require.Equal(t, time.Date(2026, 3, 3, 0, 0, 0, 0, shanghai), d.Week.PreviousDays.To)

	for _, m := range []stats.Metric{stats.Shares, stats.Views, stats.Visitors, stats.NewCustomers, stats.Leads, stats.Forwards, stats.TasksCompleted} {
		for _, per := range []stats.Period{stats.Today, stats.ThisWeek, stats.ThisMonth} { // days, and the rollups
			r := w.rank(t, w.ann, stats.RankingQuery{Metric: m, Span: stats.Span{Period: per}})
			require.EqualValues(t, d.Today.Current.Value(m), r.Me.Value, m)
			require.EqualValues(t, 1, r.Me.Rank, m)
		}
	}

	td, err := w.svc.TeamDashboard(ctx, w.manager, stats.TeamQuery{Span: stats.Span{Period: stats.Today}})
	require.NoError(t, err)
	require.Len(t, td.Materials, 1)
	require.Equal(t, stats.MaterialEffect{MaterialID: material, Shares: 1, Views: 3, Forwards: 1, Leads: 1, AvgDwellMs: 30_000}, td.Materials[0])

	// Another team's salesperson's views of the material count for their team and the tenant, not this team.
	w.record(t, stats.Batch{
		Events: []stats.Event{{EmployeeID: w.cat.EmployeeID, MaterialID: material, CustomerID: uuid.New(), Kind: event.MaterialView, At: at}},
		Dwell:  []stats.Dwell{{EmployeeID: w.cat.EmployeeID, MaterialID: material, At: at, AddedMs: 50_000}},
	})
	td, err = w.svc.TeamDashboard(ctx, w.manager, stats.TeamQuery{Span: stats.Span{Period: stats.Today}})
	require.NoError(t, err)
	require.Equal(t, []stats.MaterialEffect{{MaterialID: material, Shares: 1, Views: 3, Forwards: 1, Leads: 1, AvgDwellMs: 30_000}}, td.Materials)
	west, err := w.svc.TeamDashboard(ctx, w.admin, stats.TeamQuery{TeamID: w.west, Span: stats.Span{Period: stats.Today}})
	require.NoError(t, err)
	require.Equal(t, []stats.MaterialEffect{{MaterialID: material, Views: 1, AvgDwellMs: 50_000}}, west.Materials)
	tenant, err := w.svc.TeamDashboard(ctx, w.admin, stats.TeamQuery{Span: stats.Span{Period: stats.Today}})
	require.NoError(t, err)
	require.Equal(t, []stats.MaterialEffect{{MaterialID: material, Shares: 1, Views: 4, Forwards: 1, Leads: 1, AvgDwellMs: 35_000}}, tenant.Materials)
}

func TestTeamDashboardsAreForManagersOfTheTeamAndAdmins(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	at := w.now.Add(-time.Minute)
	w.record(t, stats.Batch{Events: append(views(w.ann, at, 2), views(w.cat, at, 4)...)})

	today := stats.Span{Period: stats.Today}
	_, err := w.svc.TeamDashboard(ctx, w.ann, stats.TeamQuery{Span: today})
	requireKind(t, platform.KindPermissionDenied, err)
	_, err = w.svc.TeamDashboard(ctx, w.manager, stats.TeamQuery{TeamID: w.west, Span: today})
	requireKind(t, platform.KindPermissionDenied, err)
	teamless := w.manager
	teamless.TeamID, teamless.Leads = uuid.Nil, nil
	_, err = w.svc.TeamDashboard(ctx, teamless, stats.TeamQuery{Span: today})
	requireKind(t, platform.KindFailedPrecondition, err)
	require.ErrorContains(t, err, "ask an admin", "a manager without a team is told what to do")

	// A manager who leads West as well (team_leads, migration 055) sees it when they name it; their own
	// team when they name none.
	regional := w.manager
	regional.Leads = append(slices.Clone(w.manager.Leads), w.west)
	theirs, err := w.svc.TeamDashboard(ctx, regional, stats.TeamQuery{TeamID: w.west, Span: today})
	require.NoError(t, err)
	require.Equal(t, []string{"Cat"}, personNames(theirs.People))
	mine, err := w.svc.TeamDashboard(ctx, regional, stats.TeamQuery{Span: today})
	require.NoError(t, err)
	require.Equal(t, w.east, mine.TeamID)
	// Both together: their people and counts summed.
	both, err := w.svc.TeamDashboard(ctx, regional, stats.TeamQuery{TeamIDs: []uuid.UUID{w.east, w.west}, Span: today})
	require.NoError(t, err)
	require.Equal(t, uuid.Nil, both.TeamID)
	require.Equal(t, []uuid.UUID{w.east, w.west}, both.TeamIDs)
	require.Equal(t, []string{"Cat", "Ann", "Bob", "Max manager"}, personNames(both.People))
	require.EqualValues(t, 6, both.Funnel.Views)
	_, err = w.svc.TeamDashboard(ctx, w.manager, stats.TeamQuery{TeamIDs: []uuid.UUID{w.east, w.west}, Span: today})
	requireKind(t, platform.KindPermissionDenied, err) // West is not the East manager's
	_, err = w.svc.TeamDashboard(ctx, regional, stats.TeamQuery{TeamID: w.east, TeamIDs: []uuid.UUID{w.west}, Span: today})
	requireKind(t, platform.KindInvalid, err)

	east, err := w.svc.TeamDashboard(ctx, w.manager, stats.TeamQuery{Span: today})
	require.NoError(t, err)
	require.Equal(t, w.east, east.TeamID)
	require.Equal(t, []string{"Ann", "Bob", "Max manager"}, personNames(east.People))
	require.EqualValues(t, 2, east.Funnel.Views)
	require.EqualValues(t, 2, east.People[0].Totals.Visitors)

	all, err := w.svc.TeamDashboard(ctx, w.admin, stats.TeamQuery{Span: today})
	require.NoError(t, err)
	require.EqualValues(t, 6, all.Funnel.Views)
	require.Len(t, all.People, 5)
	west, err := w.svc.TeamDashboard(ctx, w.admin, stats.TeamQuery{TeamID: w.west, Span: today})
	require.NoError(t, err)
	require.Equal(t, []string{"Cat"}, personNames(west.People))
}

func personNames(ps []stats.Person) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func TestPersonalDashboardsAreOwnTeamsOrAnyonesForAdmins(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	w.record(t, stats.Batch{Events: views(w.bob, w.now.Add(-time.Minute), 3)})

	_, err := w.svc.MyDashboard(ctx, w.ann, w.bob.EmployeeID)
	requireKind(t, platform.KindPermissionDenied, err)
	_, err = w.svc.MyDashboard(ctx, w.manager, w.cat.EmployeeID) // West's
	requireKind(t, platform.KindPermissionDenied, err)
	_, err = w.svc.MyDashboard(ctx, w.admin, uuid.New())
	requireKind(t, platform.KindNotFound, err)
	for _, p := range []authn.Principal{w.manager, w.admin, w.bob} {
		d, err := w.svc.MyDashboard(ctx, p, w.bob.EmployeeID)
		require.NoError(t, err)
		require.EqualValues(t, 3, d.Today.Current.Views)
	}
}

// TestTheFunnelCountsContactedCustomersAsTheyMove: the funnel's last step (customers first seen in the
// span, owned in scope, beyond "new") is a kept counter (migration 049); it follows a customer who is
// created at a stage, moves on or back, is handed to another team, and is merged away, and it agrees
// with counting the customers.
func TestTheFunnelCountsContactedCustomersAsTheyMove(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	today, yesterday := w.now.Add(-10*time.Minute), w.now.Add(-2*time.Hour) // 00:20 and 22:30 in Shanghai
	add := func(owner authn.Principal, stage string, at time.Time) uuid.UUID {
		t.Helper()
		id := uuid.New()
		require.NoError(t, w.db.App.InTenantTx(ctx, w.tenant, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO customers (id, tenant_id, owner_id, source_channel, stage, created_at, last_active_at)
				VALUES ($1, $2, $3, 'chat', $4, $5, $5)`, id, w.tenant, owner.EmployeeID, stage, at)
			return err
		}))
		return id
	}
	set := func(sql string, args ...any) {
		t.Helper()
		require.NoError(t, w.db.App.InTenantTx(ctx, w.tenant, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, sql, args...)
			return err
		}))
	}
	check := func(east, west int32) {
		t.Helper()
		span := stats.Span{Period: stats.Today}
		for _, c := range []struct {
			team uuid.UUID
			want int32
		}{{w.east, east}, {w.west, west}, {uuid.Nil, east + west}} {
			d, err := w.svc.TeamDashboard(ctx, w.admin, stats.TeamQuery{TeamID: c.team, Span: span})
			require.NoError(t, err)
			require.Equal(t, c.want, d.Funnel.Contacted, "team %v", c.team)
			var counted int32
			require.NoError(t, w.db.Super.QueryRow(ctx, `
				SELECT count(*) FROM customers c JOIN employees e ON e.id = c.owner_id
				WHERE c.tenant_id = $1 AND c.merged_into IS NULL AND c.stage <> 'new' AND c.created_at >= $2 AND c.created_at < $3
				  AND ($4::uuid = '00000000-0000-0000-0000-000000000000' OR e.team_id = $4)`,
				w.tenant, d.Days.Start(), d.Days.End(), c.team).Scan(&counted))
			require.Equal(t, counted, d.Funnel.Contacted, "the counter agrees with counting, team %v", c.team)
		}
	}
	a1 := add(w.ann, "new", today)
	a2 := add(w.ann, "contacted", today)
	a3 := add(w.bob, "won", today)
	add(w.ann, "contacted", yesterday) // another day
	c1 := add(w.cat, "interested", today)
	check(2, 1)
	set(`UPDATE customers SET stage = 'contacted' WHERE id = $1`, a1)
	check(3, 1)
	set(`UPDATE customers SET stage = 'new' WHERE id = $1`, a2)
	check(2, 1)
	set(`UPDATE customers SET owner_id = $2 WHERE id = $1`, a3, w.cat.EmployeeID) // handed to West
	check(1, 2)
	set(`UPDATE customers SET merged_into = $2 WHERE id = $1`, c1, a1)
	check(1, 1)
	set(`UPDATE customers SET stage = 'lost', owner_id = $2 WHERE id = ANY($1)`, []uuid.UUID{a1, a2}, w.bob.EmployeeID) // several at once
	check(2, 1)
	set(`UPDATE customers SET last_active_at = now(), views = views + 1 WHERE id = $1`, a1) // activity moves nothing
	check(2, 1)

	// The migration's count of the customers already there comes to the same.
	migration, err := fs.ReadFile(platform.Migrations(), "049_stats_contacted.sql")
	require.NoError(t, err)
	_, backfill, ok := strings.Cut(string(migration), "-- The customers there are.\n")
	require.True(t, ok)
	for _, table := range []string{"stats_employee_days", "stats_employee_periods"} {
		_, err = w.db.Super.Exec(ctx, "UPDATE "+table+" SET contacted = 0 WHERE tenant_id = $1", w.tenant)
		require.NoError(t, err)
	}
	_, err = w.db.Super.Exec(ctx, backfill)
	require.NoError(t, err)
	check(2, 1)
}

// TestTeamDashboardsOverWeeksAddUpLikeTheirDays: a custom span's whole weeks are read from the week
// rollups and the days around them from day rows, for people and materials alike; the totals are those
// of the days, whatever the span's shape (whole weeks and edges, exactly one week, no whole week).
func TestTeamDashboardsOverWeeksAddUpLikeTheirDays(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	var b stats.Batch
	materials := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	for d := range 30 { // 12:00 in Shanghai on each of the 30 days up to today (Tuesday 10 March)
		at := time.Date(2026, 3, 10, 12, 0, 0, 0, shanghai).AddDate(0, 0, -d)
		if at.After(w.now) {
			at = w.now.Add(-time.Minute)
		}
		b.Events = append(b.Events, views(w.ann, at, 1+d%4)...)
		b.Events = append(b.Events, views(w.bob, at, 1+d%3)...)
		b.NewCustomers = append(b.NewCustomers, stats.NewCustomer{EmployeeID: w.ann.EmployeeID, At: at})
		for m := range 1 + d%3 {
			b.Events = append(b.Events, stats.Event{EmployeeID: w.bob.EmployeeID, MaterialID: materials[m], CustomerID: uuid.New(),
				Kind: event.MaterialView, At: at})
		}
		b.Dwell = append(b.Dwell, stats.Dwell{EmployeeID: w.bob.EmployeeID, MaterialID: materials[d%3], At: at, AddedMs: int64(1000 * (d + 1))})
		// West's views: in the tenant's counts, not in East's dashboard.
		b.Events = append(b.Events, stats.Event{EmployeeID: w.cat.EmployeeID, MaterialID: materials[0], CustomerID: uuid.New(),
			Kind: event.MaterialView, At: at})
		b.Dwell = append(b.Dwell, stats.Dwell{EmployeeID: w.cat.EmployeeID, MaterialID: materials[0], At: at, AddedMs: 777})
	}
	w.record(t, b)
	check := func(weeks string) {
		t.Helper()
		for _, span := range [][2]string{
			{"2026-02-12", "2026-03-10"}, // Thursday to Tuesday: three whole weeks and five days around them
			{"2026-03-02", "2026-03-08"}, // exactly one week
			{"2026-03-03", "2026-03-07"}, // no whole week
			{"2026-02-09", "2026-03-01"}, // whole weeks only
		} {
			d, err := w.svc.TeamDashboard(ctx, w.manager, stats.TeamQuery{Span: stats.Span{Period: stats.Custom, From: span[0], To: span[1]}})
			require.NoError(t, err)
			for _, p := range d.People {
				var views, newCustomers int32
				require.NoError(t, w.db.Super.QueryRow(ctx, `
					SELECT coalesce(sum(views), 0), coalesce(sum(new_customers), 0) FROM stats_employee_days
					WHERE tenant_id = $1 AND employee_id = $2 AND day BETWEEN $3::date AND $4::date`,
					w.tenant, p.EmployeeID, span[0], span[1]).Scan(&views, &newCustomers))
				require.Equal(t, views, p.Totals.Views, "%s over %v, %s", p.Name, span, weeks)
				require.Equal(t, newCustomers, p.Totals.NewCustomers, "%s over %v, %s", p.Name, span, weeks)
			}
			require.NotZero(t, d.Funnel.Views, span)
			require.NotEmpty(t, d.Materials, span)
			for _, m := range d.Materials {
				var views, dwell int64
				require.NoError(t, w.db.Super.QueryRow(ctx, `
					SELECT coalesce(sum(views), 0), coalesce(sum(dwell_ms), 0) FROM stats_material_team_days
					WHERE tenant_id = $1 AND team_id = $5 AND material_id = $2 AND day BETWEEN $3::date AND $4::date`,
					w.tenant, m.MaterialID, span[0], span[1], w.east).Scan(&views, &dwell))
				require.EqualValues(t, views, m.Views, "material views over %v, %s", span, weeks)
				require.EqualValues(t, dwell/views, m.AvgDwellMs, "material dwell over %v, %s", span, weeks)
			}
		}
	}
	check("the weeks as the ingest wrote them")

	// The migration's count of the materials' weeks already there (from their days) comes to the same.
	migration, err := fs.ReadFile(platform.Migrations(), "050_stats_material_weeks.sql")
	require.NoError(t, err)
	backfill := string(migration)[strings.Index(string(migration), "INSERT INTO stats_material_weeks"):]
	_, err = w.db.Super.Exec(ctx, "DELETE FROM stats_material_weeks WHERE tenant_id = $1", w.tenant)
	require.NoError(t, err)
	_, err = w.db.Super.Exec(ctx, backfill)
	require.NoError(t, err)
	// And the teams' weeks, as 054 counts them from their days.
	migration, err = fs.ReadFile(platform.Migrations(), "054_stats_material_teams.sql")
	require.NoError(t, err)
	backfill = string(migration)[strings.Index(string(migration), "INSERT INTO stats_material_team_weeks"):]
	backfill = backfill[:strings.Index(backfill, ";")+1]
	_, err = w.db.Super.Exec(ctx, "DELETE FROM stats_material_team_weeks WHERE tenant_id = $1", w.tenant)
	require.NoError(t, err)
	_, err = w.db.Super.Exec(ctx, backfill)
	require.NoError(t, err)
	check("the weeks as the migrations counted them")
}
