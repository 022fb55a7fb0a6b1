package tenant_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/tenant"
)

// sessions records what the tenant rules ask of the auth package.
type sessions struct {
	mu      sync.Mutex
	revoked []uuid.UUID
	changed []uuid.UUID
	// fail makes RevokeEmployeeSessions fail, as a failed write inside the transaction would.
	fail error
}

func (s *sessions) RevokeEmployeeSessions(ctx context.Context, tx pgx.Tx, tenantID, employeeID uuid.UUID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	// It is handed the caller's transaction: it runs in it, scoped to the tenant.
	var inTenant uuid.UUID
	if err := tx.QueryRow(ctx, "SELECT app_tenant_id()").Scan(&inTenant); err != nil {
		return err
	}
	if inTenant != tenantID {
		return errors.New("revoke outside the tenant's transaction")
	}
	s.revoked = append(s.revoked, employeeID)
	return nil
}

func (s *sessions) EmployeeChanged(id uuid.UUID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changed = append(s.changed, id)
}

func (s *sessions) changedIDs() []uuid.UUID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.changed)
}

type fixture struct {
	db   *pgtest.DB
	svc  *tenant.Service
	sess *sessions
	t    tenant.Tenant
	// admin is the tenant's first (and only) admin.
	admin authn.Principal
}

// setup makes a tenant of seats seats through the package's own operator entry points, with its admin.
func setup(t *testing.T, seats int) fixture {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	sess := &sessions{}
	svc := tenant.NewService(db.App, sess)
	tn, err := tenant.CreateTenant(ctx, db.Owner, tenant.NewTenant{Name: "Acme", Plan: tenant.PlanStandard, SeatLimit: seats, ExpiresAt: time.Now().AddDate(1, 0, 0)})
	require.NoError(t, err)
	admin, err := svc.Bootstrap().CreateEmployee(ctx, tn.ID, tenant.NewEmployee{Name: "Ada", Role: authn.RoleAdmin})
	require.NoError(t, err)
	return fixture{db: db, svc: svc, sess: sess, t: tn, admin: principal(admin)}
}

func principal(e tenant.Employee) authn.Principal {
	return authn.Principal{TenantID: e.TenantID, EmployeeID: e.ID, Role: e.Role, TeamID: e.TeamID, Leads: e.Leads}
}

// hire adds an employee as the admin would.
func (f fixture) hire(t *testing.T, name string, role authn.Role, team uuid.UUID) authn.Principal {
	t.Helper()
	e, err := f.svc.CreateEmployee(context.Background(), f.admin, tenant.NewEmployee{Name: name, Role: role, TeamID: team})
	require.NoError(t, err)
	return principal(e)
}

func (f fixture) team(t *testing.T, name string) uuid.UUID {
	t.Helper()
	tm, err := f.svc.CreateTeam(context.Background(), f.admin, name)
	require.NoError(t, err)
	return tm.ID
}

func requireKind(t *testing.T, want platform.Kind, err error, msgAndArgs ...any) {
	t.Helper()
	require.Error(t, err, msgAndArgs...)
	require.Equal(t, want, platform.KindOf(err), append([]any{"error: %v"}, err)...)
}

func ptr[T any](v T) *T { return &v }

