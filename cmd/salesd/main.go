// Command salesd is the sales app backend: Connect, gRPC and gRPC-Web APIs, health, readiness and metrics
// on one port. It is configured entirely by SALESD_* environment variables (`salesd -h` lists them).
package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/server"
	"github.com/salesapp/scrm/media"
	"github.com/salesapp/scrm/media/embedded"
	"github.com/salesapp/scrm/push/sender"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "salesd:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("salesd", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprintln(stdout, "usage: salesd\n\nsalesd takes no flags; it reads these environment variables:")
		fmt.Fprintln(stdout)
		platform.ConfigUsage(stdout)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := platform.LoadConfig(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w\n(see salesd -h)", err)
	}
	log := platform.NewLogger(cfg, stdout)
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(cfg.MemoryLimit())
	}

	// Requests' connections are kept open and warm; jobs can wait for theirs.
	db, err := platform.OpenDB(ctx, cfg.DatabaseURL, cfg.DBMaxConns, platform.KeepWarm())
	if err != nil {
		return err
	}
	defer db.Close()
	// Row-level security is the tenants' isolation: a role it does not bind is refused outright. When
	// PostgreSQL is down the check waits for /readyz, which runs it too.
	checkCtx, cancelCheck := context.WithTimeout(ctx, 5*time.Second)
	err = db.CheckRole(checkCtx)
	cancelCheck()
	if errors.Is(err, platform.ErrRoleBypassesRLS) {
		return err
	}
	// River's runner gets connections of its own: a backlog of jobs must not take the ones requests need.
	jobsDB, err := platform.OpenDB(ctx, cfg.DatabaseURL, cfg.JobsDBMaxConns)
	if err != nil {
		return err
	}
	defer jobsDB.Close()
	store, closeStore, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeStore()
	snd, err := pushSender(ctx, cfg, log)
	if err != nil {
		return err
	}
	srv, err := server.New(cfg, log, db, store, server.Options{Sender: snd, JobsDB: jobsDB})
	if err != nil {
		return err
	}
	if err := db.CheckSchema(ctx); err != nil {
		// Not fatal: /readyz reports it and recovers once the database is migrated or back.
		log.WarnContext(ctx, "not ready at start", "error", err)
	}
	l, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return err
	}
	if cfg.OperatorAddr != "" {
		ol, err := net.Listen("tcp", cfg.OperatorAddr)
		if err != nil {
			return fmt.Errorf("SALESD_OPERATOR_ADDR: %w", err)
		}
		go func() {
			if err := server.Serve(ctx, ol, srv.Operator, server.Timeouts{Drain: cfg.ShutdownTimeout, Read: cfg.HTTPReadTimeout,
				Write: cfg.HTTPWriteTimeout, Idle: cfg.HTTPIdleTimeout}, log); err != nil {
				log.ErrorContext(ctx, "operator listener", "error", err)
			}
		}()
		log.InfoContext(ctx, "operator routes listening", "addr", ol.Addr().String())
	}
	if cfg.DebugAddr != "" {
		stopDebug, err := serveDebug(cfg.DebugAddr, log)
		if err != nil {
			return fmt.Errorf("SALESD_DEBUG_ADDR: %w", err)
		}
		defer stopDebug()
	}
	if err := srv.StartWorkers(ctx); err != nil {
		return fmt.Errorf("start job workers: %w", err)
	}
	log.InfoContext(ctx, "salesd listening", "addr", l.Addr().String())
	serveErr := server.Serve(ctx, l, srv.Handler, server.Timeouts{Drain: cfg.ShutdownTimeout, Read: cfg.HTTPReadTimeout,
		Write: cfg.HTTPWriteTimeout, Idle: cfg.HTTPIdleTimeout, LongLived: server.LongLivedPaths}, log)
	stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.StopWorkers(stopCtx); err != nil {
		log.Warn("job workers did not stop cleanly", "error", err)
	}
	return serveErr
}

