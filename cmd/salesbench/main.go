// Command salesbench is the benchmark harness behind `make bench`. Under `salesctl pg run` it provisions a
// fresh database on the throwaway PostgreSQL, signs in a benchmark employee, runs salesd as a subprocess,
// drives named scenarios against it, and prints one markdown table per scenario for BENCHMARKS.md.
//
// Benchmarks report; they do not assert: salesbench exits non-zero only when a scenario cannot run.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgcluster"
	"github.com/salesapp/scrm/backend/server"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/backend/tenant"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "salesbench:", err)
		os.Exit(1)
	}
}

// dbName is the database salesbench provisions; it is dropped and recreated on every run so that numbers
// never depend on what an earlier run left behind.
const dbName = "salesbench"

// options are the parsed flags.
type options struct {
	salesd      string
	scenarios   []scenario
	startupRuns int
	concurrency int
	duration    time.Duration
	warmup      time.Duration
	http1       bool
	pageTTL     time.Duration
	// profile, when positive, is how long a CPU profile each salesd records once ready.
	profile time.Duration
}

func parseFlags(args []string, stdout io.Writer) (options, error) {
	fs := flag.NewFlagSet("salesbench", flag.ContinueOnError)
	fs.SetOutput(stdout)
	var o options
	fs.StringVar(&o.salesd, "salesd", ".bin/salesd", "path of the salesd binary to benchmark")
	names := fs.String("scenarios", "", "comma-separated scenarios to run (default: all of "+strings.Join(scenarioNames(), ", ")+")")
	fs.IntVar(&o.startupRuns, "startup-runs", 5, "startup: how many times to start salesd")
	fs.IntVar(&o.concurrency, "concurrency", 64, "noop-rpc: concurrent workers")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "noop-rpc: measured window")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "noop-rpc: unmeasured load before the window")
	fs.DurationVar(&o.pageTTL, "page-ttl", 3*time.Second, "public-card: salesd's SALESD_PUBLIC_PAGE_TTL (0 measures every open reading the database)")
	fs.DurationVar(&o.profile, "profile", 0, "record a CPU profile of this long from each salesd once it is ready, into its log directory (0: none)")
	fs.BoolVar(&o.http1, "http1", false, "noop-rpc: use HTTP/1.1 (one connection per worker) instead of cleartext HTTP/2")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if o.scenarios, err = selectScenarios(*names); err != nil {
		return options{}, err
	}
	// Bounds keep every loop finite and the preallocated latency buffers (see maxRate) reasonable.
	switch {
	case o.salesd == "":
		return options{}, errors.New("-salesd is required")
	case o.startupRuns < 1 || o.startupRuns > 100:
		return options{}, errors.New("-startup-runs must be 1 to 100")
	case o.concurrency < 1 || o.concurrency > 4096:
		return options{}, errors.New("-concurrency must be 1 to 4096")
	case o.duration < 100*time.Millisecond || o.duration > 2*time.Minute:
		return options{}, errors.New("-duration must be 100ms to 2m")
	case o.warmup < 0 || o.warmup > time.Minute:
		return options{}, errors.New("-warmup must be 0 to 1m")
	case o.profile < 0 || o.profile > 2*time.Minute:
		return options{}, errors.New("-profile must be 0 to 2m")
	}
	return o, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	opts, err := parseFlags(args, stdout)
	if err != nil {
		return err
	}
	// Fail before the database work, not at the first scenario.
	if _, err := exec.LookPath(opts.salesd); err != nil {
		return fmt.Errorf("-salesd: %w", err)
	}
	superURL := getenv(pgcluster.TestEnvURL)
	if superURL == "" {
		return fmt.Errorf("%s is not set: run salesbench under `salesctl pg run -- salesbench ...` (as make bench does)", pgcluster.TestEnvURL)
	}
	logDir, err := os.MkdirTemp("", "salesbench-")
	if err != nil {
		return err
	}
	b, err := setup(ctx, superURL, opts, logDir)
	if err != nil {
		os.RemoveAll(logDir)
		return fmt.Errorf("setup: %w", err)
	}
	// os.Args[0] rather than a fixed name, so the printed line is the one that was typed.
	footer := fmt.Sprintf("Command: `%s` · machine: %d CPUs, %s/%s, %s",
		strings.Join(append([]string{os.Args[0]}, args...), " "), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	var errs []error
	printed := 0
	for _, s := range opts.scenarios {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		rows, err := s.run(ctx, b)
		if err != nil {
			errs = append(errs, fmt.Errorf("scenario %s: %w", s.name, err))
			continue
		}
		if printed > 0 {
			fmt.Fprintln(stdout)
		}
		writeSection(stdout, s.name, rows, footer)
		printed++
	}
	if err := errors.Join(errs...); err != nil {
		// Keep salesd's logs: they usually say why.
		return fmt.Errorf("%w\n(salesd logs are in %s)", err, logDir)
	}
	if opts.profile > 0 {
		fmt.Fprintf(stdout, "\nProfiles and logs: %s (go tool pprof -top .bin/salesd %s/salesd-NN-SCENARIO.pprof)\n", logDir, logDir)
		return nil
	}
	return os.RemoveAll(logDir)
}