func TestOnlyAnAdminChangesPeopleTeamsAndSettings(t *testing.T) {
	t.Parallel()
	f := setup(t, 10)
	ctx := context.Background()
	team := f.team(t, "East")
	mgr := f.hire(t, "Mo", authn.RoleManager, team)
	sales := f.hire(t, "Sam", authn.RoleSales, team)
	rule := "pool"

	for _, p := range []authn.Principal{mgr, sales} {
		_, err := f.svc.CreateEmployee(ctx, p, tenant.NewEmployee{Name: "x", Role: authn.RoleSales})
		requireKind(t, platform.KindPermissionDenied, err)
		_, err = f.svc.UpdateEmployee(ctx, p, sales.EmployeeID, tenant.EmployeeChange{Title: ptr("boss")})
		requireKind(t, platform.KindPermissionDenied, err)
		_, err = f.svc.SetEmployeeStatus(ctx, p, sales.EmployeeID, tenant.StatusDisabled)
		requireKind(t, platform.KindPermissionDenied, err)
		_, err = f.svc.CreateTeam(ctx, p, "West")
		requireKind(t, platform.KindPermissionDenied, err)
		_, err = f.svc.RenameTeam(ctx, p, team, "Renamed")
		requireKind(t, platform.KindPermissionDenied, err)
		requireKind(t, platform.KindPermissionDenied, f.svc.DeleteTeam(ctx, p, team))
		_, err = f.svc.UpdateSettings(ctx, p, tenant.SettingsChange{OwnerRule: &rule})
		requireKind(t, platform.KindPermissionDenied, err)
	}
	// Nothing moved, and every employee may still read the teams.
	teams, err := f.svc.ListTeams(ctx, sales)
	require.NoError(t, err)
	require.Len(t, teams, 1)
	require.Equal(t, "East", teams[0].Name)
	require.Equal(t, 2, teams[0].MemberCount)
	e, err := f.svc.GetEmployee(ctx, f.admin, sales.EmployeeID)
	require.NoError(t, err)
	require.Equal(t, tenant.StatusActive, e.Status)
	require.Empty(t, e.Title)
	_, tn, _, err := f.svc.Me(ctx, f.admin)
	require.NoError(t, err)
	require.Equal(t, "first_share", tn.OwnerRule)

	// The admin may.
	tn, err = f.svc.UpdateSettings(ctx, f.admin, tenant.SettingsChange{OwnerRule: &rule})
	require.NoError(t, err)
	require.Equal(t, "pool", tn.OwnerRule)
	_, err = f.svc.UpdateSettings(ctx, f.admin, tenant.SettingsChange{OwnerRule: ptr("everyone")})
	requireKind(t, platform.KindInvalid, err)
}

func TestSeatsAreTakenByActiveEmployeesOnly(t *testing.T) {
	t.Parallel()
	f := setup(t, 3) // the admin takes one
	ctx := context.Background()
	one := f.hire(t, "One", authn.RoleSales, uuid.Nil)
	f.hire(t, "Two", authn.RoleSales, uuid.Nil)
	_, err := f.svc.CreateEmployee(ctx, f.admin, tenant.NewEmployee{Name: "Three", Role: authn.RoleSales})
	requireKind(t, platform.KindFailedPrecondition, err)
	_, err = f.svc.Bootstrap().CreateEmployee(ctx, f.t.ID, tenant.NewEmployee{Name: "Three", Role: authn.RoleSales})
	requireKind(t, platform.KindFailedPrecondition, err, "the operator's entry point keeps the limit too")

	// Disabling frees a seat; enabling again needs one.
	_, err = f.svc.SetEmployeeStatus(ctx, f.admin, one.EmployeeID, tenant.StatusDisabled)
	require.NoError(t, err)
	_, _, _, err = f.svc.Me(ctx, one)
	require.NoError(t, err, "a disabled employee still exists")
	_, tn, _, err := f.svc.Me(ctx, f.admin)
	require.NoError(t, err)
	require.Equal(t, 2, tn.SeatsUsed)
	f.hire(t, "Three", authn.RoleSales, uuid.Nil)
	_, err = f.svc.SetEmployeeStatus(ctx, f.admin, one.EmployeeID, tenant.StatusActive)
	requireKind(t, platform.KindFailedPrecondition, err)
	// Setting the status an employee already has is no change, and takes no seat.
	e, err := f.svc.SetEmployeeStatus(ctx, f.admin, one.EmployeeID, tenant.StatusDisabled)
	require.NoError(t, err)
	require.Equal(t, tenant.StatusDisabled, e.Status)
	_, err = f.svc.SetEmployeeStatus(ctx, f.admin, one.EmployeeID, tenant.Status("archived"))
	requireKind(t, platform.KindInvalid, err)
}

