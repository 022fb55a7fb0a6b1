package usage_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/usage"
)

// A measure counts seats, staff active by session or by shares in each window, the month's shares and
// views, customers (merged once), storage and pushes; measuring again the same day replaces the day's
// measure, another day adds one; and one tenant's measure never counts another's rows.
func TestMeasureCountsEachWindowAndKeepsADayEach(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	a, b := db.NewTenant(t, "A"), db.NewTenant(t, "B")
	svc := usage.NewService(db.App, func(context.Context) ([]uuid.UUID, error) { return []uuid.UUID{a.ID, b.ID}, nil })
	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := db.Super.Exec(ctx, sql, args...)
		require.NoError(t, err)
	}
	// A's admin signed in just now (pgtest's session). Three salespeople: one seen 10 days ago, one who
	// shared 3 days ago and was never seen, one idle for 40 days; and one disabled (no seat).
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	exec("UPDATE sessions SET last_seen_at = $1", now.Add(-time.Hour))
	seen := db.NewEmployee(t, a.ID, authn.RoleSales, uuid.Nil)
	exec("UPDATE sessions SET last_seen_at = $1 WHERE employee_id = $2", now.AddDate(0, 0, -10), seen.EmployeeID)
	sharer := db.NewEmployee(t, a.ID, authn.RoleSales, uuid.Nil)
	exec("DELETE FROM sessions WHERE employee_id = $1", sharer.EmployeeID)
	idle := db.NewEmployee(t, a.ID, authn.RoleSales, uuid.Nil)
	exec("UPDATE sessions SET last_seen_at = $1 WHERE employee_id = $2", now.AddDate(0, 0, -40), idle.EmployeeID)
	gone := db.NewEmployee(t, a.ID, authn.RoleSales, uuid.Nil)
	exec("UPDATE employees SET status = 'disabled' WHERE id = $1", gone.EmployeeID)
	exec(`INSERT INTO stats_employee_days (tenant_id, day, employee_id, shares, views) VALUES
		($1, $2, $3, 2, 10), ($1, $4, $5, 0, 5), ($1, $6, $5, 7, 70)`,
		a.ID, now.AddDate(0, 0, -3), sharer.EmployeeID, now.AddDate(0, 0, -20), idle.EmployeeID, now.AddDate(0, 0, -45))
	merged := uuid.New()
	exec("INSERT INTO customers (id, tenant_id) VALUES ($1, $2), ($3, $2), ($4, $2)", merged, a.ID, uuid.New(), uuid.New())
	exec("UPDATE customers SET merged_into = (SELECT id FROM customers WHERE id <> $1 AND tenant_id = $2 LIMIT 1) WHERE id = $1", merged, a.ID)
	exec("INSERT INTO uploads (tenant_id, object_key, kind, content_type, size_bytes, uploaded_by) VALUES ($1, 'k1', 'pdf', 'application/pdf', 1500, $2), ($1, 'k2', 'pdf', 'application/pdf', 500, $2)",
		a.ID, a.Admin.EmployeeID)
	exec("INSERT INTO push_days (tenant_id, day, sent) VALUES ($1, $2, 4), ($1, $3, 6), ($1, $4, 100)",
		a.ID, now, now.AddDate(0, 0, -29), now.AddDate(0, 0, -30))
	// B's rows are not A's.
	exec("INSERT INTO customers (id, tenant_id) VALUES ($1, $2)", uuid.New(), b.ID)
	exec("INSERT INTO push_days (tenant_id, day, sent) VALUES ($1, $2, 1000)", b.ID, now)

	u, err := svc.Measure(ctx, a.ID, now)
	require.NoError(t, err)
	require.Equal(t, usage.Usage{TenantID: a.ID, Day: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC), MeasuredAt: u.MeasuredAt,
		SeatsUsed: 4, Active7d: 2, Active30d: 3, Shares30d: 2, Views30d: 15, Customers: 2, StorageBytes: 2000, Pushes30d: 10}, u)
	require.True(t, now.Equal(u.MeasuredAt))

	// The same day again replaces its measure; the next day adds one.
	exec("INSERT INTO customers (id, tenant_id) VALUES ($1, $2)", uuid.New(), a.ID)
	_, err = svc.Measure(ctx, a.ID, now.Add(time.Hour))
	require.NoError(t, err)
	n, err := svc.MeasureAll(ctx, now.Add(24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 2, n)
	hist, err := svc.History(ctx, a.ID)
	require.NoError(t, err)
	require.Len(t, hist, 2)
	require.Equal(t, "2026-12-07", hist[0].Day.Format(time.DateOnly), "newest first")
	require.Equal(t, 3, hist[1].Customers, "the day's later measure replaced its first")
	require.Equal(t, []int{2, 3}, []int{hist[0].Active7d, hist[0].Active30d}, "a day later the windows still hold the same people")

	other, err := svc.History(ctx, b.ID)
	require.NoError(t, err)
	require.Len(t, other, 1)
	require.Equal(t, 1, other[0].Customers)
	require.Equal(t, 1000, other[0].Pushes30d)

	_, err = svc.Measure(ctx, uuid.New(), now)
	require.ErrorContains(t, err, "tenant")
}
