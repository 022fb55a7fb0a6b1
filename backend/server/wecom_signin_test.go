package server_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server/servertest"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
	"github.com/salesapp/scrm/backend/wecom/wecomtest"
)

// An employee linked to a WeCom member signs in with a WeCom code: the same session as a password's, a
// sign-in record; a used code, a member linked to nobody, a person outside the corp, a disabled employee,
// a tenant without WeCom and another tenant's employee are each refused with what to do.
func TestSignInWithWeComEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := wecomtest.New(t)
	e := servertest.Start(t, func(c *platform.Config) { c.WeComAPIURL = fake.URL })
	tn := e.NewTenant(t, "Acme", 0)
	_, err := wecomOf(e, tn.Admin.Token).SetWeComConfig(ctx, connect.NewRequest(&salesappv1.SetWeComConfigRequest{
		CorpId: fake.CorpID, AgentId: int32(fake.AgentID), AgentSecret: wecomtest.AppSecret}))
	require.NoError(t, err)
	sales := e.NewPerson(t, tn.ID, authn.RoleSales, uuid.Nil)
	link := func(tenantID, employeeID uuid.UUID, userID string) {
		t.Helper()
		_, err := e.DB.Super.Exec(ctx, "UPDATE employees SET wecom_userid = $3 WHERE tenant_id = $1 AND id = $2", tenantID, employeeID, userID)
		require.NoError(t, err)
	}
	link(tn.ID, sales.ID, "zhangsan")
	signIn := func(tenantID uuid.UUID, code string) (*salesappv1.SignInWithWeComResponse, error) {
		res, err := authOf(e, "").SignInWithWeCom(ctx, connect.NewRequest(&salesappv1.SignInWithWeComRequest{
			TenantId: tenantID.String(), Code: code, DeviceId: "wecom-phone", DeviceName: "WeCom"}))
		if err != nil {
			return nil, err
		}
		return res.Msg, nil
	}

	fake.AddSignInCode("CODE1", wecomapi.Identity{UserID: "zhangsan"})
	res, err := signIn(tn.ID, "CODE1")
	require.NoError(t, err)
	require.Equal(t, sales.ID.String(), res.SignedIn.EmployeeId)
	require.Equal(t, tn.ID.String(), res.SignedIn.TenantId)
	me, err := getMe(e, res.SignedIn.Tokens.AccessToken)
	require.NoError(t, err)
	require.Equal(t, sales.ID.String(), me.Employee.Id)
	_, err = authOf(e, "").RefreshToken(ctx, connect.NewRequest(&salesappv1.RefreshTokenRequest{
		RefreshToken: res.SignedIn.Tokens.RefreshToken, DeviceId: "wecom-phone"}))
	require.NoError(t, err)
	list, err := authOf(e, tn.Admin.Token).ListSignIns(ctx, connect.NewRequest(&salesappv1.ListSignInsRequest{EmployeeId: sales.ID.String()}))
	require.NoError(t, err)
	require.Len(t, list.Msg.Records, 1)
	require.Equal(t, salesappv1.SignInResult_SIGN_IN_RESULT_SUCCESS, list.Msg.Records[0].Result)
	require.Equal(t, "wecom-phone", list.Msg.Records[0].DeviceId)

	// The code works once.
	_, err = signIn(tn.ID, "CODE1")
	requireCode(t, err, connect.CodeUnauthenticated, "sign in with WeCom again")

	// A member linked to no employee.
	fake.AddSignInCode("CODE2", wecomapi.Identity{UserID: "lisi"})
	_, err = signIn(tn.ID, "CODE2")
	requireCode(t, err, connect.CodeNotFound, "no employee of this enterprise is linked to your WeCom account")

	// Someone outside the corp.
	fake.AddSignInCode("CODE3", wecomapi.Identity{OpenID: "oOutsider"})
	_, err = signIn(tn.ID, "CODE3")
	requireCode(t, err, connect.CodePermissionDenied, "outside this enterprise")

	// A disabled employee.
	_, err = e.DB.Super.Exec(ctx, "UPDATE employees SET status = 'disabled' WHERE tenant_id = $1 AND id = $2", tn.ID, sales.ID)
	require.NoError(t, err)
	fake.AddSignInCode("CODE4", wecomapi.Identity{UserID: "zhangsan"})
	_, err = signIn(tn.ID, "CODE4")
	requireCode(t, err, connect.CodePermissionDenied, "disabled")
	list, err = authOf(e, tn.Admin.Token).ListSignIns(ctx, connect.NewRequest(&salesappv1.ListSignInsRequest{EmployeeId: sales.ID.String()}))
	require.NoError(t, err)
	require.Len(t, list.Msg.Records, 2)
	require.Equal(t, salesappv1.SignInResult_SIGN_IN_RESULT_DISABLED, list.Msg.Records[0].Result)

	// Another tenant with an employee of the same userid but no WeCom: its code is never taken as Acme's,
	// and Acme's codes never sign in to it.
	other := e.NewTenant(t, "Other", 0)
	link(other.ID, other.Admin.ID, "zhangsan")
	fake.AddSignInCode("CODE5", wecomapi.Identity{UserID: "zhangsan"})
	_, err = signIn(other.ID, "CODE5")
	requireCode(t, err, connect.CodeFailedPrecondition, "not set up")
	_, err = signIn(uuid.New(), "CODE5")
	requireCode(t, err, connect.CodeFailedPrecondition, "not set up")

	// Refused codes count against the address as wrong passwords do: after 20, the next must wait, even
	// with a good code.
	for i := 0; ; i++ {
		_, err = signIn(tn.ID, "WRONG")
		if connect.CodeOf(err) == connect.CodeResourceExhausted {
			require.GreaterOrEqual(t, i, 15, "throttled too soon")
			break
		}
		requireCode(t, err, connect.CodeUnauthenticated, "")
		require.Less(t, i, 30, "never throttled")
	}
	fake.AddSignInCode("CODE6", wecomapi.Identity{UserID: "zhangsan"})
	_, err = signIn(tn.ID, "CODE6")
	requireCode(t, err, connect.CodeResourceExhausted, "try again in")

	// A plan without the WeCom bridge refuses WeCom sign-in before WeCom is asked.
	_, err = e.DB.Super.Exec(ctx, "UPDATE tenants SET plan = 'standard' WHERE id = $1", tn.ID)
	require.NoError(t, err)
	fake.AddSignInCode("CODE7", wecomapi.Identity{UserID: "zhangsan"})
	_, err = signIn(tn.ID, "CODE7")
	requireCode(t, err, connect.CodePermissionDenied, "does not include the WeCom bridge")

	// Shapes the proto refuses.
	_, err = authOf(e, "").SignInWithWeCom(ctx, connect.NewRequest(&salesappv1.SignInWithWeComRequest{
		TenantId: "acme", Code: "X", DeviceId: "d"}))
	requireCode(t, err, connect.CodeInvalidArgument, "tenant_id")
	_, err = authOf(e, "").SignInWithWeCom(ctx, connect.NewRequest(&salesappv1.SignInWithWeComRequest{
		TenantId: tn.ID.String(), DeviceId: "d"}))
	requireCode(t, err, connect.CodeInvalidArgument, "code")
}
