package task_test

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/backend/task"
	"github.com/salesapp/scrm/backend/tracking"
	"github.com/salesapp/scrm/push/alert"
)

type fixture struct {
	db     *pgtest.DB
	tenant pgtest.Tenant
	tasks  *task.Service
	shares *share.Service
	ingest *tracking.Service
}

func setup(t *testing.T) fixture {
	t.Helper()
	db := pgtest.New(t)
	shares := share.NewService(db.App, "https://cards.example")
	ingest := tracking.NewService(db.App, shares, slog.New(slog.DiscardHandler), tracking.Config{})
	t.Cleanup(ingest.Close)
	return fixture{db: db, tenant: db.NewTenant(t, "Tasks"), tasks: task.NewService(db.App, nil, nil), shares: shares, ingest: ingest}
}

func requireKind(t *testing.T, want platform.Kind, err error, msgAndArgs ...any) {
	t.Helper()
	require.Error(t, err, msgAndArgs...)
	require.Equal(t, want, platform.KindOf(err), append([]any{"error: %v"}, err)...)
}

func (f fixture) alerts(t *testing.T, p authn.Principal, kind alert.Kind) []alert.Entry {
	t.Helper()
	entries, err := alert.NewService(f.db.App).Since(context.Background(), alert.Key{TenantID: p.TenantID, EmployeeID: p.EmployeeID}, 0, 1000)
	require.NoError(t, err)
	var out []alert.Entry
	for _, e := range entries {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func (f fixture) progress(t *testing.T, p authn.Principal, taskID, employeeID uuid.UUID) task.Assignee {
	t.Helper()
	list, err := f.tasks.Progress(context.Background(), p, taskID)
	require.NoError(t, err)
	for _, a := range list {
		if a.EmployeeID == employeeID {
			return a
		}
	}
	t.Fatalf("%s is not on the task", employeeID)
	return task.Assignee{}
}

func ev(kind event.Kind, token, visitor string) tracking.Event {
	e := tracking.Event{ID: uuid.New(), Kind: kind, ShareToken: token, VisitorID: visitor, OccurredAt: time.Now()}
	if kind == event.PhoneLeft {
		e.Phone = "13800000000"
	}
	return e
}

func draft(targets task.Counts) task.Draft {
	return task.Draft{Title: "Spring push", Brief: "Share the card", Targets: targets,
		StartsAt: time.Now().Add(-time.Hour), EndsAt: time.Now().Add(7 * 24 * time.Hour), Audience: task.AudienceTenant}
}

// A salesperson's card share made for a task is forwarded three deep; every view, forward, new customer
// and lead down the chain counts toward the task, once, even when the beacons are sent again.
func TestATaskIsScoredThroughAForwardChainThreeDeepAndCompletesOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	sales := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, uuid.Nil)
	other := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, uuid.Nil)
	d := draft(task.Counts{Shares: 1, Views: 4, Viewers: 4, Forwards: 3, NewCustomers: 4, Leads: 1})
	d.Audience, d.EmployeeIDs = task.AudienceEmployees, []uuid.UUID{sales.EmployeeID}
	tk, err := f.tasks.Create(ctx, f.tenant.Admin, d)
	require.NoError(t, err)
	require.Len(t, f.alerts(t, sales, alert.KindTaskAssigned), 1, "assigned outright: alerted")
	require.Empty(t, f.alerts(t, other, alert.KindTaskAssigned), "not in the audience")

	_, err = f.shares.ShareCardForTask(ctx, other, event.ChannelChat, tk.ID)
	requireKind(t, platform.KindNotFound, err, "not on the task: cannot share for it")
	root, err := f.shares.ShareCardForTask(ctx, sales, event.ChannelChat, tk.ID)
	require.NoError(t, err)
	require.Equal(t, tk.ID, root.TaskID)

	// visitor-1 opens the root and forwards it; visitor-2 opens that forward and forwards it on; and so on.
	var sent []tracking.Event
	token := root.Token
	for i, v := range []string{"visitor-0001", "visitor-0002", "visitor-0003"} {
		sent = append(sent, ev(event.CardView, token, v), ev(event.Forward, token, v))
		child, err := f.shares.Forward(ctx, token, event.ChannelChat, v)
		require.NoError(t, err)
		require.Equal(t, i+1, child.Depth)
		require.Equal(t, tk.ID, child.TaskID, "a forward carries its root's task")
		token = child.Token
	}
	sent = append(sent, ev(event.CardView, token, "visitor-0004"), ev(event.PhoneLeft, token, "visitor-0004"))
	for _, e := range sent[:len(sent)-1] {
		_, err := f.ingest.Ingest(ctx, []tracking.Event{e})
		require.NoError(t, err)
	}
	got := f.progress(t, f.tenant.Admin, tk.ID, sales.EmployeeID)
	require.Equal(t, task.Counts{Shares: 1, Views: 4, Viewers: 4, Forwards: 3, NewCustomers: 4}, got.Progress)
	require.True(t, got.CompletedAt.IsZero(), "the lead is still missing")

	// The lead completes it; the whole chain is sent again, and once more in one batch with a new view:
	// counted once, completed once.
	_, err = f.ingest.Ingest(ctx, sent[len(sent)-1:])
	require.NoError(t, err)
	res, err := f.ingest.Ingest(ctx, sent)
	require.NoError(t, err)
	require.Equal(t, tracking.Result{Duplicates: len(sent)}, res)
	_, err = f.ingest.Ingest(ctx, append(sent, ev(event.CardView, root.Token, "visitor-0001")))
	require.NoError(t, err)
	got = f.progress(t, f.tenant.Admin, tk.ID, sales.EmployeeID)
	require.Equal(t, task.Counts{Shares: 1, Views: 5, Viewers: 4, Forwards: 3, NewCustomers: 4, Leads: 1}, got.Progress)
	require.False(t, got.CompletedAt.IsZero())

	require.Len(t, f.alerts(t, sales, alert.KindTaskCompleted), 1, "the salesperson is told once")
	require.Len(t, f.alerts(t, f.tenant.Admin, alert.KindTaskCompleted), 1, "the creator is told once")
	var completed int
	require.NoError(t, f.db.Super.QueryRow(ctx, "SELECT coalesce(sum(tasks_completed), 0) FROM stats_employee_days WHERE employee_id = $1",
		sales.EmployeeID).Scan(&completed))
	require.Equal(t, 1, completed, "the rankings count the completion once")

	reached, err := f.tasks.Reach(ctx, sales, tk.ID, uuid.Nil)
	require.NoError(t, err)
	require.Len(t, reached, 4)
	leads := 0
	for _, r := range reached {
		require.True(t, r.Viewed)
		require.True(t, r.NewCustomer)
		if r.Lead {
			leads++
		}
	}
	require.Equal(t, 1, leads)

	mine, err := f.tasks.ListMine(ctx, sales, task.StateFinished)
	require.NoError(t, err)
	require.Len(t, mine, 1)
	require.Equal(t, tk.ID, mine[0].ID)
}

