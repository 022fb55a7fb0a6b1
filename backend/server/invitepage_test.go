package server_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/server/servertest"
)

// page GETs or POSTs the invitation page and returns the status and the body.
func invitePage(t *testing.T, e *servertest.Env, code string, form url.Values) (int, string, http.Header) {
	t.Helper()
	var resp *http.Response
	var err error
	if form == nil {
		resp, err = e.HTTP1.Get(e.URL + "/invite/" + code)
	} else {
		resp, err = e.HTTP1.PostForm(e.URL+"/invite/"+code, form)
	}
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b), resp.Header
}

// An invited employee without the app at hand opens the link in a browser: the page says whose
// invitation it is, sets the password (checking it as the RPC does), signs nothing in, and the app's
// sign-in then works with it. A used, replaced or unknown link gets a page saying so.
func TestTheInvitationLinkOpensAPageThatSetsThePassword(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := servertest.Start(t)
	a := e.NewTenant(t, "星河教育", 0)
	created, err := employees(e, a.Admin.Token).CreateEmployee(ctx, connect.NewRequest(&salesappv1.CreateEmployeeRequest{
		Name: "李娜", Role: salesappv1.Role_ROLE_SALES, Phone: "13800000077"}))
	require.NoError(t, err)
	code := created.Msg.Invitation.Code

	status, body, hdr := invitePage(t, e, code, nil)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "星河教育")
	require.Contains(t, body, "李娜")
	require.Contains(t, body, "138****0077", "the login, masked")
	require.NotContains(t, body, "13800000077")
	require.Equal(t, "no-store", hdr.Get("Cache-Control"))
	require.Equal(t, "no-referrer", hdr.Get("Referrer-Policy"), "the code in the URL must not leak to other sites")

	status, body, _ = invitePage(t, e, code, url.Values{"password": {"correct horse"}, "confirm": {"correct hors"}})
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, body, "不一致")
	status, body, _ = invitePage(t, e, code, url.Values{"password": {"short"}, "confirm": {"short"}})
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, body, "8 到 128")
	status, body, _ = invitePage(t, e, code, url.Values{"password": {"13800000077"}, "confirm": {"13800000077"}})
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, body, "不能与您的手机号")

	status, body, _ = invitePage(t, e, code, url.Values{"password": {"correct horse"}, "confirm": {"correct horse"}})
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "密码已设置")
	var sessions int
	require.NoError(t, e.DB.Super.QueryRow(ctx, "SELECT count(*) FROM sessions WHERE employee_id = $1", created.Msg.Employee.Id).Scan(&sessions))
	require.Zero(t, sessions, "the page signs nothing in")

	res, err := signIn(e, "13800000077", "correct horse", "phone-1")
	require.NoError(t, err)
	require.NotNil(t, res.GetSignedIn())

	status, body, _ = invitePage(t, e, code, nil)
	require.Equal(t, http.StatusGone, status)
	require.Contains(t, body, "已经用过")
	status, body, _ = invitePage(t, e, code, url.Values{"password": {"another horse"}, "confirm": {"another horse"}})
	require.Equal(t, http.StatusGone, status, "a used invitation sets nothing")
	require.Contains(t, body, "已经用过")
	_, err = signIn(e, "13800000077", "another horse", "phone-2")
	require.Error(t, err)

	status, body, _ = invitePage(t, e, "inv1_not-a-code", nil)
	require.Equal(t, http.StatusNotFound, status)
	require.Contains(t, body, "无效")

	// A resend replaces the link.
	other, err := employees(e, a.Admin.Token).CreateEmployee(ctx, connect.NewRequest(&salesappv1.CreateEmployeeRequest{
		Name: "Ola", Role: salesappv1.Role_ROLE_SALES, Email: "ola@a.example"}))
	require.NoError(t, err)
	_, err = authOf(e, a.Admin.Token).ResendInvitation(ctx, connect.NewRequest(&salesappv1.ResendInvitationRequest{EmployeeId: other.Msg.Employee.Id}))
	require.NoError(t, err)
	status, body, _ = invitePage(t, e, other.Msg.Invitation.Code, nil)
	require.Equal(t, http.StatusGone, status)
	require.Contains(t, body, "取代")
	require.False(t, strings.Contains(body, "<form"), "no form on a dead invitation")
}

func TestTheInvitationPageIsRateLimitedPerAddress(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t, func(c *platform.Config) { c.PublicRate, c.PublicBurst = 0.01, 3 })
	var last int
	for range 5 {
		last, _, _ = invitePage(t, e, "inv1_guess", nil)
	}
	require.Equal(t, http.StatusTooManyRequests, last)
}
