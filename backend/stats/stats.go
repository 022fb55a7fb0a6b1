// Package stats keeps the counters behind rankings, dashboards and today's follow-up list: per
// salesperson and day, and per material and day, in the tenant's time zone. They are written where the
// events happen (RecordEventsTx inside the tracking ingest's transaction, RecordShareTx inside a share's,
// RecordTaskCompletedTx inside a task's completion), so a ranking or a dashboard sums a month of daily
// rows instead of scanning events, and an event stored once (by its id) is counted once.
//
// Everyone sees rankings (of the tenant or their team); a salesperson sees their own dashboard and
// follow-ups; a manager sees their team's dashboard, an admin any team's or the whole tenant's.
package stats

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/stats/internal/statsdb"
)

// Metric is what a ranking orders by.
type Metric string

// The metrics.
const (
	Shares         Metric = "shares"
	Views          Metric = "views"
	Visitors       Metric = "visitors"
	NewCustomers   Metric = "new_customers"
	Leads          Metric = "leads"
	Forwards       Metric = "forwards"
	TasksCompleted Metric = "tasks_completed"
)

// Valid reports whether m is a known metric.
func (m Metric) Valid() bool {
	switch m {
	case Shares, Views, Visitors, NewCustomers, Leads, Forwards, TasksCompleted:
		return true
	}
	return false
}

// Period is the span a ranking or dashboard covers, in the tenant's time zone.
type Period int

// The periods. Weeks start on Monday.
const (
	Today Period = iota
	ThisWeek
	ThisMonth
	Custom
)

// Span picks a period; From and To (inclusive calendar days, "2006-01-02") only for Custom.
type Span struct {
	Period   Period
	From, To string
}

// MaxCustomDays is the longest custom span.
const MaxCustomDays = 366

// Days is an inclusive range of calendar days in the tenant's time zone.
type Days struct {
	// From and To are midnight (in Loc) of the first and the last day.
	From, To time.Time
	Loc      *time.Location
}

// Start is the first instant of the range, End the first instant after it.
func (d Days) Start() time.Time { return d.From }

// End is the first instant after the range.
func (d Days) End() time.Time { return d.To.AddDate(0, 0, 1) }

func (d Days) params() (pgtype.Date, pgtype.Date) {
	return date(d.From), date(d.To)
}

func date(t time.Time) pgtype.Date {
	return pgtype.Date{Time: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), Valid: true}
}

func midnight(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

// resolve turns a span into days, now being the current time in the tenant's zone.
func resolve(sp Span, now time.Time) (Days, error) {
	loc := now.Location()
	today := midnight(now)
	switch sp.Period {
	case Today:
		return Days{today, today, loc}, nil
	case ThisWeek:
		back := (int(today.Weekday()) + 6) % 7 // days since Monday
		return Days{today.AddDate(0, 0, -back), today, loc}, nil
	case ThisMonth:
		return Days{time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, loc), today, loc}, nil
	case Custom:
		from, err := time.ParseInLocation(time.DateOnly, sp.From, loc)
		if err != nil {
			return Days{}, platform.Invalid("from_date", "not a date (YYYY-MM-DD)")
		}
		to, err := time.ParseInLocation(time.DateOnly, sp.To, loc)
		if err != nil {
			return Days{}, platform.Invalid("to_date", "not a date (YYYY-MM-DD)")
		}
		if to.Before(from) {
			return Days{}, platform.Invalid("to_date", "before from_date")
		}
		if to.Sub(from) >= MaxCustomDays*24*time.Hour {
			return Days{}, platform.Invalid("to_date", fmt.Sprintf("a custom span is at most %d days", MaxCustomDays))
		}
		return Days{from, to, loc}, nil
	}
	return Days{}, platform.Invalid("period", "unknown period")
}

// wholeWeeks bounds the whole weeks (Monday to Sunday) inside d: from the first Monday on or after its
// first day to the last Sunday on or before its last; none when the Monday comes after the Sunday.
func (d Days) wholeWeeks() (firstMonday, lastSunday pgtype.Date) {
	return date(d.From.AddDate(0, 0, (8-isoWeekday(d.From))%7)), date(d.To.AddDate(0, 0, -(isoWeekday(d.To) % 7)))
}

// isoWeekday is 1 for Monday to 7 for Sunday.
func isoWeekday(t time.Time) int {
	if t.Weekday() == time.Sunday {
		return 7
	}
	return int(t.Weekday())
}

