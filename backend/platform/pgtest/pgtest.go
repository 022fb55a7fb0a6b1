// Package pgtest gives each test its own PostgreSQL database, cloned from a template migrated once per
// schema. It needs a running server: `make test` starts a throwaway cluster and sets
// SALESD_TEST_DATABASE_URL to its superuser URL. Without it, tests fail (they never skip).
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/pgcluster"
)

// EnvURL names the variable holding a superuser URL of the test cluster.
const EnvURL = pgcluster.TestEnvURL

// DB is one test's database.
type DB struct {
	// Name is the database name.
	Name string
	// App is a pool connected as the application role: row-level security applies.
	App *platform.DB
	// Owner is a pool connected as the table owner, as the operator's paths run (tenant.CreateTenant,
	// material.CreatePlatform) and migrations. Row-level security is forced on every tenant table, so the
	// owner too sees and writes only the tenant its transaction names.
	Owner *pgxpool.Pool
	// Super is a pool connected as the cluster superuser, whom row-level security never binds: for test
	// setup and checks that read or write rows across tenants.
	Super *pgxpool.Pool
	// AppURL, OwnerURL and SuperURL connect to this database as each role.
	AppURL, OwnerURL, SuperURL string
}

var (
	setupOnce sync.Once
	template  string
	setupErr  error
)

// SuperuserURL returns the test cluster's superuser URL, failing the test when there is none.
func SuperuserURL(t testing.TB) string {
	t.Helper()
	u := getenv(EnvURL)
	if u == "" {
		t.Fatalf("%s is not set: run the tests with `make test`, which starts a throwaway PostgreSQL", EnvURL)
	}
	return u
}

// New creates a fresh, migrated database for this test and drops it when the test ends.
func New(t testing.TB) *DB {
	t.Helper()
	super := SuperuserURL(t)
	ctx := context.Background()
	setupOnce.Do(func() { template, setupErr = ensureTemplate(ctx, super) })
	if setupErr != nil {
		t.Fatalf("pgtest: prepare template: %v", setupErr)
	}

	name := "t_" + randomHex(8)
	conn, err := pgx.Connect(ctx, super)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s OWNER %s",
		ident(name), ident(template), ident(pgcluster.OwnerRole))); err != nil {
		t.Fatalf("pgtest: clone template: %v", err)
	}
	d := &DB{Name: name, AppURL: withRoleDB(super, pgcluster.AppRole, name), OwnerURL: withRoleDB(super, pgcluster.OwnerRole, name),
		SuperURL: withDB(super, name)}
	d.App, err = platform.OpenDB(ctx, d.AppURL, 20)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	d.Owner, err = pgxpool.New(ctx, d.OwnerURL)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	d.Super, err = pgxpool.New(ctx, d.SuperURL)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		d.App.Close()
		d.Owner.Close()
		d.Super.Close()
		c, err := pgx.Connect(context.Background(), super)
		if err != nil {
			t.Errorf("pgtest: drop %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop %s: %v", name, err)
		}
	})
	return d
}

// ensureTemplate makes (once per schema, shared by all test processes) a migrated template database.
func ensureTemplate(ctx context.Context, super string) (string, error) {
	if err := pgcluster.ProvisionRoles(ctx, super); err != nil {
		return "", err
	}
	name, err := templateName()
	if err != nil {
		return "", err
	}
	conn, err := pgx.Connect(ctx, super)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	// Test binaries run in parallel: one builds the template while the others wait.
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(4242001)"); err != nil {
		return "", err
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock(4242001)") //nolint:errcheck // closing the connection unlocks too
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_building"
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(building)+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident(building)+" OWNER "+ident(pgcluster.OwnerRole)); err != nil {
		return "", err
	}
	log := slog.New(slog.DiscardHandler)
	if err := platform.Migrate(ctx, withRoleDB(super, pgcluster.OwnerRole, building), log); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident(building)+" RENAME TO "+ident(name)); err != nil {
		return "", err
	}
	return name, nil
}

// templateName is derived from the migrations' content and River's schema version, so a changed schema
// gets a new template.
func templateName() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(platform.Migrations(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(platform.Migrations(), path)
		if err != nil {
			return err
		}
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", err
	}
	// River's migrations come with the module version in go.mod.
	rm, err := rivermigrate.New(riverpgxv5.New(nil), nil)
	if err != nil {
		return "", err
	}
	all := rm.AllVersions()
	fmt.Fprintf(h, "river:%d", all[len(all)-1].Version)
	return "tmpl_" + hex.EncodeToString(h.Sum(nil))[:16], nil
}

// withDB is raw (a superuser URL) pointed at database db.
func withDB(raw, db string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + db
	return u.String()
}

func withRoleDB(raw, role, db string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.User = url.User(role)
	u.Path = "/" + db
	return u.String()
}

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}