// The same beacon arriving twice at once (two requests in flight) counts once.
func TestADuplicateBeaconCountsOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	sales := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, uuid.Nil)
	d := draft(task.Counts{Views: 10})
	d.ClaimRequired = true
	tk, err := f.tasks.Create(ctx, f.tenant.Admin, d)
	require.NoError(t, err)
	_, err = f.shares.ShareCardForTask(ctx, sales, event.ChannelChat, tk.ID)
	requireKind(t, platform.KindNotFound, err, "not claimed yet")
	_, err = f.tasks.Claim(ctx, sales, tk.ID)
	require.NoError(t, err)
	sh, err := f.shares.ShareCardForTask(ctx, sales, event.ChannelChat, tk.ID)
	require.NoError(t, err)

	view := ev(event.CardView, sh.Token, "visitor-0001")
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.ingest.Ingest(ctx, []tracking.Event{view, view})
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	got := f.progress(t, sales, tk.ID, sales.EmployeeID)
	require.Equal(t, task.Counts{Shares: 1, Views: 1, Viewers: 1, NewCustomers: 1}, got.Progress)
}

// Ten salespeople claim a task capped at three at once: three get it.
func TestTheClaimCapHoldsUnderConcurrentClaims(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	d := draft(task.Counts{Shares: 3})
	d.ClaimRequired, d.MaxClaimers = true, 3
	tk, err := f.tasks.Create(ctx, f.tenant.Admin, d)
	require.NoError(t, err)
	people := make([]authn.Principal, 10)
	for i := range people {
		people[i] = f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, uuid.Nil)
	}
	errs := make([]error, len(people))
	var wg sync.WaitGroup
	for i, p := range people {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.tasks.Claim(ctx, p, tk.ID)
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		if err == nil {
			won++
			_, again := f.tasks.Claim(ctx, people[i], tk.ID)
			require.NoError(t, again, "claiming again is a no-op")
			continue
		}
		requireKind(t, platform.KindResourceExhausted, err)
	}
	require.Equal(t, 3, won)
	got, err := f.tasks.Get(ctx, f.tenant.Admin, tk.ID)
	require.NoError(t, err)
	require.Equal(t, 3, got.Claimers)
	list, err := f.tasks.Progress(ctx, f.tenant.Admin, tk.ID)
	require.NoError(t, err)
	require.Len(t, list, 3)
	for i, p := range people {
		if errs[i] != nil {
			avail, err := f.tasks.ListMine(ctx, p, task.StateAvailable)
			require.NoError(t, err)
			require.Empty(t, avail, "a full task is no longer offered")
		}
	}
}

