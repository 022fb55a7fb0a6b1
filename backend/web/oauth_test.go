package web_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/tenant"
	"github.com/salesapp/scrm/backend/web"
	"github.com/salesapp/scrm/backend/web/webrpc"
	"github.com/salesapp/scrm/backend/wechat"
	"github.com/salesapp/scrm/backend/wechat/wechattest"
)

const weChatUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"

// site is the pages served over HTTP as salesd serves them: the web module's routes (the pages, which set
// the sa_vid cookie, go through the gate, then show; and the sign-in).
type site struct {
	f     fixture
	wx    *wechattest.Server
	svc   *web.Service
	srv   *httptest.Server
	token string
}

func newSite(t *testing.T, requireSignIn bool) *site {
	t.Helper()
	f := setup(t)
	wx := wechattest.New(t)
	cfg := wx.Config()
	cfg.Shared = wechat.NewStore(f.db.App)
	s := &site{f: f, wx: wx}
	mux := http.NewServeMux()
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	d := f.deps
	d.Official = wechat.New(cfg, nil)
	d.SignIn = web.SignInConfig{BaseURL: s.srv.URL, Keys: [][]byte{key}, AuthorizeURL: wx.AuthorizeURL(),
		Tenants: tenant.NewService(f.db.App, nil)}
	s.svc = web.NewService(d, 0)
	for _, r := range webrpc.Module(s.svc).Routes {
		mux.Handle(r.Pattern, r.Handler)
	}
	f.exec(t, "UPDATE tenants SET require_signin = $2 WHERE id = $1", f.a.ID, requireSignIn)
	sh, err := f.shares.ShareCard(context.Background(), f.sales, event.ChannelChat)
	require.NoError(t, err)
	s.token = sh.Token
	return s
}

// browser is a phone's browser: it keeps cookies and follows redirects within one host by itself, and stops
// at a redirect to another host (WeChat's pages), which the test follows by hand.
type browser struct {
	t  *testing.T
	c  *http.Client
	ua string
}

func newBrowser(t *testing.T, ua string) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != via[len(via)-1].URL.Host {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return &browser{t: t, c: c, ua: ua}
}

// get fetches u and returns the final answer's status, its Location when a cross-host redirect stopped it,
// and its body.
func (b *browser) get(u string) (int, string, string) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(b.t, err)
	req.Header.Set("User-Agent", b.ua)
	res, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer res.Body.Close()
	var body strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		body.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return res.StatusCode, res.Header.Get("Location"), body.String()
}

func (s *site) page() string { return s.srv.URL + "/s/" + s.token }

// signIn walks the whole round trip from u: our redirect to WeChat's authorize page, WeChat's redirect back
// with a code, and ours to the page.
func (s *site) signIn(t *testing.T, b *browser, u, wantScope string) (int, string) {
	t.Helper()
	status, loc, _ := b.get(u)
	require.Equal(t, http.StatusFound, status)
	authz, err := url.Parse(loc)
	require.NoError(t, err)
	require.Equal(t, s.wx.AuthorizeURL(), authz.Scheme+"://"+authz.Host+authz.Path)
	require.Equal(t, "wechat_redirect", authz.Fragment)
	q := authz.Query()
	require.Equal(t, s.wx.AppID, q.Get("appid"))
	require.Equal(t, s.page()+"/oauth", q.Get("redirect_uri"))
	require.Equal(t, "code", q.Get("response_type"))
	require.Equal(t, wantScope, q.Get("scope"))
	require.NotEmpty(t, q.Get("state"))

	status, back, _ := b.get(loc)
	require.Equal(t, http.StatusFound, status, "WeChat redirects back")
	require.True(t, strings.HasPrefix(back, s.page()+"/oauth?"), back)
	status, _, body := b.get(back)
	return status, body
}

func (s *site) customer(t *testing.T, openid string) (name, nickname, avatar string) {
	t.Helper()
	err := s.f.db.Super.QueryRow(context.Background(), `
		SELECT c.display_name, c.wechat_nickname, c.avatar_url FROM customers c
		JOIN customer_identities i ON i.tenant_id = c.tenant_id AND i.customer_id = c.id
		WHERE i.kind = 'h5_openid' AND i.value = $1 AND c.merged_into IS NULL`, openid).Scan(&name, &nickname, &avatar)
	require.NoError(t, err)
	return name, nickname, avatar
}

