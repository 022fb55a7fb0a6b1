package replica

import (
	"context"
	"errors"
	"fmt"
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
// the server answered unavailable, deadline exceeded, internal, resource exhausted or aborted. Only a
// *connect.Error can be transient (the Connect client reports network failures as one too): nil, the
// store's errors and the client's own (ErrProtocol and the like) are not.
func Transient(err error) bool {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return false
	}
	switch ce.Code() {
	case connect.CodeUnavailable, connect.CodeDeadlineExceeded, connect.CodeInternal,
		connect.CodeResourceExhausted, connect.CodeAborted:
		return true
	case connect.CodeUnknown:
		// Not an answer from the server: a connection that broke mid-response and the like.
		return !connect.IsWireError(ce)
	}
	return false
}

// call sends req with rpc until it succeeds, fails for good, runs out of attempts or ctx is done,
// retrying transient failures per the client's retry policy. Each attempt gets the client's request
// timeout. An error after more than one attempt, or after the last one, names op and the attempts.
func call[Req, Resp any](ctx context.Context, c *Client, op string,
	rpc func(context.Context, *connect.Request[Req]) (*connect.Response[Resp], error), req *Req) (*Resp, error) {
	p := c.cfg.retry
	for attempt := 1; ; attempt++ {
		actx, cancel := ctx, context.CancelFunc(func() {})
		if c.cfg.requestTimeout > 0 {
			actx, cancel = context.WithTimeout(ctx, c.cfg.requestTimeout)
		}
		resp, err := rpc(actx, connect.NewRequest(req)) // a unary response is read whole before it returns
		cancel()
		if err == nil {
			return resp.Msg, nil
		}
		giveUp := func(err error) error {
			return fmt.Errorf("replica: %s failed after %d attempts: %w", op, attempt, err)
		}
		if ctx.Err() != nil {
			return nil, giveUp(errors.Join(ctx.Err(), err))
		}
		switch {
		case !Transient(err) && attempt == 1:
			return nil, err // a final answer to the first try, as it is
		case !Transient(err) || attempt >= p.MaxAttempts:
			return nil, giveUp(err)
		}
		wait := p.delay(attempt)
		c.cfg.logger.WarnContext(ctx, "sync call failed, retrying",
			"op", op, "device_id", c.deviceID, "attempt", attempt, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, giveUp(errors.Join(ctx.Err(), err))
		case <-t.C:
		}
	}
}
