package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server/servertest"
	"github.com/salesapp/scrm/push/hub"
)

func sessionsOf(e *servertest.Env, token string) salesappv1connect.SessionServiceClient {
	return salesappv1connect.NewSessionServiceClient(e.HTTP, e.URL, servertest.As(token))
}

func authOf(e *servertest.Env, token string) salesappv1connect.AuthServiceClient {
	return salesappv1connect.NewAuthServiceClient(e.HTTP, e.URL, servertest.As(token))
}

// closed reads a WebSocket until the server closes it and returns the close frame's code and reason. The
// deadline is generous: it bounds a broken test, it does not measure the server.
func closed(t *testing.T, c *websocket.Conn) (int, string) {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(30*time.Second)))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		require.ErrorAs(t, err, &ce, "the server must close the socket with a close frame")
		return ce.Code, ce.Text
	}
}

// openSocket dials /ws as p and waits for the answer to its resume (a reset: it has seen nothing yet).
func openSocket(t *testing.T, e *servertest.Env, p servertest.Person) *websocket.Conn {
	t.Helper()
	c := dial(t, e, p.Token, "", 0)
	require.Equal(t, "reset", next(t, c).Type)
	return c
}

// Whatever ends a session closes its open WebSocket, with a code the app acts on: signing out (4002),
// revoking it from another device (4002), disabling the employee (4003, with the reason), the enterprise
// expiring (4003). A colleague's socket stays open and keeps receiving alerts until then.
func TestEndingASessionClosesItsWebSocket(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a, sales, shareToken, _ := sharedMaterial(t, e)
	colleague := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	salesSocket := openSocket(t, e, sales)

	ws := openSocket(t, e, colleague)
	_, err := authOf(e, colleague.Token).Logout(ctx, connect.NewRequest(&salesappv1.LogoutRequest{}))
	require.NoError(t, err)
	code, reason := closed(t, ws)
	require.Equal(t, hub.CloseSessionEnded, code)
	require.Contains(t, reason, "sign in again")

	tablet, phone := e.SignIn(t, colleague, "tablet"), e.SignIn(t, colleague, "phone")
	ws = openSocket(t, e, tablet)
	_, err = sessionsOf(e, phone.Token).RevokeSession(ctx, connect.NewRequest(&salesappv1.RevokeSessionRequest{SessionId: tablet.SessionID.String()}))
	require.NoError(t, err)
	code, _ = closed(t, ws)
	require.Equal(t, hub.CloseSessionEnded, code)

	ws = openSocket(t, e, phone)
	_, err = employees(e, a.Admin.Token).SetEmployeeStatus(ctx, connect.NewRequest(&salesappv1.SetEmployeeStatusRequest{
		EmployeeId: colleague.ID.String(), Status: salesappv1.EmployeeStatus_EMPLOYEE_STATUS_DISABLED}))
	require.NoError(t, err)
	code, reason = closed(t, ws)
	require.Equal(t, hub.CloseRefused, code)
	require.Contains(t, reason, "disabled")

	// Meanwhile the salesperson's socket was left alone: it still streams.
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_CALL_CLICK, shareToken, "visitor-ws-alive"))
	f := next(t, salesSocket)
	require.Equal(t, "alert", f.Type)
	require.Equal(t, "ALERT_KIND_CALL_CLICK", f.Alert.Kind)

	_, err = e.DB.Super.Exec(ctx, "UPDATE tenants SET expires_at = now() - interval '1 day' WHERE id = $1", a.ID)
	require.NoError(t, err)
	code, reason = closed(t, salesSocket)
	require.Equal(t, hub.CloseRefused, code)
	require.Contains(t, reason, "expired")
}

// A session closes its sockets on every node, not only the one that ended it.
func TestSignOutClosesTheWebSocketOnAnotherNode(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	other := servertest.StartOn(t, e.DB, func(c *platform.Config) { c.TokenKeys = e.Config.TokenKeys })
	a := e.NewTenant(t, "A", 0)
	sales := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	ws := openSocket(t, other, sales)
	_, err := authOf(e, sales.Token).Logout(context.Background(), connect.NewRequest(&salesappv1.LogoutRequest{}))
	require.NoError(t, err)
	code, _ := closed(t, ws)
	require.Equal(t, hub.CloseSessionEnded, code)
}

// After signing out, a phone gets no more pushes, whatever device id it registered under; the person's
// other signed-in phone still gets them, and the ended session cannot register again.
func TestAfterSignOutAPhoneGetsNoMorePushes(t *testing.T) {
	t.Parallel()
	rec := &pushes{}
	e := servertest.StartWithSender(t, rec)
	ctx := context.Background()
	_, sales, shareToken, _ := sharedMaterial(t, e)
	tablet := e.SignIn(t, sales, "tablet")
	_, err := alertsOf(e, sales.Token).RegisterDevice(ctx, connect.NewRequest(&salesappv1.RegisterDeviceRequest{
		DeviceId: "not-the-sessions-device-id", Platform: "ios", PushToken: "phone-token"}))
	require.NoError(t, err)
	_, err = alertsOf(e, tablet.Token).RegisterDevice(ctx, connect.NewRequest(&salesappv1.RegisterDeviceRequest{
		DeviceId: tablet.DeviceID, Platform: "android", PushToken: "tablet-token"}))
	require.NoError(t, err)
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_CALL_CLICK, shareToken, "visitor-signout"))
	require.Eventually(t, func() bool { return rec.countTo("phone-token") == 1 && rec.countTo("tablet-token") == 1 },
		20*time.Second, 20*time.Millisecond)

	_, err = authOf(e, sales.Token).Logout(ctx, connect.NewRequest(&salesappv1.LogoutRequest{}))
	require.NoError(t, err)
	_, err = alertsOf(e, sales.Token).RegisterDevice(ctx, connect.NewRequest(&salesappv1.RegisterDeviceRequest{
		DeviceId: "yet-another-id", Platform: "ios", PushToken: "phone-token"}))
	requireCode(t, err, connect.CodeUnauthenticated, "")

	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_WECHAT_CLICK, shareToken, "visitor-signout"))
	require.Eventually(t, func() bool { return rec.countTo("tablet-token") == 2 }, 20*time.Second, 20*time.Millisecond)
	waitForJobs(t, e)
	require.Equal(t, 1, rec.countTo("phone-token"), "nothing more reached the signed-out phone")
}

