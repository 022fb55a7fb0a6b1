package wechat_test

import (
	"crypto/sha1"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/platform/testclock"
	"github.com/salesapp/scrm/backend/wechat"
	"github.com/salesapp/scrm/backend/wechat/wechattest"
)

// The example the JS-SDK documentation publishes (/work/shared/testdata/wechat/jssdk.md).
func TestJSSignaturePublishedExample(t *testing.T) {
	t.Parallel()
	const ticket = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
	got := wechat.JSSignature(ticket, "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value")
	assert.Equal(t, "0f9de62fce790f9a083d5c99e95740ceb90c27ed", got)
	// The fragment is not signed.
	assert.Equal(t, got, wechat.JSSignature(ticket, "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value#top"))
}

func TestSignJSConfigWithTheFakeTicket(t *testing.T) {
	t.Parallel()
	srv := wechattest.New(t)
	clk := testclock.New(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	cfg := srv.Config()
	cfg.Now = clk.Now
	c, logs := newClientWith(t, cfg)

	const page = "https://h5.example.com/s/tok?x=1"
	got, err := c.SignJSConfig(t.Context(), page+"#frag")
	require.NoError(t, err)
	assert.Equal(t, srv.AppID, got.AppID)
	assert.Equal(t, clk.Now().Unix(), got.Timestamp)
	assert.Len(t, got.NonceStr, 16)
	sum := sha1.Sum([]byte("jsapi_ticket=fake-jsapi-ticket-1&noncestr=" + got.NonceStr + "&timestamp=1772355600&url=" + page))
	assert.Equal(t, hex.EncodeToString(sum[:]), got.Signature)

	again, err := c.SignJSConfig(t.Context(), page)
	require.NoError(t, err)
	assert.NotEqual(t, got.NonceStr, again.NonceStr)
	assert.Equal(t, 1, srv.TicketFetches())
	assert.Equal(t, 1, srv.TokenFetches())
	assertNoSecrets(t, logs.String(), "fake-jsapi-ticket-1", "fake-access-token-1")
}

// A ticket fetch refused for a stale access token refreshes the token and tries once more.
func TestTicketFetchRefreshesAStaleToken(t *testing.T) {
	t.Parallel()
	for _, errcode := range []int{wechat.CodeInvalidCredential, wechat.CodeAccessTokenExpired} {
		srv := wechattest.New(t)
		srv.FailNext(wechattest.Ticket, 1, errcode)
		c, _ := newClient(t, srv)
		tk, err := c.JSAPITicket(t.Context())
		require.NoError(t, err)
		assert.Equal(t, "fake-jsapi-ticket-1", tk)
		assert.Equal(t, 2, srv.TokenFetches(), "errcode %d", errcode)
		assert.Equal(t, 2, srv.TicketFetches())
	}
}

// Two nodes (two clients on one database) share one access token and one ticket: WeChat sees one fetch of
// each, and the fetch happens again, once, when the ticket nears its expiry.
func TestNodesShareTokenAndTicketThroughPostgreSQL(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	srv := wechattest.New(t)
	clk := testclock.New(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	node := func() *wechat.Client {
		cfg := srv.Config()
		cfg.Now = clk.Now
		cfg.Shared = wechat.NewStore(db.App)
		c, _ := newClientWith(t, cfg)
		return c
	}
	a, b := node(), node()
	// The fetch stays in flight while the other node arrives, so it really waits on the lock.
	srv.SetTokenLatency(50 * time.Millisecond)

	var wg sync.WaitGroup
	tickets := make([]string, 2)
	for i, c := range []*wechat.Client{a, b} {
		wg.Go(func() {
			tk, err := c.JSAPITicket(t.Context())
			if !assert.NoError(t, err) {
				return
			}
			tickets[i] = tk
		})
	}
	wg.Wait()
	assert.Equal(t, tickets[0], tickets[1])
	assert.Equal(t, 1, srv.TokenFetches())
	assert.Equal(t, 1, srv.TicketFetches())

	// Still five minutes and more to go: both keep it.
	clk.Advance(7200*time.Second - 5*time.Minute - time.Second)
	for _, c := range []*wechat.Client{a, b} {
		tk, err := c.JSAPITicket(t.Context())
		require.NoError(t, err)
		assert.Equal(t, tickets[0], tk)
	}
	assert.Equal(t, 1, srv.TicketFetches())

	// Within five minutes of expiry: one node refreshes, the other reads what it stored.
	clk.Advance(2 * time.Second)
	ta, err := a.JSAPITicket(t.Context())
	require.NoError(t, err)
	tb, err := b.JSAPITicket(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "fake-jsapi-ticket-2", ta)
	assert.Equal(t, ta, tb)
	assert.Equal(t, 2, srv.TicketFetches())
	assert.Equal(t, 2, srv.TokenFetches())
}

// A token WeChat refused on one node is refetched once, and the other node then uses the new one instead of
// fetching its own (which would invalidate the first node's).
func TestRefusedSharedTokenIsReplacedOnceForAllNodes(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	srv := wechattest.New(t)
	for _, code := range []string{"p1", "p2", "p3"} {
		srv.AddPhone(code, wechattest.PhoneInfo{PurePhoneNumber: "13800138000", CountryCode: "86"})
	}
	node := func() *wechat.Client {
		cfg := srv.Config()
		cfg.Shared = wechat.NewStore(db.App)
		c, _ := newClientWith(t, cfg)
		return c
	}
	a, b := node(), node()
	_, err := a.PhoneNumber(t.Context(), "p1")
	require.NoError(t, err)
	srv.ExpireToken()
	_, err = a.PhoneNumber(t.Context(), "p2")
	require.NoError(t, err)
	assert.Equal(t, 2, srv.TokenFetches())
	_, err = b.PhoneNumber(t.Context(), "p3")
	require.NoError(t, err)
	assert.Equal(t, 2, srv.TokenFetches(), "node b reads the token node a stored")
}