// A salesperson reads only their own progress detail; a manager aims tasks at and reads only their team.
func TestPermissions(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	teamA, teamB := f.db.NewTeam(t, f.tenant.ID, "A"), f.db.NewTeam(t, f.tenant.ID, "B")
	mgrA := f.db.NewEmployee(t, f.tenant.ID, authn.RoleManager, teamA)
	mgrB := f.db.NewEmployee(t, f.tenant.ID, authn.RoleManager, teamB)
	a1 := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, teamA)
	a2 := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, teamA)
	b1 := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, teamB)

	d := draft(task.Counts{Views: 5})
	d.ClaimRequired = true
	_, err := f.tasks.Create(ctx, mgrA, d)
	requireKind(t, platform.KindPermissionDenied, err, "a manager cannot aim at the whole tenant")
	d.Audience, d.TeamIDs = task.AudienceTeams, []uuid.UUID{teamB}
	_, err = f.tasks.Create(ctx, mgrA, d)
	requireKind(t, platform.KindPermissionDenied, err, "nor at another team")
	d.Audience, d.TeamIDs, d.EmployeeIDs = task.AudienceEmployees, nil, []uuid.UUID{a1.EmployeeID, b1.EmployeeID}
	_, err = f.tasks.Create(ctx, mgrA, d)
	requireKind(t, platform.KindInvalid, err, "nor at another team's people")
	_, err = f.tasks.Create(ctx, a1, d)
	requireKind(t, platform.KindPermissionDenied, err, "salespeople do not create tasks")

	d.Audience, d.TeamIDs, d.EmployeeIDs = task.AudienceTeams, []uuid.UUID{teamA}, nil
	tk, err := f.tasks.Create(ctx, mgrA, d)
	require.NoError(t, err)
	for _, p := range []authn.Principal{a1, a2} {
		_, err := f.tasks.Claim(ctx, p, tk.ID)
		require.NoError(t, err)
	}
	_, err = f.tasks.Claim(ctx, b1, tk.ID)
	requireKind(t, platform.KindNotFound, err, "not in the audience")
	avail, err := f.tasks.ListMine(ctx, b1, "")
	require.NoError(t, err)
	require.Empty(t, avail)

	_, err = f.tasks.Reach(ctx, a2, tk.ID, a1.EmployeeID)
	requireKind(t, platform.KindPermissionDenied, err, "a salesperson cannot read another's progress detail")
	mine, err := f.tasks.Progress(ctx, a2, tk.ID)
	require.NoError(t, err)
	require.Len(t, mine, 1, "a salesperson's progress list is their own row")
	require.Equal(t, a2.EmployeeID, mine[0].EmployeeID)
	_, err = f.tasks.Reach(ctx, mgrA, tk.ID, a1.EmployeeID)
	require.NoError(t, err)
	all, err := f.tasks.Progress(ctx, mgrA, tk.ID)
	require.NoError(t, err)
	require.Len(t, all, 2)

	_, err = f.tasks.Progress(ctx, mgrB, tk.ID)
	requireKind(t, platform.KindNotFound, err, "another team's manager does not see the task")
	_, err = f.tasks.Reach(ctx, mgrB, tk.ID, a1.EmployeeID)
	requireKind(t, platform.KindNotFound, err)
	requireKind(t, platform.KindNotFound, f.tasks.Cancel(ctx, mgrB, tk.ID))
	managed, err := f.tasks.ListManaged(ctx, mgrB)
	require.NoError(t, err)
	require.Empty(t, managed)
	_, err = f.tasks.Reach(ctx, f.tenant.Admin, tk.ID, a1.EmployeeID)
	require.NoError(t, err)

	// Given team B as well (issue 18), A's manager aims a task at both teams and reads B's people on it.
	_, err = f.db.Super.Exec(ctx, `INSERT INTO team_leads (tenant_id, team_id, manager_id, granted) VALUES ($1, $2, $3, true)`,
		f.tenant.ID, teamB, mgrA.EmployeeID)
	require.NoError(t, err)
	regional := mgrA
	regional.Leads = []uuid.UUID{teamA, teamB}
	d = draft(task.Counts{Views: 5})
	d.Audience, d.TeamIDs = task.AudienceTeams, []uuid.UUID{teamA, teamB}
	both, err := f.tasks.Create(ctx, regional, d)
	require.NoError(t, err)
	people, err := f.tasks.Progress(ctx, regional, both.ID)
	require.NoError(t, err)
	require.True(t, slices.ContainsFunc(people, func(a task.Assignee) bool { return a.EmployeeID == b1.EmployeeID }), "B's people on it")
	_, err = f.tasks.Reach(ctx, regional, both.ID, b1.EmployeeID)
	require.NoError(t, err)
	_, err = f.tasks.Reach(ctx, mgrA, both.ID, b1.EmployeeID)
	requireKind(t, platform.KindPermissionDenied, err, "without team B, not B's people")
}