// An employee has at most 10 push registrations: the 11th disables the one registered longest ago.
func TestTheEleventhPushRegistrationDisablesTheOldest(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "A", 0)
	sales := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	for i := range 11 {
		p := sales
		if i > 0 {
			p = e.SignIn(t, sales, fmt.Sprint("phone-", i))
		}
		_, err := alertsOf(e, p.Token).RegisterDevice(ctx, connect.NewRequest(&salesappv1.RegisterDeviceRequest{
			DeviceId: p.DeviceID, Platform: "ios", PushToken: fmt.Sprint("token-", i)}))
		require.NoError(t, err)
	}
	rows, err := e.DB.Super.Query(ctx, "SELECT push_token, disabled_reason FROM devices WHERE employee_id = $1 AND disabled_at IS NOT NULL", sales.ID)
	require.NoError(t, err)
	var disabled []string
	for rows.Next() {
		var tok, reason string
		require.NoError(t, rows.Scan(&tok, &reason))
		disabled = append(disabled, tok+": "+reason)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"token-0: more than 10 registrations: the oldest was disabled"}, disabled)
}

// ListSessions shows the caller's devices as their apps described themselves (headers at refresh), and
// nobody else's; RevokeSession ends one of them; an admin sees and ends an employee's, a colleague cannot.
func TestListAndRevokeSessionsOverRPC(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "A", 0)
	sales := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	colleague := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	laptop := e.SignIn(t, sales, "laptop")

	req := connect.NewRequest(&salesappv1.RefreshTokenRequest{RefreshToken: sales.RefreshToken, DeviceId: sales.DeviceID})
	req.Header().Set("Salesapp-Device-Name", "Li Wei's iPhone")
	req.Header().Set("Salesapp-Platform", "iOS")
	req.Header().Set("Salesapp-App-Version", "2.3.1")
	resp, err := authOf(e, "").RefreshToken(ctx, req)
	require.NoError(t, err)
	sales.Token = resp.Msg.Tokens.AccessToken

	list, err := sessionsOf(e, sales.Token).ListSessions(ctx, connect.NewRequest(&salesappv1.ListSessionsRequest{}))
	require.NoError(t, err)
	require.Len(t, list.Msg.Sessions, 2)
	got := map[string]*salesappv1.DeviceSession{}
	for _, s := range list.Msg.Sessions {
		got[s.SessionId] = s
	}
	phone := got[sales.SessionID.String()]
	require.NotNil(t, phone)
	require.True(t, phone.Current)
	require.Equal(t, "Li Wei's iPhone", phone.DeviceName)
	require.Equal(t, "ios", phone.Platform)
	require.Equal(t, "2.3.1", phone.AppVersion)
	require.Equal(t, "127.0.0.1", phone.Address)
	require.Equal(t, sales.DeviceID, phone.DeviceId)
	require.True(t, phone.EndsAt.AsTime().After(phone.ExpiresAt.AsTime().Add(-time.Second)))
	require.False(t, got[laptop.SessionID.String()].Current)

	_, err = sessionsOf(e, colleague.Token).ListSessions(ctx, connect.NewRequest(&salesappv1.ListSessionsRequest{EmployeeId: sales.ID.String()}))
	requireCode(t, err, connect.CodePermissionDenied, "")
	_, err = sessionsOf(e, colleague.Token).RevokeSession(ctx, connect.NewRequest(&salesappv1.RevokeSessionRequest{SessionId: laptop.SessionID.String()}))
	requireCode(t, err, connect.CodeNotFound, "")
	require.NoError(t, ping(e, laptop.Token))

	_, err = sessionsOf(e, sales.Token).RevokeSession(ctx, connect.NewRequest(&salesappv1.RevokeSessionRequest{SessionId: laptop.SessionID.String()}))
	require.NoError(t, err)
	requireCode(t, ping(e, laptop.Token), connect.CodeUnauthenticated, "")

	seen, err := sessionsOf(e, a.Admin.Token).ListSessions(ctx, connect.NewRequest(&salesappv1.ListSessionsRequest{EmployeeId: sales.ID.String()}))
	require.NoError(t, err)
	require.Len(t, seen.Msg.Sessions, 1)
	require.False(t, seen.Msg.Sessions[0].Current)
	_, err = sessionsOf(e, a.Admin.Token).RevokeSession(ctx, connect.NewRequest(&salesappv1.RevokeSessionRequest{SessionId: sales.SessionID.String()}))
	require.NoError(t, err)
	requireCode(t, ping(e, sales.Token), connect.CodeUnauthenticated, "")

	_, err = sessionsOf(e, a.Admin.Token).RevokeSession(ctx, connect.NewRequest(&salesappv1.RevokeSessionRequest{SessionId: "x"}))
	requireCode(t, err, connect.CodeInvalidArgument, "session_id")
}
