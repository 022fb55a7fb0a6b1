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

func TestAddressKeyIsTheIPv4AddressOrTheIPv6Slash64(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"203.0.113.7:5678":                    "203.0.113.7",
		"203.0.113.8:1":                       "203.0.113.8",
		"[::ffff:203.0.113.7]:80":             "203.0.113.7",
		"[2001:db8:1:2::1]:443":               "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff:ffff:ffff:1]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:3::1]:443":               "2001:db8:1:3::/64",
		"[fe80::1%eth0]:1":                    "fe80::/64",
		"2001:db8:1:2::9":                     "2001:db8:1:2::/64",
		"not-an-address":                      "not-an-address",
	} {
		require.Equal(t, want, AddressKey(in), in)
	}
}

// One IPv6 host drawing fresh addresses from its /64 spends one bucket; IPv4 neighbours each have theirs.
func TestPerAddressLimitsSpendOneBucketPerSlash64(t *testing.T) {
	t.Parallel()
	l := New(0.001, 3, 100)
	for i := range 3 {
		require.True(t, l.Allow(AddressKey(fmt.Sprintf("[2001:db8:0:1::%x]:443", i+1))))
	}
	require.False(t, l.Allow(AddressKey("[2001:db8:0:1:abcd::1]:443")), "a fresh address of the same /64")
	require.True(t, l.Allow(AddressKey("[2001:db8:0:2::1]:443")), "the next /64 is another client")
	for i := range 3 {
		require.True(t, l.Allow(AddressKey(fmt.Sprintf("198.51.100.%d:80", i+1))), "each IPv4 address has its own bucket")
	}
}

func TestTakeCanBeUndone(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	l := New(1, 2, 100)
	l.now = func() time.Time { return now }
	undo, ok := l.Take("a")
	require.True(t, ok)
	_, ok = l.Take("a")
	require.True(t, ok)
	_, ok = l.Take("a")
	require.False(t, ok, "the bucket is empty")
	undo()
	_, ok = l.Take("a")
	require.True(t, ok, "the token given back is there again")
}
