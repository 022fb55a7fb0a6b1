package stats

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform/testclock"
)

// reader counts reads; each read's order has one person whose value is the read's number, and a read
// waits for gate when gate is set.
type reader struct {
	n    atomic.Int32
	gate chan struct{}
	fail atomic.Bool
	took time.Duration
	clk  *testclock.Clock
}

func (r *reader) read(ctx context.Context, k rankKey) ([]Place, error) {
	n := r.n.Add(1)
	if r.gate != nil {
		select {
		case <-r.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	r.clk.Advance(r.took)
	if r.fail.Load() {
		return nil, errors.New("the database is down")
	}
	return []Place{{EmployeeID: uuid.Nil, Name: "n", Value: n, Rank: 1}}, nil
}

func valueOf(t *testing.T, o *rankOrder) int32 {
	t.Helper()
	require.Len(t, o.places, 1)
	return o.places[0].Value
}

func TestRankCacheReadsOncePerSecondAndServesTheOrderInHandMeanwhile(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	c := newRankCache(clk.Now)
	r := &reader{clk: clk}
	k := rankKey{tenant: uuid.New(), metric: Views, rollup: "month", from: "2026-12-01", to: "2026-12-07"}
	get := func() *rankOrder {
		t.Helper()
		o, err := c.get(ctx, k, r.read)
		require.NoError(t, err)
		return o
	}

	// The first request reads; requests within the second do not.
	require.EqualValues(t, 1, valueOf(t, get()))
	clk.Advance(900 * time.Millisecond)
	require.EqualValues(t, 1, valueOf(t, get()))
	require.EqualValues(t, 1, r.n.Load())

	// A second old: answered from the order in hand while one read runs, however many ask.
	r.gate = make(chan struct{})
	clk.Advance(200 * time.Millisecond)
	for range 20 {
		require.EqualValues(t, 1, valueOf(t, get()))
	}
	close(r.gate)
	require.Eventually(t, func() bool {
		o, _ := c.orders.Get(k)
		return valueOf(t, o) == 2
	}, 5*time.Second, time.Millisecond)
	// The order is stored just before the read leaves the group: wait for it to leave, so the next
	// request starts a read of its own rather than joining the finished one.
	<-c.reads.DoChan(k.String(), func() (any, error) { return nil, nil })
	require.EqualValues(t, 2, r.n.Load(), "one background read for twenty requests")
	require.EqualValues(t, 2, valueOf(t, get()))

	// Half a minute old: the request waits for the read.
	r.gate = nil
	clk.Advance(rankStale)
	require.EqualValues(t, 3, valueOf(t, get()))

	// A read that fails: the request that waits for it hears so; a failed background read leaves the
	// order in hand.
	r.fail.Store(true)
	clk.Advance(2 * time.Second)
	require.EqualValues(t, 3, valueOf(t, get()))
	require.Eventually(t, func() bool { return r.n.Load() == 4 }, 5*time.Second, time.Millisecond)
	clk.Advance(rankStale)
	_, err := c.get(ctx, k, r.read)
	require.ErrorContains(t, err, "the database is down")
	r.fail.Store(false)

	// An order that took 100 ms to read is read at most every 2 s (rankEffort times as long).
	r.took = 100 * time.Millisecond
	clk.Advance(rankStale)
	before := r.n.Load()
	get()
	clk.Advance(1500 * time.Millisecond)
	get()
	require.Equal(t, before+1, r.n.Load())
}

func TestRankCacheKeepsALimitedNumberOfOrders(t *testing.T) {
	clk := testclock.New(time.Now())
	c := newRankCache(clk.Now)
	r := &reader{clk: clk}
	first := rankKey{tenant: uuid.New(), metric: Views}
	_, err := c.get(context.Background(), first, r.read)
	require.NoError(t, err)
	for range rankOrdersKept {
		_, err := c.get(context.Background(), rankKey{tenant: uuid.New(), metric: Views}, r.read)
		require.NoError(t, err)
	}
	require.Equal(t, rankOrdersKept, c.orders.Len())
	require.False(t, c.orders.Contains(first), "the least recently used order went")
}

func TestAnOrderAnswersTopCallerAndTheOneAhead(t *testing.T) {
	ids := []uuid.UUID{uuid.New(), uuid.New(), uuid.New(), uuid.New()}
	o := &rankOrder{places: []Place{
		{EmployeeID: ids[0], Name: "Ann", Value: 9, Rank: 1}, {EmployeeID: ids[1], Name: "Bob", Value: 7, Rank: 2},
		{EmployeeID: ids[2], Name: "Cat", Value: 4, Rank: 3}, {EmployeeID: ids[3], Name: "Dan", Value: 4, Rank: 4},
	}}
	r := o.rank(2, ids[2])
	require.EqualValues(t, 4, r.Total)
	require.Equal(t, o.places[:2], r.Top)
	require.Equal(t, o.places[2], *r.Me)
	require.Equal(t, o.places[1], *r.Ahead)
	require.EqualValues(t, 3, r.Gap, "3 behind Bob")
	r.Top[0].Name = "changed"
	require.Equal(t, "Ann", o.places[0].Name, "answers are copies")

	first := o.rank(10, ids[0])
	require.Len(t, first.Top, 4)
	require.Nil(t, first.Ahead)
	require.Nil(t, o.rank(3, uuid.New()).Me, "not in the scope")
}
