package web

// The H5 pages' WeChat sign-in (issue 14, point 4): a share page opened in WeChat's browser learns who the
// visitor is through the official account's web OAuth. GET /s/{token}/signin sends the visitor to WeChat's
// authorize page with a signed state; WeChat sends them back to GET /s/{token}/oauth with a code, which the
// server exchanges (LoginH5's logic: the openid and unionid become identities of the visitor's customer),
// reads the profile when the visitor agreed to share it (snsapi_userinfo: the nickname and avatar the
// salesperson then sees), sets a signed cookie saying this visitor signed in, and redirects to the page.
// SignInGate makes the silent sign-in (snsapi_base) happen before a page shows when the tenant requires it.

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/ratelimit"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/backend/tenant"
	"github.com/salesapp/scrm/backend/wechat"
)

// DefaultAuthorizeURL is WeChat's web sign-in page.
const DefaultAuthorizeURL = "https://open.weixin.qq.com/connect/oauth2/authorize"

// SignInConfig is what the pages' WeChat sign-in, its gate and the JS-SDK configuration need.
type SignInConfig struct {
	// BaseURL is the public base URL of share links (SALESD_PUBLIC_BASE_URL): WeChat redirects back under it,
	// and only pages under it get a JS-SDK signature.
	BaseURL string
	// Keys are the server's secrets (SALESD_TOKEN_KEYS); the first signs states and sign-in cookies, all
	// verify. Keys of their own are derived from them, so a state can never pass for an access token.
	Keys [][]byte
	// AuthorizeURL is WeChat's authorize page; DefaultAuthorizeURL when empty (tests use wechattest's).
	AuthorizeURL string
	// Tenants reads each tenant's page settings (sign-in required or not).
	Tenants *tenant.Service
	// PerIP limits sign-in requests per client address; nil: no limit.
	PerIP *ratelimit.Limiter
	// Log receives failures the visitor only sees as "try again"; nil discards them.
	Log *slog.Logger
}

// The cookies of the sign-in. sa_vid is the page contract's visitor cookie (set by the page when absent).
const (
	oauthVisitorCookie = "sa_vid"
	signedInCookie     = "sa_wx"
	// stateTTL bounds the round trip through WeChat's authorize page.
	stateTTL = 10 * time.Minute
	// signedInTTL is how long a sign-in lets the visitor through the gate.
	signedInTTL = 30 * 24 * time.Hour
	// visitorCookieTTL is the page contract's two years.
	visitorCookieTTL = 2 * 365 * 24 * time.Hour
)

var errNoOfficialAccount = platform.FailedPrecondition("WeChat web sign-in (official account) is not configured on this server")

// The scopes of WeChat's web sign-in, by the names the signin route takes.
var oauthScopes = map[string]string{"base": "snsapi_base", "userinfo": "snsapi_userinfo"}

var visitorIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

// signIn holds the sign-in's configuration (the tenants' page settings are in the page cache).
type signIn struct {
	base      *url.URL
	authorize string
	keys      [][]byte
	tenants   *tenant.Service
	perIP     *ratelimit.Limiter
	log       *slog.Logger
	now       func() time.Time
}

// newSignIn derives the sign-in's keys. A configuration without keys or base URL makes a sign-in that
// refuses everything it is asked to verify (and the routes answer that sign-in is unavailable).
func newSignIn(c SignInConfig) *signIn {
	si := &signIn{authorize: c.AuthorizeURL, tenants: c.Tenants, perIP: c.PerIP, log: c.Log, now: time.Now}
	if si.log == nil {
		si.log = slog.New(slog.DiscardHandler)
	}
	if si.authorize == "" {
		si.authorize = DefaultAuthorizeURL
	}
	if u, err := url.Parse(strings.TrimRight(c.BaseURL, "/")); err == nil && u.Host != "" {
		si.base = u
	}
	for _, k := range c.Keys {
		m := hmac.New(sha256.New, k)
		m.Write([]byte("salesapp h5 wechat sign-in v1"))
		si.keys = append(si.keys, m.Sum(nil))
	}
	return si
}

func (si *signIn) ready() bool { return si.base != nil && len(si.keys) > 0 }

// sign returns payload and its MAC, both base64url, joined by a dot.
func (si *signIn) sign(payload string) string {
	m := hmac.New(sha256.New, si.keys[0])
	m.Write([]byte(payload))
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(m.Sum(nil))
}

