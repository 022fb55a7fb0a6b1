// Package batch turns many concurrent calls into a few batches: a database round trip costs about as
// much for a hundred rows as for one, so callers that each need one row share the trip. Each of a few
// workers takes what is waiting (lingering a moment for more, if asked), runs it as one batch and
// answers every call; calls that arrive meanwhile form the next batch, so under load batches grow by
// themselves and with no load a call waits for nothing but its own linger.
package batch

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed answers calls made after Close.
var ErrClosed = errors.New("batch: closed")

// errUnanswered answers a call its batch's run forgot, so that its caller is not left waiting.
var errUnanswered = errors.New("batch: the batch ended without answering this call")

// Options shape the batches.
type Options[In any] struct {
	// Workers is how many batches may run at once (default 1).
	Workers int
	// Max is the most weight one batch takes (default 1,000).
	Max int
	// Weight is a call's weight (default 1 each): rows rather than requests, say.
	Weight func(In) int
	// Linger is how long a batch waits for more calls after its first; zero takes what is waiting.
	Linger time.Duration
	// Queue is how many calls may wait for a worker before Do blocks (default 4,096).
	Queue int
}

// Call is one caller's input in a batch, with its context. Its batch answers it exactly once.
type Call[In, Out any] struct {
	Ctx      context.Context
	In       In
	answered atomic.Bool
	done     chan result[Out]
}

type result[Out any] struct {
	out Out
	err error
}

// Answer gives the call its result; answers after the first are ignored. Safe from any goroutine.
func (c *Call[In, Out]) Answer(out Out, err error) {
	if c.answered.CompareAndSwap(false, true) {
		c.done <- result[Out]{out, err}
	}
}

// Batcher runs batches of calls through one function.
type Batcher[In, Out any] struct {
	opts Options[In]
	run  func([]*Call[In, Out])
	in   chan *Call[In, Out]
	// mu keeps Close from overtaking a Do that is handing in its call: once closed is set no call enters,
	// so the workers' final drain finds every call.
	mu     sync.RWMutex
	closed bool
	stop   chan struct{}
	wg     sync.WaitGroup
}

// New starts the workers. run gets each batch (never empty) and must answer its calls (Call.Answer),
// by position or in any order; a call it leaves unanswered gets an error. Calls whose context ended
// while they waited are answered with the context's error and left out.
func New[In, Out any](opts Options[In], run func(batch []*Call[In, Out])) *Batcher[In, Out] {
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	if opts.Max <= 0 {
		opts.Max = 1000
	}
	if opts.Weight == nil {
		opts.Weight = func(In) int { return 1 }
	}
	if opts.Queue <= 0 {
		opts.Queue = 4096
	}
	b := &Batcher[In, Out]{opts: opts, run: run, in: make(chan *Call[In, Out], opts.Queue), stop: make(chan struct{})}
	for range opts.Workers {
		b.wg.Go(b.work)
	}
	return b
}

// Do hands in one call and waits for its answer. If ctx ends first, Do returns ctx's error at once; the
// call may still run with its batch.
func (b *Batcher[In, Out]) Do(ctx context.Context, in In) (Out, error) {
	var zero Out
	c := &Call[In, Out]{Ctx: ctx, In: in, done: make(chan result[Out], 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return zero, ErrClosed
	}
	select {
	case b.in <- c:
	case <-ctx.Done():
		b.mu.RUnlock()
		return zero, ctx.Err()
	}
	b.mu.RUnlock()
	select {
	case r := <-c.done:
		return r.out, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// Close refuses new calls, runs the ones already handed in, and returns when every batch has ended.
func (b *Batcher[In, Out]) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	b.mu.Unlock()
	close(b.stop)
	b.wg.Wait()
}

func (b *Batcher[In, Out]) work() {
	for {
		var first *Call[In, Out]
		select {
		case first = <-b.in:
		case <-b.stop:
			// No call can enter now: run what is still queued, then leave.
			for {
				select {
				case first = <-b.in:
					b.runBatch(b.fill(first, false))
				default:
					return
				}
			}
		}
		b.runBatch(b.fill(first, true))
	}
}

// fill gathers a batch behind its first call: what is waiting, and what arrives within the linger.
func (b *Batcher[In, Out]) fill(first *Call[In, Out], linger bool) []*Call[In, Out] {
	batch, weight := []*Call[In, Out]{first}, b.opts.Weight(first.In)
	var timeout <-chan time.Time
	if linger && b.opts.Linger > 0 {
		t := time.NewTimer(b.opts.Linger)
		defer t.Stop()
		timeout = t.C
	}
	for weight < b.opts.Max {
		if timeout == nil {
			select {
			case c := <-b.in:
				batch, weight = append(batch, c), weight+b.opts.Weight(c.In)
				continue
			default:
				return batch
			}
		}
		select {
		case c := <-b.in:
			batch, weight = append(batch, c), weight+b.opts.Weight(c.In)
		case <-timeout:
			return batch
		}
	}
	return batch
}

func (b *Batcher[In, Out]) runBatch(batch []*Call[In, Out]) {
	live := batch[:0]
	for _, c := range batch {
		if err := c.Ctx.Err(); err != nil {
			var zero Out
			c.Answer(zero, err)
			continue
		}
		live = append(live, c)
	}
	if len(live) == 0 {
		return
	}
	defer func() {
		var zero Out
		for _, c := range live {
			c.Answer(zero, errUnanswered) // a no-op for the answered
		}
	}()
	b.run(live)
}

// RunOnce runs ins as one batch through run, on the caller's goroutine, and returns the answers by
// position: for tests of a batch function, which can then choose exactly what shares a batch.
func RunOnce[In, Out any](ctx context.Context, run func([]*Call[In, Out]), ins ...In) ([]Out, []error) {
	calls := make([]*Call[In, Out], len(ins))
	for i, in := range ins {
		calls[i] = &Call[In, Out]{Ctx: ctx, In: in, done: make(chan result[Out], 1)}
	}
	run(calls)
	outs, errs := make([]Out, len(ins)), make([]error, len(ins))
	for i, c := range calls {
		c.Answer(outs[i], errUnanswered)
		r := <-c.done
		outs[i], errs[i] = r.out, r.err
	}
	return outs, errs
}
