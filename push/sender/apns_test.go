package sender

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sideshow/apns2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/push/sender/apnstest"
)

const (
	testKeyID  = "ABC123DEFG"
	testTeamID = "TEAM123456"
	testTopic  = "com.salesapp.ios"
	// A 32-byte APNs token in hex, as iOS hands it to the app.
	testIOSToken = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
)

// newP8 makes a throwaway APNs provider key: ECDSA P-256, PKCS#8, PEM, as Apple's AuthKey_*.p8 files are.
func newP8(t testing.TB) ([]byte, *ecdsa.PublicKey) {
	t.Helper()
	p8, key, err := apnstest.NewKey()
	require.NoError(t, err)
	return p8, &key.PublicKey
}

// newFakeAPNs starts a TLS HTTP/2 server playing APNs.
func newFakeAPNs(t testing.TB, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// newTestAPNs returns an APNs sender whose both environments point at srv.
func newTestAPNs(t testing.TB, srv *httptest.Server) (*APNs, *ecdsa.PublicKey) {
	t.Helper()
	p8, pub := newP8(t)
	s, err := NewAPNs(APNsConfig{
		KeyP8:      p8,
		KeyID:      testKeyID,
		TeamID:     testTeamID,
		Host:       srv.URL,
		HTTPClient: srv.Client(), // trusts the server's certificate; ForceAttemptHTTP2 since EnableHTTP2
	}, nil)
	require.NoError(t, err)
	return s, pub
}

// verifyJWT checks an APNs provider token: ES256 over header.claims, kid and iss as configured.
func verifyJWT(t *testing.T, bearer string, pub *ecdsa.PublicKey) {
	t.Helper()
	parts := strings.Split(bearer, ".")
	require.Len(t, parts, 3, "a JWS compact serialization")
	var header struct{ Alg, Kid string }
	var claims struct {
		Iss string `json:"iss"`
		Iat int64  `json:"iat"`
	}
	decodeSegment(t, parts[0], &header)
	decodeSegment(t, parts[1], &claims)
	assert.Equal(t, "ES256", header.Alg)
	assert.Equal(t, testKeyID, header.Kid)
	assert.Equal(t, testTeamID, claims.Iss)
	assert.InDelta(t, time.Now().Unix(), claims.Iat, 3600, "issued within the hour, or APNs says ExpiredProviderToken")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	require.NoError(t, err)
	require.Len(t, sig, 64, "ES256 signature is r||s")
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	assert.True(t, ecdsa.Verify(pub, digest[:], r, s), "signed by the .p8 key")
}

func decodeSegment(t *testing.T, seg string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v))
}

func TestAPNsSendsAlert(t *testing.T) {
	t.Parallel()
	type request struct {
		method, path, proto string
		header              http.Header
		body                []byte
	}
	got := make(chan request, 1)
	srv := newFakeAPNs(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- request{r.Method, r.URL.Path, r.Proto, r.Header.Clone(), body}
		w.Header().Set("apns-id", "7a3e3a0e-2a44-4f2f-9d1e-000000000001")
	})
	s, pub := newTestAPNs(t, srv)

	badge := 3
	before := time.Now()
	err := s.Send(context.Background(),
		Device{Token: testIOSToken, Platform: IOS, BundleID: testTopic, Locale: "zh-CN"},
		Alert{
			ID:    "0191f6f0-7c1a-7000-8000-000000000001",
			Title: "张三 is reading your brochure",
			Body:  "Product catalog 2025, page 3",
			Badge: &badge,
			Data:  map[string]string{"customer_id": "c-1", "seq": "42"},
		})
	require.NoError(t, err)
	after := time.Now()

	r := <-got
	assert.Equal(t, http.MethodPost, r.method)
	assert.Equal(t, "/3/device/"+testIOSToken, r.path)
	assert.Equal(t, "HTTP/2.0", r.proto, "APNs only speaks HTTP/2")
	assert.Equal(t, testTopic, r.header.Get("apns-topic"))
	assert.Equal(t, "0191f6f0-7c1a-7000-8000-000000000001", r.header.Get("apns-collapse-id"))
	assert.Equal(t, "alert", r.header.Get("apns-push-type"))
	assert.Equal(t, "10", r.header.Get("apns-priority"))
	exp, err := strconv.ParseInt(r.header.Get("apns-expiration"), 10, 64)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, exp, before.Add(10*time.Minute).Unix())
	assert.LessOrEqual(t, exp, after.Add(10*time.Minute).Unix())
	auth := r.header.Get("authorization")
	require.True(t, strings.HasPrefix(auth, "bearer "), "provider token auth: %q", auth)
	verifyJWT(t, strings.TrimPrefix(auth, "bearer "), pub)

	assert.JSONEq(t, `{
		"aps": {
			"alert": {"title": "张三 is reading your brochure", "body": "Product catalog 2025, page 3"},
			"badge": 3,
			"sound": "default",
			"mutable-content": 1
		},
		"customer_id": "c-1",
		"seq": "42"
	}`, string(r.body))
}

