package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/auth"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/server"
	"github.com/salesapp/scrm/media/miniotest"
)

// The operator's commands run as the owner and the application role, which row-level security binds: migrate
// (again, a no-op), seed the demo tenant twice (the second finds the first), create a tenant, and sign in
// the demo admin.
func TestOperatorCommandsUnderRowLevelSecurity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	env := map[string]string{
		"SALESD_DATABASE_URL":         db.AppURL,
		"SALESD_MIGRATE_DATABASE_URL": db.OwnerURL,
		"SALESD_TOKEN_KEYS":           strings.Repeat("ab", 32),
		// Cheap password hashes: the test checks the commands, not argon2id's cost.
		"SALESD_ARGON2_MEMORY_KIB": "8192", "SALESD_ARGON2_TIME": "1",
	}
	getenv := func(k string) string { return env[k] }
	salesctl := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		require.NoError(t, run(ctx, args, getenv, &out), "salesctl %s", strings.Join(args, " "))
		return out.String()
	}

	require.Contains(t, salesctl("migrate"), "migrations are current")

	// An operator account, written as the owner and hashed as employees' passwords are.
	require.Contains(t, salesctl("operator", "create", "--email", "Ops@Example.com", "--password", "correct horse battery"), "(ops@example.com)")
	var hash string
	require.NoError(t, db.Super.QueryRow(ctx, "SELECT password_hash FROM operators WHERE email = 'ops@example.com'").Scan(&hash))
	require.True(t, strings.HasPrefix(hash, "$argon2id$"), hash)
	require.Error(t, run(ctx, []string{"operator", "create", "--email", "ops@example.com", "--password", "another long one"}, getenv, &bytes.Buffer{}))
	disabledAt := func() (at *time.Time) {
		require.NoError(t, db.Super.QueryRow(ctx, "SELECT disabled_at FROM operators WHERE email = 'ops@example.com'").Scan(&at))
		return at
	}
	require.Contains(t, salesctl("operator", "disable", "--email", "OPS@example.com"), "disabled")
	require.NotNil(t, disabledAt())
	require.Contains(t, salesctl("operator", "enable", "--email", "ops@example.com"), "enabled")
	require.Nil(t, disabledAt())
	require.ErrorContains(t, run(ctx, []string{"operator", "disable", "--email", "nobody@example.com"}, getenv, &bytes.Buffer{}), "operator")

	first := salesctl("seed-demo")
	require.Contains(t, first, "demo tenant "+demoTenantID+" created")
	second := salesctl("seed-demo")
	require.Contains(t, second, "demo tenant "+demoTenantID+" already exists")
	// The same admin and salesperson both times.
	_, ids1, _ := strings.Cut(first, "\n")
	_, ids2, _ := strings.Cut(second, "\n")
	require.Equal(t, ids1, ids2)
	var tenants, employees int
	require.NoError(t, db.Super.QueryRow(ctx, "SELECT (SELECT count(*) FROM tenants), (SELECT count(*) FROM employees)").Scan(&tenants, &employees))
	require.Equal(t, 1, tenants)
	require.Equal(t, 5, employees)
	// The demo salesperson has customers with timelines, made once (the second run adds none).
	var named []string
	rows, err := db.Super.Query(ctx, "SELECT display_name FROM customers ORDER BY display_name")
	require.NoError(t, err)
	named, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"Li Na", "Wang Fang", "Zhang Wei"}, named)
	var timeline int
	require.NoError(t, db.Super.QueryRow(ctx, "SELECT count(*) FROM events WHERE kind <> 'dwell'").Scan(&timeline))
	require.Equal(t, 6, timeline)

	// The demo library, published once salesd's object storage answers (here a real MinIO): a share link
	// to open, then nothing more on the next run.
	s3 := miniotest.New(t)
	env["SALESD_S3_ENDPOINT"], env["SALESD_S3_ACCESS_KEY"], env["SALESD_S3_SECRET_KEY"], env["SALESD_S3_BUCKET"] =
		s3.Endpoint, s3.AccessKey, s3.SecretKey, s3.Bucket
	out := salesctl("demo-materials", "--wait", "30s")
	require.Contains(t, out, "3 published in the enterprise library and 3 in the platform's")
	require.Equal(t, 2, strings.Count(out, "http://localhost:8080/s/"), "the article's and the poster's links")
	require.Contains(t, salesctl("demo-materials"), "has materials already")
	// One of each kind, each with its file where the kind has one, and the poster with its layout.
	rows, err = db.Super.Query(ctx, `SELECT tier || ' ' || kind || CASE WHEN file_key <> '' THEN ' file' ELSE '' END
		|| CASE WHEN poster_layout IS NOT NULL THEN ' layout' ELSE '' END FROM materials WHERE status = 'published' ORDER BY 1`)
	require.NoError(t, err)
	published, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"enterprise article", "enterprise article", "enterprise moments",
		"platform brochure file", "platform poster file layout", "platform video file"}, published)

	require.Contains(t, salesctl("tenant", "create", "--name", "Acme", "--seats", "3"), "created (standard, 3 seats")
	require.NoError(t, db.Super.QueryRow(ctx, "SELECT count(*) FROM tenants WHERE name = 'Acme'").Scan(&tenants))
	require.Equal(t, 1, tenants)

	var admin string
	for line := range strings.Lines(first) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "admin employee "); ok {
			admin = rest
		}
	}
	require.NotEmpty(t, admin)
	require.Contains(t, salesctl("token", "--tenant", demoTenantID, "--employee", admin), "access_token=")

	// The demo people sign in with what seed-demo printed.
	require.Contains(t, first, "13800000001 / admin-demo")
	require.Contains(t, first, `"login":"13800000001","password":"admin-demo"`)
	cfg, err := platform.LoadConfig(getenv)
	require.NoError(t, err)
	_, authSvc, _, err := server.Accounts(cfg, db.App)
	require.NoError(t, err)
	for _, l := range demoLogins {
		res, err := authSvc.SignIn(ctx, auth.SignInRequest{Login: l.phone, Password: l.password, DeviceID: "test"})
		require.NoError(t, err, l.role)
		require.NotNil(t, res.Session, l.role)
	}

	// A new employee comes with an invitation link; set-password signs them in without it.
	out = salesctl("employee", "create", "--tenant", demoTenantID, "--name", "Nia", "--phone", "13900000001")
	require.Contains(t, out, "http://localhost:8080/invite/inv1_", "under SALESD_PUBLIC_BASE_URL")
	var nia string
	for line := range strings.Lines(out) {
		if rest, ok := strings.CutPrefix(line, "employee "); ok {
			nia, _, _ = strings.Cut(rest, " ")
		}
	}
	require.Contains(t, salesctl("set-password", "--tenant", demoTenantID, "--employee", nia, "--password", "nia's password"), "password set")
	res, err := authSvc.SignIn(ctx, auth.SignInRequest{Login: "13900000001", Password: "nia's password", DeviceID: "test"})
	require.NoError(t, err)
	require.NotNil(t, res.Session)
}