// verify returns the payload of a value sign made with any of the keys.
func (si *signIn) verify(v string) (string, bool) {
	p64, mac64, ok := strings.Cut(v, ".")
	if !ok || len(v) > 1024 {
		return "", false
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p64)
	mac, err2 := enc.DecodeString(mac64)
	if err1 != nil || err2 != nil {
		return "", false
	}
	for _, k := range si.keys {
		m := hmac.New(sha256.New, k)
		m.Write(payload)
		if hmac.Equal(mac, m.Sum(nil)) {
			return string(payload), true
		}
	}
	return "", false
}

// oauthState is what the state parameter carries through WeChat: the page, the visitor and the scope it was
// made for, until when it is good, and a nonce so no two are alike.
type oauthState struct {
	token, visitorID, scope string
	expires                 time.Time
}

func (si *signIn) makeState(st oauthState) string {
	return si.sign(strings.Join([]string{"state", st.token, st.visitorID, st.scope,
		strconv.FormatInt(st.expires.Unix(), 10), rand.Text()[:12]}, "|"))
}

func (si *signIn) readState(v string) (oauthState, bool) {
	payload, ok := si.verify(v)
	if !ok {
		return oauthState{}, false
	}
	f := strings.Split(payload, "|")
	if len(f) != 6 || f[0] != "state" {
		return oauthState{}, false
	}
	exp, err := strconv.ParseInt(f[4], 10, 64)
	if err != nil {
		return oauthState{}, false
	}
	st := oauthState{token: f[1], visitorID: f[2], scope: f[3], expires: time.Unix(exp, 0)}
	return st, si.now().Before(st.expires)
}

// signedIn reports whether r carries a sign-in cookie of visitorID for the tenant. The cookie names the last
// tenant whose page the visitor signed in on: the identities belong to that tenant's customer, so another
// tenant's page signs them in again (silently).
func (si *signIn) signedIn(r *http.Request, visitorID string, tenantID uuid.UUID) bool {
	c, err := r.Cookie(signedInCookie)
	if err != nil {
		return false
	}
	payload, ok := si.verify(c.Value)
	if !ok {
		return false
	}
	f := strings.Split(payload, "|")
	if len(f) != 4 || f[0] != "signedin" || f[1] != visitorID || f[2] != tenantID.String() {
		return false
	}
	exp, err := strconv.ParseInt(f[3], 10, 64)
	return err == nil && si.now().Before(time.Unix(exp, 0))
}

func (si *signIn) signedInCookie(visitorID string, tenantID uuid.UUID) *http.Cookie {
	exp := si.now().Add(signedInTTL)
	return &http.Cookie{Name: signedInCookie, Path: "/", HttpOnly: true, Secure: si.base.Scheme == "https",
		SameSite: http.SameSiteLaxMode, MaxAge: int(signedInTTL / time.Second),
		Value: si.sign(strings.Join([]string{"signedin", visitorID, tenantID.String(), strconv.FormatInt(exp.Unix(), 10)}, "|"))}
}

// pageSettings reads a tenant's page settings through the page cache (pagecache.go), beside the parts of
// the pages: the gate runs on every page view.
func (s *Service) pageSettings(ctx context.Context, tenantID uuid.UUID) (tenant.PageSettings, error) {
	if s.signin.tenants == nil {
		return tenant.PageSettings{}, nil
	}
	return get(ctx, s.cache, "t:"+tenantID.String(), func(ctx context.Context) (tenant.PageSettings, int64, error) {
		ps, err := s.signin.tenants.PageSettings(ctx, tenantID)
		n := entryOverhead
		for _, o := range ps.PageOrigins {
			n += len(o) + 16
		}
		return ps, int64(n), err
	})
}

// pagePath is the path of a share page.
func pagePath(token string) string { return "/s/" + url.PathEscape(token) }

// visitorFromCookie returns the visitor id of the sa_vid cookie, "" when absent or malformed.
func visitorFromCookie(r *http.Request) string {
	c, err := r.Cookie(oauthVisitorCookie)
	if err != nil || !visitorIDPattern.MatchString(c.Value) {
		return ""
	}
	return c.Value
}

// IsWeChatBrowser reports whether the request comes from WeChat's built-in browser.
func IsWeChatBrowser(r *http.Request) bool {
	return strings.Contains(r.UserAgent(), "MicroMessenger")
}

