package server_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server/servertest"
)

func TestSeatLimitIsEnforced(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "Small", 2) // the admin takes one seat
	c := employees(e, a.Admin.Token)
	create := func(name string) (*connect.Response[salesappv1.CreateEmployeeResponse], error) {
		return c.CreateEmployee(ctx, connect.NewRequest(&salesappv1.CreateEmployeeRequest{Name: name, Role: salesappv1.Role_ROLE_SALES}))
	}
	first, err := create("One")
	require.NoError(t, err)
	_, err = create("Two")
	requireCode(t, err, connect.CodeFailedPrecondition, "seats")

	setStatus := func(id string, st salesappv1.EmployeeStatus) error {
		_, err := c.SetEmployeeStatus(ctx, connect.NewRequest(&salesappv1.SetEmployeeStatusRequest{EmployeeId: id, Status: st}))
		return err
	}
	require.NoError(t, setStatus(first.Msg.Employee.Id, salesappv1.EmployeeStatus_EMPLOYEE_STATUS_DISABLED))
	_, err = create("Two")
	require.NoError(t, err)
	// Re-enabling would exceed the limit.
	requireCode(t, setStatus(first.Msg.Employee.Id, salesappv1.EmployeeStatus_EMPLOYEE_STATUS_ACTIVE), connect.CodeFailedPrecondition, "seats")

	me, err := salesappv1connectMe(e, a.Admin.Token).GetMe(ctx, connect.NewRequest(&salesappv1.GetMeRequest{}))
	require.NoError(t, err)
	require.EqualValues(t, 2, me.Msg.Tenant.SeatsUsed)
	require.EqualValues(t, 2, me.Msg.Tenant.SeatLimit)
}

func TestSeatLimitHoldsUnderConcurrentCreates(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "Race", 4)
	c := employees(e, a.Admin.Token)
	errs := make(chan error, 10)
	for i := range 10 {
		go func() {
			_, err := c.CreateEmployee(ctx, connect.NewRequest(&salesappv1.CreateEmployeeRequest{
				Name: "racer " + string(rune('a'+i)), Role: salesappv1.Role_ROLE_SALES}))
			errs <- err
		}()
	}
	ok := 0
	for range 10 {
		if err := <-errs; err == nil {
			ok++
		} else {
			requireCode(t, err, connect.CodeFailedPrecondition, "seats")
		}
	}
	require.Equal(t, 3, ok)
}

func TestLastAdminStays(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "Solo", 0)
	c := employees(e, a.Admin.Token)
	_, err := c.UpdateEmployee(ctx, connect.NewRequest(&salesappv1.UpdateEmployeeRequest{
		EmployeeId: a.Admin.ID.String(), Role: salesappv1.Role_ROLE_SALES.Enum()}))
	requireCode(t, err, connect.CodeFailedPrecondition, "last active admin")
	_, err = c.SetEmployeeStatus(ctx, connect.NewRequest(&salesappv1.SetEmployeeStatusRequest{
		EmployeeId: a.Admin.ID.String(), Status: salesappv1.EmployeeStatus_EMPLOYEE_STATUS_DISABLED}))
	requireCode(t, err, connect.CodeFailedPrecondition, "last active admin")

	second := e.NewPerson(t, a.ID, authn.RoleAdmin, uuid.Nil)
	resp, err := c.UpdateEmployee(ctx, connect.NewRequest(&salesappv1.UpdateEmployeeRequest{
		EmployeeId: a.Admin.ID.String(), Role: salesappv1.Role_ROLE_SALES.Enum(), Title: ptr("Back in sales")}))
	require.NoError(t, err)
	require.Equal(t, salesappv1.Role_ROLE_SALES, resp.Msg.Employee.Role)
	require.Equal(t, "Back in sales", resp.Msg.Employee.Title)
	// The demoted admin's next call already runs with the new role on this node.
	_, err = c.CreateEmployee(ctx, connect.NewRequest(&salesappv1.CreateEmployeeRequest{Name: "x", Role: salesappv1.Role_ROLE_SALES}))
	requireCode(t, err, connect.CodePermissionDenied, "")
	_, err = employees(e, second.Token).CreateEmployee(ctx, connect.NewRequest(&salesappv1.CreateEmployeeRequest{Name: "x", Role: salesappv1.Role_ROLE_SALES}))
	require.NoError(t, err)
}

