// Package wechat is our client for the WeChat server APIs: for the mini-program it exchanges a wx.login code
// for the customer's identity (openid, unionid), a getPhoneNumber code for the phone number the customer
// chose to leave, and makes mini-program codes; for the official account it exchanges a web sign-in code,
// reads the profile a visitor agreed to share and signs pages for the JS-SDK. No WeChat SDK is available to us, so the client is small and ours: one access token per client shared
// by concurrent callers, one refresh when WeChat says the token went stale, bounded retries when WeChat is
// busy, and errors that say what the caller can do about them (platform kinds) without ever carrying the
// appsecret, a token, a code, a session key or a phone number.
package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/salesapp/scrm/backend/platform"
)

// DefaultBaseURL is WeChat's API host.
const DefaultBaseURL = "https://api.weixin.qq.com"

const (
	// maxResponseBytes bounds what we read from WeChat: its answers are a few hundred bytes, and a broken
	// proxy in between must not make us buffer without limit.
	maxResponseBytes = 64 << 10
	// maxAttempts is one call plus two retries when WeChat is busy (-1) or answers HTTP 5xx.
	maxAttempts = 3
	// defaultHTTPTimeout bounds one HTTP exchange when the caller brings no client of their own.
	defaultHTTPTimeout = 10 * time.Second
)

// Config says which mini-program the client speaks for and how to reach WeChat.
type Config struct {
	// BaseURL is WeChat's API host; DefaultBaseURL when empty. Tests point it at a fake server.
	BaseURL string
	// AppID is the mini-program's appid.
	AppID string
	// AppSecret is the mini-program's appsecret. Secret: it only ever leaves in a request to WeChat.
	AppSecret string
	// HTTPClient sends the requests; a client with a 10 s timeout when nil.
	HTTPClient *http.Client
	// Now tells the time for access token expiry; time.Now when nil.
	Now func() time.Time
	// Shared keeps the access token and the JS-SDK ticket where every node finds them (Store); nil keeps
	// them in this process only, which is right only when one process calls WeChat with these credentials.
	Shared Shared
}

// Client talks to WeChat for one mini-program. It is safe for concurrent use; make one per (appid, secret)
// and share it, since it holds the access token every caller uses.
type Client struct {
	base   string
	appID  string
	secret string
	http   *http.Client
	now    func() time.Time
	log    *slog.Logger
	token  *Credentials
	ticket *Credentials
}

// New builds a client. log may be nil (nothing is logged then).
func New(cfg Config, log *slog.Logger) *Client {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	} else {
		hc.Timeout = defaultHTTPTimeout
	}
	// Our URLs carry the appsecret or the access token: a redirect would hand them to whatever host it
	// names, so a redirect is answered as the unexpected status it is. The caller's client is copied, not
	// changed.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &Client{
		base:   base,
		appID:  cfg.AppID,
		secret: cfg.AppSecret,
		http:   &hc,
		now:    now,
		log:    log.With(slog.String("wechat_appid", cfg.AppID)),
	}
	c.token = NewCredentials(CredentialsConfig{AppID: cfg.AppID, Kind: KindAccessToken, Shared: cfg.Shared, Now: now,
		Request: c.requestToken}, c.log)
	c.ticket = NewCredentials(CredentialsConfig{AppID: cfg.AppID, Kind: KindJSAPITicket, Shared: cfg.Shared, Now: now,
		Request: c.requestTicket}, c.log)
	return c
}

// AppID is the app id the client speaks for (public: pages and authorize links carry it).
func (c *Client) AppID() string { return c.appID }

// Session is who the customer is, from a wx.login code.
type Session struct {
	// OpenID identifies the customer within this mini-program.
	OpenID string
	// UnionID identifies the customer across the apps of one WeChat Open Platform account. Empty unless the
	// mini-program is bound to an Open Platform account and WeChat's conditions for sending it are met.
	UnionID string
	// SessionKey decrypts data the mini-program hands over. Secret: never log it, never send it to a client.
	SessionKey string
}

// String leaves the session key out, so printing a Session by mistake leaks nothing.
func (s Session) String() string {
	return fmt.Sprintf("wechat.Session{OpenID:%q UnionID:%q SessionKey:[redacted]}", s.OpenID, s.UnionID)
}

// LogValue leaves the session key out of logs.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(slog.String("openid", s.OpenID), slog.String("unionid", s.UnionID))
}