func TestSignInGateAndOAuthRoundTrip(t *testing.T) {
	t.Parallel()
	s := newSite(t, true)
	s.wx.SignInAs(wechat.Session{OpenID: "oa-openid-1", UnionID: "union-1"},
		wechattest.Profile{Nickname: "小王", HeadImgURL: "http://thirdwx.qlogo.cn/mmopen/abc/132"})
	b := newBrowser(t, weChatUA)

	// The page redirects to the silent sign-in, which goes to WeChat; back from it, the page shows.
	status, body := s.signIn(t, b, s.page(), "snsapi_base")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, `data-view-kind="card_view"`, "the card page")
	name, nick, _ := s.customer(t, "oa-openid-1")
	require.Empty(t, name, "snsapi_base gives no profile")
	require.Empty(t, nick)

	// Signed in: the page shows at once now.
	status, loc, body := b.get(s.page())
	require.Equal(t, http.StatusOK, status, loc)
	require.Contains(t, body, `data-view-kind="card_view"`, "the card page")
	require.Equal(t, 1, s.wx.Calls(wechattest.Authorize))

	// Tapping "leave my details" asks for the profile: the salesperson sees the nickname and avatar.
	status, _ = s.signIn(t, b, s.page()+"/signin?scope=userinfo", "snsapi_userinfo")
	require.Equal(t, http.StatusOK, status)
	name, nick, avatar := s.customer(t, "oa-openid-1")
	require.Equal(t, "小王", name)
	require.Equal(t, "小王", nick)
	require.Equal(t, "https://thirdwx.qlogo.cn/mmopen/abc/132", avatar)

	// A name the salesperson typed is never overwritten; the WeChat nickname is kept beside it.
	s.f.exec(t, "UPDATE customers SET display_name = 'Mr Wang' WHERE display_name = '小王'")
	s.wx.SignInAs(wechat.Session{OpenID: "oa-openid-1", UnionID: "union-1"}, wechattest.Profile{Nickname: "王先生"})
	status, _ = s.signIn(t, b, s.page()+"/signin?scope=userinfo", "snsapi_userinfo")
	require.Equal(t, http.StatusOK, status)
	name, nick, avatar = s.customer(t, "oa-openid-1")
	require.Equal(t, "Mr Wang", name)
	require.Equal(t, "王先生", nick)
	require.Equal(t, "https://thirdwx.qlogo.cn/mmopen/abc/132", avatar, "no new avatar keeps the old one")
}

func TestSignInGateOutsideWeChatAndWhenNotRequired(t *testing.T) {
	t.Parallel()
	s := newSite(t, true)
	status, loc, body := newBrowser(t, "Mozilla/5.0 (Macintosh) Safari/605.1.15").get(s.page())
	require.Equal(t, http.StatusForbidden, status, loc)
	require.Contains(t, body, "请在微信中打开")

	s.f.exec(t, "UPDATE tenants SET require_signin = false WHERE id = $1", s.f.a.ID)
	status, _, body = newBrowser(t, weChatUA).get(s.page())
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, `data-view-kind="card_view"`, "the card page")
	require.Zero(t, s.wx.Calls(wechattest.Authorize))
}

// A state that was changed, made for another visitor or for another page is refused with a 400 page, and
// signs nobody in.
func TestOAuthStateTamperingIsRefused(t *testing.T) {
	t.Parallel()
	s := newSite(t, true)
	s.wx.SignInAs(wechat.Session{OpenID: "oa-openid-2"}, wechattest.Profile{Nickname: "N"})
	victim := newBrowser(t, weChatUA)
	status, loc, _ := victim.get(s.page())
	require.Equal(t, http.StatusFound, status)
	authz, err := url.Parse(loc)
	require.NoError(t, err)
	state := authz.Query().Get("state")
	oauth := func(b *browser, token, code, state string) (int, string) {
		status, _, body := b.get(s.srv.URL + "/s/" + token + "/oauth?" + url.Values{"code": {code}, "state": {state}}.Encode())
		return status, body
	}

	payload, mac, _ := strings.Cut(state, ".")
	flipped := []byte(payload)
	flipped[3] ^= 1
	for name, st := range map[string]string{
		"changed payload": string(flipped) + "." + mac,
		"changed mac":     payload + "." + strings.Repeat("A", len(mac)),
		"no mac":          payload,
		"empty":           "",
	} {
		status, body := oauth(victim, s.token, "any-code", st)
		require.Equal(t, http.StatusBadRequest, status, name)
		require.Contains(t, body, "登录已过期", name)
	}

	// Another visitor's browser cannot use the victim's state (login CSRF).
	attacker := newBrowser(t, weChatUA)
	_, _, _ = attacker.get(s.page()) // gets a visitor cookie of its own
	status, _ = oauth(attacker, s.token, "any-code", state)
	require.Equal(t, http.StatusBadRequest, status)

	// Nor is it good for another page.
	other, err := s.f.shares.ShareCard(context.Background(), s.f.sales, event.ChannelGroup)
	require.NoError(t, err)
	status, _ = oauth(victim, other.Token, "any-code", state)
	require.Equal(t, http.StatusBadRequest, status)
	require.Zero(t, s.wx.Calls(wechattest.OAuth), "no code was exchanged")

	// A state older than ten minutes has expired.
	later := time.Now().Add(11 * time.Minute)
	web.SetSignInClock(s.svc, func() time.Time { return later })
	status, body := oauth(victim, s.token, "any-code", state)
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, "登录已过期")
	require.Zero(t, s.wx.Calls(wechattest.OAuth))
	web.SetSignInClock(s.svc, time.Now)

	// A bad scope is refused before anything.
	status, _, _ = victim.get(s.page() + "/signin?scope=everything")
	require.Equal(t, http.StatusBadRequest, status)
	// An unknown code from WeChat is a 400 page, not a 500.
	status, body = oauth(victim, s.token, "never-issued", state)
	require.Equal(t, http.StatusBadRequest, status)
	require.NotContains(t, body, "never-issued")
}

