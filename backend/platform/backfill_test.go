package platform_test

import (
	"context"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
)

// Migration 053 fills in, as the owner that runs migrations (whom forced row-level security binds), the rows
// the backfills of 022, 045, 046, 049 and 050 were meant to: on rows written before it ran, it verifies
// numbers that came through getuserphonenumber, brings tasks and team members into the sync scopes, and
// counts contacted customers and the materials' weeks; run twice, it changes nothing more.
func TestMigration053FillsInWhatEarlierBackfillsCouldNotSee(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	a := db.NewTenant(t, "Backfilled")
	team := db.NewTeam(t, a.ID, "East")
	manager := db.NewEmployee(t, a.ID, authn.RoleManager, team)
	seller := db.NewEmployee(t, a.ID, authn.RoleSales, team)
	customer, task := uuid.New(), uuid.New()
	material := uuid.New()
	day := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC) // a Wednesday: its week starts on 2026-03-02
	for _, st := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO customers (id, tenant_id, owner_id, phone, stage) VALUES ($1, $2, $3, '13800000000', 'contacted')`,
			[]any{customer, a.ID, seller.EmployeeID}},
		{`INSERT INTO customer_identities (tenant_id, kind, value, customer_id) VALUES ($1, 'phone', '13800000000', $2)`,
			[]any{a.ID, customer}},
		{`INSERT INTO tasks (tenant_id, id, created_by, title, target_shares, starts_at, ends_at, audience, employee_ids, claim_required)
		  VALUES ($1, $2, $3, 'Share the brochure', 3, now() - interval '1 day', now() + interval '6 days', 'employees', ARRAY[$4::uuid], false)`,
			[]any{a.ID, task, manager.EmployeeID, seller.EmployeeID}},
		{`INSERT INTO task_assignees (tenant_id, task_id, employee_id, claimed) VALUES ($1, $2, $3, false)`,
			[]any{a.ID, task, seller.EmployeeID}},
		{`INSERT INTO stats_material_days (tenant_id, day, material_id, shares, views, dwell_ms, forwards, leads)
		  VALUES ($1, $2, $3, 2, 7, 70000, 1, 1), ($1, $2::date + 1, $3, 1, 3, 30000, 0, 0)`, []any{a.ID, day, material}},
		// What the tenant's rows looked like before the backfills: none of what they should have added.
		{`UPDATE customers SET phone_verified = false WHERE id = $1`, []any{customer}},
		{`DELETE FROM sync_changes WHERE tenant_id = $1 AND kind IN ('task', 'member')`, []any{a.ID}},
		{`UPDATE stats_employee_days SET contacted = 0 WHERE tenant_id = $1`, []any{a.ID}},
		{`UPDATE stats_employee_periods SET contacted = 0 WHERE tenant_id = $1`, []any{a.ID}},
		{`DELETE FROM stats_material_weeks WHERE tenant_id = $1`, []any{a.ID}},
	} {
		_, err := db.Super.Exec(ctx, st.sql, st.args...)
		require.NoError(t, err, st.sql)
	}

	migration, err := fs.ReadFile(platform.Migrations(), "053_rerun_backfills.sql")
	require.NoError(t, err)
	for run := range 2 {
		tx, err := db.Owner.Begin(ctx)
		require.NoError(t, err)
		t.Cleanup(func() { _ = tx.Rollback(ctx) })
		// 053's member rows follow manages_member, which since 055 reads team_leads: lifted for the
		// rerun as 053 lifts the tables it knew.
		_, err = tx.Exec(ctx, "ALTER TABLE team_leads NO FORCE ROW LEVEL SECURITY;"+string(migration)+
			";ALTER TABLE team_leads FORCE ROW LEVEL SECURITY")
		require.NoError(t, err)
		require.NoError(t, tx.Commit(ctx))

		var verified bool
		require.NoError(t, db.Super.QueryRow(ctx, "SELECT phone_verified FROM customers WHERE id = $1", customer).Scan(&verified))
		require.True(t, verified, "run %d", run)
		var scoped []string
		rows, err := db.Super.Query(ctx, `SELECT kind || ':' || CASE scope WHEN $2 THEN 'manager' WHEN $3 THEN 'seller' ELSE 'other' END
			FROM sync_changes WHERE tenant_id = $1 AND kind IN ('task', 'member') AND NOT tombstone ORDER BY 1`,
			a.ID, manager.EmployeeID, seller.EmployeeID)
		require.NoError(t, err)
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			scoped = append(scoped, s)
		}
		require.NoError(t, rows.Err())
		require.Equal(t, []string{"member:manager", "task:manager", "task:seller"}, scoped, "run %d", run)
		var contacted, contactedWeeks int
		require.NoError(t, db.Super.QueryRow(ctx, `SELECT (SELECT sum(contacted) FROM stats_employee_days WHERE tenant_id = $1 AND employee_id = $2),
			(SELECT sum(contacted) FROM stats_employee_periods WHERE tenant_id = $1 AND employee_id = $2 AND period = 'week')`,
			a.ID, seller.EmployeeID).Scan(&contacted, &contactedWeeks))
		require.Equal(t, 1, contacted, "run %d", run)
		require.Equal(t, 1, contactedWeeks, "run %d", run)
		var start time.Time
		var views, shares int
		require.NoError(t, db.Super.QueryRow(ctx, `SELECT start_day, views, shares FROM stats_material_weeks WHERE tenant_id = $1 AND material_id = $2`,
			a.ID, material).Scan(&start, &views, &shares))
		require.Equal(t, "2026-03-02", start.Format(time.DateOnly), "run %d", run)
		require.Equal(t, 10, views, "run %d", run)
		require.Equal(t, 3, shares, "run %d", run)
	}
	var forced int
	require.NoError(t, db.Super.QueryRow(ctx, `SELECT count(*) FROM pg_class WHERE relname IN ('customers', 'sync_changes', 'tenants')
		AND relforcerowsecurity`).Scan(&forced))
	require.Equal(t, 3, forced, "the forcing is back")
}

// A migration that changes rows outside a function runs as the owner, whom forced row-level security binds
// (008): unless it lifts the forcing (as 010 and 053 do) or scopes itself to each tenant, it sees no
// tenant's rows and silently does nothing. Every such file must say NO FORCE ROW LEVEL SECURITY. The
// files listed did not; 053 redoes their backfills. (plans belongs to no tenant.)
func TestMigrationsThatChangeRowsLiftTheForcing(t *testing.T) {
	t.Parallel()
	redoneBy053 := map[string]bool{"022_flood.sql": true, "045_sync_tasks.sql": true, "046_sync_members.sql": true,
		"049_stats_contacted.sql": true, "050_stats_material_weeks.sql": true}
	dollar := regexp.MustCompile(`(?s)\$\$.*?\$\$`)
	dml := regexp.MustCompile(`(?m)^(INSERT INTO|UPDATE|DELETE FROM|SELECT|WITH)\s+(\w+)?`)
	files, err := fs.ReadDir(platform.Migrations(), ".")
	require.NoError(t, err)
	for _, f := range files {
		if f.Name() < "009" || redoneBy053[f.Name()] {
			continue
		}
		b, err := fs.ReadFile(platform.Migrations(), f.Name())
		require.NoError(t, err)
		body := dollar.ReplaceAllString(string(b), "$$$$")
		for _, m := range dml.FindAllStringSubmatch(body, -1) {
			if m[2] == "plans" {
				continue
			}
			require.Contains(t, body, "NO FORCE ROW LEVEL SECURITY", "%s changes rows (%q) without lifting the forcing", f.Name(), m[0])
		}
	}
}

// Migration 054 counts the teams' material counters already recorded from the events and shares, as the
// owner: views (with their reading time), forwards and leads through the team's salespeople, and their
// shares (not forwards, not the system's standing links), on the day in the tenant's zone.
func TestMigration054CountsTeamsMaterialsFromEventsAndShares(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	a := db.NewTenant(t, "Teams")
	team := db.NewTeam(t, a.ID, "East")
	seller := db.NewEmployee(t, a.ID, authn.RoleSales, team)
	loner := db.NewEmployee(t, a.ID, authn.RoleSales, uuid.Nil)
	material, share := uuid.New(), uuid.New()
	at := time.Date(2026, 3, 4, 20, 0, 0, 0, time.UTC) // 04:00 on 5 March in Shanghai
	for _, st := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE tenants SET time_zone = 'Asia/Shanghai' WHERE id = $1`, []any{a.ID}},
		{`INSERT INTO materials (id, tenant_id, tier, kind, status, title) VALUES ($1, $2, 'enterprise', 'article', 'published', 'Guide')`,
			[]any{material, a.ID}},
		{`INSERT INTO shares (id, tenant_id, token, employee_id, target_kind, material_id, channel, root_id, created_at)
		  VALUES ($1::uuid, $2, $6, $3, 'material', $4, 'chat', $1::uuid, $5),
		         (gen_random_uuid(), $2, $7, $3, 'material', $4, 'qr', $1::uuid, $5)`,
			[]any{share, a.ID, seller.EmployeeID, material, at, "tok-" + share.String(), "standing-" + share.String()}},
		{`UPDATE shares SET standing = true WHERE token = $1`, []any{"standing-" + share.String()}},
		{`INSERT INTO events (tenant_id, id, customer_id, employee_id, share_id, material_id, kind, occurred_at, dwell_ms)
		  SELECT $1, gen_random_uuid(), gen_random_uuid(), e, $3, $4, k, $5, d
		  FROM (VALUES ($2::uuid, 'material_view', 5000), ($2, 'forward', 0), ($2, 'phone_left', 0), ($2, 'dwell', 5000),
		               ($6, 'material_view', 9000)) AS x (e, k, d)`,
			[]any{a.ID, seller.EmployeeID, share, material, at, loner.EmployeeID}},
		{`DELETE FROM stats_material_team_days WHERE tenant_id = $1`, []any{a.ID}},
		{`DELETE FROM stats_material_team_weeks WHERE tenant_id = $1`, []any{a.ID}},
	} {
		_, err := db.Super.Exec(ctx, st.sql, st.args...)
		require.NoError(t, err, st.sql)
	}
	migration, err := fs.ReadFile(platform.Migrations(), "054_stats_material_teams.sql")
	require.NoError(t, err)
	backfill := string(migration)[strings.Index(string(migration), "ALTER TABLE tenants NO FORCE"):]
	tx, err := db.Owner.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	// As the migration finds them: just made, not yet forced.
	_, err = tx.Exec(ctx, `ALTER TABLE stats_material_team_days NO FORCE ROW LEVEL SECURITY;
		ALTER TABLE stats_material_team_weeks NO FORCE ROW LEVEL SECURITY;`+backfill)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))

	for _, q := range []string{
		`SELECT day::text, shares, views, dwell_ms, forwards, leads FROM stats_material_team_days WHERE tenant_id = $1 AND team_id = $2 AND material_id = $3`,
		`SELECT start_day::text, shares, views, dwell_ms, forwards, leads FROM stats_material_team_weeks WHERE tenant_id = $1 AND team_id = $2 AND material_id = $3`,
	} {
		var day string
		var shares, views, forwards, leads int
		var dwell int64
		require.NoError(t, db.Super.QueryRow(ctx, q, a.ID, team, material).Scan(&day, &shares, &views, &dwell, &forwards, &leads), q)
		require.Equal(t, []any{1, 1, int64(5000), 1, 1}, []any{shares, views, dwell, forwards, leads}, q)
		require.Contains(t, []string{"2026-03-05", "2026-03-02"}, day, q)
	}
	var rows int
	require.NoError(t, db.Super.QueryRow(ctx, "SELECT count(*) FROM stats_material_team_days WHERE tenant_id = $1", a.ID).Scan(&rows))
	require.Equal(t, 1, rows, "the salesperson without a team adds to no team")
}
