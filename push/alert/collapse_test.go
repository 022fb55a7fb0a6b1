package alert

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// A burst of new visitors: every alert is recorded (the app gets each by WebSocket and sync), but the
// phone is pushed the first at once and the rest in one summary when the window ends; each alert is
// pushed once, alone or in a summary, and a window later the next visitor is pushed at once again.
func TestABurstOfNewVisitorsIsPushedOncePerWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, people := pushFixture(t, 0)
	sp := people[2] // alone in their tenant
	record := func(at time.Time, n int) []Push {
		var alerts []Alert
		for i := range n {
			alerts = append(alerts, Alert{Kind: KindNewCustomer, EmployeeID: sp.key.EmployeeID, CustomerID: uuid.New(),
				Body: fmt.Sprintf("visitor %d opened your card", i), At: at})
		}
		q := &queued{}
		require.NoError(t, s.db.InTenantTx(ctx, sp.key.TenantID, func(tx pgx.Tx) error {
			_, err := Record(ctx, tx, q, sp.key.TenantID, alerts, at)
			return err
		}))
		return q.pushes
	}
	t0 := time.Now()
	first := record(t0, 1)
	require.Len(t, first, 2, "the first visitor at once, and the window's summary queued")
	require.Zero(t, first[0].SummaryUntil)
	require.Equal(t, int64(1), first[0].Seq)
	until := first[1].SummaryUntil
	require.False(t, until.IsZero())
	require.Equal(t, NewCustomerWindow, until.Sub(t0).Round(time.Millisecond))
	for i := range 11 {
		require.Empty(t, record(t0.Add(time.Duration(i+1)*time.Second), 1), "inside the window nothing is pushed now")
	}
	entries, err := s.Since(ctx, sp.key, 0, 100)
	require.NoError(t, err)
	require.Len(t, entries, 12, "every alert is recorded")

	p := NewPusher(s)
	defer p.Close()
	rec := &sent{bodies: map[string][]string{}}
	out, err := p.DeliverSummary(ctx, rec, sp.key, first[1].DeviceID, until)
	require.NoError(t, err)
	require.Equal(t, Sent, out)
	require.Equal(t, []string{"11 more new visitors in the last minute"}, rec.bodies[sp.token])
	// A retry of the same job says the same, and the window is closed: the next visitor opens another.
	_, err = p.DeliverSummary(ctx, rec, sp.key, first[1].DeviceID, until)
	require.NoError(t, err)
	require.Equal(t, "11 more new visitors in the last minute", rec.bodies[sp.token][1])

	next := record(until.Add(time.Second), 3)
	require.Len(t, next, 2, "one pushed at once, two left to the new window")
	require.Zero(t, next[0].SummaryUntil)
	require.Equal(t, int64(13), next[0].Seq)
	rec = &sent{bodies: map[string][]string{}}
	_, err = p.DeliverSummary(ctx, rec, sp.key, next[1].DeviceID, next[1].SummaryUntil)
	require.NoError(t, err)
	require.Equal(t, []string{"2 more new visitors in the last minute"}, rec.bodies[sp.token])

	// Other kinds are pushed each as before.
	q := &queued{}
	require.NoError(t, s.db.InTenantTx(ctx, sp.key.TenantID, func(tx pgx.Tx) error {
		_, err := Record(ctx, tx, q, sp.key.TenantID, []Alert{
			{Kind: KindCallClick, EmployeeID: sp.key.EmployeeID, CustomerID: uuid.New(), Body: "call", At: time.Now()},
			{Kind: KindPhoneLeft, EmployeeID: sp.key.EmployeeID, CustomerID: uuid.New(), Body: "phone", At: time.Now()}}, time.Now())
		return err
	}))
	require.Len(t, q.pushes, 2)
}

// A window with nothing left to it (one visitor in the minute) pushes nothing at its end.
func TestAQuietWindowPushesNoSummary(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, people := pushFixture(t, 0)
	sp := people[2]
	q := &queued{}
	now := time.Now()
	require.NoError(t, s.db.InTenantTx(ctx, sp.key.TenantID, func(tx pgx.Tx) error {
		_, err := Record(ctx, tx, q, sp.key.TenantID, []Alert{{Kind: KindNewCustomer, EmployeeID: sp.key.EmployeeID,
			CustomerID: uuid.New(), Body: "a new visitor", At: now}}, now)
		return err
	}))
	require.Len(t, q.pushes, 2)
	p := NewPusher(s)
	defer p.Close()
	rec := &sent{bodies: map[string][]string{}}
	out, err := p.DeliverSummary(ctx, rec, sp.key, q.pushes[1].DeviceID, q.pushes[1].SummaryUntil)
	require.NoError(t, err)
	require.Equal(t, Skipped, out)
	require.Empty(t, rec.bodies)
}

// unwindowed is queued with the collapse turned off.
type unwindowed struct{ queued }

func (unwindowed) NewCustomerPushWindow() time.Duration { return 0 }

// With the window set to 0 every new visitor is pushed alone, as before.
func TestAZeroWindowPushesEachNewVisitor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, people := pushFixture(t, 0)
	sp := people[2]
	q := &unwindowed{}
	now := time.Now()
	var alerts []Alert
	for range 5 {
		alerts = append(alerts, Alert{Kind: KindNewCustomer, EmployeeID: sp.key.EmployeeID, CustomerID: uuid.New(), Body: "new", At: now})
	}
	require.NoError(t, s.db.InTenantTx(ctx, sp.key.TenantID, func(tx pgx.Tx) error {
		_, err := Record(ctx, tx, &Tracked{Jobs: q}, sp.key.TenantID, alerts, now)
		return err
	}))
	require.Len(t, q.pushes, 5)
	for _, p := range q.pushes {
		require.Zero(t, p.SummaryUntil)
	}
}