func TestDisablingEndsSessionsInTheSameCommit(t *testing.T) {
	t.Parallel()
	f := setup(t, 10)
	ctx := context.Background()
	sales := f.hire(t, "Sam", authn.RoleSales, uuid.Nil)

	// When ending the sessions fails, the employee is not disabled either: one transaction.
	f.sess.fail = errors.New("sessions table unavailable")
	_, err := f.svc.SetEmployeeStatus(ctx, f.admin, sales.EmployeeID, tenant.StatusDisabled)
	require.ErrorIs(t, err, f.sess.fail)
	e, err := f.svc.GetEmployee(ctx, f.admin, sales.EmployeeID)
	require.NoError(t, err)
	require.Equal(t, tenant.StatusActive, e.Status)
	require.Empty(t, f.sess.changed, "no change was announced for a rolled-back disable")

	f.sess.fail = nil
	e, err = f.svc.SetEmployeeStatus(ctx, f.admin, sales.EmployeeID, tenant.StatusDisabled)
	require.NoError(t, err)
	require.Equal(t, tenant.StatusDisabled, e.Status)
	require.Equal(t, []uuid.UUID{sales.EmployeeID}, f.sess.revoked)
	require.Equal(t, []uuid.UUID{sales.EmployeeID}, f.sess.changed)

	// Enabling ends nothing: the old sessions stay ended, the employee signs in afresh.
	_, err = f.svc.SetEmployeeStatus(ctx, f.admin, sales.EmployeeID, tenant.StatusActive)
	require.NoError(t, err)
	require.Len(t, f.sess.revoked, 1)
	require.Len(t, f.sess.changed, 2)

	// A role change is announced, so cached views of the employee's sessions are dropped.
	_, err = f.svc.UpdateEmployee(ctx, f.admin, sales.EmployeeID, tenant.EmployeeChange{Role: ptr(authn.RoleManager)})
	require.NoError(t, err)
	require.Equal(t, sales.EmployeeID, f.sess.changed[2])
}

func TestTheLastActiveAdminStays(t *testing.T) {
	t.Parallel()
	f := setup(t, 10)
	ctx := context.Background()
	_, err := f.svc.UpdateEmployee(ctx, f.admin, f.admin.EmployeeID, tenant.EmployeeChange{Role: ptr(authn.RoleSales)})
	requireKind(t, platform.KindFailedPrecondition, err)
	_, err = f.svc.SetEmployeeStatus(ctx, f.admin, f.admin.EmployeeID, tenant.StatusDisabled)
	requireKind(t, platform.KindFailedPrecondition, err)
	require.Empty(t, f.sess.revoked)

	// A disabled admin does not count as the one who stays.
	second := f.hire(t, "Second", authn.RoleAdmin, uuid.Nil)
	_, err = f.svc.SetEmployeeStatus(ctx, f.admin, second.EmployeeID, tenant.StatusDisabled)
	require.NoError(t, err)
	_, err = f.svc.UpdateEmployee(ctx, f.admin, f.admin.EmployeeID, tenant.EmployeeChange{Role: ptr(authn.RoleManager)})
	requireKind(t, platform.KindFailedPrecondition, err)

	// With another active admin, the first may step down; other changes never needed one.
	_, err = f.svc.SetEmployeeStatus(ctx, f.admin, second.EmployeeID, tenant.StatusActive)
	require.NoError(t, err)
	e, err := f.svc.UpdateEmployee(ctx, f.admin, f.admin.EmployeeID, tenant.EmployeeChange{Role: ptr(authn.RoleSales), Title: ptr("Back in sales")})
	require.NoError(t, err)
	require.Equal(t, authn.RoleSales, e.Role)
	require.Equal(t, "Back in sales", e.Title)
	_, err = f.svc.UpdateEmployee(ctx, second, second.EmployeeID, tenant.EmployeeChange{Role: ptr(authn.Role("owner"))})
	requireKind(t, platform.KindInvalid, err)
}

