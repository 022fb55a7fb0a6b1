package server_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/backend/server/servertest"
)

func signIn(e *servertest.Env, login, password, device string) (*salesappv1.SignInResponse, error) {
	res, err := authOf(e, "").SignIn(context.Background(), connect.NewRequest(&salesappv1.SignInRequest{
		Login: login, Password: password, DeviceId: device, DeviceName: "Test phone"}))
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

func getMe(e *servertest.Env, token string) (*salesappv1.GetMeResponse, error) {
	res, err := salesappv1connectMe(e, token).GetMe(context.Background(), connect.NewRequest(&salesappv1.GetMeRequest{}))
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

// Sign in with a phone number and password, call with the token, refresh it, call again.
func TestSignInRefreshAndCall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := servertest.Start(t)
	a := e.NewTenant(t, "Tenant A", 0)
	sales := e.NewPerson(t, a.ID, "sales", uuid.Nil)
	e.SetLogin(t, a.ID, sales.ID, "13800000001", "correct horse")

	res, err := signIn(e, "+86 138 0000 0001", "correct horse", "phone-1")
	require.NoError(t, err)
	in := res.GetSignedIn()
	require.NotNil(t, in)
	require.Equal(t, a.ID.String(), in.TenantId)
	require.Equal(t, sales.ID.String(), in.EmployeeId)
	me, err := getMe(e, in.Tokens.AccessToken)
	require.NoError(t, err)
	require.Equal(t, sales.ID.String(), me.Employee.Id)

	next, err := authOf(e, "").RefreshToken(ctx, connect.NewRequest(&salesappv1.RefreshTokenRequest{RefreshToken: in.Tokens.RefreshToken, DeviceId: "phone-1"}))
	require.NoError(t, err)
	_, err = getMe(e, next.Msg.Tokens.AccessToken)
	require.NoError(t, err)

	// Shapes the proto refuses before anything runs.
	_, err = signIn(e, "not a login", "x", "phone-1")
	requireCode(t, err, connect.CodeInvalidArgument, "login")
	_, err = signIn(e, "13800000001", "correct horse", "")
	requireCode(t, err, connect.CodeInvalidArgument, "device_id")

	// The admin sees the sign-in; the salesperson may not list them.
	list, err := authOf(e, a.Admin.Token).ListSignIns(ctx, connect.NewRequest(&salesappv1.ListSignInsRequest{EmployeeId: sales.ID.String()}))
	require.NoError(t, err)
	require.Len(t, list.Msg.Records, 1)
	r := list.Msg.Records[0]
	require.Equal(t, salesappv1.SignInResult_SIGN_IN_RESULT_SUCCESS, r.Result)
	require.Equal(t, "phone-1", r.DeviceId)
	require.Equal(t, "Test phone", r.DeviceName)
	require.NotEmpty(t, r.Address)
	_, err = authOf(e, in.Tokens.AccessToken).ListSignIns(ctx, connect.NewRequest(&salesappv1.ListSignInsRequest{}))
	requireCode(t, err, connect.CodePermissionDenied, "")
}

// Wrong passwords answer as an unknown login does; after five, the next must wait (RetryInfo and
// Retry-After say how long); a locked login refuses the right password too.
func TestWrongPasswordsThenLockThroughConnect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := servertest.Start(t)
	a := e.NewTenant(t, "Tenant A", 0)
	e.SetLogin(t, a.ID, a.Admin.ID, "13800000001", "correct horse")

	var messages []string
	for _, login := range []string{"13800000001", "13899999999"} {
		for range 5 {
			_, err := signIn(e, login, "wrong horse", "phone-1")
			requireCode(t, err, connect.CodeUnauthenticated, "")
			messages = append(messages, err.Error())
		}
		_, err := signIn(e, login, "wrong horse", "phone-1")
		requireCode(t, err, connect.CodeResourceExhausted, "try again in 1s")
		var ce *connect.Error
		require.True(t, errors.As(err, &ce))
		require.Equal(t, "1", ce.Meta().Get("Retry-After"))
		require.Len(t, ce.Details(), 1)
		v, err := ce.Details()[0].Value()
		require.NoError(t, err)
		require.Equal(t, time.Second, v.(*errdetails.RetryInfo).GetRetryDelay().AsDuration())
	}
	for _, m := range messages {
		require.Equal(t, messages[0], m, "a known and an unknown login are answered alike")
	}

	// Twenty failures lock the login for 15 minutes (set here rather than waited for: the domain tests
	// walk the delays on a fake clock).
	_, err := e.DB.Super.Exec(ctx, "UPDATE signin_throttle SET failures = 20, last_failure_at = now() WHERE failures = 5")
	require.NoError(t, err)
	_, err = signIn(e, "13800000001", "correct horse", "phone-1")
	requireCode(t, err, connect.CodeResourceExhausted, "try again in 15m")
}

