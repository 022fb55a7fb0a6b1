// Package ratelimit limits requests per key (a client IP, a visitor id) with token buckets, keeping at most
// a bounded number of keys so that a flood of distinct keys cannot exhaust memory.
package ratelimit

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/time/rate"

	"github.com/salesapp/scrm/backend/platform"
)

// Limiter holds one token bucket per key.
type Limiter struct {
	limit   rate.Limit
	burst   int
	maxKeys int
	now     func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// New allows each key perSecond requests on average, in bursts of up to burst. At most maxKeys keys are
// tracked; past that, keys idle the longest are forgotten (they start again with a full bucket).
func New(perSecond float64, burst, maxKeys int) *Limiter {
	return &Limiter{limit: rate.Limit(perSecond), burst: burst, maxKeys: maxKeys, now: time.Now,
		buckets: make(map[string]*bucket)}
}

// Allow reports whether a request for key may go ahead now.
func (l *Limiter) Allow(key string) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bucket(key, now).lim.AllowN(now, 1)
}

// Take is Allow that can be undone: when a request must pass several limiters (a link's budget and its
// tenant's), the tokens taken from the first are given back if a later one refuses, so a refusal costs
// nothing. undo is nil when ok is false.
func (l *Limiter) Take(key string) (undo func(), ok bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.bucket(key, now).lim.ReserveN(now, 1)
	if !r.OK() || r.DelayFrom(now) > 0 {
		r.CancelAt(now)
		return nil, false
	}
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		r.CancelAt(l.now())
	}, true
}

// bucket returns key's bucket, made full when new; l.mu is held.
func (l *Limiter) bucket(key string, now time.Time) *bucket {
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxKeys {
			l.evict(now)
		}
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	return b
}

// evict drops buckets that have refilled (idle long enough to be full again), and if none has, the
// oldest half: eviction is rare and amortized over maxKeys/2 insertions.
func (l *Limiter) evict(now time.Time) {
	full := time.Duration(float64(l.burst) / float64(l.limit) * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.seen) > full {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) < l.maxKeys {
		return
	}
	seen := make([]time.Time, 0, len(l.buckets))
	for _, b := range l.buckets {
		seen = append(seen, b.seen)
	}
	cutoff := median(seen)
	for k, b := range l.buckets {
		if !b.seen.After(cutoff) {
			delete(l.buckets, k)
		}
	}
}

func median(ts []time.Time) time.Time {
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	return ts[len(ts)/2]
}

// PerIP is a Connect interceptor that limits the listed procedures per client address (AddressKey: IPv6
// per /64), answering
// ResourceExhausted. Other procedures pass untouched (authenticated ones are limited elsewhere).
type PerIP struct {
	lim        *Limiter
	procedures map[string]bool
}

// NewPerIP limits procedures with lim.
func NewPerIP(lim *Limiter, procedures ...string) *PerIP {
	m := make(map[string]bool, len(procedures))
	for _, p := range procedures {
		m[p] = true
	}
	return &PerIP{lim: lim, procedures: m}
}

// ClientIP is the host part of a peer address ("1.2.3.4:5678" → "1.2.3.4"), the key of per-address limits.
func ClientIP(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

// AddressKey is the key of per-address limits for a peer address (host:port or a bare host): an IPv4
// client is limited per address, an IPv6 client per /64 ("2001:db8:1:2::/64"), because one subscriber is
// routinely given a whole /64 and can draw fresh addresses from it at will: keyed per address, one IPv6
// host would have 2^64 buckets to spend. IPv4-mapped IPv6 addresses count as IPv4. What does not parse as
// an address is its own key.
func AddressKey(addr string) string {
	host := ClientIP(addr)
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a.WithZone(""), 64).Masked().String()
}

var errTooMany = platform.ResourceExhausted("too many requests from your address: wait a moment and retry")

// WrapUnary implements connect.Interceptor.
func (p *PerIP) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if !req.Spec().IsClient && p.procedures[req.Spec().Procedure] && !p.lim.Allow(AddressKey(req.Peer().Addr)) {
			return nil, errTooMany
		}
		return next(ctx, req)
	}
}

// WrapStreamingClient implements connect.Interceptor.
func (p *PerIP) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler implements connect.Interceptor.
func (p *PerIP) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if p.procedures[conn.Spec().Procedure] && !p.lim.Allow(AddressKey(conn.Peer().Addr)) {
			return errTooMany
		}
		return next(ctx, conn)
	}
}
