package batch

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// double answers each call with twice its input and records the batches it saw.
type double struct {
	mu      sync.Mutex
	batches [][]int
	// gate, when set, holds every batch until it is closed; entered is sent to as each batch begins.
	gate    chan struct{}
	entered chan struct{}
}

func gated() *double { return &double{gate: make(chan struct{}), entered: make(chan struct{}, 100)} }

func (d *double) run(batch []*Call[int, int]) {
	if d.gate != nil {
		d.entered <- struct{}{}
		<-d.gate
	}
	ins := make([]int, len(batch))
	for i, c := range batch {
		ins[i] = c.In
	}
	// Recorded before answering: a caller that returns from Do sees its batch recorded.
	d.mu.Lock()
	d.batches = append(d.batches, ins)
	d.mu.Unlock()
	for _, c := range batch {
		c.Answer(2*c.In, nil)
	}
}

// holdFirst hands in one call and returns once its batch is held at the gate.
func (d *double) holdFirst(b *Batcher[int, int]) {
	go func() { _, _ = b.Do(context.Background(), 1) }()
	<-d.entered
}

func (d *double) sizes() []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	var s []int
	for _, b := range d.batches {
		s = append(s, len(b))
	}
	return s
}

func TestCallsArrivingDuringABatchShareTheNext(t *testing.T) {
	d := gated()
	b := New(Options[int]{}, d.run)
	defer b.Close()

	first := make(chan int)
	go func() { v, _ := b.Do(context.Background(), 1); first <- v }()
	// The first call's batch is held; a hundred more queue behind it.
	<-d.entered
	var wg sync.WaitGroup
	got := make([]int, 100)
	for i := range 100 {
		wg.Go(func() {
			v, err := b.Do(context.Background(), i+10)
			require.NoError(t, err)
			got[i] = v
		})
	}
	require.Eventually(t, func() bool { return len(b.in) == 100 }, time.Second, time.Millisecond)
	close(d.gate)
	require.Equal(t, 2, <-first)
	wg.Wait()
	for i, v := range got {
		require.Equal(t, 2*(i+10), v, "each call gets its own answer")
	}
	require.Equal(t, []int{1, 100}, d.sizes(), "one batch for the first call, one for all that waited")
}

func TestMaxBoundsABatchByWeight(t *testing.T) {
	d := gated()
	b := New(Options[int]{Max: 10, Weight: func(v int) int { return v }}, d.run)
	defer b.Close()
	d.holdFirst(b)
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() { _, _ = b.Do(context.Background(), 4) })
	}
	require.Eventually(t, func() bool { return len(b.in) == 6 }, time.Second, time.Millisecond)
	close(d.gate)
	wg.Wait()
	require.Equal(t, []int{1, 3, 3}, d.sizes(), "4+4+4 reaches 10: a batch stops at the call that reaches Max")
}

func TestLingerWaitsForLaterCalls(t *testing.T) {
	d := &double{}
	b := New(Options[int]{Linger: 200 * time.Millisecond}, d.run)
	defer b.Close()
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = b.Do(context.Background(), 1) })
	time.Sleep(20 * time.Millisecond)
	wg.Go(func() { _, _ = b.Do(context.Background(), 2) })
	wg.Wait()
	require.Equal(t, []int{2}, d.sizes())
}

func TestCloseRunsWhatWasHandedInAndRefusesTheRest(t *testing.T) {
	d := gated()
	b := New(Options[int]{}, d.run)
	d.holdFirst(b)
	var wg sync.WaitGroup
	results := make([]error, 19)
	for i := range 19 {
		wg.Go(func() { _, results[i] = b.Do(context.Background(), i) })
	}
	require.Eventually(t, func() bool { return len(b.in) == 19 }, time.Second, time.Millisecond)
	closed := make(chan struct{})
	go func() { b.Close(); close(closed) }()
	require.Eventually(t, func() bool { b.mu.RLock(); defer b.mu.RUnlock(); return b.closed }, time.Second, time.Millisecond)
	_, err := b.Do(context.Background(), 99)
	require.ErrorIs(t, err, ErrClosed)
	close(d.gate)
	<-closed
	wg.Wait()
	for _, err := range results {
		require.NoError(t, err, "a call handed in before Close is run")
	}
	b.Close() // twice is harmless
}

func TestAnUnansweredCallGetsAnError(t *testing.T) {
	b := New(Options[int]{}, func(batch []*Call[int, int]) {
		for _, c := range batch {
			if c.In%2 == 0 {
				c.Answer(c.In, nil)
				c.Answer(-1, errors.New("a second answer is ignored"))
			}
		}
	})
	defer b.Close()
	v, err := b.Do(context.Background(), 4)
	require.NoError(t, err)
	require.Equal(t, 4, v)
	_, err = b.Do(context.Background(), 3)
	require.ErrorIs(t, err, errUnanswered)
}

func TestACallWhoseCallerLeftIsNotRun(t *testing.T) {
	d := gated()
	b := New(Options[int]{}, d.run)
	defer b.Close()
	d.holdFirst(b)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := b.Do(ctx, 2); done <- err }()
	require.Eventually(t, func() bool { return len(b.in) == 1 }, time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	close(d.gate)
	_, err := b.Do(context.Background(), 3)
	require.NoError(t, err)
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, batch := range d.batches {
		require.NotContains(t, batch, 2)
	}
}

func TestManyWorkersUnderLoad(t *testing.T) {
	d := &double{}
	b := New(Options[int]{Workers: 3, Max: 16}, d.run)
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 200 {
				v, err := b.Do(context.Background(), g*1000+i)
				require.NoError(t, err)
				require.Equal(t, 2*(g*1000+i), v)
			}
		})
	}
	wg.Wait()
	b.Close()
	total := 0
	for _, s := range d.sizes() {
		require.LessOrEqual(t, s, 16)
		total += s
	}
	require.Equal(t, 32*200, total, "every call ran exactly once")
}

func TestRunOnceAnswersByPosition(t *testing.T) {
	d := &double{}
	outs, errs := RunOnce(context.Background(), d.run, 1, 2, 3)
	require.Equal(t, []int{2, 4, 6}, outs)
	require.Equal(t, []error{nil, nil, nil}, errs)
	_, errs = RunOnce(context.Background(), func([]*Call[int, int]) {}, 1)
	require.ErrorIs(t, errs[0], errUnanswered)
}
