package server_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/server/servertest"
)

// Before signing in, the app learns that the server is there, what it runs and whether its version is
// accepted, without a token.
func TestServerInfoBeforeSignIn(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t, func(c *platform.Config) { c.MinAppVersion, c.MaxAppVersion = "2.0", "3.1" })
	ctx := context.Background()
	c := salesappv1connect.NewDiagServiceClient(e.HTTP, e.URL)
	for v, want := range map[string]salesappv1.AppVersionStatus{
		"":       salesappv1.AppVersionStatus_APP_VERSION_STATUS_UNSPECIFIED,
		"1.9.9":  salesappv1.AppVersionStatus_APP_VERSION_STATUS_TOO_OLD,
		"2.5.0":  salesappv1.AppVersionStatus_APP_VERSION_STATUS_SUPPORTED,
		"3.1+88": salesappv1.AppVersionStatus_APP_VERSION_STATUS_SUPPORTED,
		"3.2":    salesappv1.AppVersionStatus_APP_VERSION_STATUS_TOO_NEW,
	} {
		resp, err := c.GetServerInfo(ctx, connect.NewRequest(&salesappv1.GetServerInfoRequest{AppVersion: v}))
		require.NoError(t, err, v)
		require.Equal(t, want, resp.Msg.AppVersionStatus, v)
		require.Equal(t, "2.0", resp.Msg.MinAppVersion)
		require.Equal(t, "3.1", resp.Msg.MaxAppVersion)
		require.Equal(t, "salesapp.v1", resp.Msg.ApiVersion)
		require.NotEmpty(t, resp.Msg.ServerVersion)
		require.WithinDuration(t, time.Now(), resp.Msg.ServerTime.AsTime(), time.Hour)
	}
	_, err := c.GetServerInfo(ctx, connect.NewRequest(&salesappv1.GetServerInfoRequest{AppVersion: "latest"}))
	requireCode(t, err, connect.CodeInvalidArgument, "app_version")
}
