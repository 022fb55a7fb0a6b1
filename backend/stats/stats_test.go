package stats_test

import (
	"context"
	"errors"
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
		Dwell:        []stats.Dwell{{MaterialID: material, At: at, AddedMs: 90_000}},
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
	teamless.TeamID = uuid.Nil
	_, err = w.svc.TeamDashboard(ctx, teamless, stats.TeamQuery{Span: today})
	requireKind(t, platform.KindFailedPrecondition, err)
	require.ErrorContains(t, err, "ask an admin", "a manager without a team is told what to do")

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
