package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/salesapp/scrm/backend/auth"
	"github.com/salesapp/scrm/backend/material"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgcluster"
	"github.com/salesapp/scrm/backend/server"
	"github.com/salesapp/scrm/backend/tenant"
	"github.com/salesapp/scrm/media"
	"github.com/salesapp/scrm/media/embedded"
	"github.com/salesapp/scrm/media/poster"
)

func newFlags(name string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("salesctl "+name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	return fs
}

func migrateURL(getenv func(string) string) (string, error) {
	// Never SALESD_DATABASE_URL: migrating as the application role would make it own the tables, and a
	// table's owner can switch its row-level security off.
	if u := getenv("SALESD_MIGRATE_DATABASE_URL"); u != "" {
		return u, nil
	}
	return "", errors.New("set SALESD_MIGRATE_DATABASE_URL (the table owner's URL; SALESD_DATABASE_URL is not used to migrate)")
}

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if err := newFlags("migrate", stdout).Parse(args); err != nil {
		return err
	}
	u, err := migrateURL(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stdout, nil))
	if err := platform.Migrate(ctx, u, log); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migrations are current")
	return nil
}

// appServices opens the app role's pool and the services salesctl drives.
func appServices(ctx context.Context, getenv func(string) string) (*platform.DB, *tenant.Service, *auth.Service, error) {
	cfg, err := platform.LoadConfig(getenv)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("configuration:\n%w", err)
	}
	db, err := platform.OpenDB(ctx, cfg.DatabaseURL, 4)
	if err != nil {
		return nil, nil, nil, err
	}
	tenants, sessions, _, err := server.Accounts(cfg, db)
	if err != nil {
		db.Close()
		return nil, nil, nil, err
	}
	return db, tenants, sessions, nil
}

// parseExpiry accepts a date (2027-12-31), an RFC 3339 time, or a duration from now (8760h).
func parseExpiry(s string) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(d), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

func cmdTenantCreate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := newFlags("tenant create", stdout)
	name := fs.String("name", "", "enterprise name (required)")
	plan := fs.String("plan", "standard", "trial, standard, professional or enterprise")
	seats := fs.Int("seats", 10, "seat limit (active employees)")
	expires := fs.String("expires", "8760h", "expiry: a date, an RFC 3339 time, or a duration from now")
	tz := fs.String("tz", "Asia/Shanghai", "IANA time zone for period boundaries")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" {
		return errors.New("--name is required")
	}
	exp, err := parseExpiry(*expires)
	if err != nil {
		return fmt.Errorf("--expires: %w", err)
	}
	u, err := migrateURL(getenv)
	if err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, u)
	if err != nil {
		return err
	}
	defer pool.Close()
	t, err := tenant.CreateTenant(ctx, pool, tenant.NewTenant{Name: *name, Plan: tenant.Plan(*plan), SeatLimit: *seats, ExpiresAt: exp, TimeZone: *tz})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "tenant %s created (%s, %d seats, expires %s)\n", t.ID, t.Plan, t.SeatLimit, t.ExpiresAt.Format(time.RFC3339))
	return nil
}

