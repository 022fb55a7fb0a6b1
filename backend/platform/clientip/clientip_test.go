package clientip

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClientBehindTrustedProxies(t *testing.T) {
	t.Parallel()
	p, err := Parse(" 10.0.0.0/8, 127.0.0.1 ,::1")
	require.NoError(t, err)
	for _, c := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no proxy: the peer, whatever the header says", "203.0.113.9:4000", []string{"1.2.3.4"}, "203.0.113.9"},
		{"one trusted hop", "10.0.0.5:4000", []string{"198.51.100.7"}, "198.51.100.7"},
		{"two trusted hops", "10.0.0.5:4000", []string{"198.51.100.7, 10.1.2.3"}, "198.51.100.7"},
		{"a client's own header is not believed", "10.0.0.5:4000", []string{"6.6.6.6, 198.51.100.7"}, "198.51.100.7"},
		{"several header lines read as one list", "10.0.0.5:4000", []string{"6.6.6.6", "198.51.100.7"}, "198.51.100.7"},
		{"garbage stops the walk", "10.0.0.5:4000", []string{"198.51.100.7, bogus, 10.1.2.3"}, "10.1.2.3"},
		{"no header: the proxy", "127.0.0.1:4000", nil, "127.0.0.1"},
		{"every hop trusted: the leftmost", "[::1]:4000", []string{"10.9.9.9, 10.8.8.8"}, "10.9.9.9"},
		{"IPv6 client", "127.0.0.1:4000", []string{"2001:db8::1"}, "2001:db8::1"},
	} {
		got, _, err := p.Client(c.peer, c.xff)
		require.NoError(t, err, c.name)
		require.Equal(t, c.want, got.String(), c.name)
	}
	_, err = Parse("10.0.0.0/8, not-an-address")
	require.ErrorContains(t, err, "not-an-address")
}

func TestHandlerRewritesRemoteAddrOnlyForTrustedPeers(t *testing.T) {
	t.Parallel()
	p, err := Parse("192.0.2.1")
	require.NoError(t, err)
	var seen string
	h := p.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = r.RemoteAddr }))
	r := httptest.NewRequest(http.MethodGet, "/", nil) // RemoteAddr 192.0.2.1:1234
	r.Header.Set("X-Forwarded-For", "198.51.100.7")
	h.ServeHTTP(httptest.NewRecorder(), r)
	require.Equal(t, "198.51.100.7:0", seen)
	require.Equal(t, "192.0.2.1:1234", r.RemoteAddr, "the caller's request is untouched")

	r = httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "203.0.113.9:5555"
	r.Header.Set("X-Forwarded-For", "198.51.100.7")
	h.ServeHTTP(httptest.NewRecorder(), r)
	require.Equal(t, "203.0.113.9:5555", seen)

	none, err := Parse("")
	require.NoError(t, err)
	require.Empty(t, none)
}
