package stats

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"
)

// A ranking is the whole order of its scope (every active employee of the tenant or team, by one metric
// over one span), read from the counters in one statement and kept by the node for a short while: a
// request answers from it in microseconds (its top places, the caller's place and the one before it)
// instead of ordering 10,000 people each time. An order is read again when a request finds it older
// than rankFresh, or than rankEffort times what its last read took (so that a slow order, a long
// custom span, costs at most a twentieth of a core while it is being asked for); until rankStale, the
// request is answered from the order in hand while one read for it runs in the background. One read per
// order at a time, however many requests ask (singleflight).
const (
	rankFresh       = time.Second
	rankEffort      = 20
	rankStale       = 30 * time.Second
	rankOrdersKept  = 64 // per node, least recently used first out: about 0.5 MB for 10,000 people
	rankReadTimeout = 20 * time.Second
)

// rankKey names one order. Days are calendar dates ("2006-01-02") in the tenant's zone.
type rankKey struct {
	tenant, team uuid.UUID
	byTeam       bool
	metric       Metric
	rollup       string // "week" or "month" for a whole rollup period, "" for summed days
	from, to     string
}

func (k rankKey) String() string {
	return fmt.Sprintf("%s/%s/%t/%s/%s/%s/%s", k.tenant, k.team, k.byTeam, k.metric, k.rollup, k.from, k.to)
}

// rankOrder is one order as read at read.
type rankOrder struct {
	places []Place // by rank
	read   time.Time
	took   time.Duration
}

// rank answers a ranking from the order: the first top places, the caller's and the one just before.
func (o *rankOrder) rank(top int, me uuid.UUID) Ranking {
	out := Ranking{Total: int32(len(o.places))}
	out.Top = append([]Place(nil), o.places[:min(top, len(o.places))]...)
	for i := range o.places {
		if o.places[i].EmployeeID != me {
			continue
		}
		m := o.places[i]
		out.Me = &m
		if i > 0 {
			a := o.places[i-1]
			out.Ahead = &a
			out.Gap = a.Value - m.Value
		}
		break
	}
	return out
}

type rankCache struct {
	orders *lru.Cache[rankKey, *rankOrder]
	reads  singleflight.Group
	now    func() time.Time
}

func newRankCache(now func() time.Time) *rankCache {
	orders, _ := lru.New[rankKey, *rankOrder](rankOrdersKept) // only a size below 1 fails
	return &rankCache{orders: orders, now: now}
}

// get returns the order k names, reading it with read when the node has none young enough.
func (c *rankCache) get(ctx context.Context, k rankKey, read func(context.Context, rankKey) ([]Place, error)) (*rankOrder, error) {
	refresh := func() <-chan singleflight.Result {
		return c.reads.DoChan(k.String(), func() (any, error) {
			// The read outlives a request that gives up: others may be waiting for it.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rankReadTimeout)
			defer cancel()
			began := c.now()
			places, err := read(ctx, k)
			if err != nil {
				return nil, err
			}
			o := &rankOrder{places: places, read: began, took: c.now().Sub(began)}
			c.orders.Add(k, o)
			return o, nil
		})
	}
	if o, ok := c.orders.Get(k); ok {
		age := c.now().Sub(o.read)
		if age < max(rankFresh, rankEffort*o.took) {
			return o, nil
		}
		if age < rankStale {
			refresh() // in the background: this request is answered from the order in hand
			return o, nil
		}
	}
	select {
	case r := <-refresh():
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*rankOrder), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