// serveDebug serves Go's profiler on addr (a loopback address, checked by the configuration), apart
// from the API's handler so that nothing of it is reachable through the public port.
func serveDebug(addr string, log *slog.Logger) (stop func(), err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	s := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.Serve(l) }()
	log.Info("profiler listening", "addr", l.Addr().String())
	return func() { _ = s.Close() }, nil
}

// openStore connects to S3/MinIO, or, with no SALESD_S3_ENDPOINT in a development run (SALESD_DEV), starts
// the embedded store on local disk (`make run`). It checks no signatures, so it never starts by omission.
func openStore(ctx context.Context, cfg platform.Config, log *slog.Logger) (*media.Store, func(), error) {
	mc := media.Config{
		Endpoint: cfg.S3.Endpoint, AccessKey: cfg.S3.AccessKey, SecretKey: cfg.S3.SecretKey, Bucket: cfg.S3.Bucket,
		UseSSL: cfg.S3.UseSSL, Region: cfg.S3.Region, PublicEndpoint: cfg.S3.PublicEndpoint,
		ImageMemory: int64(cfg.ImageMemoryMiB) * media.MiB,
	}
	closeFn := func() {}
	if mc.Endpoint == "" && !cfg.Dev {
		return nil, nil, errors.New("SALESD_S3_ENDPOINT: required (or SALESD_DEV=true for the embedded development store)")
	}
	if mc.Endpoint == "" {
		es, err := embedded.Start(ctx, filepath.Join(cfg.DataDir, "objects"), cfg.EmbeddedS3Addr)
		if err != nil {
			return nil, nil, fmt.Errorf("embedded object store: %w", err)
		}
		mc = es.Config(cfg.S3.Bucket)
		mc.ImageMemory = int64(cfg.ImageMemoryMiB) * media.MiB
		closeFn = func() { _ = es.Close() }
		log.InfoContext(ctx, "embedded object store (development only)", "addr", cfg.EmbeddedS3Addr, "dir", filepath.Join(cfg.DataDir, "objects"))
	}
	store, err := media.New(ctx, mc)
	if err != nil {
		closeFn()
		return nil, nil, fmt.Errorf("object store: %w", err)
	}
	return store, closeFn, nil
}

// pushSender builds the APNs and FCM senders that have credentials; with neither, salesd logs the alerts
// it would push (nil: the server's default).
func pushSender(ctx context.Context, cfg platform.Config, log *slog.Logger) (sender.Sender, error) {
	var ios, android sender.Sender
	if p := cfg.Push; p.APNsKeyFile != "" {
		key, err := os.ReadFile(p.APNsKeyFile)
		if err != nil {
			return nil, fmt.Errorf("SALESD_APNS_KEY_FILE: %w", err)
		}
		ac := sender.APNsConfig{KeyP8: key, KeyID: p.APNsKeyID, TeamID: p.APNsTeamID, Host: p.APNsHost}
		if p.APNsCAFile != "" {
			if ac.RootCAs, err = rootsWith(p.APNsCAFile); err != nil {
				return nil, fmt.Errorf("SALESD_APNS_CA_FILE: %w", err)
			}
		}
		a, err := sender.NewAPNs(ac, log)
		if err != nil {
			return nil, fmt.Errorf("APNs: %w", err)
		}
		ios = a
	}
	if p := cfg.Push; p.FCMProjectID != "" {
		creds, err := os.ReadFile(p.FCMCredentialsFile)
		if err != nil {
			return nil, fmt.Errorf("SALESD_FCM_CREDENTIALS_FILE: %w", err)
		}
		f, err := sender.NewFCM(ctx, sender.FCMConfig{ProjectID: p.FCMProjectID, CredentialsJSON: creds}, log)
		if err != nil {
			return nil, fmt.Errorf("FCM: %w", err)
		}
		android = f
	}
	if ios == nil && android == nil {
		return nil, nil
	}
	return sender.NewRouter(ios, android), nil
}

// rootsWith is the system's certificate roots plus the PEM certificates in file.
func rootsWith(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if !roots.AppendCertsFromPEM(pem) {
		return nil, errors.New("no PEM certificate in " + file)
	}
	return roots, nil
}
