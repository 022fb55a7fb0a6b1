package server_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/server/servertest"
)

// preflight sends the browser's CORS preflight for a POST with Connect's headers and returns the answer.
func preflight(t *testing.T, e *servertest.Env, path, origin string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodOptions, e.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	// As browsers send it: lowercase, sorted.
	req.Header.Set("Access-Control-Request-Headers", "connect-protocol-version,content-type")
	res, err := e.HTTP1.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res
}

func TestCORSForTheServersAndEachTenantsPageOrigins(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t, func(c *platform.Config) { c.BeaconOrigins = []string{"https://h5.server.example"} })
	ctx := context.Background()
	a := e.NewTenant(t, "A", 0)
	upd, err := salesappv1connect.NewTenantServiceClient(e.HTTP, e.URL, servertest.As(a.Admin.Token)).UpdateTenantSettings(ctx,
		connect.NewRequest(&salesappv1.UpdateTenantSettingsRequest{PageOrigins: &salesappv1.PageOrigins{Origins: []string{"https://Pages.Tenant-A.example:443"}}}))
	require.NoError(t, err)
	require.Equal(t, []string{"https://pages.tenant-a.example"}, upd.Msg.Tenant.PageOrigins)

	paths := []string{"/t", salesappv1connect.PublicServiceOpenShareProcedure, salesappv1connect.PublicServiceForwardShareProcedure,
		salesappv1connect.TrackingServiceTrackProcedure}
	for _, path := range paths {
		for _, origin := range []string{"https://h5.server.example", "https://pages.tenant-a.example"} {
			res := preflight(t, e, path, origin)
			require.Equal(t, http.StatusNoContent, res.StatusCode, "%s from %s", path, origin)
			require.Equal(t, origin, res.Header.Get("Access-Control-Allow-Origin"), "%s from %s", path, origin)
			require.Contains(t, res.Header.Get("Access-Control-Allow-Methods"), "POST")
			require.Contains(t, res.Header.Get("Access-Control-Allow-Headers"), "connect-protocol-version")
		}
		res := preflight(t, e, path, "https://evil.example")
		require.Empty(t, res.Header.Get("Access-Control-Allow-Origin"), path)
	}
	// The staff's procedures are no page's business.
	res := preflight(t, e, salesappv1connect.AuthServiceSignInProcedure, "https://pages.tenant-a.example")
	require.Empty(t, res.Header.Get("Access-Control-Allow-Origin"))

	// An actual call from an allowed page may read the answer (and Connect's headers).
	_, _, token, _ := sharedMaterial(t, e)
	req, err := http.NewRequest(http.MethodGet, e.URL+salesappv1connect.PublicServiceOpenShareProcedure+
		"?connect=v1&encoding=json&message="+url.QueryEscape(`{"token":"`+token+`"}`), nil)
	require.NoError(t, err)
	req.Header.Set("Origin", "https://pages.tenant-a.example")
	res, err = e.HTTP1.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "https://pages.tenant-a.example", res.Header.Get("Access-Control-Allow-Origin"))
}

// OpenShare has no side effects: Connect's GET works, and the answer may be cached briefly.
func TestOpenShareOverConnectGET(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	_, _, token, _ := sharedMaterial(t, e)
	c := salesappv1connect.NewPublicServiceClient(e.HTTP1, e.URL, connect.WithHTTPGet())
	res, err := c.OpenShare(context.Background(), connect.NewRequest(&salesappv1.OpenShareRequest{Token: token}))
	require.NoError(t, err)
	require.Equal(t, "Plan", res.Msg.GetMaterial().GetTitle())
	require.Equal(t, "public, max-age=5", res.Header().Get("Cache-Control"))

	req, err := http.NewRequest(http.MethodGet, e.URL+salesappv1connect.PublicServiceOpenShareProcedure+
		"?connect=v1&encoding=json&message="+url.QueryEscape(`{"token":"no-such-token"}`), nil)
	require.NoError(t, err)
	raw, err := e.HTTP1.Do(req)
	require.NoError(t, err)
	raw.Body.Close()
	require.Equal(t, http.StatusNotFound, raw.StatusCode)
}
