package replica

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"connectrpc.com/connect"
)

// RetryPolicy bounds the retries of one request after transient failures.
type RetryPolicy struct {
	// MaxAttempts counts the first attempt too; 1 means no retry.
	MaxAttempts int
	// BaseDelay is the wait before the first retry; each retry doubles it, up to MaxDelay. Each wait
	// is drawn at random between half of it and all of it, so that devices that failed together do
	// not come back together.
	BaseDelay, MaxDelay time.Duration
}

// DefaultRetryPolicy is the policy of a client made without WithRetry.
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 5, BaseDelay: 200 * time.Millisecond, MaxDelay: 5 * time.Second}

// delay returns the wait after the given failed attempt (1-based).
func (p RetryPolicy) delay(attempt int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < attempt && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// Transient reports whether a failed call may succeed if sent again unchanged: the network failed or
// the server answered unavailable, deadline exceeded, internal, resource exhausted or aborted.
func Transient(err error) bool {
	switch connect.CodeOf(err) {
	case connect.CodeUnavailable, connect.CodeDeadlineExceeded, connect.CodeInternal,
		connect.CodeResourceExhausted, connect.CodeAborted:
		return true
	case connect.CodeUnknown:
		// Not an answer from the server: a connection that broke mid-response and the like.
		return !connect.IsWireError(err)
	}
	return false
}

// call sends req with rpc, retrying transient failures.
func call[Req, Resp any](ctx context.Context, c *Client, op string,
	rpc func(context.Context, *connect.Request[Req]) (*connect.Response[Resp], error), req *Req) (*Resp, error) {
	return withRetry(ctx, c, op, func(ctx context.Context) (*Resp, error) {
		r, err := rpc(ctx, connect.NewRequest(req))
		if err != nil {
			return nil, err
		}
		return r.Msg, nil
	})
}

// withRetry calls call until it succeeds, fails for good, runs out of attempts or ctx is done. Each
// attempt gets the client's request timeout.
func withRetry[T any](ctx context.Context, c *Client, op string, call func(context.Context) (T, error)) (T, error) {
	p := c.cfg.retry
	for attempt := 1; ; attempt++ {
		v, err := attemptOnce(ctx, c.cfg.requestTimeout, call)
		if err == nil {
			return v, nil
		}
		if ctx.Err() != nil {
			return v, errors.Join(ctx.Err(), err)
		}
		if !Transient(err) || attempt >= p.MaxAttempts {
			return v, err
		}
		wait := p.delay(attempt)
		c.cfg.logger.WarnContext(ctx, "sync call failed, retrying",
			"op", op, "device_id", c.deviceID, "attempt", attempt, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return v, errors.Join(ctx.Err(), err)
		case <-t.C:
		}
	}
}

func attemptOnce[T any](ctx context.Context, timeout time.Duration, call func(context.Context) (T, error)) (T, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return call(ctx)
}
