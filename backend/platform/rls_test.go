package platform_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/pgcluster"
	"github.com/salesapp/scrm/backend/platform/pgtest"
)

// rlsGaps reads the whole schema public, not a list of tables, so a table that a later migration adds
// without row-level security fails the test below. It returns the tenant tables it found (every table with
// a tenant_id column, and tenants) and, for each of them lacking row-level security enabled, forced, or a
// policy, its name and what it lacks. Materialized and foreign tables cannot have row-level security, so one
// with a tenant_id column is always named. (Views are left out: a view reads its tables as its owner, whom
// forced row-level security binds.)
func rlsGaps(ctx context.Context, db *pgxpool.Pool) (tables, gaps []string, err error) {
	rows, err := db.Query(ctx, `
		SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
		       EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid)
		  FROM pg_class c
		 WHERE c.relnamespace = 'public'::regnamespace
		   AND c.relkind IN ('r', 'p', 'm', 'f')
		   AND (c.relname = 'tenants'
		        OR EXISTS (SELECT FROM pg_attribute a
		                    WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND a.attnum > 0 AND NOT a.attisdropped))
		 ORDER BY c.relname`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var enabled, forced, policy bool
		if err := rows.Scan(&name, &enabled, &forced, &policy); err != nil {
			return nil, nil, err
		}
		tables = append(tables, name)
		var lacks []string
		if !enabled {
			lacks = append(lacks, "not enabled")
		}
		if !forced {
			lacks = append(lacks, "not forced")
		}
		if !policy {
			lacks = append(lacks, "no policy")
		}
		if len(lacks) > 0 {
			gaps = append(gaps, name+": "+strings.Join(lacks, ", "))
		}
	}
	return tables, gaps, rows.Err()
}

// Every tenant table, as the migrations leave the schema, has row-level security enabled and forced, with a
// policy: the application role never sees another tenant's rows, and neither does the owner by accident.
func TestEveryTenantTableHasForcedRowLevelSecurity(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	tables, gaps, err := rlsGaps(context.Background(), db.Owner)
	require.NoError(t, err)
	require.Empty(t, gaps, "tenant tables without row-level security enabled, forced and with a policy")
	// The check found the schema (a query reading the wrong schema would find nothing to complain about).
	for _, want := range []string{"tenants", "employees", "customers", "events", "shares", "alerts", "sync_changes"} {
		require.Contains(t, tables, want)
	}
}

// The check names each kind of gap, in a schema where some tables have them.
func TestRLSCheckNamesTablesThatLackIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	_, err := db.Owner.Exec(ctx, `
		CREATE TABLE probe_open (id uuid PRIMARY KEY, tenant_id uuid NOT NULL);
		CREATE TABLE probe_unforced (id uuid PRIMARY KEY, tenant_id uuid NOT NULL);
		ALTER TABLE probe_unforced ENABLE ROW LEVEL SECURITY;
		CREATE POLICY tenant_isolation ON probe_unforced USING (tenant_id = app_tenant_id());
		CREATE TABLE probe_no_policy (id uuid PRIMARY KEY, tenant_id uuid NOT NULL);
		ALTER TABLE probe_no_policy ENABLE ROW LEVEL SECURITY;
		ALTER TABLE probe_no_policy FORCE ROW LEVEL SECURITY;
		CREATE MATERIALIZED VIEW probe_rollup AS SELECT tenant_id, count(*) AS n FROM events GROUP BY tenant_id;
		CREATE TABLE probe_ok (id uuid PRIMARY KEY, tenant_id uuid NOT NULL);
		ALTER TABLE probe_ok ENABLE ROW LEVEL SECURITY;
		ALTER TABLE probe_ok FORCE ROW LEVEL SECURITY;
		CREATE POLICY tenant_isolation ON probe_ok USING (tenant_id = app_tenant_id());
		CREATE TABLE probe_no_tenant (id uuid PRIMARY KEY);`)
	require.NoError(t, err)
	tables, gaps, err := rlsGaps(ctx, db.Owner)
	require.NoError(t, err)
	require.Equal(t, []string{
		"probe_no_policy: no policy",
		"probe_open: not enabled, not forced, no policy",
		"probe_rollup: not enabled, not forced, no policy",
		"probe_unforced: not forced",
	}, gaps)
	require.Contains(t, tables, "probe_ok")
	require.NotContains(t, tables, "probe_no_tenant")
}

