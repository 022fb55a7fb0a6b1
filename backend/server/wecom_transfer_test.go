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

// Disabling a WeCom member's employee with a successor (the tenant's path into a handover) asks WeCom to
// move their external contacts to the successor; the admin follows it through WeComTransferService.
func TestDisablingWithASuccessorTransfersTheWeComContacts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := servertest.Start(t)
	e.WeCom.AddDepartment(wecomapi.Department{ID: 1, Name: "HQ"})
	e.WeCom.AddUser(wecomapi.User{UserID: "zhangsan", Name: "Zhang San", Departments: []int64{1}})
	e.WeCom.AddUser(wecomapi.User{UserID: "lisi", Name: "Li Si", Departments: []int64{1}})
	tn := e.NewTenant(t, "Acme", 0)
	configureWeCom(t, e, tn, e.WeCom.CorpID)
	// The directory sync brings both in.
	byUserID := func(userID string) (id uuid.UUID) {
		require.Eventually(t, func() bool {
			return e.DB.Super.QueryRow(ctx, "SELECT id FROM employees WHERE tenant_id = $1 AND wecom_userid = $2", tn.ID, userID).Scan(&id) == nil
		}, 30*time.Second, 20*time.Millisecond)
		return id
	}
	from, to := byUserID("zhangsan"), byUserID("lisi")
	customerID := uuid.Must(uuid.NewV7())
	_, err := e.DB.Super.Exec(ctx, "INSERT INTO customers (id, tenant_id, owner_id) VALUES ($1, $2, $3)", customerID, tn.ID, from)
	require.NoError(t, err)
	_, err = e.DB.Super.Exec(ctx, "INSERT INTO customer_identities (tenant_id, kind, value, customer_id) VALUES ($1, 'external_userid', 'wmS1', $2)",
		tn.ID, customerID)
	require.NoError(t, err)
	e.WeCom.AddContact(wecomapi.ExternalContact{ExternalUserID: "wmS1", Name: "Customer", Type: 1}, wecomapi.FollowUser{UserID: "zhangsan"})

	_, err = salesappv1connect.NewEmployeeServiceClient(e.HTTP, e.URL, servertest.As(tn.Admin.Token)).SetEmployeeStatus(ctx,
		connect.NewRequest(&salesappv1.SetEmployeeStatusRequest{EmployeeId: from.String(),
			Status: salesappv1.EmployeeStatus_EMPLOYEE_STATUS_DISABLED, SuccessorId: to.String()}))
	require.NoError(t, err)
	hs, err := salesappv1connect.NewHandoverServiceClient(e.HTTP, e.URL, servertest.As(tn.Admin.Token)).
		ListHandovers(ctx, connect.NewRequest(&salesappv1.ListHandoversRequest{}))
	require.NoError(t, err)
	require.Len(t, hs.Msg.Handovers, 1)

	transfers := salesappv1connect.NewWeComTransferServiceClient(e.HTTP, e.URL, servertest.As(tn.Admin.Token))
	var got *salesappv1.ListWeComTransfersResponse
	require.Eventually(t, func() bool {
		res, err := transfers.ListWeComTransfers(ctx, connect.NewRequest(&salesappv1.ListWeComTransfersRequest{HandoverId: hs.Msg.Handovers[0].Id}))
		require.NoError(t, err)
		got = res.Msg
		return len(got.Transfers) == 1 && got.Transfers[0].Status == "waiting"
	}, 30*time.Second, 20*time.Millisecond)
	tr := got.Transfers[0]
	require.Equal(t, customerID.String(), tr.CustomerId)
	require.Equal(t, "zhangsan", tr.HandoverUserid)
	require.Equal(t, "lisi", tr.TakeoverUserid)
	require.False(t, tr.Resigned, "still a member in WeCom: the on-the-job transfer")
	require.Equal(t, map[string]int32{"waiting": 1}, got.Counts)

	// A salesperson may not look.
	rep := salesappv1connect.NewWeComTransferServiceClient(e.HTTP, e.URL, servertest.As(e.NewPerson(t, tn.ID, authn.RoleSales, uuid.Nil).Token))
	_, err = rep.ListWeComTransfers(ctx, connect.NewRequest(&salesappv1.ListWeComTransfersRequest{HandoverId: hs.Msg.Handovers[0].Id}))
	require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err))
}