func TestManagersSeeTheirTeamAndSalespeopleThemselves(t *testing.T) {
	t.Parallel()
	f := setup(t, 20)
	ctx := context.Background()
	east, west := f.team(t, "East"), f.team(t, "West")
	mgr := f.hire(t, "Mia (manager east)", authn.RoleManager, east)
	eastSales := f.hire(t, "Eve", authn.RoleSales, east)
	westSales := f.hire(t, "Wes", authn.RoleSales, west)
	lonely := f.hire(t, "Lou (manager, no team)", authn.RoleManager, uuid.Nil)

	ids := func(es []tenant.Employee) []uuid.UUID {
		var out []uuid.UUID
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	list, _, err := f.svc.ListEmployees(ctx, mgr, tenant.EmployeeFilter{})
	require.NoError(t, err)
	require.ElementsMatch(t, []uuid.UUID{mgr.EmployeeID, eastSales.EmployeeID}, ids(list))
	list, _, err = f.svc.ListEmployees(ctx, mgr, tenant.EmployeeFilter{TeamID: east})
	require.NoError(t, err)
	require.Len(t, list, 2)
	_, _, err = f.svc.ListEmployees(ctx, mgr, tenant.EmployeeFilter{TeamID: west})
	requireKind(t, platform.KindPermissionDenied, err)
	_, _, err = f.svc.ListEmployees(ctx, lonely, tenant.EmployeeFilter{})
	requireKind(t, platform.KindFailedPrecondition, err)
	_, _, err = f.svc.ListEmployees(ctx, eastSales, tenant.EmployeeFilter{})
	requireKind(t, platform.KindPermissionDenied, err)
	all, _, err := f.svc.ListEmployees(ctx, f.admin, tenant.EmployeeFilter{})
	require.NoError(t, err)
	require.Len(t, all, 5)

	// One at a time: what a caller may not see does not exist for them.
	for _, c := range []struct {
		who  authn.Principal
		whom uuid.UUID
		ok   bool
	}{
		{mgr, eastSales.EmployeeID, true}, {mgr, westSales.EmployeeID, false}, {mgr, f.admin.EmployeeID, false},
		{eastSales, eastSales.EmployeeID, true}, {eastSales, mgr.EmployeeID, false},
		{lonely, lonely.EmployeeID, true}, {lonely, westSales.EmployeeID, false},
		{f.admin, westSales.EmployeeID, true},
	} {
		_, err := f.svc.GetEmployee(ctx, c.who, c.whom)
		if c.ok {
			require.NoError(t, err)
		} else {
			requireKind(t, platform.KindNotFound, err)
		}
	}

	// Me names the caller's team.
	me, _, team, err := f.svc.Me(ctx, eastSales)
	require.NoError(t, err)
	require.Equal(t, "Eve", me.Name)
	require.NotNil(t, team)
	require.Equal(t, "East", team.Name)
	_, _, team, err = f.svc.Me(ctx, lonely)
	require.NoError(t, err)
	require.Nil(t, team)
}

// An admin gives a manager teams besides their own (issue 18): the manager then lists and reads the
// people of each, the change is audited and their sessions re-read; only managers lead, and someone who
// stops being one leads nothing.
func TestAManagerLeadsTheTeamsAnAdminGivesThem(t *testing.T) {
	t.Parallel()
	f := setup(t, 20)
	ctx := context.Background()
	east, west, north := f.team(t, "East"), f.team(t, "West"), f.team(t, "North")
	mgr := f.hire(t, "Mia (manager east)", authn.RoleManager, east)
	require.Equal(t, []uuid.UUID{east}, mgr.Leads, "a manager leads their own team")
	eastSales := f.hire(t, "Eve", authn.RoleSales, east)
	westSales := f.hire(t, "Wes", authn.RoleSales, west)
	northSales := f.hire(t, "Nia", authn.RoleSales, north)

	_, err := f.svc.SetLedTeams(ctx, mgr, mgr.EmployeeID, []uuid.UUID{west})
	requireKind(t, platform.KindPermissionDenied, err, "a manager does not give themselves teams")
	_, err = f.svc.SetLedTeams(ctx, f.admin, eastSales.EmployeeID, []uuid.UUID{west})
	requireKind(t, platform.KindFailedPrecondition, err, "a salesperson leads no team")
	_, err = f.svc.SetLedTeams(ctx, f.admin, mgr.EmployeeID, []uuid.UUID{west, uuid.New()})
	requireKind(t, platform.KindInvalid, err)
	var bad *platform.Error
	require.ErrorAs(t, err, &bad)
	require.Equal(t, "team_ids", bad.Field)
	_, err = f.svc.SetLedTeams(ctx, f.admin, uuid.New(), []uuid.UUID{west})
	requireKind(t, platform.KindNotFound, err)

	before := len(f.sess.changedIDs())
	e, err := f.svc.SetLedTeams(ctx, f.admin, mgr.EmployeeID, []uuid.UUID{west, north, west})
	require.NoError(t, err)
	require.ElementsMatch(t, []uuid.UUID{east, west, north}, e.Leads)
	require.Greater(t, len(f.sess.changedIDs()), before, "the manager's sessions read their teams again")
	got, err := f.svc.GetEmployee(ctx, f.admin, mgr.EmployeeID)
	require.NoError(t, err)
	require.ElementsMatch(t, []uuid.UUID{east, west, north}, got.Leads)

	// As the manager's next request sees them.
	regional := principal(got)
	list, _, err := f.svc.ListEmployees(ctx, regional, tenant.EmployeeFilter{})
	require.NoError(t, err)
	require.Len(t, list, 4, "their own team and the two given")
	list, _, err = f.svc.ListEmployees(ctx, regional, tenant.EmployeeFilter{TeamID: west})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, westSales.EmployeeID, list[0].ID)
	for _, id := range []uuid.UUID{eastSales.EmployeeID, westSales.EmployeeID, northSales.EmployeeID} {
		_, err := f.svc.GetEmployee(ctx, regional, id)
		require.NoError(t, err)
	}

	// Taking North away; an empty list leaves their own team only.
	e, err = f.svc.SetLedTeams(ctx, f.admin, mgr.EmployeeID, []uuid.UUID{west})
	require.NoError(t, err)
	require.ElementsMatch(t, []uuid.UUID{east, west}, e.Leads)
	_, err = f.svc.GetEmployee(ctx, principal(e), northSales.EmployeeID)
	requireKind(t, platform.KindNotFound, err)
	e, err = f.svc.SetLedTeams(ctx, f.admin, mgr.EmployeeID, nil)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{east}, e.Leads)

	// Their own team given as well stays theirs when they move; no longer a manager, they lead nothing.
	_, err = f.svc.SetLedTeams(ctx, f.admin, mgr.EmployeeID, []uuid.UUID{east, west})
	require.NoError(t, err)
	e, err = f.svc.UpdateEmployee(ctx, f.admin, mgr.EmployeeID, tenant.EmployeeChange{TeamID: &north})
	require.NoError(t, err)
	require.ElementsMatch(t, []uuid.UUID{east, west, north}, e.Leads)
	e, err = f.svc.UpdateEmployee(ctx, f.admin, mgr.EmployeeID, tenant.EmployeeChange{Role: ptr(authn.RoleSales)})
	require.NoError(t, err)
	require.Empty(t, e.Leads)
	e, err = f.svc.UpdateEmployee(ctx, f.admin, mgr.EmployeeID, tenant.EmployeeChange{Role: ptr(authn.RoleManager)})
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{north}, e.Leads, "made a manager again: their own team, nothing granted before")
}