// Forcing row-level security is worth nothing for a role that bypasses it: neither the application role nor
// the owner is a superuser or has BYPASSRLS, and the application role owns no table.
func TestRolesCannotBypassRowLevelSecurity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	for _, role := range []string{pgcluster.AppRole, pgcluster.OwnerRole} {
		var super, bypass bool
		require.NoError(t, db.Super.QueryRow(ctx, "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1", role).Scan(&super, &bypass))
		require.False(t, super, role)
		require.False(t, bypass, role)
	}
	var owned int
	require.NoError(t, db.App.Pool.QueryRow(ctx, "SELECT count(*) FROM pg_class WHERE relowner = current_user::regrole").Scan(&owned))
	require.Zero(t, owned)
}

// The owner sees and writes only the tenant its transaction names, like the application role; what it may
// still do across tenants is what its own policies say: the platform's rows, and share_tenant's one share.
func TestOwnerIsBoundByRowLevelSecurity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	a, b := uuid.New(), uuid.New()
	for i, id := range []uuid.UUID{a, b} {
		_, err := db.Super.Exec(ctx, `
			WITH t AS (INSERT INTO tenants (id, name, plan, seat_limit, expires_at)
			           VALUES ($1, 'T', 'trial', 5, now() + interval '1 year') RETURNING id),
			     e AS (INSERT INTO employees (id, tenant_id, name, role) SELECT $2, id, 'E', 'sales' FROM t RETURNING id, tenant_id)
			INSERT INTO shares (id, tenant_id, token, employee_id, target_kind, channel, root_id)
			SELECT $3, tenant_id, $4, id, 'card', 'qr', $3 FROM e`,
			id, uuid.New(), uuid.New(), "token-"+string(rune('a'+i)))
		require.NoError(t, err)
	}

	// Unscoped, the owner sees no tenant row at all, and cannot write one.
	for _, table := range []string{"tenants", "employees", "shares"} {
		var n int
		require.NoError(t, db.Owner.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n))
		require.Zero(t, n, table)
	}
	_, err := db.Owner.Exec(ctx, "INSERT INTO teams (id, tenant_id, name) VALUES ($1, $2, 'x')", uuid.New(), a)
	require.ErrorContains(t, err, "row-level security")

	// Scoped to A, it sees A's rows only.
	require.NoError(t, pgx.BeginFunc(ctx, db.Owner, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true)", a.String()); err != nil {
			return err
		}
		var tenants, employees int
		require.NoError(t, tx.QueryRow(ctx, "SELECT (SELECT count(*) FROM tenants), (SELECT count(*) FROM employees)").Scan(&tenants, &employees))
		require.Equal(t, 1, tenants)
		require.Equal(t, 1, employees)
		return nil
	}))

	// share_tenant still finds a share's tenant across tenants, for the application role, and leaves
	// nothing behind that would show the owner another share.
	var got uuid.UUID
	require.NoError(t, db.App.Pool.QueryRow(ctx, "SELECT share_tenant('token-b')").Scan(&got))
	require.Equal(t, b, got)
	var none *uuid.UUID
	require.NoError(t, db.App.Pool.QueryRow(ctx, "SELECT share_tenant('no-such-token')").Scan(&none))
	require.Nil(t, none)
	// The owner may call it too; within the same transaction the share it read is no longer visible.
	require.NoError(t, pgx.BeginFunc(ctx, db.Owner, func(tx pgx.Tx) error {
		require.NoError(t, tx.QueryRow(ctx, "SELECT share_tenant('token-a')").Scan(&got))
		require.Equal(t, a, got)
		var n int
		require.NoError(t, tx.QueryRow(ctx, "SELECT count(*) FROM shares").Scan(&n))
		require.Zero(t, n, "the owner saw shares after share_tenant")
		return nil
	}))
}

