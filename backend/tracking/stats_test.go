package tracking_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/stats"
	"github.com/salesapp/scrm/backend/tracking"
)

// The ingest moves the daily counters in its own transaction; an event resent (in a later request or
// twice in one) counts once.
func TestIngestMovesTheStatsCountersOncePerEvent(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	ctx := context.Background()
	view := s.ev(event.CardView, "visitor-stats-1")
	phone := s.ev(event.PhoneLeft, "visitor-stats-1")
	phone.Phone = "+8613800138000"
	fwd := s.ev(event.Forward, "visitor-stats-1")
	res, err := s.svc.Ingest(ctx, []tracking.Event{view, view, phone, fwd})
	require.NoError(t, err)
	require.Equal(t, 4, res.Accepted+res.Duplicates) // the repeat inside the batch is stored once (the counters below)
	res, err = s.svc.Ingest(ctx, []tracking.Event{view, phone, fwd, s.ev(event.CardView, "visitor-stats-2")})
	require.NoError(t, err)
	require.Equal(t, tracking.Result{Accepted: 1, Duplicates: 3}, res)
	// The same visitor viewing again is a second view but not a second visitor that day.
	_, err = s.svc.Ingest(ctx, []tracking.Event{s.ev(event.CardView, "visitor-stats-1")})
	require.NoError(t, err)

	// Read back around today in the tenant's zone (yesterday to tomorrow: the test does not depend on
	// the hour it runs at).
	loc, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	now := time.Now().In(loc)
	span := stats.Span{Period: stats.Custom, From: now.AddDate(0, 0, -1).Format(time.DateOnly), To: now.AddDate(0, 0, 1).Format(time.DateOnly)}
	svc := stats.NewService(s.db.App, nil)
	want := map[stats.Metric]int32{stats.Shares: 1, stats.Views: 3, stats.Visitors: 2, stats.NewCustomers: 2, stats.Leads: 1, stats.Forwards: 1, stats.TasksCompleted: 0}
	for m, n := range want {
		r, err := svc.Rank(ctx, s.sales, stats.RankingQuery{Metric: m, Span: span, Top: 5})
		require.NoError(t, err)
		require.EqualValues(t, n, r.Me.Value, m)
	}
}
