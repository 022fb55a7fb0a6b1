package usage_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/usage"
)

// BenchmarkMeasure measures one large tenant: 10,000 employees each with a session, a month of daily
// counters each (300,000 stats rows), 1,000,000 customers, 100,000 uploads and a month of push counts.
//
//	go test -run '^$' -bench Measure -benchtime 20x ./backend/usage/
func BenchmarkMeasure(b *testing.B) {
	db := pgtest.New(b)
	ctx := context.Background()
	tn := db.NewTenant(b, "Big")
	now := time.Date(2026, 3, 30, 12, 0, 0, 0, time.UTC)
	for _, sql := range []string{
		`INSERT INTO employees (id, tenant_id, name, role) SELECT gen_random_uuid(), $1, 'Sales ' || g, 'sales' FROM generate_series(1, 10000) g`,
		`INSERT INTO sessions (id, tenant_id, employee_id, device_id, refresh_hash, expires_at, ends_at, last_seen_at)
		 SELECT gen_random_uuid(), $1, e.id, 'phone', '\x00', $2::timestamptz + interval '1 day', $2::timestamptz + interval '1 day', $2::timestamptz - (random() * 60) * interval '1 day'
		 FROM employees e WHERE e.tenant_id = $1`,
		`INSERT INTO stats_employee_days (tenant_id, day, employee_id, shares, views)
		 SELECT $1, d::date, e.id, (random() * 2)::int, (random() * 100)::int
		 FROM employees e, generate_series($2::timestamptz - interval '29 days', $2::timestamptz, '1 day') d WHERE e.tenant_id = $1`,
		`INSERT INTO customers (id, tenant_id) SELECT gen_random_uuid(), $1 FROM generate_series(1, 1000000)`,
		`INSERT INTO uploads (tenant_id, object_key, kind, content_type, size_bytes, uploaded_by)
		 SELECT $1, 'k' || g, 'pdf', 'application/pdf', 1000 + g, $1 FROM generate_series(1, 100000) g`,
		`INSERT INTO push_days (tenant_id, day, sent) SELECT $1, d::date, 1000 FROM generate_series($2::timestamptz - interval '40 days', $2::timestamptz, '1 day') d`,
	} {
		var args []any
		args = append(args, tn.ID)
		if strings.Contains(sql, "$2") {
			args = append(args, now)
		}
		_, err := db.Super.Exec(ctx, sql, args...)
		require.NoError(b, err)
	}
	for _, table := range []string{"employees", "sessions", "stats_employee_days", "customers", "uploads", "push_days"} {
		_, err := db.Super.Exec(ctx, "VACUUM ANALYZE "+table)
		require.NoError(b, err)
	}
	svc := usage.NewService(db.App, func(context.Context) ([]uuid.UUID, error) { return []uuid.UUID{tn.ID}, nil })
	for b.Loop() {
		u, err := svc.Measure(ctx, tn.ID, now)
		require.NoError(b, err)
		require.Equal(b, 1_000_000, u.Customers)
	}
}