func TestListEmployeesPagesByNameAndLeavesOutTheDisabled(t *testing.T) {
	t.Parallel()
	f := setup(t, 20)
	ctx := context.Background()
	for _, n := range []string{"Dora", "Bob", "Cleo", "Bob"} {
		f.hire(t, n, authn.RoleSales, uuid.Nil)
	}
	gone := f.hire(t, "Abe", authn.RoleSales, uuid.Nil)
	_, err := f.svc.SetEmployeeStatus(ctx, f.admin, gone.EmployeeID, tenant.StatusDisabled)
	require.NoError(t, err)

	var names []string
	tok := ""
	for range 10 {
		page, next, err := f.svc.ListEmployees(ctx, f.admin, tenant.EmployeeFilter{PageSize: 2, PageToken: tok})
		require.NoError(t, err)
		require.LessOrEqual(t, len(page), 2)
		for _, e := range page {
			names = append(names, e.Name)
		}
		if tok = next; tok == "" {
			break
		}
	}
	require.Equal(t, []string{"Ada", "Bob", "Bob", "Cleo", "Dora"}, names, "by name, both Bobs once, the disabled left out")

	withDisabled, _, err := f.svc.ListEmployees(ctx, f.admin, tenant.EmployeeFilter{IncludeDisabled: true})
	require.NoError(t, err)
	require.Len(t, withDisabled, 6)
	require.Equal(t, "Abe", withDisabled[0].Name)

	_, _, err = f.svc.ListEmployees(ctx, f.admin, tenant.EmployeeFilter{PageToken: "not-a-token!"})
	requireKind(t, platform.KindInvalid, err)
}