// Code2Session exchanges a wx.login code for the customer's identity. A refused code (invalid, expired or
// already used) is platform.KindUnauthenticated: the customer logs in again.
func (c *Client) Code2Session(ctx context.Context, code string) (Session, error) {
	if code == "" {
		return Session{}, platform.Invalid("code", "the WeChat login code is missing")
	}
	q := url.Values{
		"appid":      {c.appID},
		"secret":     {c.secret},
		"js_code":    {code},
		"grant_type": {"authorization_code"},
	}
	var out struct {
		OpenID     string `json:"openid"`
		SessionKey string `json:"session_key"`
		UnionID    string `json:"unionid"`
	}
	const api = "jscode2session"
	if err := c.call(ctx, api, http.MethodGet, "/sns/jscode2session", q, nil, &out); err != nil {
		return Session{}, translate(err, platform.KindUnauthenticated, msgLoginCodeInvalid)
	}
	if out.OpenID == "" || out.SessionKey == "" {
		return Session{}, fmt.Errorf("wechat %s: answer without openid or session_key", api)
	}
	return Session{OpenID: out.OpenID, UnionID: out.UnionID, SessionKey: out.SessionKey}, nil
}

// OAuthCode exchanges the code of an official account's web sign-in (an H5 page in WeChat's browser,
// redirected through open.weixin.qq.com/connect/oauth2/authorize) for the visitor's openid of that
// account and, when the account is bound to an Open Platform account, their unionid. The client must be
// made with the official account's app id and secret.
func (c *Client) OAuthCode(ctx context.Context, code string) (Session, error) {
	g, err := c.OAuthExchange(ctx, code)
	return g.Session, err
}

// OAuthGrant is what a web sign-in code gives: who the visitor is, and the user access token that reads
// their profile when they agreed to snsapi_userinfo.
type OAuthGrant struct {
	Session
	// UserToken is the visitor's access token (not the app's). Secret: used at once for UserInfo, never kept.
	UserToken string
	// Scope is the scope the visitor granted, "snsapi_base" or "snsapi_userinfo".
	Scope string
}

// String leaves the user token out.
func (g OAuthGrant) String() string {
	return fmt.Sprintf("wechat.OAuthGrant{OpenID:%q UnionID:%q Scope:%q UserToken:[redacted]}", g.OpenID, g.UnionID, g.Scope)
}

// LogValue leaves the user token out of logs.
func (g OAuthGrant) LogValue() slog.Value {
	return slog.GroupValue(slog.String("openid", g.OpenID), slog.String("unionid", g.UnionID), slog.String("scope", g.Scope))
}

// OAuthExchange is OAuthCode keeping the user access token, for UserInfo. A refused code is
// platform.KindUnauthenticated.
func (c *Client) OAuthExchange(ctx context.Context, code string) (OAuthGrant, error) {
	if code == "" {
		return OAuthGrant{}, platform.Invalid("code", "the WeChat sign-in code is missing")
	}
	q := url.Values{
		"appid":      {c.appID},
		"secret":     {c.secret},
		"code":       {code},
		"grant_type": {"authorization_code"},
	}
	var out struct {
		AccessToken string `json:"access_token"`
		OpenID      string `json:"openid"`
		UnionID     string `json:"unionid"`
		Scope       string `json:"scope"`
	}
	const api = "oauth2/access_token"
	if err := c.call(ctx, api, http.MethodGet, "/sns/oauth2/access_token", q, nil, &out); err != nil {
		return OAuthGrant{}, translate(err, platform.KindUnauthenticated, msgLoginCodeInvalid)
	}
	if out.OpenID == "" {
		return OAuthGrant{}, fmt.Errorf("wechat %s: answer without openid", api)
	}
	return OAuthGrant{Session: Session{OpenID: out.OpenID, UnionID: out.UnionID}, UserToken: out.AccessToken, Scope: out.Scope}, nil
}

// UserInfo is the public profile a visitor agreed to share (snsapi_userinfo).
type UserInfo struct {
	OpenID, UnionID string
	Nickname        string
	// HeadImgURL is the avatar's URL on WeChat's image host; empty when the visitor has none.
	HeadImgURL string
}

// maxNicknameRunes bounds what we store of a nickname.
const maxNicknameRunes = 64

