package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform/pgtest"
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
	}
	getenv := func(k string) string { return env[k] }
	salesctl := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		require.NoError(t, run(ctx, args, getenv, &out), "salesctl %s", strings.Join(args, " "))
		return out.String()
	}

	require.Contains(t, salesctl("migrate"), "migrations are current")

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
}