func TestTeamsAreUniquelyNamedAndDeletedOnlyWhenEmpty(t *testing.T) {
	t.Parallel()
	f := setup(t, 10)
	ctx := context.Background()
	east, west := f.team(t, "East"), f.team(t, "West")
	_, err := f.svc.CreateTeam(ctx, f.admin, "East")
	requireKind(t, platform.KindAlreadyExists, err)
	_, err = f.svc.RenameTeam(ctx, f.admin, west, "East")
	requireKind(t, platform.KindAlreadyExists, err)
	tm, err := f.svc.RenameTeam(ctx, f.admin, west, "North")
	require.NoError(t, err)
	require.Equal(t, "North", tm.Name)
	_, err = f.svc.RenameTeam(ctx, f.admin, uuid.New(), "South")
	requireKind(t, platform.KindNotFound, err)

	// A disabled member still holds the team.
	member := f.hire(t, "Eve", authn.RoleSales, east)
	_, err = f.svc.SetEmployeeStatus(ctx, f.admin, member.EmployeeID, tenant.StatusDisabled)
	require.NoError(t, err)
	teams, err := f.svc.ListTeams(ctx, f.admin)
	require.NoError(t, err)
	require.Equal(t, "East", teams[0].Name)
	require.Zero(t, teams[0].MemberCount, "member counts count active members")
	requireKind(t, platform.KindFailedPrecondition, f.svc.DeleteTeam(ctx, f.admin, east))

	// Moved out, the team can go; an employee cannot join a team that does not exist.
	_, err = f.svc.UpdateEmployee(ctx, f.admin, member.EmployeeID, tenant.EmployeeChange{TeamID: ptr(uuid.Nil)})
	require.NoError(t, err)
	require.NoError(t, f.svc.DeleteTeam(ctx, f.admin, east))
	requireKind(t, platform.KindNotFound, f.svc.DeleteTeam(ctx, f.admin, east))
	_, err = f.svc.UpdateEmployee(ctx, f.admin, member.EmployeeID, tenant.EmployeeChange{TeamID: ptr(east)})
	requireKind(t, platform.KindInvalid, err)
	_, err = f.svc.CreateEmployee(ctx, f.admin, tenant.NewEmployee{Name: "Ned", Role: authn.RoleSales, TeamID: east})
	requireKind(t, platform.KindInvalid, err)
}

func TestEmployeeFieldRules(t *testing.T) {
	t.Parallel()
	f := setup(t, 10)
	ctx := context.Background()
	_, err := f.svc.CreateEmployee(ctx, f.admin, tenant.NewEmployee{Name: "Rex", Role: authn.Role("root")})
	requireKind(t, platform.KindInvalid, err)
	first, err := f.svc.CreateEmployee(ctx, f.admin, tenant.NewEmployee{Name: "Wu", Role: authn.RoleSales, WeComUserID: "wu"})
	require.NoError(t, err)
	_, err = f.svc.CreateEmployee(ctx, f.admin, tenant.NewEmployee{Name: "Wu 2", Role: authn.RoleSales, WeComUserID: "wu"})
	requireKind(t, platform.KindAlreadyExists, err, "one WeCom userid, one employee")
	_, err = f.svc.UpdateEmployee(ctx, f.admin, uuid.New(), tenant.EmployeeChange{Name: ptr("ghost")})
	requireKind(t, platform.KindNotFound, err)

	// Absent fields are left as they are.
	e, err := f.svc.UpdateEmployee(ctx, f.admin, first.ID, tenant.EmployeeChange{Phone: ptr("+8613800000000")})
	require.NoError(t, err)
	require.Equal(t, "Wu", e.Name)
	require.Equal(t, "+8613800000000", e.Phone)
	require.Equal(t, "wu", e.WeComUserID)
	require.Equal(t, authn.RoleSales, e.Role)

	// The operator's tenant rules.
	_, err = tenant.CreateTenant(ctx, f.db.Owner, tenant.NewTenant{Name: "X", Plan: tenant.Plan("free"), SeatLimit: 1, ExpiresAt: time.Now()})
	requireKind(t, platform.KindInvalid, err)
	_, err = tenant.CreateTenant(ctx, f.db.Owner, tenant.NewTenant{Name: "X", Plan: tenant.PlanTrial, SeatLimit: 1, ExpiresAt: time.Now(), TimeZone: "Mars/Olympus"})
	requireKind(t, platform.KindInvalid, err)
	require.Equal(t, "Asia/Shanghai", f.t.TimeZone)
}