// SignInGate is the page handler's gate (the page contract's Gate): when the page's tenant requires sign-in
// and this visitor has not signed in on its pages, a request from WeChat's browser is redirected to the
// silent sign-in (snsapi_base: no prompt, the visitor only sees the page load), and any other browser gets a
// page asking to open the link in WeChat, where the sign-in can happen. It reports whether it answered.
// Without an official account configured nobody can sign in, so the gate lets everyone through.
func (s *Service) SignInGate(w http.ResponseWriter, r *http.Request, p Page, visitorID string) bool {
	if s.official == nil || !s.signin.ready() {
		return false
	}
	ps, err := s.pageSettings(r.Context(), p.Share.TenantID)
	if err != nil {
		// Failing open would show a page its tenant wants signed in; the page itself needs the same database.
		writeMessage(w, http.StatusServiceUnavailable, "请稍后再试", "页面暂时无法显示，请稍后再试。", "")
		return true
	}
	if !ps.RequireSignIn || s.signin.signedIn(r, visitorID, p.Share.TenantID) {
		return false
	}
	if !IsWeChatBrowser(r) {
		writeMessage(w, http.StatusForbidden, "请在微信中打开",
			"这个页面需要在微信中打开：请把链接发到微信聊天中，或用微信扫码，再在微信里打开。", "")
		return true
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, pagePath(p.Share.Token)+"/signin?scope=base", http.StatusFound)
	return true
}

// SignInHandler serves GET /s/{token}/signin?scope=base|userinfo: a redirect to WeChat's authorize page.
func (s *Service) SignInHandler(w http.ResponseWriter, r *http.Request) {
	if !s.signinAllowed(w, r) {
		return
	}
	token := r.PathValue("token")
	scope, ok := oauthScopes[r.URL.Query().Get("scope")]
	if !ok {
		writeMessage(w, http.StatusBadRequest, "链接有误", "scope 只能是 base 或 userinfo。", "")
		return
	}
	p, err := s.Open(r.Context(), token)
	if err != nil {
		s.writeError(w, r, err, "")
		return
	}
	vid := s.visitor(w, r)
	state := s.signin.makeState(oauthState{token: p.Share.Token, visitorID: vid, scope: scope, expires: s.signin.now().Add(stateTTL)})
	redirect := s.signin.base.String() + pagePath(p.Share.Token) + "/oauth"
	q := url.Values{"appid": {s.official.AppID()}, "redirect_uri": {redirect}, "response_type": {"code"},
		"scope": {scope}, "state": {state}}
	w.Header().Set("Cache-Control", "no-store")
	// WeChat wants its parameters in this order and the #wechat_redirect fragment; url.Values sorts them,
	// which its page accepts.
	http.Redirect(w, r, s.signin.authorize+"?"+q.Encode()+"#wechat_redirect", http.StatusFound)
}

// OAuthHandler serves GET /s/{token}/oauth?code=…&state=…, where WeChat sends the visitor back.
func (s *Service) OAuthHandler(w http.ResponseWriter, r *http.Request) {
	if !s.signinAllowed(w, r) {
		return
	}
	token := r.PathValue("token")
	q := r.URL.Query()
	st, ok := s.signin.readState(q.Get("state"))
	// The state must be ours, fresh, for this page and for the visitor whose browser this is: a link with a
	// state made for someone else (login CSRF) is refused.
	if !ok || st.token != token || st.visitorID == "" || st.visitorID != visitorFromCookie(r) {
		writeMessage(w, http.StatusBadRequest, "登录已过期",
			"这个登录链接已失效，请重新打开页面。", pagePath(token))
		return
	}
	code := q.Get("code")
	if code == "" {
		// The visitor declined to share their profile: the page shows as it did.
		http.Redirect(w, r, pagePath(token), http.StatusSeeOther)
		return
	}
	sh, err := s.shares.Resolve(r.Context(), token)
	if err != nil {
		s.writeError(w, r, err, "")
		return
	}
	grant, customerID, _, err := s.signInH5(r.Context(), sh, st.visitorID, code)
	if err != nil {
		s.writeError(w, r, err, pagePath(token))
		return
	}
	if st.scope == "snsapi_userinfo" && grant.Scope == "snsapi_userinfo" {
		if err := s.recordProfile(r.Context(), sh.TenantID, customerID, grant); err != nil {
			// The visitor is signed in all the same; the salesperson sees the nickname at the next sign-in.
			s.signin.logError(r.Context(), "wechat profile not recorded", err)
		}
	}
	http.SetCookie(w, s.signin.signedInCookie(st.visitorID, sh.TenantID))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, pagePath(token), http.StatusSeeOther)
}