// salesd's start refuses a role that row-level security does not bind, and says why: the superuser, the
// table owner, and a role with BYPASSRLS; the application role passes.
func TestCheckRoleRefusesRolesThatBypassRowLevelSecurity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	require.NoError(t, db.App.CheckRole(ctx))
	bypass := "bypass_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	_, err := db.Super.Exec(ctx, "CREATE ROLE "+bypass+" LOGIN BYPASSRLS PASSWORD 'x'")
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = db.Super.Exec(context.Background(), "DROP ROLE IF EXISTS "+bypass) })
	u, err := url.Parse(db.AppURL)
	require.NoError(t, err)
	u.User = url.UserPassword(bypass, "x")
	for dbURL, want := range map[string]string{db.SuperURL: "is a superuser", db.OwnerURL: "owns tables", u.String(): "has BYPASSRLS"} {
		pool, err := platform.OpenDB(ctx, dbURL, 1)
		require.NoError(t, err)
		err = pool.CheckRole(ctx)
		pool.Close()
		require.ErrorIs(t, err, platform.ErrRoleBypassesRLS)
		require.ErrorContains(t, err, want)
		require.ErrorContains(t, err, platform.AppRole, "the error says which role to use")
	}
}

// The application role cannot change what its tenant pays for, even in its own tenant's transaction; it
// still updates the tenant's settings.
func TestAppRoleCannotUpdateThePlanSeatsOrExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	a := db.NewTenant(t, "A")
	for _, set := range []string{"plan = 'enterprise'", "seat_limit = 10000", "expires_at = now() + interval '100 years'"} {
		err := db.App.InTenantTx(ctx, a.ID, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "UPDATE tenants SET "+set+" WHERE id = $1", a.ID)
			return err
		})
		require.ErrorContains(t, err, "permission denied", set)
	}
	require.NoError(t, db.App.InTenantTx(ctx, a.ID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE tenants SET name = 'A2', time_zone = 'UTC', updated_at = now() WHERE id = $1", a.ID)
		return err
	}))
}

// The application's connections carry a statement_timeout unless their URL sets their own.
func TestAppConnectionsHaveAStatementTimeout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	var got string
	require.NoError(t, db.App.Pool.QueryRow(ctx, "SHOW statement_timeout").Scan(&got))
	require.Equal(t, "1min", got)
	custom, err := platform.OpenDB(ctx, db.AppURL+"&statement_timeout=5000", 1)
	require.NoError(t, err)
	defer custom.Close()
	require.NoError(t, custom.Pool.QueryRow(ctx, "SHOW statement_timeout").Scan(&got))
	require.Equal(t, "5s", got)
}

// A tenant transaction with custom plans is scoped to its tenant like any other, and the setting ends
// with it (the connection goes back to the pool with generic plans allowed).
func TestCustomPlansTransactionIsScopedAndLocal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	a := db.NewTenant(t, "A")
	db.NewTenant(t, "B")
	one, err := platform.OpenDB(ctx, db.AppURL, 1) // one connection: the check after uses the same
	require.NoError(t, err)
	t.Cleanup(one.Close)
	var mode string
	var tenants int
	require.NoError(t, one.InTenantTxCustomPlans(ctx, a.ID, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SHOW plan_cache_mode").Scan(&mode); err != nil {
			return err
		}
		return tx.QueryRow(ctx, "SELECT count(*) FROM tenants").Scan(&tenants)
	}))
	require.Equal(t, "force_custom_plan", mode)
	require.Equal(t, 1, tenants, "row-level security applies")
	require.NoError(t, one.Pool.QueryRow(ctx, "SHOW plan_cache_mode").Scan(&mode))
	require.Equal(t, "auto", mode)
}