// UserInfo reads the profile of the visitor of g, who must have granted snsapi_userinfo.
func (c *Client) UserInfo(ctx context.Context, g OAuthGrant) (UserInfo, error) {
	if g.UserToken == "" {
		return UserInfo{}, errors.New("wechat userinfo: no user access token")
	}
	q := url.Values{"access_token": {g.UserToken}, "openid": {g.OpenID}, "lang": {"zh_CN"}}
	var out struct {
		OpenID     string `json:"openid"`
		UnionID    string `json:"unionid"`
		Nickname   string `json:"nickname"`
		HeadImgURL string `json:"headimgurl"`
	}
	const api = "userinfo"
	if err := c.call(ctx, api, http.MethodGet, "/sns/userinfo", q, nil, &out); err != nil {
		return UserInfo{}, translate(err, platform.KindInternal, "")
	}
	if out.OpenID != g.OpenID {
		return UserInfo{}, fmt.Errorf("wechat %s: answer for another openid", api)
	}
	nick := strings.TrimSpace(strings.ToValidUTF8(out.Nickname, ""))
	if r := []rune(nick); len(r) > maxNicknameRunes {
		nick = string(r[:maxNicknameRunes])
	}
	// The avatar is shown to salespeople as an image: only a web URL is kept, and WeChat's http URLs
	// (thirdwx.qlogo.cn answers https as well) are upgraded so the app loads no cleartext image.
	avatar := ""
	if u, err := url.Parse(out.HeadImgURL); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && len(out.HeadImgURL) <= 512 {
		u.Scheme = "https"
		avatar = u.String()
	}
	return UserInfo{OpenID: out.OpenID, UnionID: out.UnionID, Nickname: nick, HeadImgURL: avatar}, nil
}

// Phone is the phone number a customer chose to leave.
type Phone struct {
	// Number is "+" + CountryCode + PurePhoneNumber, e.g. "+8613800138000".
	Number string
	// PurePhoneNumber is the number without its country code.
	PurePhoneNumber string
	// CountryCode is the calling code without "+", e.g. "86".
	CountryCode string
}

// String masks the number, so printing a Phone by mistake leaks nothing.
func (p Phone) String() string { return "wechat.Phone{" + maskNumber(p.Number) + "}" }

// LogValue masks the number in logs.
func (p Phone) LogValue() slog.Value { return slog.StringValue(maskNumber(p.Number)) }

// maskNumber keeps the country code and the last two digits: enough to tell numbers apart while debugging.
func maskNumber(n string) string {
	if len(n) <= 5 {
		return strings.Repeat("*", len(n))
	}
	return n[:3] + strings.Repeat("*", len(n)-5) + n[len(n)-2:]
}

// PhoneNumber exchanges a getPhoneNumber code for the phone number. A refused code is platform.KindInvalid
// (the customer taps the button again); a number whose watermark names another app is refused as
// platform.KindPermissionDenied with ErrWatermarkMismatch as the cause.
func (c *Client) PhoneNumber(ctx context.Context, code string) (Phone, error) {
	if code == "" {
		return Phone{}, platform.Invalid("code", "the WeChat phone number code is missing")
	}
	body, err := json.Marshal(struct {
		Code string `json:"code"`
	}{code})
	if err != nil {
		return Phone{}, fmt.Errorf("wechat getuserphonenumber: encode the request: %w", err)
	}
	var out struct {
		PhoneInfo *struct {
			PurePhoneNumber string      `json:"purePhoneNumber"`
			CountryCode     countryCode `json:"countryCode"`
			Watermark       struct {
				AppID string `json:"appid"`
			} `json:"watermark"`
		} `json:"phone_info"`
	}
	const api = "getuserphonenumber"
	if err := c.callWithToken(ctx, api, http.MethodPost, "/wxa/business/getuserphonenumber", nil, body, &out); err != nil {
		return Phone{}, translate(err, platform.KindInvalid, msgPhoneCodeInvalid)
	}
	info := out.PhoneInfo
	if info == nil {
		return Phone{}, fmt.Errorf("wechat %s: answer without phone_info", api)
	}
	if info.Watermark.AppID != c.appID {
		return Phone{}, &platform.Error{Kind: platform.KindPermissionDenied, Msg: msgWatermark, Cause: ErrWatermarkMismatch}
	}
	cc, pure := string(info.CountryCode), info.PurePhoneNumber
	// The parts are checked, not trusted: they are joined into the number we store and show.
	if !isDigits(cc, 1, 4) || !isDigits(pure, 4, 17) {
		return Phone{}, fmt.Errorf("wechat %s: answer with a malformed phone number", api)
	}
	return Phone{Number: "+" + cc + pure, PurePhoneNumber: pure, CountryCode: cc}, nil
}

func isDigits(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// countryCode takes countryCode as WeChat sends it: documented as a string, seen as a number.
type countryCode string

// UnmarshalJSON accepts "86", "+86" and 86, and refuses anything that is not a whole number.
func (c *countryCode) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = countryCode(strings.TrimPrefix(strings.TrimSpace(s), "+"))
		return nil
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return errors.New("countryCode is neither a string nor a number")
		}
		if _, err := n.Int64(); err != nil {
			return errors.New("countryCode is not an integer")
		}
		*c = countryCode(n.String())
		return nil
	}
}

// translate gives an error from call its meaning for the caller; see domainError.
func translate(err error, codeKind platform.Kind, codeMsg string) error {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return domainError(apiErr, codeKind, codeMsg)
	}
	return err
}

