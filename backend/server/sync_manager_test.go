package server_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server/servertest"
)

// moveTo puts an employee in a team ("" takes them out of theirs), as an admin does.
func moveTo(t *testing.T, e *servertest.Env, admin servertest.Person, who uuid.UUID, team string) {
	t.Helper()
	_, err := salesappv1connect.NewEmployeeServiceClient(e.HTTP, e.URL, servertest.As(admin.Token)).UpdateEmployee(context.Background(),
		connect.NewRequest(&salesappv1.UpdateEmployeeRequest{EmployeeId: who.String(), TeamId: &team}))
	require.NoError(t, err)
}

func assignOffline(customerID string, owner uuid.UUID) *salesappv1.Mutation {
	return &salesappv1.Mutation{Op: &salesappv1.Mutation_AssignCustomer{AssignCustomer: &salesappv1.AssignCustomer{CustomerId: customerID, OwnerId: owner.String()}}}
}

// A manager's device: the team's customers (read-only, with their owner), notes and timelines; notes
// and assignments within the team pushed offline by the online rules; team moves in and out.
func TestManagerDeviceSyncsTheTeam(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a, sales, token, _ := sharedMaterial(t, e)
	team := e.NewTeam(t, a.ID, "North")
	moveTo(t, e, a.Admin, sales.ID, team.String())
	manager := e.NewPerson(t, a.ID, authn.RoleManager, team)
	colleague := e.NewPerson(t, a.ID, authn.RoleSales, team)
	outsider := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	cid := customerOf(t, e, sales, token, "visitor-mg01")
	salesDev, mgr := newDevice(t, e, sales), newDevice(t, e, manager)
	_, err := salesDev.push(salesDev.mutation(addNote(cid, "wants the family plan")))
	require.NoError(t, err)

	mgr.pull()
	c := mgr.get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, cid)
	require.NotNil(t, c, "the team's customer")
	require.True(t, c.GetCustomer().ReadOnly, "the manager does not own it")
	require.Equal(t, sales.ID.String(), c.GetCustomer().OwnerId)
	require.Equal(t, 1, mgr.count(salesappv1.EntityKind_ENTITY_KIND_NOTE))
	require.Equal(t, 1, mgr.count(salesappv1.EntityKind_ENTITY_KIND_TIMELINE_ENTRY))
	salesDev.pull()
	require.False(t, salesDev.get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, cid).GetCustomer().ReadOnly, "the owner's own")
	// The team's members: the two salespeople, not the manager, not the outsider; nobody's on a salesperson's.
	require.Equal(t, 2, mgr.count(salesappv1.EntityKind_ENTITY_KIND_MEMBER))
	m := mgr.get(salesappv1.EntityKind_ENTITY_KIND_MEMBER, colleague.ID.String()).GetMember()
	require.NotNil(t, m)
	require.Equal(t, salesappv1.Role_ROLE_SALES, m.Role)
	require.Equal(t, team.String(), m.TeamId)
	require.False(t, m.Disabled)
	require.NotNil(t, mgr.get(salesappv1.EntityKind_ENTITY_KIND_MEMBER, sales.ID.String()))
	require.Zero(t, salesDev.count(salesappv1.EntityKind_ENTITY_KIND_MEMBER))
	_, err = employees(e, a.Admin.Token).UpdateEmployee(ctx, connect.NewRequest(&salesappv1.UpdateEmployeeRequest{
		EmployeeId: colleague.ID.String(), Title: ptr("Senior advisor")}))
	require.NoError(t, err)
	mgr.pull()
	require.Equal(t, "Senior advisor", mgr.get(salesappv1.EntityKind_ENTITY_KIND_MEMBER, colleague.ID.String()).GetMember().Title)

	// Offline, the manager notes the customer and tries two assignments: within the team and outside it.
	res, err := mgr.push(
		mgr.mutation(addNote(cid, "manager: call them Monday")),
		mgr.mutation(assignOffline(cid, outsider.ID)),
		mgr.mutation(assignOffline(cid, colleague.ID)),
	)
	require.NoError(t, err)
	require.Equal(t, salesappv1.MutationResult_OUTCOME_APPLIED, res.Results[0].Outcome)
	require.NotEqual(t, salesappv1.MutationResult_OUTCOME_APPLIED, res.Results[1].Outcome, "outside the team")
	require.Equal(t, "permission_denied", res.Results[1].Code)
	require.Equal(t, salesappv1.MutationResult_OUTCOME_APPLIED, res.Results[2].Outcome, "within the team")

	mgr.pull()
	require.Equal(t, colleague.ID.String(), mgr.get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, cid).GetCustomer().OwnerId)
	require.Equal(t, 2, mgr.count(salesappv1.EntityKind_ENTITY_KIND_NOTE), "the manager's note landed")
	colleagueDev := newDevice(t, e, colleague)
	colleagueDev.pull()
	require.NotNil(t, colleagueDev.get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, cid), "the new owner has it")
	require.Equal(t, 2, colleagueDev.count(salesappv1.EntityKind_ENTITY_KIND_NOTE))
	salesDev.pull()
	require.Nil(t, salesDev.get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, cid), "the old owner's device lets it go")

	// The colleague leaves the team: their customers leave the manager's device, with notes and timeline.
	moveTo(t, e, a.Admin, colleague.ID, "")
	mgr.pull()
	require.Nil(t, mgr.get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, cid))
	require.Nil(t, mgr.get(salesappv1.EntityKind_ENTITY_KIND_MEMBER, colleague.ID.String()), "no longer a member")
	require.Zero(t, mgr.count(salesappv1.EntityKind_ENTITY_KIND_NOTE))
	require.Zero(t, mgr.count(salesappv1.EntityKind_ENTITY_KIND_TIMELINE_ENTRY))

	// And comes back: everything arrives again.
	moveTo(t, e, a.Admin, colleague.ID, team.String())
	mgr.pull()
	require.NotNil(t, mgr.get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, cid))
	require.Equal(t, 2, mgr.count(salesappv1.EntityKind_ENTITY_KIND_NOTE))
	require.Equal(t, 1, mgr.count(salesappv1.EntityKind_ENTITY_KIND_TIMELINE_ENTRY))
	require.NotNil(t, mgr.get(salesappv1.EntityKind_ENTITY_KIND_MEMBER, colleague.ID.String()))

	// A second manager of the team gets the members from the start; the first, demoted, lets them go.
	other := e.NewPerson(t, a.ID, authn.RoleManager, team)
	second := newDevice(t, e, other)
	second.pull()
	require.Equal(t, 3, second.count(salesappv1.EntityKind_ENTITY_KIND_MEMBER), "the two salespeople and the other manager")
	_, err = employees(e, a.Admin.Token).UpdateEmployee(ctx, connect.NewRequest(&salesappv1.UpdateEmployeeRequest{
		EmployeeId: manager.ID.String(), Role: salesappv1.Role_ROLE_SALES.Enum()}))
	require.NoError(t, err)
	mgr.pull()
	require.Zero(t, mgr.count(salesappv1.EntityKind_ENTITY_KIND_MEMBER))
	second.pull()
	require.Equal(t, salesappv1.Role_ROLE_SALES, second.get(salesappv1.EntityKind_ENTITY_KIND_MEMBER, manager.ID.String()).GetMember().Role)
}