func cmdEmployeeCreate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := newFlags("employee create", stdout)
	tenantID := fs.String("tenant", "", "tenant id (required)")
	name := fs.String("name", "", "name (required)")
	role := fs.String("role", "sales", "admin, manager or sales")
	team := fs.String("team", "", "team id")
	title := fs.String("title", "", "job title")
	phone := fs.String("phone", "", "mobile number")
	email := fs.String("email", "", "email")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tid, err := uuid.Parse(*tenantID)
	if err != nil {
		return errors.New("--tenant must be a tenant id")
	}
	var teamID uuid.UUID
	if *team != "" {
		if teamID, err = uuid.Parse(*team); err != nil {
			return errors.New("--team must be a team id")
		}
	}
	db, tenants, _, err := appServices(ctx, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	e, err := tenants.Bootstrap().CreateEmployee(ctx, tid, tenant.NewEmployee{
		Name: *name, Role: authn.Role(*role), TeamID: teamID, Title: *title, Phone: *phone, Email: *email,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "employee %s created (%s)\n", e.ID, e.Role)
	if inv := e.Invitation; inv != nil {
		fmt.Fprintf(stdout, "invitation (hand it to them; it sets their password, once, until %s):\n  %s\n",
			inv.ExpiresAt.Format(time.RFC3339), inv.URL)
	}
	return nil
}

func cmdSetPassword(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := newFlags("set-password", stdout)
	tenantID := fs.String("tenant", "", "tenant id (required)")
	employeeID := fs.String("employee", "", "employee id (required)")
	password := fs.String("password", "", "the new password, 8 to 128 characters (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tid, err1 := uuid.Parse(*tenantID)
	eid, err2 := uuid.Parse(*employeeID)
	if err1 != nil || err2 != nil {
		return errors.New("--tenant and --employee must be ids (salesctl seed-demo prints some)")
	}
	db, _, authSvc, err := appServices(ctx, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := authSvc.SetPassword(ctx, tid, eid, *password); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "password set for employee %s: they sign in with their phone number or email\n", eid)
	return nil
}

// Demo tenant: what `make run` seeds once. Its id is fixed, so seeding finds it again by looking inside that
// one tenant: row-level security binds every role but the superuser, so nothing looks tenants up by name
// across tenants.
const (
	demoTenantName = "Demo Enterprise"
	demoTenantID   = "d3e00000-0000-7000-8000-000000000001"
)

// demoLogin is how one of the demo people signs in.
type demoLogin struct {
	role        string
	name, phone string
	password    string
	id          uuid.UUID
}

type demo struct {
	tenantID, adminID, salesID uuid.UUID
	// logins are the admin's, the manager's and the first salesperson's.
	logins []demoLogin
}

// The demo people who sign in, with known passwords (a development tenant: never use these elsewhere).
var demoLogins = []demoLogin{
	{role: "admin", name: "Ada Admin", phone: "13800000001", password: "admin-demo"},
	{role: "manager", name: "Mia Manager", phone: "13800000002", password: "manager-demo"},
	{role: "sales", name: "Sam Seller", phone: "13800000003", password: "sales-demo"},
}

func seedDemo(ctx context.Context, getenv func(string) string) (demo, bool, error) {
	db, tenants, authSvc, err := appServices(ctx, getenv)
	if err != nil {
		return demo{}, false, err
	}
	defer db.Close()
	d := demo{tenantID: uuid.MustParse(demoTenantID)}
	created, err := createDemo(ctx, getenv, db, tenants, &d)
	if err != nil {
		return demo{}, false, err
	}
	if created {
		if err := seedDemoCustomers(ctx, getenv, db, d.tenantID, d.salesID); err != nil {
			return demo{}, false, fmt.Errorf("demo customers: %w", err)
		}
	}
	// Every run, also on a demo tenant seeded before people signed in with passwords: the printed sign-ins work.
	admin := authn.Principal{TenantID: d.tenantID, EmployeeID: d.adminID, Role: authn.RoleAdmin}
	for _, l := range d.logins {
		if _, err := tenants.UpdateEmployee(ctx, admin, l.id, tenant.EmployeeChange{Phone: &l.phone}); err != nil {
			return demo{}, false, fmt.Errorf("demo %s's phone: %w", l.role, err)
		}
		if err := authSvc.SetPassword(ctx, d.tenantID, l.id, l.password); err != nil {
			return demo{}, false, fmt.Errorf("demo %s's password: %w", l.role, err)
		}
	}
	return d, created, nil
}

// createDemo creates the demo tenant unless it exists, and fills in d's ids either way.
func createDemo(ctx context.Context, getenv func(string) string, db *platform.DB, tenants *tenant.Service, d *demo) (bool, error) {
	var exists bool
	ids := map[string]uuid.NullUUID{}
	var admin, manager, sales uuid.NullUUID
	err := db.InTenantSnapshot(ctx, d.tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM tenants),
				(SELECT id FROM employees WHERE role = 'admin' ORDER BY id LIMIT 1),
				(SELECT id FROM employees WHERE role = 'manager' ORDER BY id LIMIT 1),
				(SELECT id FROM employees WHERE role = 'sales' ORDER BY id LIMIT 1)`).Scan(&exists, &admin, &manager, &sales)
	})
	if err != nil {
		return false, err
	}
	ids["admin"], ids["manager"], ids["sales"] = admin, manager, sales
	if exists {
		for _, l := range demoLogins {
			if !ids[l.role].Valid {
				return false, fmt.Errorf("the demo tenant %s has no %s", d.tenantID, l.role)
			}
			l.id = ids[l.role].UUID
			d.logins = append(d.logins, l)
		}
		d.adminID, d.salesID = admin.UUID, sales.UUID
		return false, nil
	}
	u, err := migrateURL(getenv)
	if err != nil {
		return false, err
	}
	owner, err := pgxpool.New(ctx, u)
	if err != nil {
		return false, err
	}
	defer owner.Close()
	t, err := tenant.CreateTenant(ctx, owner, tenant.NewTenant{
		ID: d.tenantID, Name: demoTenantName, Plan: tenant.PlanProfessional, SeatLimit: 20, ExpiresAt: time.Now().AddDate(1, 0, 0),
	})
	if err != nil {
		return false, err
	}
	b := tenants.Bootstrap()
	team, err := b.CreateTeam(ctx, t.ID, "East Region")
	if err != nil {
		return false, err
	}
	people := []tenant.NewEmployee{
		{Name: "Ada Admin", Role: authn.RoleAdmin, Title: "Operations"},
		{Name: "Mia Manager", Role: authn.RoleManager, TeamID: team.ID, Title: "Sales Manager"},
		{Name: "Sam Seller", Role: authn.RoleSales, TeamID: team.ID, Title: "Account Executive"},
		{Name: "Sue Seller", Role: authn.RoleSales, TeamID: team.ID, Title: "Account Executive"},
		{Name: "Sid Seller", Role: authn.RoleSales, TeamID: team.ID, Title: "Account Executive"},
	}
	for _, p := range people {
		e, err := b.CreateEmployee(ctx, t.ID, p)
		if err != nil {
			return false, err
		}
		for _, l := range demoLogins {
			if l.name == p.Name {
				l.id = e.ID
				d.logins = append(d.logins, l)
			}
		}
		switch {
		case p.Role == authn.RoleAdmin:
			d.adminID = e.ID
		case p.Role == authn.RoleSales && d.salesID == uuid.Nil:
			d.salesID = e.ID
		}
	}
	return true, nil
}

func cmdSeedDemo(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if err := newFlags("seed-demo", stdout).Parse(args); err != nil {
		return err
	}
	d, created, err := seedDemo(ctx, getenv)
	if err != nil {
		return err
	}
	verb := "already exists"
	if created {
		verb = "created"
	}
	fmt.Fprintf(stdout, "demo tenant %s %s\n  admin employee %s\n  sales employee %s\n", d.tenantID, verb, d.adminID, d.salesID)
	printDemoLogins(stdout, d)
	return nil
}

// printDemoLogins prints how the demo people sign in, and a SignIn call to paste.
func printDemoLogins(w io.Writer, d demo) {
	fmt.Fprintln(w, "  sign in with (phone / password):")
	for _, l := range d.logins {
		fmt.Fprintf(w, "    %-8s %-12s %s / %s\n", l.role, l.name, l.phone, l.password)
	}
	if len(d.logins) > 0 {
		l := d.logins[0]
		fmt.Fprintf(w, `  for example (salesd running):
    curl -s -H 'Content-Type: application/json' \
      -d '{"login":"%s","password":"%s","device_id":"curl"}' \
      http://localhost:8080/salesapp.v1.AuthService/SignIn
`, l.phone, l.password)
	}
}

func cmdToken(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := newFlags("token", stdout)
	tenantID := fs.String("tenant", "", "tenant id (required)")
	employeeID := fs.String("employee", "", "employee id (required)")
	device := fs.String("device", "salesctl", "device id the session is bound to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tid, err1 := uuid.Parse(*tenantID)
	eid, err2 := uuid.Parse(*employeeID)
	if err1 != nil || err2 != nil {
		return errors.New("--tenant and --employee must be ids (salesctl seed-demo prints some)")
	}
	db, _, authSvc, err := appServices(ctx, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	pair, err := authSvc.IssueSession(ctx, tid, eid, *device)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "access_token=%s\nrefresh_token=%s\n", pair.AccessToken, pair.RefreshToken)
	return nil
}

// Development cluster for `make run`.
const (
	devDir    = ".data"
	devDBName = "salesapp"
)

func devPort(getenv func(string) string) int {
	if p, err := strconv.Atoi(getenv("SALESD_DEV_PG_PORT")); err == nil && p > 0 {
		return p
	}
	return 55432
}

func cmdDevUp(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if err := newFlags("dev up", stdout).Parse(args); err != nil {
		return err
	}
	c, err := pgcluster.New(filepath.Join(devDir, "pg"), devPort(getenv), false)
	if err != nil {
		return err
	}
	if err := c.Init(ctx); err != nil {
		return err
	}
	if !c.Running(ctx) {
		fmt.Fprintf(stdout, "starting PostgreSQL in %s on 127.0.0.1:%d\n", c.Dir, c.Port)
		if err := c.Start(ctx); err != nil {
			return err
		}
	}
	super := c.URL(pgcluster.Superuser, "postgres")
	if err := pgcluster.ProvisionRoles(ctx, super); err != nil {
		return err
	}
	if err := pgcluster.ProvisionDatabase(ctx, super, devDBName); err != nil {
		return err
	}
	key, err := devTokenKey()
	if err != nil {
		return err
	}
	secretKey, err := devSecretKey()
	if err != nil {
		return err
	}
	env := map[string]string{
		"SALESD_SECRET_KEYS":          secretKey,
		"SALESD_DATABASE_URL":         c.URL(pgcluster.AppRole, devDBName),
		"SALESD_MIGRATE_DATABASE_URL": c.URL(pgcluster.OwnerRole, devDBName),
		"SALESD_TOKEN_KEYS":           key,
		"SALESD_LOG_FORMAT":           "text",
		// Long enough to play with the printed token for a working day.
		"SALESD_ACCESS_TOKEN_TTL": "12h",
		// The embedded object store, and reflection and metrics on :8080 for grpcurl.
		"SALESD_DEV": "true",
	}
	lookup := func(k string) string {
		if v, ok := env[k]; ok && getenv(k) == "" {
			return v
		}
		return getenv(k)
	}
	if err := platform.Migrate(ctx, env["SALESD_MIGRATE_DATABASE_URL"], slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		return err
	}
	d, created, err := seedDemo(ctx, lookup)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stdout, "seeded the demo tenant %s\n", d.tenantID)
	}
	var b strings.Builder
	for _, k := range []string{"SALESD_DATABASE_URL", "SALESD_MIGRATE_DATABASE_URL", "SALESD_TOKEN_KEYS", "SALESD_SECRET_KEYS", "SALESD_LOG_FORMAT", "SALESD_ACCESS_TOKEN_TTL", "SALESD_DEV"} {
		fmt.Fprintf(&b, "%s=%s\n", k, env[k])
	}
	if err := os.WriteFile(filepath.Join(devDir, "salesd.env"), []byte(b.String()), 0o600); err != nil {
		return err
	}
	db, _, authSvc, err := appServices(ctx, lookup)
	if err != nil {
		return err
	}
	defer db.Close()
	pair, err := authSvc.IssueSession(ctx, d.tenantID, d.adminID, "make-run")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nDemo tenant %s.\n", d.tenantID)
	printDemoLogins(stdout, d)
	fmt.Fprintf(stdout, `
SignIn answers signedIn.tokens.accessToken. Here is one of the admin's already (valid %s); once salesd is
up, try:

  export TOKEN=%s
  curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{}' \
    http://localhost:8080/salesapp.v1.MeService/GetMe
  curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{}' \
    http://localhost:8080/salesapp.v1.EmployeeService/ListEmployees
  # or, with grpcurl (server reflection is on):
  grpcurl -plaintext -H "Authorization: Bearer $TOKEN" localhost:8080 salesapp.v1.MeService/GetMe

`, time.Until(pair.AccessTokenExpiresAt).Round(time.Minute), pair.AccessToken)
	return nil
}

// devTokenKey returns the development token key, made once and kept in .data/.
func devTokenKey() (string, error) {
	path := filepath.Join(devDir, "token.key")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return "", err
	}
	s := hex.EncodeToString(k)
	return s, os.WriteFile(path, []byte(s+"\n"), 0o600)
}

// devSecretKey is the development key sealing tenants' secrets (SALESD_SECRET_KEYS), kept beside the token
// key so that what `make run` sealed still opens after a restart.
func devSecretKey() (string, error) {
	path := filepath.Join(devDir, "secret.key")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return "", err
	}
	s := "dev1:" + base64.StdEncoding.EncodeToString(k)
	return s, os.WriteFile(path, []byte(s+"\n"), 0o600)
}

func cmdDevDown(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if err := newFlags("dev down", stdout).Parse(args); err != nil {
		return err
	}
	c, err := pgcluster.New(filepath.Join(devDir, "pg"), devPort(getenv), false)
	if err != nil {
		return err
	}
	if !c.Running(ctx) {
		fmt.Fprintln(stdout, "PostgreSQL is not running")
		return nil
	}
	return c.Stop(ctx)
}

func cmdPgRun(ctx context.Context, args []string, _ func(string) string, stdout io.Writer) error {
	fs := newFlags("pg run", stdout)
	if err := fs.Parse(args); err != nil {
		return err
	}
	argv := fs.Args()
	if len(argv) == 0 {
		return errors.New("usage: salesctl pg run -- COMMAND [ARGS]")
	}
	dir, err := os.MkdirTemp("", "salesapp-pg-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	port, err := pgcluster.FreePort()
	if err != nil {
		return err
	}
	c, err := pgcluster.New(filepath.Join(dir, "data"), port, true)
	if err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	if err := c.Init(ctx); err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return err
	}
	defer func() {
		if err := c.Stop(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "salesctl: stop test cluster:", err)
		}
	}()
	fmt.Fprintf(stdout, "throwaway PostgreSQL on 127.0.0.1:%d\n", port)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), pgcluster.TestEnvURL+"="+c.URL(pgcluster.Superuser, "postgres"))
	err = cmd.Run()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitCode(exitErr.ExitCode())
	}
	return err
}

// storeFor reaches the object storage salesd uses: SALESD_S3_*, or, without an endpoint, the embedded store
// of the salesd that `make run` started (it must be running).
func storeFor(ctx context.Context, cfg platform.Config) (*media.Store, error) {
	mc := media.Config{
		Endpoint: cfg.S3.Endpoint, AccessKey: cfg.S3.AccessKey, SecretKey: cfg.S3.SecretKey, Bucket: cfg.S3.Bucket,
		UseSSL: cfg.S3.UseSSL, Region: cfg.S3.Region, PublicEndpoint: cfg.S3.PublicEndpoint,
		ImageMemory: int64(cfg.ImageMemoryMiB) * media.MiB,
	}
	if mc.Endpoint == "" {
		mc.Endpoint, mc.AccessKey, mc.SecretKey = cfg.EmbeddedS3Addr, embedded.AccessKey, embedded.SecretKey
	}
	store, err := media.New(ctx, mc)
	if err != nil {
		return nil, fmt.Errorf("object storage at %s (is salesd running?): %w", mc.Endpoint, err)
	}
	return store, nil
}

func cmdPlatformMaterialAdd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := newFlags("platform-material add", stdout)
	kind := fs.String("kind", "", "poster, article, brochure, video or moments (required)")
	title := fs.String("title", "", "title (required)")
	summary := fs.String("summary", "", "summary")
	tags := fs.String("tags", "", "comma-separated tags")
	plans := fs.String("plans", "", "comma-separated plans whose enterprises see it (default: every plan)")
	file := fs.String("file", "", "poster image, brochure PDF or video file")
	contentType := fs.String("content-type", "", "the file's type (default: from its first bytes)")
	bodyFile := fs.String("body-file", "", "article body, HTML (sanitized)")
	text := fs.String("text", "", "moments copy text")
	layout := fs.String("layout", "", `poster layout as JSON, e.g. {"qr":{"x":700,"y":1500,"size":320},"name":{"x":60,"y":1560,"font_size":48,"color":"#202020","max_width":600}}`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	c := material.Content{Title: *title, Summary: *summary, TextBody: *text}
	for _, t := range strings.Split(*tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			c.Tags = append(c.Tags, t)
		}
	}
	if *bodyFile != "" {
		b, err := os.ReadFile(*bodyFile)
		if err != nil {
			return err
		}
		c.BodyHTML = string(b)
	}
	if *layout != "" {
		c.Layout = new(poster.Layout)
		if err := json.Unmarshal([]byte(*layout), c.Layout); err != nil {
			return fmt.Errorf("--layout: %w", err)
		}
	}
	var pf *material.PlatformFile
	if *file != "" {
		b, err := os.ReadFile(*file)
		if err != nil {
			return err
		}
		ct := *contentType
		if ct == "" {
			ct = http.DetectContentType(b)
		}
		pf = &material.PlatformFile{Data: b, ContentType: ct}
	}
	cfg, err := platform.LoadConfig(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	store, err := storeFor(ctx, cfg)
	if err != nil {
		return err
	}
	db, err := platform.OpenDB(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	materials, err := server.Materials(cfg, slog.New(slog.DiscardHandler), db, store)
	if err != nil {
		return err
	}
	if cfg.MigrateDatabaseURL == "" {
		return errors.New("set SALESD_MIGRATE_DATABASE_URL (the table owner's URL): platform materials are the operator's")
	}
	owner, err := pgxpool.New(ctx, cfg.MigrateDatabaseURL)
	if err != nil {
		return err
	}
	defer owner.Close()
	id, err := materials.CreatePlatform(ctx, owner, material.Kind(*kind), c, pf, strings.Split(*plans, ","))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "platform material %s published\n", id)
	return nil
}
