package web

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func loader(calls *atomic.Int64, value string, size int64) func(context.Context) (string, int64, error) {
	return func(context.Context) (string, int64, error) {
		calls.Add(1)
		return value, size, nil
	}
}

func TestTheCacheLoadsOnceAndServesHitsWithoutLoading(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newPageCache(time.Hour, 1<<20)
	var calls atomic.Int64
	for range 5 {
		v, err := get(ctx, c, "m:1", loader(&calls, "article", 100))
		require.NoError(t, err)
		require.Equal(t, "article", v)
	}
	require.EqualValues(t, 1, calls.Load())
	n, bytes := c.usage()
	require.Equal(t, 1, n)
	require.EqualValues(t, 100, bytes)

	// Failures are not kept: the next open tries again.
	boom := errors.New("database down")
	_, err := get(ctx, c, "m:2", func(context.Context) (string, int64, error) { calls.Add(1); return "", 0, boom })
	require.ErrorIs(t, err, boom)
	_, err = get(ctx, c, "m:2", loader(&calls, "back", 10))
	require.NoError(t, err)
	require.EqualValues(t, 3, calls.Load())
}

func TestTheCacheKeepsWithinItsByteBudget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const budget = 10_000
	c := newPageCache(time.Hour, budget)
	var calls atomic.Int64
	// A flood of distinct keys (forward links) of 1 KB parts: the cache never holds more than its budget,
	// and the oldest parts leave first.
	for i := range 1000 {
		_, err := get(ctx, c, fmt.Sprintf("s:%d", i), loader(&calls, strings.Repeat("x", 10), 1000))
		require.NoError(t, err)
		_, bytes := c.usage()
		require.LessOrEqual(t, bytes, int64(budget))
	}
	n, bytes := c.usage()
	require.Equal(t, 10, n)
	require.EqualValues(t, budget, bytes)
	_, err := get(ctx, c, "s:999", loader(&calls, "x", 1000))
	require.NoError(t, err)
	require.EqualValues(t, 1000, calls.Load(), "the newest is still there")
	_, err = get(ctx, c, "s:0", loader(&calls, "x", 1000))
	require.NoError(t, err)
	require.EqualValues(t, 1001, calls.Load(), "the oldest was evicted")

	// A part larger than the whole budget is served but not kept; replacing a part counts it once.
	_, err = get(ctx, c, "m:huge", loader(&calls, "huge", budget+1))
	require.NoError(t, err)
	_, bytes = c.usage()
	require.LessOrEqual(t, bytes, int64(budget))
	c.put("s:999", "y", 500)
	c.put("s:999", "z", 500)
	_, bytes = c.usage()
	require.LessOrEqual(t, bytes, int64(budget))
	n, _ = c.usage()
	var sum int64
	for _, k := range c.lru.Keys() {
		v, ok := c.lru.Peek(k)
		require.True(t, ok)
		sum += v.size
	}
	_, bytes = c.usage()
	require.Equal(t, sum, bytes, "the byte count matches the entries (%d)", n)
}

func TestABurstOnOneKeyLoadsOnce(t *testing.T) {
	t.Parallel()
	c := newPageCache(time.Hour, 1<<20)
	var calls atomic.Int64
	release := make(chan struct{})
	var started sync.WaitGroup
	var done sync.WaitGroup
	slow := func(context.Context) (string, int64, error) {
		calls.Add(1)
		<-release
		return "page", 10, nil
	}
	for range 50 {
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			started.Done()
			v, err := get(context.Background(), c, "m:burst", slow)
			require.NoError(t, err)
			require.Equal(t, "page", v)
		}()
	}
	started.Wait()
	// The first load is in flight (or about to be); the others wait for it or hit what it stored.
	require.Eventually(t, func() bool { return calls.Load() == 1 }, 10*time.Second, time.Millisecond)
	close(release)
	done.Wait()
	require.EqualValues(t, 1, calls.Load())
}

func TestCachedPartsExpire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newPageCache(50*time.Millisecond, 1<<20)
	var calls atomic.Int64
	_, err := get(ctx, c, "c:1", loader(&calls, "card", 10))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := get(ctx, c, "c:1", loader(&calls, "card", 10))
		return err == nil && calls.Load() == 2
	}, 10*time.Second, 10*time.Millisecond, "past its TTL a part is loaded again")
	// With no TTL nothing is kept at all.
	off := newPageCache(0, 0)
	for range 3 {
		_, err := get(ctx, off, "c:1", loader(&calls, "card", 10))
		require.NoError(t, err)
	}
	require.EqualValues(t, 5, calls.Load())
}