// A regional manager (issue 18): an admin gives them a second team with SetLedTeams; their device
// receives its customers, they assign one to a member of their own team offline, see both teams on one
// dashboard, and when the team is taken away its customers leave the device (the one now in their own
// team stays).
func TestARegionalManagerWorksEveryTeamTheyLead(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a, sales, token, _ := sharedMaterial(t, e)
	north, south := e.NewTeam(t, a.ID, "North"), e.NewTeam(t, a.ID, "South")
	moveTo(t, e, a.Admin, sales.ID, south.String())
	manager := e.NewPerson(t, a.ID, authn.RoleManager, north)
	colleague := e.NewPerson(t, a.ID, authn.RoleSales, north)
	kept := customerOf(t, e, sales, token, "visitor-rg01")
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "visitor-rg02"))
	list, err := customers(e, sales.Token).ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{}))
	require.NoError(t, err)
	require.Len(t, list.Msg.Customers, 2)
	left := list.Msg.Customers[0].Id
	if left == kept {
		left = list.Msg.Customers[1].Id
	}
	mgr := newDevice(t, e, manager)
	mgr.pull()
	require.Nil(t, mgr.get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, kept), "South is not theirs yet")

	staff := employees(e, a.Admin.Token)
	_, err = employees(e, manager.Token).SetLedTeams(ctx, connect.NewRequest(&salesappv1.SetLedTeamsRequest{
		EmployeeId: manager.ID.String(), TeamIds: []string{south.String()}}))
	require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err), "an admin's to give")
	res, err := staff.SetLedTeams(ctx, connect.NewRequest(&salesappv1.SetLedTeamsRequest{
		EmployeeId: manager.ID.String(), TeamIds: []string{south.String()}}))
	require.NoError(t, err)
	require.ElementsMatch(t, []string{north.String(), south.String()}, res.Msg.Employee.LedTeamIds)

	mgr.pull()
	for _, id := range []string{kept, left} {
		c := mgr.get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, id)
		require.NotNil(t, c, "South's customers arrive")
		require.True(t, c.GetCustomer().ReadOnly)
	}
	require.NotNil(t, mgr.get(salesappv1.EntityKind_ENTITY_KIND_MEMBER, sales.ID.String()))

	pushed, err := mgr.push(mgr.mutation(assignOffline(kept, colleague.ID)))
	require.NoError(t, err)
	require.Equal(t, salesappv1.MutationResult_OUTCOME_APPLIED, pushed.Results[0].Outcome, "from South to North: both theirs")

	dash, err := salesappv1connect.NewStatsServiceClient(e.HTTP, e.URL, servertest.As(manager.Token)).GetTeamDashboard(ctx,
		connect.NewRequest(&salesappv1.GetTeamDashboardRequest{TeamIds: []string{north.String(), south.String()},
			Span: &salesappv1.StatsSpan{Period: salesappv1.StatsPeriod_STATS_PERIOD_TODAY}}))
	require.NoError(t, err)
	require.Len(t, dash.Msg.People, 3, "the manager and the colleague in North, the salesperson in South")

	_, err = staff.SetLedTeams(ctx, connect.NewRequest(&salesappv1.SetLedTeamsRequest{EmployeeId: manager.ID.String()}))
	require.NoError(t, err)
	mgr.pull()
	require.Nil(t, mgr.get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, left), "South's customer leaves")
	require.Nil(t, mgr.get(salesappv1.EntityKind_ENTITY_KIND_MEMBER, sales.ID.String()))
	require.NotNil(t, mgr.get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, kept), "the one assigned into North stays")
}
