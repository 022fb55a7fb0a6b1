package ratelimit

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBucketsArePerKeyAndRefill(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	l := New(1, 3, 100)
	l.now = func() time.Time { return now }
	for range 3 {
		require.True(t, l.Allow("a"))
	}
	require.False(t, l.Allow("a"))
	require.True(t, l.Allow("b"), "another key has its own bucket")
	now = now.Add(time.Second)
	require.True(t, l.Allow("a"))
	require.False(t, l.Allow("a"))
}

func TestKeysAreBounded(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	l := New(1, 2, 10)
	l.now = func() time.Time { return now }
	for i := range 1000 {
		now = now.Add(time.Millisecond)
		l.Allow(fmt.Sprint("k", i))
		require.LessOrEqual(t, len(l.buckets), 10)
	}
	// The most recent keys are still limited.
	require.True(t, l.Allow("k999"))
	require.False(t, l.Allow("k999"))
}