// previous is the span of equal length just before d (yesterday for today; last week's Monday to the
// same weekday for this week so far).
func (d Days) previous() Days {
	n := int(d.To.Sub(d.From).Hours()/24+0.5) + 1
	if d.From.Weekday() == time.Monday && n <= 7 {
		return Days{d.From.AddDate(0, 0, -7), d.To.AddDate(0, 0, -7), d.Loc}
	}
	return Days{d.From.AddDate(0, 0, -n), d.From.AddDate(0, 0, -1), d.Loc}
}

// Service answers rankings, dashboards and follow-ups.
type Service struct {
	db       *platform.DB
	now      func() time.Time
	rankings *rankCache
	zones    *lru.Cache[uuid.UUID, zoneEntry]
}

// NewService builds the service; now is the clock (nil: time.Now), which tests set to a fixed instant.
func NewService(db *platform.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	zones, _ := lru.New[uuid.UUID, zoneEntry](4096) // only a size below 1 fails
	return &Service{db: db, now: now, rankings: newRankCache(now), zones: zones}
}

// clock returns now in the tenant's time zone.
func (s *Service) clock(ctx context.Context, q *statsdb.Queries, tenantID uuid.UUID) (time.Time, error) {
	loc, err := s.zone(tenantID, func() (string, error) { return q.TenantTimeZone(ctx, tenantID) })
	if err != nil {
		return time.Time{}, err
	}
	return s.now().In(loc), nil
}

// zoneFresh is how long the node trusts a tenant's time zone without reading it again: a change of
// zone reaches rankings and dashboards within a minute.
const zoneFresh = time.Minute

type zoneEntry struct {
	loc  *time.Location
	read time.Time
}

// zone is the tenant's time zone, read with read when the node has not read it in the last zoneFresh.
func (s *Service) zone(tenantID uuid.UUID, read func() (string, error)) (*time.Location, error) {
	if z, ok := s.zones.Get(tenantID); ok && s.now().Sub(z.read) < zoneFresh && !s.now().Before(z.read) {
		return z.loc, nil
	}
	name, err := read()
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("stats: tenant time zone %q: %w", name, err)
	}
	s.zones.Add(tenantID, zoneEntry{loc: loc, read: s.now()})
	return loc, nil
}

// nowIn is now in the tenant's zone, which it reads in a transaction of its own when the node does not
// know it.
func (s *Service) nowIn(ctx context.Context, tenantID uuid.UUID) (time.Time, error) {
	loc, err := s.zone(tenantID, func() (name string, err error) {
		err = s.db.InTenantSnapshot(ctx, tenantID, func(tx pgx.Tx) error {
			name, err = statsdb.New(tx).TenantTimeZone(ctx, tenantID)
			return err
		})
		return name, err
	})
	if err != nil {
		return time.Time{}, err
	}
	return s.now().In(loc), nil
}

// Totals are one person's (or a scope's) counters over some days.
type Totals struct {
	Shares, Views, Visitors, Identified, NewCustomers, Leads, Forwards, TasksCompleted int32
}

// Value is the counter of one metric.
func (t Totals) Value(m Metric) int32 {
	switch m {
	case Shares:
		return t.Shares
	case Views:
		return t.Views
	case Visitors:
		return t.Visitors
	case NewCustomers:
		return t.NewCustomers
	case Leads:
		return t.Leads
	case Forwards:
		return t.Forwards
	case TasksCompleted:
		return t.TasksCompleted
	}
	return 0
}

func (t *Totals) add(o Totals) {
	t.Shares += o.Shares
	t.Views += o.Views
	t.Visitors += o.Visitors
	t.Identified += o.Identified
	t.NewCustomers += o.NewCustomers
	t.Leads += o.Leads
	t.Forwards += o.Forwards
	t.TasksCompleted += o.TasksCompleted
}

// inTenant runs fn in one snapshot of the caller's tenant, now being the time in its zone.
func (s *Service) inTenant(ctx context.Context, p authn.Principal, fn func(q *statsdb.Queries, now time.Time) error) error {
	return s.inTenantWith(ctx, s.db.InTenantSnapshot, p, fn)
}

// inTenantWith is inTenant in a transaction begun by begin.
func (s *Service) inTenantWith(ctx context.Context, begin func(context.Context, uuid.UUID, func(pgx.Tx) error) error,
	p authn.Principal, fn func(q *statsdb.Queries, now time.Time) error) error {
	return begin(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := statsdb.New(tx)
		now, err := s.clock(ctx, q, p.TenantID)
		if err != nil {
			return err
		}
		return fn(q, now)
	})
}