// signInH5 is the web sign-in of a visitor of sh: the code gives their openid of the official account and
// unionid, which become identities of the visitor's customer (merging a known customer's earlier visits in).
func (s *Service) signInH5(ctx context.Context, sh share.Share, visitorID, code string) (wechat.OAuthGrant, uuid.UUID, bool, error) {
	if s.official == nil {
		return wechat.OAuthGrant{}, uuid.Nil, false, errNoOfficialAccount
	}
	grant, err := s.official.OAuthExchange(ctx, code)
	if err != nil {
		return wechat.OAuthGrant{}, uuid.Nil, false, err
	}
	id, returning, err := s.customers.Identify(ctx, sh.TenantID, visitorID, sourceOf(sh),
		customer.Identity{Kind: customer.IdentityUnion, Value: grant.UnionID},
		customer.Identity{Kind: customer.IdentityH5, Value: grant.OpenID})
	return grant, id, returning, err
}

func (s *Service) recordProfile(ctx context.Context, tenantID, customerID uuid.UUID, grant wechat.OAuthGrant) error {
	info, err := s.official.UserInfo(ctx, grant)
	if err != nil {
		return err
	}
	return s.customers.SetWeChatProfile(ctx, tenantID, customerID, info.Nickname, info.HeadImgURL)
}

// signinAllowed answers the request itself when sign-in is unavailable or the address is too fast.
func (s *Service) signinAllowed(w http.ResponseWriter, r *http.Request) bool {
	if s.official == nil || !s.signin.ready() {
		writeMessage(w, http.StatusNotFound, "暂不可用", "这里暂不支持微信登录。", "")
		return false
	}
	if s.signin.perIP != nil && !s.signin.perIP.Allow(ratelimit.AddressKey(r.RemoteAddr)) {
		w.Header().Set("Retry-After", "1")
		writeMessage(w, http.StatusTooManyRequests, "访问太频繁了", "您所在网络的访问太频繁，请几秒后再试。", "")
		return false
	}
	return true
}

// writeError answers a domain error as a page, with a link back when there is one.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, err error, back string) {
	switch platform.KindOf(err) {
	case platform.KindNotFound:
		writeMessage(w, http.StatusNotFound, "链接已失效", "这个链接不存在、已被撤回或已过期。", "")
	case platform.KindUnauthenticated, platform.KindInvalid:
		writeMessage(w, http.StatusBadRequest, "登录已过期", "微信未接受这次登录，请重新打开页面。", back)
	case platform.KindResourceExhausted:
		w.Header().Set("Retry-After", "60")
		writeMessage(w, http.StatusServiceUnavailable, "请稍后再试", "微信繁忙，请一分钟后再试。", back)
	case platform.KindPermissionDenied:
		writeMessage(w, http.StatusForbidden, "无法登录", "微信未允许这次登录。", back)
	default:
		s.signin.logError(r.Context(), "wechat sign-in failed", err)
		writeMessage(w, http.StatusBadGateway, "请稍后再试", "微信登录失败，请重试。", back)
	}
}

// logError logs what went wrong on the server's side or WeChat's. The WeChat client's errors name neither
// codes nor tokens, so the text is safe to log.
func (si *signIn) logError(ctx context.Context, msg string, err error) {
	si.log.ErrorContext(ctx, msg, slog.String("error", err.Error()))
}

var messagePage = template.Must(template.New("message").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body{font-family:-apple-system,BlinkMacSystemFont,"PingFang SC",sans-serif;margin:3em 1.5em;color:#222;text-align:center}a{color:#07c160}</style>
</head><body><h1>{{.Title}}</h1><p>{{.Message}}</p>{{if .Back}}<p><a href="{{.Back}}">返回页面</a></p>{{end}}</body></html>
`))

// writeMessage answers a short HTML page: the sign-in's answers are seen by people, in WeChat's browser.
func writeMessage(w http.ResponseWriter, status int, title, message, back string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := messagePage.Execute(w, struct{ Title, Message, Back string }{title, message, back}); err != nil {
		_, _ = fmt.Fprint(w, title)
	}
}
