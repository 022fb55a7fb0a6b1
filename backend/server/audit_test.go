package server_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server/servertest"
)

func auditOf(e *servertest.Env, token string) salesappv1connect.AuditServiceClient {
	return salesappv1connect.NewAuditServiceClient(e.HTTP, e.URL, servertest.As(token))
}

// Each admin or manager action through the API leaves exactly one audit entry, with the actor, their
// address and what changed; salespeople and managers cannot read the log; another tenant's admin sees none
// of it.
func TestEveryAdminActionLeavesOneAuditEntry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := servertest.Start(t)
	a, sales, token, _ := sharedMaterial(t, e)
	admin := a.Admin.Token
	// Two more salespeople (made by the platform's seeding, which the log records too): the actions below
	// are what is checked.
	leaver := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	other := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	since := timestamppb.Now()
	must := func(_ any, err error) {
		t.Helper()
		require.NoError(t, err)
	}

	created, err := employees(e, admin).CreateEmployee(ctx, connect.NewRequest(&salesappv1.CreateEmployeeRequest{
		Name: "Nia", Role: salesappv1.Role_ROLE_SALES, Phone: "13800000091"}))
	require.NoError(t, err)
	nia := created.Msg.Employee.Id
	must(employees(e, admin).UpdateEmployee(ctx, connect.NewRequest(&salesappv1.UpdateEmployeeRequest{EmployeeId: nia, Role: salesappv1.Role_ROLE_MANAGER.Enum()})))
	// A change that changes nothing records nothing.
	must(employees(e, admin).UpdateEmployee(ctx, connect.NewRequest(&salesappv1.UpdateEmployeeRequest{EmployeeId: nia, Name: ptr("Nia")})))
	must(authOf(e, admin).ResendInvitation(ctx, connect.NewRequest(&salesappv1.ResendInvitationRequest{EmployeeId: nia})))
	must(employees(e, admin).SetEmployeeStatus(ctx, connect.NewRequest(&salesappv1.SetEmployeeStatusRequest{EmployeeId: nia, Status: salesappv1.EmployeeStatus_EMPLOYEE_STATUS_DISABLED})))
	team, err := teams(e, admin).CreateTeam(ctx, connect.NewRequest(&salesappv1.CreateTeamRequest{Name: "North"}))
	require.NoError(t, err)
	must(teams(e, admin).RenameTeam(ctx, connect.NewRequest(&salesappv1.RenameTeamRequest{TeamId: team.Msg.Team.Id, Name: "North-East"})))
	must(teams(e, admin).DeleteTeam(ctx, connect.NewRequest(&salesappv1.DeleteTeamRequest{TeamId: team.Msg.Team.Id})))
	must(authOf(e, admin).ResetPassword(ctx, connect.NewRequest(&salesappv1.ResetPasswordRequest{EmployeeId: leaver.ID.String()})))

	// A session of another employee, ended by the admin.
	must(sessionsOf(e, admin).RevokeSession(ctx, connect.NewRequest(&salesappv1.RevokeSessionRequest{SessionId: other.SessionID.String()})))

	// Review: one approved (by publish), one rejected; an enterprise material deleted.
	c := clientsOf(e, admin)
	approved := createArticle(t, c, salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, "Approved")
	publish(t, c, approved.Id)
	rejected := createArticle(t, c, salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, "Rejected")
	must(c.materials.SubmitMaterial(ctx, connect.NewRequest(&salesappv1.SubmitMaterialRequest{MaterialId: rejected.Id})))
	must(c.materials.ReviewMaterial(ctx, connect.NewRequest(&salesappv1.ReviewMaterialRequest{MaterialId: rejected.Id, RejectReason: "off brand"})))
	must(c.materials.DeleteMaterial(ctx, connect.NewRequest(&salesappv1.DeleteMaterialRequest{MaterialId: approved.Id})))

	// A customer the salesperson's share brought in, assigned to another salesperson.
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "visitor-audit-1"))
	list, err := customers(e, admin).ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{}))
	require.NoError(t, err)
	require.Len(t, list.Msg.Customers, 1)
	must(customers(e, admin).AssignCustomer(ctx, connect.NewRequest(&salesappv1.AssignCustomerRequest{
		CustomerId: list.Msg.Customers[0].Id, OwnerId: other.ID.String()})))
	must(salesappv1connect.NewTenantServiceClient(e.HTTP, e.URL, servertest.As(admin)).UpdateTenantSettings(ctx,
		connect.NewRequest(&salesappv1.UpdateTenantSettingsRequest{CustomerOwnerRule: ptr("pool")})))

	var all []*salesappv1.AuditEntry
	req := &salesappv1.ListAuditEntriesRequest{PageSize: 5, Since: since}
	for {
		res, err := auditOf(e, admin).ListAuditEntries(ctx, connect.NewRequest(req))
		require.NoError(t, err)
		all = append(all, res.Msg.Entries...)
		if res.Msg.NextPageToken == "" {
			break
		}
		req.PageToken = res.Msg.NextPageToken
	}
	var actions []string
	for i := len(all) - 1; i >= 0; i-- { // oldest first
		actions = append(actions, all[i].Action)
	}
	require.Equal(t, []string{
		"employee.create", "employee.update", "invitation.resend", "employee.disable",
		"team.create", "team.rename", "team.delete", "password.reset", "session.revoke",
		"material.approve", "material.reject", "material.delete", "customer.assign", "settings.update",
	}, actions)
	for _, en := range all {
		require.Equal(t, a.Admin.ID.String(), en.ActorId, en.Action)
		require.Equal(t, "admin", en.ActorRole)
		require.Equal(t, "127.0.0.1", en.Address)
	}
	byAction := map[string]*salesappv1.AuditEntry{}
	for _, en := range all {
		byAction[en.Action] = en
	}
	require.JSONEq(t, `{"role":"sales"}`, byAction["employee.update"].BeforeJson)
	require.JSONEq(t, `{"role":"manager"}`, byAction["employee.update"].AfterJson)
	require.Contains(t, byAction["employee.create"].AfterJson, `"phone": "138****0091"`, "phones masked")
	require.JSONEq(t, `{"customer_owner_rule":"pool"}`, byAction["settings.update"].AfterJson)
	require.JSONEq(t, `{"status":"rejected","reject_reason":"off brand"}`, byAction["material.reject"].AfterJson)
	require.Equal(t, leaver.ID.String(), byAction["password.reset"].TargetId)

	// Before: the seeding's, without an actor (the platform), and the admin's publishing of the shared material.
	seeded, err := auditOf(e, admin).ListAuditEntries(ctx, connect.NewRequest(&salesappv1.ListAuditEntriesRequest{Until: since}))
	require.NoError(t, err)
	require.NotEmpty(t, seeded.Msg.Entries)
	for _, en := range seeded.Msg.Entries {
		if en.Action == "employee.create" {
			require.Empty(t, en.ActorId)
		}
	}

	// Filtered by target: the new employee's four.
	res, err := auditOf(e, admin).ListAuditEntries(ctx, connect.NewRequest(&salesappv1.ListAuditEntriesRequest{TargetId: nia}))
	require.NoError(t, err)
	require.Len(t, res.Msg.Entries, 4)

	// Nobody but admins reads it; another tenant's admin sees nothing of this one.
	_, err = auditOf(e, sales.Token).ListAuditEntries(ctx, connect.NewRequest(&salesappv1.ListAuditEntriesRequest{}))
	requireCode(t, err, connect.CodePermissionDenied, "admins")
	b := e.NewTenant(t, "B", 0)
	res, err = auditOf(e, b.Admin.Token).ListAuditEntries(ctx, connect.NewRequest(&salesappv1.ListAuditEntriesRequest{TargetId: nia}))
	require.NoError(t, err)
	require.Empty(t, res.Msg.Entries)
}