// The admin creates an employee and hands over the invitation; it sets the password once; an expired one
// is refused; a reset ends every session of the employee.
func TestInvitationAndResetThroughConnect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := servertest.Start(t)
	a := e.NewTenant(t, "Tenant A", 0)
	admin := employees(e, a.Admin.Token)

	created, err := admin.CreateEmployee(ctx, connect.NewRequest(&salesappv1.CreateEmployeeRequest{Name: "Nia", Role: salesappv1.Role_ROLE_SALES, Phone: "13800000001"}))
	require.NoError(t, err)
	inv := created.Msg.Invitation
	require.NotNil(t, inv)
	require.Equal(t, created.Msg.Employee.Id, inv.EmployeeId)
	require.Equal(t, "https://share.example.com/invite/"+inv.Code, inv.Url)

	accept := func(code, password, device string) (*salesappv1.SignedIn, error) {
		res, err := authOf(e, "").AcceptInvitation(ctx, connect.NewRequest(&salesappv1.AcceptInvitationRequest{Code: code, Password: password, DeviceId: device}))
		if err != nil {
			return nil, err
		}
		return res.Msg.SignedIn, nil
	}
	_, err = accept(inv.Code, "short", "phone-1")
	requireCode(t, err, connect.CodeInvalidArgument, "password")
	first, err := accept(inv.Code, "correct horse", "phone-1")
	require.NoError(t, err)
	_, err = accept(inv.Code, "correct horse", "phone-1")
	requireCode(t, err, connect.CodeFailedPrecondition, "already been used")

	res, err := signIn(e, "13800000001", "correct horse", "phone-2")
	require.NoError(t, err)
	second := res.GetSignedIn()

	// An invitation past its 7 days is refused.
	late, err := admin.CreateEmployee(ctx, connect.NewRequest(&salesappv1.CreateEmployeeRequest{Name: "Ola", Role: salesappv1.Role_ROLE_SALES, Email: "ola@a.example"}))
	require.NoError(t, err)
	_, err = e.DB.Super.Exec(ctx, "UPDATE invitations SET expires_at = now() - interval '1 second' WHERE employee_id = $1", late.Msg.Employee.Id)
	require.NoError(t, err)
	_, err = accept(late.Msg.Invitation.Code, "correct horse", "phone-3")
	requireCode(t, err, connect.CodeFailedPrecondition, "expired")

	// The reset: both devices are signed out at once, the old password is gone, the new invitation works.
	reset, err := authOf(e, a.Admin.Token).ResetPassword(ctx, connect.NewRequest(&salesappv1.ResetPasswordRequest{EmployeeId: inv.EmployeeId}))
	require.NoError(t, err)
	for _, in := range []*salesappv1.SignedIn{first, second} {
		_, err := getMe(e, in.Tokens.AccessToken)
		requireCode(t, err, connect.CodeUnauthenticated, "")
	}
	_, err = signIn(e, "13800000001", "correct horse", "phone-1")
	requireCode(t, err, connect.CodeUnauthenticated, "")
	again, err := accept(reset.Msg.Invitation.Code, "battery staple", "phone-1")
	require.NoError(t, err)
	_, err = getMe(e, again.Tokens.AccessToken)
	require.NoError(t, err)

	// Changing one's password ends the other device's session and hands this one a new pair.
	res, err = signIn(e, "13800000001", "battery staple", "phone-2")
	require.NoError(t, err)
	other := res.GetSignedIn()
	changed, err := authOf(e, again.Tokens.AccessToken).ChangePassword(ctx, connect.NewRequest(&salesappv1.ChangePasswordRequest{OldPassword: "battery staple", NewPassword: "horse battery"}))
	require.NoError(t, err)
	_, err = getMe(e, changed.Msg.Tokens.AccessToken)
	require.NoError(t, err)
	_, err = getMe(e, other.Tokens.AccessToken)
	requireCode(t, err, connect.CodeUnauthenticated, "")
}

// One person in two tenants picks one after a single password.
func TestTenantPickerThroughConnect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := servertest.Start(t)
	a, b := e.NewTenant(t, "Tenant A", 0), e.NewTenant(t, "Tenant B", 0)
	inA := e.NewPerson(t, a.ID, "sales", uuid.Nil)
	inB := e.NewPerson(t, b.ID, "manager", uuid.Nil)
	e.SetLogin(t, a.ID, inA.ID, "13800000001", "correct horse")
	e.SetLogin(t, b.ID, inB.ID, "+8613800000001", "correct horse")

	res, err := signIn(e, "13800000001", "correct horse", "phone-1")
	require.NoError(t, err)
	choice := res.GetChooseTenant()
	require.NotNil(t, choice)
	var names []string
	for _, o := range choice.Tenants {
		names = append(names, o.Name)
	}
	require.ElementsMatch(t, []string{"Tenant A", "Tenant B"}, names)

	picked, err := authOf(e, "").SelectTenant(ctx, connect.NewRequest(&salesappv1.SelectTenantRequest{Ticket: choice.Ticket, TenantId: b.ID.String(), DeviceId: "phone-1"}))
	require.NoError(t, err)
	me, err := getMe(e, picked.Msg.SignedIn.Tokens.AccessToken)
	require.NoError(t, err)
	require.Equal(t, "Tenant B", me.Tenant.Name)
	require.Equal(t, inB.ID.String(), me.Employee.Id)

	_, err = authOf(e, "").SelectTenant(ctx, connect.NewRequest(&salesappv1.SelectTenantRequest{Ticket: choice.Ticket, TenantId: a.ID.String(), DeviceId: "phone-1"}))
	requireCode(t, err, connect.CodeUnauthenticated, "sign in again")
	require.False(t, strings.Contains(choice.Ticket, b.ID.String()), "the ticket is opaque")
}