func TestAnotherTenantsPeopleAndTeamsAreOutOfReach(t *testing.T) {
	t.Parallel()
	f := setup(t, 10)
	ctx := context.Background()
	other, err := tenant.CreateTenant(ctx, f.db.Owner, tenant.NewTenant{Name: "Other", Plan: tenant.PlanTrial, SeatLimit: 5, ExpiresAt: time.Now().AddDate(0, 1, 0)})
	require.NoError(t, err)
	theirTeam, err := f.svc.Bootstrap().CreateTeam(ctx, other.ID, "Theirs")
	require.NoError(t, err)
	theirs, err := f.svc.Bootstrap().CreateEmployee(ctx, other.ID, tenant.NewEmployee{Name: "Zed", Role: authn.RoleSales, TeamID: theirTeam.ID})
	require.NoError(t, err)
	_, err = f.svc.Bootstrap().CreateTeam(ctx, other.ID, "East")
	require.NoError(t, err)
	f.team(t, "East") // team names are unique per tenant only

	_, err = f.svc.GetEmployee(ctx, f.admin, theirs.ID)
	requireKind(t, platform.KindNotFound, err)
	_, err = f.svc.UpdateEmployee(ctx, f.admin, theirs.ID, tenant.EmployeeChange{Name: ptr("hijacked")})
	requireKind(t, platform.KindNotFound, err)
	_, err = f.svc.SetEmployeeStatus(ctx, f.admin, theirs.ID, tenant.StatusDisabled)
	requireKind(t, platform.KindNotFound, err)
	_, err = f.svc.RenameTeam(ctx, f.admin, theirTeam.ID, "hijacked")
	requireKind(t, platform.KindNotFound, err)
	requireKind(t, platform.KindNotFound, f.svc.DeleteTeam(ctx, f.admin, theirTeam.ID))
	_, err = f.svc.CreateEmployee(ctx, f.admin, tenant.NewEmployee{Name: "Mole", Role: authn.RoleSales, TeamID: theirTeam.ID})
	requireKind(t, platform.KindInvalid, err)
	mine := f.hire(t, "Mine", authn.RoleSales, uuid.Nil)
	_, err = f.svc.UpdateEmployee(ctx, f.admin, mine.EmployeeID, tenant.EmployeeChange{TeamID: ptr(theirTeam.ID)})
	requireKind(t, platform.KindInvalid, err)
	list, _, err := f.svc.ListEmployees(ctx, f.admin, tenant.EmployeeFilter{TeamID: theirTeam.ID, IncludeDisabled: true})
	require.NoError(t, err)
	require.Empty(t, list)
	require.Empty(t, f.sess.revoked)

	// The other tenant is as it was.
	got, err := f.svc.GetEmployee(ctx, authn.Principal{TenantID: other.ID, EmployeeID: theirs.ID, Role: authn.RoleSales}, theirs.ID)
	require.NoError(t, err)
	require.Equal(t, "Zed", got.Name)
	require.Equal(t, tenant.StatusActive, got.Status)
	require.Equal(t, theirTeam.ID, got.TeamID)
	teams, err := f.svc.ListTeams(ctx, authn.Principal{TenantID: other.ID, EmployeeID: theirs.ID, Role: authn.RoleSales})
	require.NoError(t, err)
	require.Len(t, teams, 2)
	require.Equal(t, "Theirs", teams[1].Name)
	_, tn, _, err := f.svc.Me(ctx, f.admin)
	require.NoError(t, err)
	require.Equal(t, 2, tn.SeatsUsed, "no mole took a seat")
}

// inviter is sessions that also make invitations, as the auth package does.
type inviter struct {
	*sessions
	made []uuid.UUID
	fail error
}

