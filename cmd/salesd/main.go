// Command salesd is the sales app backend: Connect, gRPC and gRPC-Web APIs, health, readiness and metrics
// on one port. It is configured entirely by SALESD_* environment variables (`salesd -h` lists them).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/server"
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

	db, err := platform.OpenDB(ctx, cfg.DatabaseURL, cfg.DBMaxConns)
	if err != nil {
		return err
	}
	defer db.Close()
	srv, err := server.New(cfg, log, db)
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
	log.InfoContext(ctx, "salesd listening", "addr", l.Addr().String())
	return server.Serve(ctx, l, srv.Handler, cfg.ShutdownTimeout, log)
}
