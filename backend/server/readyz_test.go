package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
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
	"github.com/salesapp/scrm/backend/platform/pgcluster"
	"github.com/salesapp/scrm/backend/server"
	"github.com/salesapp/scrm/media"
	"github.com/salesapp/scrm/media/miniotest"
	"github.com/salesapp/scrm/push/alert/alertrpc"
)

// TestReadyzFollowsPostgres runs a PostgreSQL cluster of its own, so that it can stop and start it.
func TestReadyzFollowsPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	port, err := pgcluster.FreePort()
	require.NoError(t, err)
	c, err := pgcluster.New(filepath.Join(t.TempDir(), "pg"), port, true)
	require.NoError(t, err)
	require.NoError(t, c.Init(ctx))
	require.NoError(t, c.Start(ctx))
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	super := c.URL(pgcluster.Superuser, "postgres")
	require.NoError(t, pgcluster.ProvisionRoles(ctx, super))
	require.NoError(t, pgcluster.ProvisionDatabase(ctx, super, "salesapp"))

	db, err := platform.OpenDB(ctx, c.URL(pgcluster.AppRole, "salesapp"), 4)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	cfg := platform.Config{TokenKeys: [][]byte{make([]byte, 32)}, AccessTokenTTL: time.Minute, RefreshTokenTTL: time.Hour, PublicRate: 1, PublicBurst: 1}
	store, err := media.New(ctx, miniotest.New(t))
	require.NoError(t, err)
	srv, err := server.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), db, store)
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler)
	t.Cleanup(ts.Close)
	ops := httptest.NewServer(srv.Operator)
	t.Cleanup(ops.Close)

	status := func() int {
		resp, err := http.Get(ops.URL + "/readyz")
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	// Reachable but not migrated: not ready.
	require.Equal(t, http.StatusServiceUnavailable, status())
	require.NoError(t, platform.Migrate(ctx, c.URL(pgcluster.OwnerRole, "salesapp"), slog.New(slog.DiscardHandler)))
	require.Equal(t, http.StatusOK, status())

	require.NoError(t, c.Stop(ctx))
	require.Equal(t, http.StatusServiceUnavailable, status())
	// A well-signed token whose session cannot be read now: the app is asked to retry, not to sign in.
	tokens, err := authn.NewTokens(cfg.TokenKeys, time.Minute, time.Now)
	require.NoError(t, err)
	token, _ := tokens.Issue(authn.Claims{TenantID: uuid.New(), EmployeeID: uuid.New(), SessionID: uuid.New(), DeviceID: "phone"})
	_, wsResp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+alertrpc.WebSocketPath,
		http.Header{"Authorization": {"Bearer " + token}})
	require.ErrorIs(t, err, websocket.ErrBadHandshake)
	require.Equal(t, http.StatusServiceUnavailable, wsResp.StatusCode)
	wsResp.Body.Close()
	// So is a call: Unavailable, which apps retry, not Unauthenticated or Internal.
	ping := connect.NewRequest(&salesappv1.PingRequest{})
	ping.Header().Set("Authorization", "Bearer "+token)
	_, err = salesappv1connect.NewPingServiceClient(http.DefaultClient, ts.URL).Ping(ctx, ping)
	require.Equal(t, connect.CodeUnavailable, connect.CodeOf(err), "%v", err)
	resp, err := http.Get(ts.URL + "/healthz") // alive all the same
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.NoError(t, c.Start(ctx))
	// The pool reconnects by itself; nothing restarts salesd.
	require.Eventually(t, func() bool { return status() == http.StatusOK }, 30*time.Second, 50*time.Millisecond)
}