// bench is what every scenario shares: the provisioned database, a signed-in caller, and how to run salesd.
type bench struct {
	opts options
	// env is salesd's SALESD_* configuration except the listen address, which each start chooses.
	env map[string]string
	// token is an access token of an admin of the benchmark tenant, valid for longer than any run.
	token string
	// salesToken is a salesperson's; shareToken a card share link of theirs that customers open.
	salesToken, shareToken string
	// tenantID and salesID name the benchmark tenant and that salesperson; salesSession their session
	// (push registrations belong to one).
	tenantID, salesID, salesSession uuid.UUID
	// seed holds the ids of seeded data: a salesperson with many customers, one with a long timeline.
	seed seeded
	// sync is the sync scenarios' salesperson, seeded by the first of them.
	sync syncPerson
	// manager is sync-manager-first's manager.
	manager managerOf
	logDir  string
	// ownerURL connects to the benchmark database as the table owner (migrations, creating tenants, VACUUM).
	ownerURL string
	// seedURL connects to it as the cluster's superuser, whom row-level security does not bind (it binds the
	// owner too): salesbench seeds and reads its tenants' rows in bulk through it.
	seedURL string
	// floorRPS is the no-op RPC's requests/s, once noop-rpc has run: the beacon scenario's yardstick.
	floorRPS float64
	// starts numbers salesd's log files in start order.
	starts int
}

// setup provisions the benchmark database from scratch, migrates it, and signs in an employee.
func setup(ctx context.Context, superURL string, opts options, logDir string) (*bench, error) {
	pc, err := pgx.ParseConfig(superURL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pgcluster.TestEnvURL, err)
	}
	// salesbench drops a database: refuse anything but the local throwaway cluster.
	if ip := net.ParseIP(pc.Host); pc.Host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("%s points at %s: salesbench only uses a PostgreSQL on 127.0.0.1", pgcluster.TestEnvURL, pc.Host)
	}
	if err := dropDatabase(ctx, superURL); err != nil {
		return nil, err
	}
	if err := pgcluster.ProvisionRoles(ctx, superURL); err != nil {
		return nil, err
	}
	if err := pgcluster.ProvisionDatabase(ctx, superURL, dbName); err != nil {
		return nil, err
	}
	ownerURL := pgcluster.URL(pc.Host, int(pc.Port), pgcluster.OwnerRole, dbName)
	seedURL := pgcluster.URL(pc.Host, int(pc.Port), pc.User, dbName)
	if err := platform.Migrate(ctx, ownerURL, slog.New(slog.DiscardHandler)); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	env := map[string]string{
		"SALESD_DATABASE_URL": pgcluster.URL(pc.Host, int(pc.Port), pgcluster.AppRole, dbName),
		"SALESD_TOKEN_KEYS":   hex.EncodeToString(key),
		// Requests log at debug/info: at warn, the benchmark measures serving, not log writing.
		"SALESD_LOG_LEVEL": "warn",
		// Only salesbench issues tokens here; the TTL must outlast the longest run its flags allow.
		"SALESD_ACCESS_TOKEN_TTL": "24h",
		// All load comes from 127.0.0.1, so the per-address limit of public procedures would measure
		// the limiter; it is lifted here and tested elsewhere.
		"SALESD_PUBLIC_RATE":     "1e9",
		"SALESD_PUBLIC_BURST":    "1000000000",
		"SALESD_PUBLIC_PAGE_TTL": opts.pageTTL.String(),
		// The ingest scenarios bring in thousands of new visitors a second from one link: the budget of new
		// visitors is lifted too (public-flood sets it back to measure it).
		"SALESD_NEW_VISITORS_PER_SHARE":  "1000000000",
		"SALESD_NEW_VISITORS_PER_TENANT": "1000000000",
		// view-to-apns and push-throughput measure one push per new visitor.
		"SALESD_NEW_CUSTOMER_PUSH_WINDOW": "0s",
	}
	si, err := signIn(ctx, ownerURL, func(k string) string { return env[k] })
	if err != nil {
		return nil, err
	}
	b := &bench{opts: opts, env: env, ownerURL: ownerURL, seedURL: seedURL, token: si.adminToken, salesToken: si.salesToken, shareToken: si.shareToken,
		sync:     syncPerson{id: si.syncID, token: si.syncToken},
		manager:  managerOf{id: si.managerID, team: si.teamID, token: si.managerToken},
		tenantID: si.tenantID, salesID: si.salesID, salesSession: si.salesSession, logDir: logDir}
	if b.seed, err = seed(ctx, seedURL, si); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	return b, nil
}

