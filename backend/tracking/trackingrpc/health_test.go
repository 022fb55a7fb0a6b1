package trackingrpc

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/ratelimit"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/backend/tracking"
)

// A PostgreSQL that accepts connections and never answers (as a stalled or partitioned server does): once
// a beacon has found it down, the next ones are answered 503 with Retry-After without waiting on it.
func TestBeaconsAnswer503AtOnceWhileTheDatabaseIsDown(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	var accepted atomic.Int32
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			held = append(held, c)
		}
	}()
	ctx := context.Background()
	db, err := platform.OpenDB(ctx, "postgres://salesapp_app@"+l.Addr().String()+"/x?sslmode=disable&connect_timeout=1", 4)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	svc := tracking.NewService(db, share.NewService(db, "https://share.example.com"), slog.New(slog.DiscardHandler), tracking.Config{})
	t.Cleanup(svc.Close)
	h, err := New(svc, nil, ratelimit.New(100, 100, 10), ratelimit.New(100, 100, 10), nil)
	require.NoError(t, err)
	h.db.every = time.Hour // no ping during the test: what reaches the database is the beacons' doing

	beacon := func() *httptest.ResponseRecorder {
		body := `{"events":[{"eventId":"` + uuid.NewString() + `","kind":"EVENT_KIND_CARD_VIEW","shareToken":"token-1234567890","visitorId":"visitor-down"}]}`
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, BeaconPath, strings.NewReader(body)))
		return w
	}
	first := beacon()
	require.Equal(t, http.StatusServiceUnavailable, first.Code, first.Body.String())
	require.NotEmpty(t, first.Header().Get("Retry-After"))
	tried := accepted.Load()
	require.Positive(t, tried, "the first beacon tried the database")
	for range 3 {
		w := beacon()
		require.Equal(t, http.StatusServiceUnavailable, w.Code)
		require.Equal(t, beaconRetryAfter, w.Header().Get("Retry-After"))
	}
	require.Equal(t, tried, accepted.Load(), "beacons waited on the database after it was found down")
}

// The beacon endpoint limits IPv6 clients per /64 and IPv4 clients per address: the refusal comes before
// any event is decoded or stored, so no database is needed.
func TestBeaconsAreLimitedPerSlash64AndPerIPv4Address(t *testing.T) {
	t.Parallel()
	h, err := New(nil, nil, ratelimit.New(100, 100, 10), ratelimit.New(0.001, 2, 100), nil)
	require.NoError(t, err)
	h.db.down.Store(true) // what passes the limit is answered 503 without touching the (absent) service
	from := func(addr string) int {
		r := httptest.NewRequest(http.MethodPost, BeaconPath, strings.NewReader(`{"events":[]}`))
		r.RemoteAddr = addr
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	require.Equal(t, http.StatusServiceUnavailable, from("[2001:db8:aa:1::1]:5000"))
	require.Equal(t, http.StatusServiceUnavailable, from("[2001:db8:aa:1::2]:5000"))
	require.Equal(t, http.StatusTooManyRequests, from("[2001:db8:aa:1:dead:beef:0:3]:5000"), "a fresh address in the same /64")
	require.Equal(t, http.StatusServiceUnavailable, from("[2001:db8:aa:2::1]:5000"), "another /64")
	for i := range 4 {
		require.Equal(t, http.StatusServiceUnavailable, from(fmt.Sprintf("192.0.2.%d:5000", i+1)), "each IPv4 address apart")
	}
	require.Equal(t, http.StatusServiceUnavailable, from("192.0.2.1:5001"))
	require.Equal(t, http.StatusTooManyRequests, from("192.0.2.1:5002"), "the same IPv4 address")
}
