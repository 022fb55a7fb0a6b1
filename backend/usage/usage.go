// Package usage measures what each enterprise uses of the SaaS, for the platform's operators: seats, staff
// active in 7 and 30 days, shares, views, customers, storage and pushes. Every tenant is measured each hour (a
// River periodic job; a day keeps its last measure) and operators measure one on demand; each measure is kept as its day's, so a tenant's
// history shows how its use moves.
package usage

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/riverqueue/river"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/usage/internal/usagedb"
)

// Usage is one measure of a tenant's use. The windows end at MeasuredAt.
type Usage struct {
	TenantID uuid.UUID
	// Day is the measure's day in the tenant's time zone (midnight UTC of that date).
	Day        time.Time
	MeasuredAt time.Time
	// SeatsUsed counts active employees.
	SeatsUsed int
	// Active7d and Active30d count active employees who used the app (a session seen) or shared something
	// in the last 7 and 30 days.
	Active7d, Active30d int
	// Shares30d and Views30d are the shares made and the views of them in the last 30 days.
	Shares30d, Views30d int
	// Customers counts the tenant's customers (merged ones once).
	Customers    int
	StorageBytes int64
	// Pushes30d counts the pushes the providers accepted in the last 30 days.
	Pushes30d int
}

// HistoryDays is how many daily measures History answers at most.
const HistoryDays = 30

// Tenants lists every tenant's id (backend/tenant's TenantIDs).
type Tenants func(ctx context.Context) ([]uuid.UUID, error)

// Service measures and keeps usage.
type Service struct {
	db      *platform.DB
	tenants Tenants
}

// NewService builds the service; tenants lists the tenants the periodic job measures.
func NewService(db *platform.DB, tenants Tenants) *Service { return &Service{db: db, tenants: tenants} }

// Measure measures a tenant's use at now and keeps it as the day's measure.
func (s *Service) Measure(ctx context.Context, tenantID uuid.UUID, now time.Time) (Usage, error) {
	var u Usage
	err := s.db.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		q := usagedb.New(tx)
		today, err := q.Today(ctx, usagedb.TodayParams{Now: now, TenantID: tenantID})
		if errors.Is(err, pgx.ErrNoRows) {
			return platform.NotFound("tenant")
		}
		if err != nil {
			return err
		}
		days := func(n int) pgtype.Date { return pgtype.Date{Time: today.Time.AddDate(0, 0, -n), Valid: true} }
		staff, err := q.Staff(ctx, usagedb.StaffParams{TenantID: tenantID, MonthSeen: now.Add(-30 * 24 * time.Hour),
			MonthShared: days(29), WeekSeen: now.Add(-7 * 24 * time.Hour), WeekShared: days(6)})
		if err != nil {
			return err
		}
		utcToday := now.UTC().Truncate(24 * time.Hour)
		t, err := q.Totals(ctx, usagedb.TotalsParams{TenantID: tenantID, Since: days(29),
			PushSince: pgtype.Date{Time: utcToday.AddDate(0, 0, -29), Valid: true}})
		if err != nil {
			return err
		}
		row, err := q.SaveUsage(ctx, usagedb.SaveUsageParams{TenantID: tenantID, Day: today, MeasuredAt: now,
			SeatsUsed: staff.Seats, Active7d: staff.Active7d, Active30d: staff.Active30d, Shares30d: t.Shares, Views30d: t.Views,
			Customers: t.Customers, StorageBytes: t.StorageBytes, Pushes30d: t.Pushes})
		u = fromRow(row)
		return err
	})
	return u, err
}

// History answers a tenant's daily measures, newest first, HistoryDays at most.
func (s *Service) History(ctx context.Context, tenantID uuid.UUID) ([]Usage, error) {
	var out []Usage
	err := s.db.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := usagedb.New(tx).History(ctx, usagedb.HistoryParams{TenantID: tenantID, Days: HistoryDays})
		for _, r := range rows {
			out = append(out, fromRow(r))
		}
		return err
	})
	return out, err
}

// MeasureAll measures every tenant at now, one transaction each. A tenant that fails does not stop the
// others; the first error is answered once all were tried.
func (s *Service) MeasureAll(ctx context.Context, now time.Time) (int, error) {
	ids, err := s.tenants(ctx)
	if err != nil {
		return 0, err
	}
	var first error
	n := 0
	for _, id := range ids {
		if _, err := s.Measure(ctx, id, now); err != nil {
			if first == nil && !errors.Is(err, context.Canceled) {
				first = err
			}
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
			continue
		}
		n++
	}
	return n, first
}

func fromRow(r usagedb.TenantUsage) Usage {
	return Usage{TenantID: r.TenantID, Day: r.Day.Time, MeasuredAt: r.MeasuredAt, SeatsUsed: int(r.SeatsUsed),
		Active7d: int(r.Active7d), Active30d: int(r.Active30d), Shares30d: int(r.Shares30d), Views30d: int(r.Views30d),
		Customers: int(r.Customers), StorageBytes: r.StorageBytes, Pushes30d: int(r.Pushes30d)}
}

// MeasureArgs is the periodic job measuring every tenant (hourly, and when the workers start: a daily
// interval would never come round on nodes restarted more often than that).
type MeasureArgs struct{}

// Kind implements river.JobArgs.
func (MeasureArgs) Kind() string { return "usage_measure_all" }

// Worker runs MeasureArgs.
type Worker struct {
	river.WorkerDefaults[MeasureArgs]
	s   *Service
	now func() time.Time
}

// Worker returns the periodic job's worker.
func (s *Service) Worker() *Worker { return &Worker{s: s, now: time.Now} }

// Work measures every tenant.
func (w *Worker) Work(ctx context.Context, _ *river.Job[MeasureArgs]) error {
	_, err := w.s.MeasureAll(ctx, w.now())
	return err
}

// Timeout gives the job time for many tenants.
func (w *Worker) Timeout(*river.Job[MeasureArgs]) time.Duration { return 30 * time.Minute }