func dropDatabase(ctx context.Context, superURL string) error {
	conn, err := pgx.Connect(ctx, superURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	// FORCE ends sessions an interrupted earlier run may have left connected.
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{dbName}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop leftover database: %w", err)
	}
	return nil
}

// analyze vacuums the benchmark database and refreshes the planner's statistics.
func (b *bench) analyze(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, b.ownerURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "VACUUM ANALYZE")
	return err
}

// signedIn is what signIn made: the benchmark tenant, its admin and a salesperson with tokens, and a card
// share link of the salesperson's.
type signedIn struct {
	tenantID, salesID, salesSession    uuid.UUID
	adminToken, salesToken, shareToken string
	// syncID and syncToken: the sync scenarios' salesperson (their data is seeded by the first of them).
	syncID    uuid.UUID
	syncToken string
	// managerID, managerToken and teamID: the manager of sync-manager-first and their (still empty) team.
	managerID, teamID uuid.UUID
	managerToken      string
}

// signIn creates the benchmark tenant, its admin and two salespeople (one for the sync scenarios), and
// signs them in. It reads the same
// configuration salesd is given (getenv), so the tokens are ones salesd accepts.
func signIn(ctx context.Context, ownerURL string, getenv func(string) string) (signedIn, error) {
	var si signedIn
	cfg, err := platform.LoadConfig(getenv)
	if err != nil {
		return si, fmt.Errorf("configuration:\n%w", err)
	}
	owner, err := pgxpool.New(ctx, ownerURL)
	if err != nil {
		return si, err
	}
	defer owner.Close()
	t, err := tenant.CreateTenant(ctx, owner, tenant.NewTenant{
		Name: "Salesbench", Plan: tenant.PlanEnterprise, SeatLimit: 10, ExpiresAt: time.Now().AddDate(1, 0, 0),
	})
	if err != nil {
		return si, err
	}
	db, err := platform.OpenDB(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return si, err
	}
	defer db.Close()
	tenants, sessions, tokens, err := server.Accounts(cfg, db)
	if err != nil {
		return si, err
	}
	shares := share.NewService(db, cfg.PublicBaseURL)
	si.tenantID = t.ID
	for i, role := range []authn.Role{authn.RoleAdmin, authn.RoleSales, authn.RoleSales} {
		name := []string{"Bench admin", "Bench sales", "Bench sync"}[i]
		e, err := tenants.Bootstrap().CreateEmployee(ctx, t.ID, tenant.NewEmployee{Name: name, Role: role})
		if err != nil {
			return si, err
		}
		pair, err := sessions.IssueSession(ctx, t.ID, e.ID, "salesbench")
		if err != nil {
			return si, err
		}
		if role == authn.RoleAdmin {
			si.adminToken = pair.AccessToken
			continue
		}
		if i == 2 {
			si.syncID, si.syncToken = e.ID, pair.AccessToken
			continue
		}
		si.salesID, si.salesToken = e.ID, pair.AccessToken
		claims, err := tokens.Verify(pair.AccessToken)
		if err != nil {
			return si, err
		}
		si.salesSession = claims.SessionID
		sh, err := shares.ShareCard(ctx, authn.Principal{TenantID: t.ID, EmployeeID: e.ID, Role: role}, event.ChannelChat)
		if err != nil {
			return si, err
		}
		si.shareToken = sh.Token
	}
	team, err := tenants.Bootstrap().CreateTeam(ctx, t.ID, "Bench team")
	if err != nil {
		return si, err
	}
	mgr, err := tenants.Bootstrap().CreateEmployee(ctx, t.ID, tenant.NewEmployee{Name: "Bench manager", Role: authn.RoleManager, TeamID: team.ID})
	if err != nil {
		return si, err
	}
	pair, err := sessions.IssueSession(ctx, t.ID, mgr.ID, "salesbench")
	if err != nil {
		return si, err
	}
	si.managerID, si.teamID, si.managerToken = mgr.ID, team.ID, pair.AccessToken
	return si, nil
}