func TestWXConfigSignsOnlyThisServersPages(t *testing.T) {
	t.Parallel()
	s := newSite(t, false)
	ctx := context.Background()
	cfg, err := s.svc.WXConfig(ctx, s.f.a.ID, s.page()+"?hb=500#section")
	require.NoError(t, err)
	require.NotNil(t, cfg)
	require.Equal(t, s.wx.AppID, cfg.AppID)
	require.Equal(t, wechat.JSSignature("fake-jsapi-ticket-1", cfg.NonceStr, cfg.Timestamp, s.page()+"?hb=500"), cfg.Signature)

	for _, bad := range []string{"https://evil.example.com/s/" + s.token, "/s/" + s.token, s.srv.URL + "/admin",
		strings.Replace(s.srv.URL, "http://", "https://", 1) + "/s/x", "::"} {
		_, err := s.svc.WXConfig(ctx, s.f.a.ID, bad)
		requireKind(t, platform.KindInvalid, err, bad)
	}
	require.Equal(t, 1, s.wx.TicketFetches())

	// Without an official account there is nothing to configure.
	none, err := s.f.pages(0).WXConfig(ctx, s.f.a.ID, s.page())
	require.NoError(t, err)
	require.Nil(t, none)
}

var (
	dataWX = regexp.MustCompile(`<body [^>]*data-wx="([^"]*)"`)
	wxSDK  = regexp.MustCompile(`<script id="wx-sdk" src="([^"]*)" async>`)
)

// pageWX fetches the page with a user agent and returns its CSP and its wx.config (nil without one).
func pageWX(t *testing.T, u, ua string) (string, *web.WXConfig, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	req.Header.Set("User-Agent", ua)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	var cfg *web.WXConfig
	if m := dataWX.FindSubmatch(body); m != nil {
		cfg = &web.WXConfig{}
		require.NoError(t, json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), cfg))
	}
	var sdk string
	if m := wxSDK.FindSubmatch(body); m != nil {
		sdk = string(m[1])
	}
	require.Equal(t, cfg != nil, sdk != "", "the JS-SDK comes with a wx.config")
	return res.Header.Get("Content-Security-Policy"), cfg, sdk
}

func TestPagesInWeChatCarryASignedWXConfig(t *testing.T) {
	t.Parallel()
	s := newSite(t, false)
	u := s.page() + "?from=timeline"
	csp, cfg, sdk := pageWX(t, u, weChatUA)
	require.NotNil(t, cfg)
	require.Equal(t, s.wx.AppID, cfg.AppID)
	require.Equal(t, wechat.JSSignature("fake-jsapi-ticket-1", cfg.NonceStr, cfg.Timestamp, u), cfg.Signature)
	require.Equal(t, "https://res.wx.qq.com/open/js/jweixin-1.6.0.js", sdk)
	require.Contains(t, csp, "script-src 'self' https://res.wx.qq.com;")

	// Outside WeChat the page neither loads the SDK nor allows it.
	csp, cfg, _ = pageWX(t, u, "Mozilla/5.0 (iPhone) Safari/604.1")
	require.Nil(t, cfg)
	require.Contains(t, csp, "script-src 'self';")

	// A ticket WeChat refuses leaves the page as it is without the SDK.
	broken := newSite(t, false)
	broken.wx.FailNext(wechattest.Ticket, 5, 40013)
	_, cfg, _ = pageWX(t, broken.page(), weChatUA)
	require.Nil(t, cfg)
}