// A scoped read sees its tenant's rows, and its tenant's setting ends with its pipeline: the connection
// goes back to the pool scoped to no tenant.
func TestScopedReadIsScopedToItsPipelineOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	a := db.NewTenant(t, "A")
	cfg := db.App.Pool.Config()
	cfg.MaxConns, cfg.MinConns = 1, 0
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	one := &platform.DB{Pool: pool}

	var name string
	require.NoError(t, one.ScopedRead("SELECT set_config('app.tenant_id', $1, true)", a.ID.String()).
		QueryRow(ctx, "SELECT name FROM tenants").Scan(&name))
	require.Equal(t, "A", name)
	var setting string
	require.NoError(t, pool.QueryRow(ctx, "SELECT coalesce(current_setting('app.tenant_id', true), '')").Scan(&setting))
	require.Empty(t, setting, "the setting ended with the pipeline")
	err = one.ScopedRead("SELECT set_config('app.tenant_id', '', true)").QueryRow(ctx, "SELECT name FROM tenants").Scan(&name)
	require.ErrorIs(t, err, pgx.ErrNoRows, "scoped to no tenant, nothing is read")
	_, err = one.ScopedRead("SELECT 1").Exec(ctx, "SELECT 1")
	require.Error(t, err)

	// Rows too: read whole or closed early, they give the one connection back.
	b := db.NewTenant(t, "B")
	for _, stopEarly := range []bool{false, true} {
		rows, err := one.TenantRead(b.ID).Query(ctx, "SELECT name FROM tenants UNION ALL SELECT 'x'")
		require.NoError(t, err)
		var names []string
		for rows.Next() {
			var n string
			require.NoError(t, rows.Scan(&n))
			names = append(names, n)
			if stopEarly {
				break
			}
		}
		rows.Close()
		require.NoError(t, rows.Err())
		if !stopEarly {
			require.Equal(t, []string{"B", "x"}, names, "B's row only")
		}
		wait, cancel := context.WithTimeout(ctx, 10*time.Second)
		require.NoError(t, pool.QueryRow(wait, "SELECT 1").Scan(new(int)), "the connection is back in the pool")
		cancel()
	}
	rows, err := one.TenantRead(uuid.Nil).Query(ctx, "SELECT name FROM tenants")
	require.NoError(t, err)
	require.False(t, rows.Next(), "scoped to no tenant: nothing to read")
	require.NoError(t, rows.Err())
}

// A warm pool opens its connections before any request asks, and each has planned a read of every table
// the application role may read: under forced row-level security, without a tenant set, and skipping
// what it may not read.
func TestAWarmPoolOpensItsConnectionsAheadAndWarmsEach(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	warm, err := platform.OpenDB(ctx, db.AppURL+"&application_name=warm-test", 3, platform.KeepWarm())
	require.NoError(t, err)
	defer warm.Close()
	require.Eventually(t, func() bool { return warm.Pool.Stat().IdleConns() == 3 }, 30*time.Second, 10*time.Millisecond,
		"the pool fills itself in the background")
	require.Zero(t, warm.Pool.Stat().AcquireCount(), "no request asked for them")
	var warmed []string
	rows, err := db.Super.Query(ctx, `SELECT query FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'warm-test'`)
	require.NoError(t, err)
	for rows.Next() {
		var q string
		require.NoError(t, rows.Scan(&q))
		warmed = append(warmed, q)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{platform.WarmSQL, platform.WarmSQL, platform.WarmSQL}, warmed, "each connection's last statement is the warm-up")

	var readable int
	require.NoError(t, db.Super.QueryRow(ctx, `SELECT count(*) FROM pg_tables
		WHERE schemaname = 'public' AND has_table_privilege($1, format('%I.%I', schemaname, tablename), 'SELECT')`, platform.AppRole).Scan(&readable))
	require.Greater(t, readable, 50, "the warm-up has tables to plan")
	_, err = db.Super.Exec(ctx, "CREATE TABLE public.not_for_the_app (x int)")
	require.NoError(t, err)
	_, err = db.App.Pool.Exec(ctx, platform.WarmSQL)
	require.NoError(t, err, "a table the role may not read is skipped")

	var n int
	require.NoError(t, warm.InTenantTx(ctx, uuid.New(), func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT count(*) FROM customers").Scan(&n)
	}))
	require.Zero(t, n)
}
