package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform"
)

var cheap = Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}

func TestHashesVerifyAndSayWhenStale(t *testing.T) {
	t.Parallel()
	pw := newPasswords(cheap, 1, 1)
	h := pw.hash("correct horse")
	require.True(t, strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$"), h)
	ok, stale := pw.verify(h, "correct horse")
	require.True(t, ok)
	require.False(t, stale)
	ok, _ = pw.verify(h, "correct horsE")
	require.False(t, ok)

	// Under new parameters the old hash still verifies, and asks to be remade.
	stronger := newPasswords(Argon2Params{Time: 2, MemoryKiB: 128, Threads: 1}, 1, 1)
	ok, stale = stronger.verify(h, "correct horse")
	require.True(t, ok)
	require.True(t, stale)

	// The dummy matches nothing, and costs a computation like any hash.
	before := pw.computed.Load()
	ok, _ = pw.verify(pw.dummy, "")
	require.False(t, ok)
	require.Equal(t, before+1, pw.computed.Load())
}

func TestStoredHashesOutsideBoundsAreRefused(t *testing.T) {
	t.Parallel()
	good := newPasswords(cheap, 1, 1).hash("x")
	_, err := parsePHC(good)
	require.NoError(t, err)
	for _, bad := range []string{
		"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		strings.Replace(good, "v=19", "v=16", 1),
		strings.Replace(good, "m=64", "m=8388608", 1), // 8 GiB
		strings.Replace(good, "t=1", "t=1000", 1),
		strings.Replace(good, "p=1", "p=0", 1),
		strings.Replace(good, "m=64,t=1,p=1", "m=64,t=1,p=1,x=2", 1),
	} {
		_, err := parsePHC(bad)
		require.ErrorIs(t, err, errBadHash, bad)
	}
	// A hash that cannot be read never verifies, and costs what a wrong password costs.
	pw := newPasswords(cheap, 1, 1)
	ok, _ := pw.verify("damaged", "x")
	require.False(t, ok)
	require.EqualValues(t, 1, pw.computed.Load())
}

// Hashing takes at most its slots; callers queue up to the queue's length and the next is told to retry.
func TestHashingIsBoundedAndQueueIsShort(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pw := newPasswords(cheap, 1, 1)
	release, err := pw.acquire(ctx)
	require.NoError(t, err)

	queued := make(chan error, 1)
	go func() {
		r, err := pw.acquire(ctx)
		if err == nil {
			r()
		}
		queued <- err
	}()
	require.Eventually(t, func() bool { return pw.waiting.Load() == 1 }, 5*time.Second, time.Millisecond)

	_, err = pw.acquire(ctx)
	require.ErrorIs(t, err, errBusy, "the queue is full")
	var pe *platform.Error
	require.ErrorAs(t, err, &pe)
	require.Equal(t, platform.KindResourceExhausted, pe.Kind)
	require.Equal(t, time.Second, pe.RetryAfter)

	release()
	require.NoError(t, <-queued, "the queued caller got the slot")

	// A caller that gives up while queued leaves the queue.
	release, err = pw.acquire(ctx)
	require.NoError(t, err)
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		for pw.waiting.Load() != 1 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err = pw.acquire(cctx)
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, pw.waiting.Load())
	release()
}

func TestThrottleDelaysGrowThenLock(t *testing.T) {
	t.Parallel()
	p := loginPolicy
	var got []time.Duration
	for f := 0; f <= 21; f++ {
		got = append(got, p.wait(f))
	}
	s := time.Second
	require.Equal(t, []time.Duration{0, 0, 0, 0, 0, s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, 60 * s, 60 * s, 60 * s, 60 * s, 60 * s,
		60 * s, 60 * s, 60 * s, 60 * s, 15 * time.Minute, 15 * time.Minute}, got)
}
