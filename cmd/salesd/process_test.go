package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"github.com/salesapp/scrm/media/miniotest"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgcluster"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/server"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/backend/tenant"
)

// buildSalesd builds this package's binary into the test's temporary directory.
func buildSalesd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "salesd")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())
	return bin
}

// world is what the process tests share: a database, a salesperson with a card share link, and the
// configuration every salesd process of the test runs with.
type world struct {
	db         *pgtest.DB
	tenantID   uuid.UUID
	employeeID uuid.UUID
	// sessionID is the salesperson's session (push registrations belong to one).
	sessionID uuid.UUID
	// salesToken is the salesperson's access token; shareToken their card's share link.
	salesToken, shareToken string
	env                    []string
}

// newWorld makes a database with a tenant, a salesperson signed in and a card share link of theirs.
func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg := platform.Config{TokenKeys: [][]byte{key}, AccessTokenTTL: time.Hour, RefreshTokenTTL: 2 * time.Hour, PublicBaseURL: "http://x"}
	tenants, sessions, tokens, err := server.Accounts(cfg, db.App)
	require.NoError(t, err)
	tn, err := tenant.CreateTenant(ctx, db.Owner, tenant.NewTenant{Name: "T", Plan: tenant.PlanTrial, SeatLimit: 5, ExpiresAt: time.Now().AddDate(0, 1, 0)})
	require.NoError(t, err)
	emp, err := tenants.Bootstrap().CreateEmployee(ctx, tn.ID, tenant.NewEmployee{Name: "S", Role: authn.RoleSales})
	require.NoError(t, err)
	sh, err := share.NewService(db.App, cfg.PublicBaseURL).ShareCard(ctx, authn.Principal{TenantID: tn.ID, EmployeeID: emp.ID, Role: authn.RoleSales}, event.ChannelChat)
	require.NoError(t, err)
	pair, err := sessions.IssueSession(ctx, tn.ID, emp.ID, "phone-1")
	require.NoError(t, err)
	claims, err := tokens.Verify(pair.AccessToken)
	require.NoError(t, err)
	return &world{db: db, tenantID: tn.ID, employeeID: emp.ID, sessionID: claims.SessionID, salesToken: pair.AccessToken, shareToken: sh.Token,
		env: []string{"SALESD_DATABASE_URL=" + db.AppURL, "SALESD_TOKEN_KEYS=" + hex.EncodeToString(key),
			"SALESD_VISITOR_RATE=1e9", "SALESD_VISITOR_BURST=1000000", "SALESD_PUBLIC_RATE=1e9", "SALESD_PUBLIC_BURST=1000000",
			"SALESD_LOG_LEVEL=warn", "SALESD_DEV=true"}}
}

// process is one salesd subprocess.
type process struct {
	cmd  *exec.Cmd
	addr string
	// exited closes when the process has exited.
	exited chan struct{}
}

// startSalesd runs bin with the world's configuration plus extra on a free port, and waits until it is
// ready. Its log goes to the test's log if the test fails; it is killed when the test ends.
func (w *world) startSalesd(t *testing.T, bin string, extra ...string) *process {
	t.Helper()
	return w.startSalesdAt(t, bin, "", extra...)
}

// startSalesdAt is startSalesd waiting for ready (200) at readyURL, or at the public port's /readyz when it is
// empty (development runs serve it there).
func (w *world) startSalesdAt(t *testing.T, bin, readyURL string, extra ...string) *process {
	t.Helper()
	port, err := pgcluster.FreePort()
	require.NoError(t, err)
	s3Port, err := pgcluster.FreePort()
	require.NoError(t, err)
	p := &process{addr: "127.0.0.1:" + strconv.Itoa(port), exited: make(chan struct{})}
	logPath := filepath.Join(t.TempDir(), "salesd.log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	defer logFile.Close()
	p.cmd = exec.Command(bin)
	p.cmd.Env = append(append(os.Environ(), w.env...), append(extra, "SALESD_HTTP_ADDR="+p.addr, "SALESD_DATA_DIR="+t.TempDir(),
		"SALESD_EMBEDDED_S3_ADDR=127.0.0.1:"+strconv.Itoa(s3Port))...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	require.NoError(t, p.cmd.Start())
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("salesd %s log:\n%s", p.addr, b)
		}
	})
	if readyURL == "" {
		readyURL = "http://" + p.addr + "/readyz"
	}
	require.Eventually(t, func() bool {
		resp, err := http.Get(readyURL)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond)
	return p
}

// The profiler answers on its own loopback port only, never on the API's.
func TestProfilerListensApartFromTheAPI(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	port, err := pgcluster.FreePort()
	require.NoError(t, err)
	debug := "127.0.0.1:" + strconv.Itoa(port)
	p := w.startSalesd(t, buildSalesd(t), "SALESD_DEBUG_ADDR="+debug)
	get := func(url string) int {
		resp, err := http.Get(url)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, get("http://"+debug+"/debug/pprof/"))
	require.Equal(t, http.StatusNotFound, get("http://"+p.addr+"/debug/pprof/"))
}

// Outside a development run, readiness, metrics and reflection answer on the operator's port only, and
// salesd never falls back to the embedded object store, which checks no signatures.
func TestOperatorRoutesListenApartAndNoEmbeddedStoreOutsideDev(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	bin := buildSalesd(t)

	// No S3 endpoint and no SALESD_DEV: refused at start, saying what to set.
	cmd := exec.Command(bin)
	cmd.Env = append(append(os.Environ(), w.env...), "SALESD_DEV=false", "SALESD_S3_ENDPOINT=", "SALESD_HTTP_ADDR=127.0.0.1:0")
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "SALESD_S3_ENDPOINT: required (or SALESD_DEV=true")

	s3 := miniotest.New(t)
	port, err := pgcluster.FreePort()
	require.NoError(t, err)
	ops := "127.0.0.1:" + strconv.Itoa(port)
	p := w.startSalesdAt(t, bin, "http://"+ops+"/readyz", "SALESD_DEV=false", "SALESD_OPERATOR_ADDR="+ops,
		"SALESD_S3_ENDPOINT="+s3.Endpoint, "SALESD_S3_ACCESS_KEY="+s3.AccessKey, "SALESD_S3_SECRET_KEY="+s3.SecretKey, "SALESD_S3_BUCKET="+s3.Bucket)
	get := func(url string) int {
		resp, err := http.Get(url)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, path := range []string{"/readyz", "/metrics", "/healthz"} {
		require.Equal(t, http.StatusOK, get("http://"+ops+path), path)
	}
	require.Equal(t, http.StatusNotFound, get("http://"+p.addr+"/readyz"))
	require.Equal(t, http.StatusNotFound, get("http://"+p.addr+"/metrics"))
	require.Equal(t, http.StatusOK, get("http://"+p.addr+"/healthz"))
}