// callWithToken calls an API that takes the access token. When WeChat says the token is stale (another
// fetch replaced it, or it expired early), the token is dropped and the call made once more with a fresh
// one; a second refusal is returned, not looped on.
func (c *Client) callWithToken(ctx context.Context, api, method, path string, q url.Values, body []byte, out any) error {
	tok, err := c.accessToken(ctx)
	if err != nil {
		return err
	}
	err = c.call(ctx, api, method, path, withToken(q, tok), body, out)
	if !IsTokenInvalid(err) {
		return err
	}
	c.log.InfoContext(ctx, "wechat access token refused, refreshing", slog.String("api", api),
		slog.Int("errcode", errCode(err)))
	c.token.Drop(ctx, tok)
	if tok, err = c.accessToken(ctx); err != nil {
		return err
	}
	return c.call(ctx, api, method, path, withToken(q, tok), body, out)
}

func withToken(q url.Values, tok string) url.Values {
	v := url.Values{}
	for k, vs := range q {
		v[k] = vs
	}
	v.Set("access_token", tok)
	return v
}

func errCode(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// status is what every WeChat answer may carry. errcode is absent on success for some APIs (jscode2session)
// and 0 for others, and both decode to 0.
type status struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// retryable is a failure worth another attempt: WeChat busy, or a server error on its side.
type retryable struct{ err error }

func (r retryable) Error() string { return r.err.Error() }
func (r retryable) Unwrap() error { return r.err }

// call sends one request to WeChat, retrying a busy answer (-1) or HTTP 5xx at most maxAttempts-1 times with a
// short, jittered, growing pause, and decodes a successful answer into out. An errcode comes back as an
// *APIError.
func (c *Client) call(ctx context.Context, api, method, path string, q url.Values, body []byte, out any) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = c.once(ctx, api, method, path, q, body, out)
		var r retryable
		if !errors.As(err, &r) {
			return err
		}
		if attempt == maxAttempts {
			return r.err
		}
		c.log.WarnContext(ctx, "wechat call failed, retrying", slog.String("api", api),
			slog.Int("attempt", attempt), slog.String("error", r.err.Error()))
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return fmt.Errorf("wechat %s: %w (after %v)", api, err, r.err)
		}
	}
}

// backoff is 100–200 ms before the first retry and 200–300 ms before the second: long enough for a busy
// WeChat to recover, short enough that a customer waiting on a login barely notices. The jitter keeps many
// nodes retrying together from hitting WeChat in step.
func backoff(attempt int) time.Duration {
	base := 100 * time.Millisecond << (attempt - 1)
	return min(base+rand.N(100*time.Millisecond), 400*time.Millisecond)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// once is one HTTP exchange. Errors name the API, never the URL: the URL carries the appsecret, the code
// or the access token.
func (c *Client) once(ctx context.Context, api, method, path string, q url.Values, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path+"?"+q.Encode(), rd)
	if err != nil {
		// NewRequest's errors quote the URL.
		return fmt.Errorf("wechat %s: cannot build the request", api)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		// A *url.Error quotes the URL, query and all: keep only what went wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("wechat %s: %w", api, err)
	}
	defer resp.Body.Close()
	limit := maxResponseBytes
	img, wantsImage := out.(*image)
	if wantsImage {
		limit = maxImageBytes
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return fmt.Errorf("wechat %s: read the answer: %w", api, err)
	}
	switch {
	case resp.StatusCode >= 500:
		return retryable{fmt.Errorf("wechat %s: HTTP %d", api, resp.StatusCode)}
	case resp.StatusCode == http.StatusTooManyRequests:
		return &platform.Error{Kind: platform.KindResourceExhausted, Msg: msgRateLimited,
			Cause: fmt.Errorf("wechat %s: HTTP %d", api, resp.StatusCode)}
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("wechat %s: HTTP %d", api, resp.StatusCode)
	case len(raw) > limit:
		return fmt.Errorf("wechat %s: answer larger than %d bytes", api, limit)
	}
	// APIs that answer an image answer JSON only to say what went wrong.
	if wantsImage && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && !bytes.HasPrefix(raw, []byte("{")) {
		*img = raw
		return nil
	}
	var st status
	if err := json.Unmarshal(raw, &st); err != nil {
		// json's syntax errors quote no input, but type errors may: say only that it was not JSON we know.
		return fmt.Errorf("wechat %s: answer is not the JSON expected", api)
	}
	if st.ErrCode != 0 {
		e := newAPIError(api, st.ErrCode, st.ErrMsg)
		if st.ErrCode == CodeSystemBusy {
			return retryable{e}
		}
		return e
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("wechat %s: answer is not the JSON expected", api)
	}
	return nil
}