func TestWhoSeesWhom(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "Org", 20)
	east := e.NewTeam(t, a.ID, "East")
	west := e.NewTeam(t, a.ID, "West")
	mgrEast := e.NewPerson(t, a.ID, authn.RoleManager, east)
	salesEast := e.NewPerson(t, a.ID, authn.RoleSales, east)
	salesWest := e.NewPerson(t, a.ID, authn.RoleSales, west)

	m := employees(e, mgrEast.Token)
	list, err := m.ListEmployees(ctx, connect.NewRequest(&salesappv1.ListEmployeesRequest{}))
	require.NoError(t, err)
	ids := []string{}
	for _, emp := range list.Msg.Employees {
		ids = append(ids, emp.Id)
	}
	require.ElementsMatch(t, []string{mgrEast.ID.String(), salesEast.ID.String()}, ids)
	_, err = m.ListEmployees(ctx, connect.NewRequest(&salesappv1.ListEmployeesRequest{TeamId: west.String()}))
	requireCode(t, err, connect.CodePermissionDenied, "")
	_, err = m.GetEmployee(ctx, connect.NewRequest(&salesappv1.GetEmployeeRequest{EmployeeId: salesWest.ID.String()}))
	requireCode(t, err, connect.CodeNotFound, "")
	_, err = m.GetEmployee(ctx, connect.NewRequest(&salesappv1.GetEmployeeRequest{EmployeeId: salesEast.ID.String()}))
	require.NoError(t, err)
	_, err = m.CreateEmployee(ctx, connect.NewRequest(&salesappv1.CreateEmployeeRequest{Name: "x", Role: salesappv1.Role_ROLE_SALES}))
	requireCode(t, err, connect.CodePermissionDenied, "")

	s := employees(e, salesEast.Token)
	_, err = s.ListEmployees(ctx, connect.NewRequest(&salesappv1.ListEmployeesRequest{}))
	requireCode(t, err, connect.CodePermissionDenied, "")
	_, err = s.GetEmployee(ctx, connect.NewRequest(&salesappv1.GetEmployeeRequest{EmployeeId: mgrEast.ID.String()}))
	requireCode(t, err, connect.CodeNotFound, "")
	self, err := s.GetEmployee(ctx, connect.NewRequest(&salesappv1.GetEmployeeRequest{EmployeeId: salesEast.ID.String()}))
	require.NoError(t, err)
	require.Equal(t, east.String(), self.Msg.Employee.TeamId)
	_, err = teams(e, salesEast.Token).CreateTeam(ctx, connect.NewRequest(&salesappv1.CreateTeamRequest{Name: "Mine"}))
	requireCode(t, err, connect.CodePermissionDenied, "")
	tl, err := teams(e, salesEast.Token).ListTeams(ctx, connect.NewRequest(&salesappv1.ListTeamsRequest{}))
	require.NoError(t, err)
	require.Len(t, tl.Msg.Teams, 2)

	me, err := salesappv1connectMe(e, salesEast.Token).GetMe(ctx, connect.NewRequest(&salesappv1.GetMeRequest{}))
	require.NoError(t, err)
	require.Equal(t, "East", me.Msg.Team.GetName())
	require.EqualValues(t, 2, me.Msg.Team.GetMemberCount())
}

func TestTeamsLifecycle(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "Org", 0)
	tc := teams(e, a.Admin.Token)
	created, err := tc.CreateTeam(ctx, connect.NewRequest(&salesappv1.CreateTeamRequest{Name: "North"}))
	require.NoError(t, err)
	_, err = tc.CreateTeam(ctx, connect.NewRequest(&salesappv1.CreateTeamRequest{Name: "North"}))
	requireCode(t, err, connect.CodeAlreadyExists, "")
	teamID := created.Msg.Team.Id
	renamed, err := tc.RenameTeam(ctx, connect.NewRequest(&salesappv1.RenameTeamRequest{TeamId: teamID, Name: "North-East"}))
	require.NoError(t, err)
	require.Equal(t, "North-East", renamed.Msg.Team.Name)

	member := e.NewPerson(t, a.ID, authn.RoleSales, uuid.MustParse(teamID))
	_, err = tc.DeleteTeam(ctx, connect.NewRequest(&salesappv1.DeleteTeamRequest{TeamId: teamID}))
	requireCode(t, err, connect.CodeFailedPrecondition, "1 members")
	_, err = employees(e, a.Admin.Token).UpdateEmployee(ctx, connect.NewRequest(&salesappv1.UpdateEmployeeRequest{
		EmployeeId: member.ID.String(), TeamId: ptr("")}))
	require.NoError(t, err)
	_, err = tc.DeleteTeam(ctx, connect.NewRequest(&salesappv1.DeleteTeamRequest{TeamId: teamID}))
	require.NoError(t, err)
	_, err = tc.DeleteTeam(ctx, connect.NewRequest(&salesappv1.DeleteTeamRequest{TeamId: teamID}))
	requireCode(t, err, connect.CodeNotFound, "")
}

func TestListEmployeesPages(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "Org", 20)
	for range 6 {
		e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	}
	c := employees(e, a.Admin.Token)
	seen := map[string]bool{}
	token := ""
	pages := 0
	for {
		resp, err := c.ListEmployees(ctx, connect.NewRequest(&salesappv1.ListEmployeesRequest{PageSize: 3, PageToken: token}))
		require.NoError(t, err)
		pages++
		for _, emp := range resp.Msg.Employees {
			require.False(t, seen[emp.Id], "listed twice")
			seen[emp.Id] = true
		}
		token = resp.Msg.NextPageToken
		if token == "" {
			break
		}
		require.Less(t, pages, 10)
	}
	require.Len(t, seen, 7)
	require.Equal(t, 3, pages)
}
