package web

import (
	"context"
	"time"

	"golang.org/x/time/rate"

	"github.com/salesapp/scrm/backend/platform"
)

// DefaultLookupRate is how many links not in the page cache a node looks up a second when
// Deps.LookupRate is 0.
const DefaultLookupRate = 200

// lookupWait is the longest an open waits for its turn to look its link up; beyond, it is answered busy.
const lookupWait = 2 * time.Second

// errLinksBusy answers an open past the node's lookup budget: a page with Retry-After, an RPC with
// ResourceExhausted and RetryInfo.
var errLinksBusy = platform.RetryLater("too many new links are being opened on this server; try again in a second", time.Second)

// lookupGate bounds the links not in the page cache that a node looks up (a read of PostgreSQL each, and
// a page rendered for someone new), so that a flood of distinct tokens (a botnet opening forwards, or
// guessing) takes a bounded share of the node and of the database, whatever the number of addresses it
// comes from. Opens of cached links (one link in a busy group chat) never pass through it. Opens past the
// budget wait their turn, up to lookupWait, so a flood's clients are slowed instead of answered at once
// and coming straight back; beyond that wait they are answered busy.
type lookupGate struct {
	lim *rate.Limiter
}

// newLookupGate allows perSecond lookups a second, in bursts of as many.
func newLookupGate(perSecond int) *lookupGate {
	if perSecond <= 0 {
		perSecond = DefaultLookupRate
	}
	return &lookupGate{lim: rate.NewLimiter(rate.Limit(perSecond), perSecond)}
}

// admit returns once the caller may look a link up, errLinksBusy when its turn is more than lookupWait
// away, or the context's error when the caller left.
func (g *lookupGate) admit(ctx context.Context) error {
	if g.lim.Allow() {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, lookupWait)
	defer cancel()
	if err := g.lim.Wait(wctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return errLinksBusy
	}
	return nil
}