func (i *inviter) InviteTx(ctx context.Context, tx pgx.Tx, tenantID, employeeID uuid.UUID) (string, string, time.Time, error) {
	if i.fail != nil {
		return "", "", time.Time{}, i.fail
	}
	// In the transaction that creates the employee: the new row is there.
	var n int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM employees WHERE tenant_id = $1 AND id = $2", tenantID, employeeID).Scan(&n); err != nil {
		return "", "", time.Time{}, err
	}
	if n != 1 {
		return "", "", time.Time{}, errors.New("invited outside the creating transaction")
	}
	i.made = append(i.made, employeeID)
	return "code-" + employeeID.String(), "https://app.example.com/invite/code-" + employeeID.String(), time.Now().Add(7 * 24 * time.Hour), nil
}

// A new employee comes with their invitation, made in the same transaction: when it cannot be made, the
// employee is not created either.
func TestCreatingAnEmployeeInvitesThem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t, 5)
	inv := &inviter{sessions: f.sess}
	svc := tenant.NewService(f.db.App, inv)

	e, err := svc.CreateEmployee(ctx, f.admin, tenant.NewEmployee{Name: "Nia", Role: authn.RoleSales, Phone: "13800000001"})
	require.NoError(t, err)
	require.NotNil(t, e.Invitation)
	require.Equal(t, "code-"+e.ID.String(), e.Invitation.Code)
	require.Equal(t, []uuid.UUID{e.ID}, inv.made)

	inv.fail = errors.New("boom")
	_, err = svc.CreateEmployee(ctx, f.admin, tenant.NewEmployee{Name: "Ola", Role: authn.RoleSales})
	require.ErrorContains(t, err, "boom")
	list, _, err := svc.ListEmployees(ctx, f.admin, tenant.EmployeeFilter{IncludeDisabled: true})
	require.NoError(t, err)
	require.Len(t, list, 2, "the admin and Nia only")

	// Without an inviter (tools seeding rows), no invitation.
	e, err = f.svc.CreateEmployee(ctx, f.admin, tenant.NewEmployee{Name: "Pim", Role: authn.RoleSales})
	require.NoError(t, err)
	require.Nil(t, e.Invitation)
}

// People sign in with their phone number or email, so within a tenant each names one employee, in any of
// its spellings; another tenant may have the same.
func TestPhoneAndEmailNameOneEmployeePerTenant(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t, 10)
	_, err := f.svc.CreateEmployee(ctx, f.admin, tenant.NewEmployee{Name: "Nia", Role: authn.RoleSales, Phone: "13800000001", Email: "nia@acme.example"})
	require.NoError(t, err)
	_, err = f.svc.CreateEmployee(ctx, f.admin, tenant.NewEmployee{Name: "Nia 2", Role: authn.RoleSales, Phone: "+8613800000001"})
	requireKind(t, platform.KindAlreadyExists, err)
	require.ErrorContains(t, err, "phone number")
	_, err = f.svc.CreateEmployee(ctx, f.admin, tenant.NewEmployee{Name: "Nia 3", Role: authn.RoleSales, Email: "NIA@acme.example"})
	requireKind(t, platform.KindAlreadyExists, err)
	require.ErrorContains(t, err, "email")
	ola, err := f.svc.CreateEmployee(ctx, f.admin, tenant.NewEmployee{Name: "Ola", Role: authn.RoleSales, Phone: "13800000002"})
	require.NoError(t, err)
	_, err = f.svc.UpdateEmployee(ctx, f.admin, ola.ID, tenant.EmployeeChange{Phone: ptr("0086 138 0000 0001")})
	requireKind(t, platform.KindAlreadyExists, err)

	other, err := tenant.CreateTenant(ctx, f.db.Owner, tenant.NewTenant{Name: "Other", Plan: tenant.PlanStandard, SeatLimit: 5, ExpiresAt: time.Now().AddDate(1, 0, 0)})
	require.NoError(t, err)
	_, err = f.svc.Bootstrap().CreateEmployee(ctx, other.ID, tenant.NewEmployee{Name: "Nia", Role: authn.RoleAdmin, Phone: "13800000001", Email: "nia@acme.example"})
	require.NoError(t, err, "another tenant may employ the same person")
}
