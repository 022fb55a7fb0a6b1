// Package miniotest gives each test a fresh bucket on a real MinIO server. The server is the `minio`
// binary named by $SALESD_MINIO_BIN or found on PATH; `make test` installs a pinned version into .bin/
// and puts it first on PATH. Without it, tests fail (they never skip).
//
// One server runs per test process, started by the first New. Go tests have no process-exit hook
// without a TestMain, so the server is tied to the test process instead: on Linux it is started with
// Pdeathsig=SIGKILL and dies with the test binary, however that ends (pass, fail, panic, timeout, ^C).
// Its data lives in a directory under os.TempDir() named after the test process; each later start
// removes the directories of test processes that are gone.
package miniotest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/salesapp/scrm/media"
)

// EnvBin names the variable that may point at the minio binary.
const EnvBin = "SALESD_MINIO_BIN"

// Region is the region of the test server and of every Config New returns.
const Region = "us-east-1"

// dirPrefix names the data directories under os.TempDir(); the test process's pid follows.
const dirPrefix = "salesd-miniotest-"

// startTimeout bounds how long New waits for the server to answer.
const startTimeout = 30 * time.Second

type server struct {
	endpoint, user, password string
}

// The server is shared by every test of the process, like pgtest's template: started once, never
// stopped by the tests (the process's death stops it).
var (
	startOnce sync.Once
	shared    *server
	startErr  error
)

// Binary finds the minio binary: $SALESD_MINIO_BIN, else `minio` on PATH. It fails the test when there
// is none.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvBin); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("miniotest: %s=%s: %v", EnvBin, p, err)
		}
		return p
	}
	p, err := exec.LookPath("minio")
	if err != nil {
		t.Fatalf("miniotest: no minio binary on PATH and %s is not set: run the tests with `make test`, which installs MinIO into .bin/", EnvBin)
	}
	return p
}

// New returns the configuration of a bucket of its own for this test on the shared MinIO server; the
// bucket and its objects are removed when the test ends.
func New(t testing.TB) media.Config {
	t.Helper()
	bin := Binary(t)
	startOnce.Do(func() { shared, startErr = start(bin) })
	if startErr != nil {
		t.Fatalf("miniotest: start minio: %v", startErr)
	}
	cfg := media.Config{
		Endpoint:  shared.endpoint,
		AccessKey: shared.user,
		SecretKey: shared.password,
		Bucket:    "test-" + randomHex(10),
		Region:    Region,
	}
	client, err := shared.client()
	if err != nil {
		t.Fatalf("miniotest: %v", err)
	}
	ctx := context.Background()
	if err := client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: Region}); err != nil {
		t.Fatalf("miniotest: create bucket: %v", err)
	}
	t.Cleanup(func() {
		if err := client.RemoveBucketWithOptions(context.Background(), cfg.Bucket, minio.RemoveBucketOptions{ForceDelete: true}); err != nil {
			t.Errorf("miniotest: remove bucket %s: %v", cfg.Bucket, err)
		}
	})
	return cfg
}

func (s *server) client() (*minio.Client, error) {
	return minio.New(s.endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(s.user, s.password, ""),
		Region: Region,
	})
}

func start(bin string) (*server, error) {
	sweepStale()
	dir, err := os.MkdirTemp("", dirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, err
	}
	s := &server{user: "test" + randomHex(6), password: randomHex(16)}
	// A free port may be taken again between asking for it and MinIO binding it; try a few.
	var errs []error
	for attempt := range 3 {
		err := s.launch(bin, filepath.Join(dir, "data"), filepath.Join(dir, fmt.Sprintf("minio-%d.log", attempt)))
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// launch starts the server and waits until it answers S3 requests.
func (s *server) launch(bin, data, logPath string) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	consoleAddr, err := freeAddr()
	if err != nil {
		return err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()

	exited := make(chan error, 1)
	type result struct {
		proc *os.Process
		err  error
	}
	started := make(chan result, 1)
	go func() {
		// Pdeathsig fires when the thread that started the child ends, not the process. Go may end a
		// thread when a goroutine that locked it exits, so this goroutine locks its own thread and keeps
		// it until the child is gone.
		runtime.LockOSThread()
		cmd := exec.Command(bin, "server", data, "--address", addr, "--console-address", consoleAddr, "--quiet")
		cmd.Env = append(os.Environ(),
			"MINIO_ROOT_USER="+s.user,
			"MINIO_ROOT_PASSWORD="+s.password,
			"MINIO_BROWSER=off",
			"MINIO_UPDATE=off",
		)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		cmd.SysProcAttr = dieWithParent()
		if err := cmd.Start(); err != nil {
			started <- result{err: err}
			return
		}
		started <- result{proc: cmd.Process}
		exited <- cmd.Wait()
	}()
	run := <-started
	if run.err != nil {
		return fmt.Errorf("run %s: %w", bin, run.err)
	}

	s.endpoint = addr
	client, err := s.client()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := client.BucketExists(ctx, "ready-probe")
		cancel()
		if err == nil {
			return nil
		}
		select {
		case werr := <-exited:
			return fmt.Errorf("minio exited (%v):\n%s", werr, tail(logPath))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = run.proc.Kill() // the next attempt must not race a half-started server
			return fmt.Errorf("minio did not answer on %s within %s (last error: %v):\n%s", addr, startTimeout, err, tail(logPath))
		}
	}
}

// sweepStale removes the data directories of earlier test processes that have ended. A directory whose
// pid is alive (or was reused) is left alone: at worst a little disk stays used until the next sweep.
func sweepStale() {
	entries, _ := os.ReadDir(os.TempDir())
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), dirPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		_ = os.RemoveAll(filepath.Join(os.TempDir(), e.Name()))
	}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	b = bytes.TrimSpace(b)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