func TestAPNsOmitsBadgeWhenNil(t *testing.T) {
	t.Parallel()
	got := make(chan []byte, 1)
	srv := newFakeAPNs(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
	})
	s, _ := newTestAPNs(t, srv)
	require.NoError(t, s.Send(context.Background(), Device{Token: testIOSToken, BundleID: testTopic}, Alert{ID: "a", Title: "t"}))
	assert.JSONEq(t, `{"aps":{"alert":{"title":"t"},"sound":"default","mutable-content":1}}`, string(<-got))
}

func TestAPNsClassifiesResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		body       string
		retryAfter string
		wantDead   bool
		wantRetry  bool
		wantAfter  time.Duration
	}{
		{name: "unregistered", status: 410, body: `{"reason":"Unregistered","timestamp":1700000000000}`, wantDead: true},
		{name: "expired token", status: 410, body: `{"reason":"ExpiredToken"}`, wantDead: true},
		{name: "bad device token", status: 400, body: `{"reason":"BadDeviceToken"}`, wantDead: true},
		{name: "token not for topic", status: 400, body: `{"reason":"DeviceTokenNotForTopic"}`, wantDead: true},
		{name: "too many requests", status: 429, body: `{"reason":"TooManyRequests"}`, wantRetry: true},
		{name: "internal error", status: 500, body: `{"reason":"InternalServerError"}`, wantRetry: true},
		{name: "service unavailable", status: 503, body: `{"reason":"ServiceUnavailable"}`, wantRetry: true},
		{name: "shutdown", status: 503, body: `{"reason":"Shutdown"}`, wantRetry: true},
		{name: "proxy asks to wait", status: 503, body: `{"reason":"ServiceUnavailable"}`, retryAfter: "30", wantRetry: true, wantAfter: 30 * time.Second},
		{name: "proxy with html", status: 502, body: `<html>bad gateway</html>`, wantRetry: true},
		{name: "idle timeout", status: 400, body: `{"reason":"IdleTimeout"}`, wantRetry: true},
		{name: "payload too large", status: 413, body: `{"reason":"PayloadTooLarge"}`},
		{name: "bad topic", status: 400, body: `{"reason":"BadTopic"}`},
		{name: "invalid provider token", status: 403, body: `{"reason":"InvalidProviderToken"}`},
		{name: "400 with html", status: 400, body: `<html>nope</html>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newFakeAPNs(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("apns-id", "7a3e3a0e-2a44-4f2f-9d1e-000000000002")
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			s, _ := newTestAPNs(t, srv)
			err := s.Send(context.Background(), Device{Token: testIOSToken, Platform: IOS, BundleID: testTopic}, Alert{ID: "a1", Title: "t", Body: "b"})
			require.Error(t, err)
			assert.NotContains(t, err.Error(), testIOSToken)
			var re *RetryError
			assert.Equal(t, tc.wantDead, errors.Is(err, ErrDeadToken), "dead token: %v", err)
			require.Equal(t, tc.wantRetry, errors.As(err, &re), "retry: %v", err)
			if re != nil {
				assert.Equal(t, tc.wantAfter, re.After)
			}
		})
	}
}

func TestAPNsNetworkErrorIsTransientAndHidesToken(t *testing.T) {
	t.Parallel()
	srv := newFakeAPNs(t, func(http.ResponseWriter, *http.Request) {})
	s, _ := newTestAPNs(t, srv)
	srv.Close() // nothing listens any more

	err := s.Send(context.Background(), Device{Token: testIOSToken, BundleID: testTopic}, Alert{ID: "a"})
	var re *RetryError
	require.ErrorAs(t, err, &re)
	assert.Zero(t, re.After)
	assert.NotContains(t, err.Error(), testIOSToken)
	assert.Contains(t, err.Error(), tokenSuffix(testIOSToken))
}

func TestAPNsCancelledContextIsTransient(t *testing.T) {
	t.Parallel()
	srv := newFakeAPNs(t, func(http.ResponseWriter, *http.Request) {})
	s, _ := newTestAPNs(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Send(ctx, Device{Token: testIOSToken, BundleID: testTopic}, Alert{ID: "a"})
	var re *RetryError
	require.ErrorAs(t, err, &re)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestAPNsRefusesBeforeSending(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := newFakeAPNs(t, func(http.ResponseWriter, *http.Request) { hits.Add(1) })
	s, _ := newTestAPNs(t, srv)
	ctx := context.Background()

	err := s.Send(ctx, Device{Token: "not/hex?x=1", BundleID: testTopic}, Alert{ID: "a"})
	assert.ErrorIs(t, err, ErrDeadToken, "a token that is not hex can never be delivered")

	err = s.Send(ctx, Device{Token: "", BundleID: testTopic}, Alert{ID: "a"})
	assert.Error(t, err)
	assert.NotErrorIs(t, err, ErrDeadToken, "no token is our bug, not a dead token")

	err = s.Send(ctx, Device{Token: testIOSToken}, Alert{ID: "a"})
	assert.ErrorContains(t, err, "bundle id")
	assert.NotErrorIs(t, err, ErrDeadToken)

	err = s.Send(ctx, Device{Token: testIOSToken, BundleID: testTopic}, Alert{ID: "a", Body: strings.Repeat("x", 5000)})
	assert.ErrorContains(t, err, "bytes")
	assert.NotErrorIs(t, err, ErrDeadToken)
	var re *RetryError
	assert.False(t, errors.As(err, &re))

	err = s.Send(ctx, Device{Token: testIOSToken, BundleID: testTopic}, Alert{ID: "a", Data: map[string]string{"aps": "x"}})
	assert.ErrorContains(t, err, `"aps"`)

	assert.Zero(t, hits.Load())
}

func TestAPNsHashesLongCollapseID(t *testing.T) {
	t.Parallel()
	got := make(chan string, 2)
	srv := newFakeAPNs(t, func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("apns-collapse-id")
	})
	s, _ := newTestAPNs(t, srv)
	long := "tenant-0191f6f0-7c1a-7000-8000-000000000001/alert-0191f6f0-7c1a-7000-8000-000000000002"
	d := Device{Token: testIOSToken, BundleID: testTopic}
	require.NoError(t, s.Send(context.Background(), d, Alert{ID: long}))
	require.NoError(t, s.Send(context.Background(), d, Alert{ID: long}))
	first, second := <-got, <-got
	assert.LessOrEqual(t, len(first), 64)
	assert.NotEmpty(t, first)
	assert.Equal(t, first, second, "stable across retries")
}

func TestAPNsPicksEnvironmentPerDevice(t *testing.T) {
	t.Parallel()
	// Without an override the two clients talk to Apple's two hosts.
	p8, _ := newP8(t)
	def, err := NewAPNs(APNsConfig{KeyP8: p8, KeyID: testKeyID, TeamID: testTeamID}, nil)
	require.NoError(t, err)
	assert.Equal(t, apns2.HostDevelopment, def.sandbox.Host)
	assert.Equal(t, apns2.HostProduction, def.production.Host)

	// With two fakes standing in for the two hosts, Device.Sandbox picks the host.
	var sandboxHits, productionHits atomic.Int32
	sandbox := newFakeAPNs(t, func(http.ResponseWriter, *http.Request) { sandboxHits.Add(1) })
	production := newFakeAPNs(t, func(http.ResponseWriter, *http.Request) { productionHits.Add(1) })
	s, _ := newTestAPNs(t, production) // httptest servers share one certificate, so one client trusts both
	s.sandbox.Host = sandbox.URL

	require.NoError(t, s.Send(context.Background(), Device{Token: testIOSToken, BundleID: testTopic, Sandbox: true}, Alert{ID: "a"}))
	require.NoError(t, s.Send(context.Background(), Device{Token: testIOSToken, BundleID: testTopic}, Alert{ID: "b"}))
	require.NoError(t, s.Send(context.Background(), Device{Token: testIOSToken, BundleID: testTopic}, Alert{ID: "c"}))
	assert.Equal(t, int32(1), sandboxHits.Load())
	assert.Equal(t, int32(2), productionHits.Load())
}

func TestNewAPNsRejectsBadConfig(t *testing.T) {
	t.Parallel()
	p8, _ := newP8(t)
	_, err := NewAPNs(APNsConfig{KeyP8: []byte("not a pem"), KeyID: testKeyID, TeamID: testTeamID}, nil)
	assert.Error(t, err)
	_, err = NewAPNs(APNsConfig{KeyP8: p8, TeamID: testTeamID}, nil)
	assert.Error(t, err)
	_, err = NewAPNs(APNsConfig{KeyP8: p8, KeyID: testKeyID, TeamID: testTeamID, Host: "api.push.apple.com"}, nil)
	assert.Error(t, err, "a host without a scheme")
}

// BenchmarkAPNsSend measures pushes per second through the real apns2 client to a fake APNs over TLS
// HTTP/2 on this machine. The fake shares the CPU with the sender, so the number is a floor for the
// sender alone. Many goroutines stand for River's worker pool: a push is mostly waiting on the network.
func BenchmarkAPNsSend(b *testing.B) {
	srv := newFakeAPNs(b, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("apns-id", "7a3e3a0e-2a44-4f2f-9d1e-000000000003")
	})
	s, _ := newTestAPNs(b, srv)
	d := Device{Token: testIOSToken, Platform: IOS, BundleID: testTopic}
	badge := 1
	a := Alert{
		ID:    "0191f6f0-7c1a-7000-8000-000000000001",
		Title: "张三 is reading your brochure",
		Body:  "Product catalog 2025, page 3",
		Badge: &badge,
		Data:  map[string]string{"customer_id": "0191f6f0-7c1a-7000-8000-00000000000c", "seq": "42"},
	}
	// Warm the connection so that the TLS handshake is not in the measurement.
	require.NoError(b, s.Send(context.Background(), d, a))

	b.SetParallelism(32) // 32 goroutines per CPU
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Send(context.Background(), d, a); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pushes/s")
}
