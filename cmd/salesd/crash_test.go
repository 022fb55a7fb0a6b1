package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgcluster"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/server"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/backend/tenant"
)

// TestKilledProcessLosesNoAcknowledgedEvent runs the real salesd binary, sends it events from many
// clients, kills it with SIGKILL mid-stream, and checks that every event it acknowledged is stored.
func TestKilledProcessLosesNoAcknowledgedEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	bin := filepath.Join(t.TempDir(), "salesd")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg := platform.Config{TokenKeys: [][]byte{key}, AccessTokenTTL: time.Hour, RefreshTokenTTL: 2 * time.Hour, PublicBaseURL: "http://x"}
	srv, err := server.New(cfg, slog.New(slog.DiscardHandler), db.App, nil)
	require.NoError(t, err)
	tn, err := tenant.CreateTenant(ctx, db.Owner, tenant.NewTenant{Name: "T", Plan: tenant.PlanTrial, SeatLimit: 5, ExpiresAt: time.Now().AddDate(0, 1, 0)})
	require.NoError(t, err)
	emp, err := srv.Tenant.Bootstrap().CreateEmployee(ctx, tn.ID, tenant.NewEmployee{Name: "S", Role: authn.RoleSales})
	require.NoError(t, err)
	sh, err := srv.Shares.ShareCard(ctx, authn.Principal{TenantID: tn.ID, EmployeeID: emp.ID, Role: authn.RoleSales}, share.ChannelChat)
	require.NoError(t, err)

	port, err := pgcluster.FreePort()
	require.NoError(t, err)
	s3Port, err := pgcluster.FreePort()
	require.NoError(t, err)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "SALESD_DATABASE_URL="+db.AppURL, "SALESD_TOKEN_KEYS="+hex.EncodeToString(key),
		"SALESD_HTTP_ADDR="+addr, "SALESD_DATA_DIR="+t.TempDir(), "SALESD_EMBEDDED_S3_ADDR=127.0.0.1:"+strconv.Itoa(s3Port),
		"SALESD_VISITOR_RATE=1e9", "SALESD_VISITOR_BURST=1000000", "SALESD_PUBLIC_RATE=1e9", "SALESD_PUBLIC_BURST=1000000",
		"SALESD_LOG_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond)

	client := salesappv1connect.NewTrackingServiceClient(http.DefaultClient, "http://"+addr)
	var (
		mu    sync.Mutex
		acked []uuid.UUID
		wg    sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var batch []*salesappv1.TrackEvent
				var ids []uuid.UUID
				for j := range 20 {
					id := uuid.New()
					ids = append(ids, id)
					batch = append(batch, &salesappv1.TrackEvent{EventId: id.String(), Kind: salesappv1.EventKind_EVENT_KIND_CARD_VIEW,
						ShareToken: sh.Token, VisitorId: "crash-visitor-" + strconv.Itoa(w) + "-" + strconv.Itoa(j%4)})
				}
				rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				_, err := client.Track(rctx, connect.NewRequest(&salesappv1.TrackRequest{Events: batch}))
				cancel()
				if err != nil {
					return // the server is gone
				}
				mu.Lock()
				acked = append(acked, ids...)
				mu.Unlock()
			}
		})
	}
	// Let acknowledgements accumulate, then kill the process without warning.
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 2000 }, 60*time.Second, 10*time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	var stored int
	require.NoError(t, db.Owner.QueryRow(ctx, "SELECT count(*) FROM events WHERE id = ANY ($1)", acked).Scan(&stored))
	require.Equal(t, len(acked), stored, "every acknowledged event is stored")
}