// Targets cannot be lowered below the progress made; cancelling tells those on the task.
func TestEditAndCancel(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	sales := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, uuid.Nil)
	d := draft(task.Counts{Shares: 5})
	tk, err := f.tasks.Create(ctx, f.tenant.Admin, d)
	require.NoError(t, err)
	for range 3 {
		_, err := f.shares.ShareCardForTask(ctx, sales, event.ChannelChat, tk.ID)
		require.NoError(t, err)
	}
	edit := task.Edit{Title: "Spring push", Targets: task.Counts{Shares: 2}, EndsAt: tk.EndsAt}
	_, err = f.tasks.Update(ctx, f.tenant.Admin, tk.ID, edit)
	requireKind(t, platform.KindFailedPrecondition, err)
	require.Contains(t, err.Error(), "target_shares")
	_, err = f.tasks.Update(ctx, sales, tk.ID, edit)
	requireKind(t, platform.KindPermissionDenied, err)

	edit.Targets.Shares = 3 // met exactly: completes, alerted once
	up, err := f.tasks.Update(ctx, f.tenant.Admin, tk.ID, edit)
	require.NoError(t, err)
	require.Equal(t, 3, up.Targets.Shares)
	require.Len(t, f.alerts(t, sales, alert.KindTaskCompleted), 1)

	require.NoError(t, f.tasks.Cancel(ctx, f.tenant.Admin, tk.ID))
	require.Empty(t, f.alerts(t, sales, alert.KindTaskCancelled), "completed before the cancel: nothing to tell")

	other := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, uuid.Nil)
	d.Audience, d.EmployeeIDs = task.AudienceEmployees, []uuid.UUID{other.EmployeeID}
	tk2, err := f.tasks.Create(ctx, f.tenant.Admin, d)
	require.NoError(t, err)
	require.NoError(t, f.tasks.Cancel(ctx, f.tenant.Admin, tk2.ID))
	require.NoError(t, f.tasks.Cancel(ctx, f.tenant.Admin, tk2.ID), "again: a no-op")
	require.Len(t, f.alerts(t, other, alert.KindTaskCancelled), 1)
	_, err = f.shares.ShareCardForTask(ctx, other, event.ChannelChat, tk2.ID)
	requireKind(t, platform.KindNotFound, err, "a cancelled task takes no shares")
}
