package server_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server/servertest"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
)

// Connecting WeCom brings the directory's people in through salesd, then the customers they already have
// on WeCom: the admin reads how the sync and the import went and can ask for another; a salesperson can do
// neither.
func TestWeComDirectorySyncThroughTheAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := servertest.Start(t)
	e.WeCom.AddDepartment(wecomapi.Department{ID: 1, Name: "HQ"})
	e.WeCom.AddDepartment(wecomapi.Department{ID: 2, Name: "Field sales", ParentID: 1, Leaders: []string{"lead"}})
	e.WeCom.AddUser(wecomapi.User{UserID: "lead", Name: "Team lead", Departments: []int64{2}})
	e.WeCom.AddUser(wecomapi.User{UserID: "rep", Name: "Sales rep", Departments: []int64{2}})
	e.WeCom.AddContact(wecomapi.ExternalContact{ExternalUserID: "wmOld", Name: "Old customer"}, wecomapi.FollowUser{UserID: "rep"})
	tn := e.NewTenant(t, "Acme", 0)
	sales := e.NewPerson(t, tn.ID, authn.RoleSales, uuid.Nil)
	configureWeCom(t, e, tn, e.WeCom.CorpID)

	admin := salesappv1connect.NewWeComDirectoryServiceClient(e.HTTP, e.URL, servertest.As(tn.Admin.Token))
	var last *salesappv1.WeComDirectorySync
	require.Eventually(t, func() bool {
		res, err := admin.GetWeComDirectoryStatus(ctx, connect.NewRequest(&salesappv1.GetWeComDirectoryStatusRequest{}))
		require.NoError(t, err)
		last = res.Msg.LastSync
		return last != nil && last.FinishedAt != nil
	}, 30*time.Second, 20*time.Millisecond)
	require.Empty(t, last.Error)
	require.EqualValues(t, 2, last.EmployeesCreated)
	require.EqualValues(t, 2, last.TeamsCreated)

	emps, err := salesappv1connect.NewEmployeeServiceClient(e.HTTP, e.URL, servertest.As(tn.Admin.Token)).
		ListEmployees(ctx, connect.NewRequest(&salesappv1.ListEmployeesRequest{}))
	require.NoError(t, err)
	roles := map[string]string{}
	for _, x := range emps.Msg.Employees {
		roles[x.Name] = x.Role.String()
	}
	require.Contains(t, roles["Team lead"], "MANAGER")
	require.Contains(t, roles["Sales rep"], "SALES")

	// The first sync queued the import of existing contacts.
	imports := salesappv1connect.NewWeComContactServiceClient(e.HTTP, e.URL, servertest.As(tn.Admin.Token))
	var imp *salesappv1.WeComContactImport
	require.Eventually(t, func() bool {
		res, err := imports.GetWeComContactImport(ctx, connect.NewRequest(&salesappv1.GetWeComContactImportRequest{}))
		require.NoError(t, err)
		imp = res.Msg.LastImport
		return imp != nil && imp.FinishedAt != nil
	}, 30*time.Second, 20*time.Millisecond)
	require.Empty(t, imp.Error)
	require.EqualValues(t, 1, imp.Contacts)
	require.EqualValues(t, 1, imp.Created)
	_, err = salesappv1connect.NewWeComContactServiceClient(e.HTTP, e.URL, servertest.As(sales.Token)).
		ImportWeComContacts(ctx, connect.NewRequest(&salesappv1.ImportWeComContactsRequest{}))
	require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err))

	_, err = admin.SyncWeComDirectory(ctx, connect.NewRequest(&salesappv1.SyncWeComDirectoryRequest{}))
	require.NoError(t, err)
	rep := salesappv1connect.NewWeComDirectoryServiceClient(e.HTTP, e.URL, servertest.As(sales.Token))
	_, err = rep.SyncWeComDirectory(ctx, connect.NewRequest(&salesappv1.SyncWeComDirectoryRequest{}))
	require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err))
	_, err = rep.GetWeComDirectoryStatus(ctx, connect.NewRequest(&salesappv1.GetWeComDirectoryStatusRequest{}))
	require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err))
}
