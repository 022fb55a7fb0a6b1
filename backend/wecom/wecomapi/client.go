// Package wecomapi is our typed client for the WeCom (企业微信) server API at qyapi.weixin.qq.com: the
// directory (departments, members, sign-in codes), external contacts (customers and their follow users),
// contact ways (联系我 channel codes), welcome messages, the corp tag library, and transfers of customers
// between members. The module proxy carries no WeCom SDK, so it is small and ours, built like
// backend/wechat's client and sharing its access-token cache and PostgreSQL store.
//
// One Client serves one (corp id, secret): WeCom issues a token per secret, and the self-built app's secret
// and the customer-contact secret are different, so a tenant has one Client per secret. The token is shared
// by every node (wechat.Store, keyed by TokenKey) and refreshed by one of them at a time. WeCom's stale-token
// answers (40014, 42001, 40001) refresh it and retry once; busy answers and 5xx are retried on idempotent
// calls only; rate limits (45009, 45033) are retried at most once on idempotent calls and otherwise surface as
// ResourceExhausted with a retry time; permission answers (48001, 48002, 60011, 60020) are never retried and
// surface as PermissionDenied saying what to grant. No secret, token, code or phone number is ever logged
// or put in an error.
package wecomapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/wechat"
)

// DefaultBaseURL is WeCom's API host.
const DefaultBaseURL = "https://qyapi.weixin.qq.com"

const (
	// DefaultMaxResponseBytes bounds what we read of one answer. WeCom's largest answers we ask for are member
	// lists (a department tree of 10,000 members with details is a few MB) and pages of 100 customers; a broken
	// proxy in between must not make us buffer without limit.
	DefaultMaxResponseBytes = 16 << 20
	// maxAttempts is one call plus two retries when WeCom is busy (-1) or answers HTTP 5xx (idempotent calls).
	maxAttempts = 3
	// defaultHTTPTimeout bounds one HTTP exchange when the caller brings no client of their own.
	defaultHTTPTimeout = 30 * time.Second
	// maxRequestBytes bounds what we send; WeCom's own limits on lists keep requests far smaller.
	maxRequestBytes = 1 << 20
	apiGetToken     = "gettoken"
)

// Config says which corp and secret the client speaks for and how to reach WeCom.
type Config struct {
	// BaseURL is WeCom's API host; DefaultBaseURL when empty. Tests point it at wecomtest.
	BaseURL string
	// CorpID is the corp's id (企业ID, "ww…").
	CorpID string
	// Secret is the self-built app's secret or the customer-contact secret. Secret: it only ever leaves in a
	// request to WeCom.
	Secret string
	// HTTPClient sends the requests; a client with a 30 s timeout when nil. Redirects are never followed.
	HTTPClient *http.Client
	// Now tells the time for token expiry; time.Now when nil.
	Now func() time.Time
	// Shared keeps the access token where every node finds it (wechat.Store); nil keeps it in this process,
	// which is right only when one process calls WeCom with this secret.
	Shared wechat.Shared
	// MaxResponseBytes bounds one answer; DefaultMaxResponseBytes when zero.
	MaxResponseBytes int
}

// Client talks to WeCom for one (corp id, secret). It is safe for concurrent use; make one per secret and
// share it, since it holds the token every caller uses.
type Client struct {
	base     string
	corpID   string
	secret   string
	http     *http.Client
	log      *slog.Logger
	maxBytes int
	token    *wechat.Credentials
}

var corpIDRE = regexp.MustCompile(`^[0-9A-Za-z]{1,40}$`)

// New builds a client; log may be nil. A missing or malformed corp id or secret is platform.KindInvalid
// naming corp_id or secret.
func New(cfg Config, log *slog.Logger) (*Client, error) {
	if !corpIDRE.MatchString(cfg.CorpID) {
		return nil, platform.Invalid("corp_id", "the WeCom corp ID must be 1 to 40 letters and digits (我的企业 → 企业信息 → 企业ID)")
	}
	if cfg.Secret == "" || len(cfg.Secret) > 128 {
		return nil, platform.Invalid("secret", "the WeCom secret is missing or too long")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	} else {
		hc.Timeout = defaultHTTPTimeout
	}
	// Our URLs carry the secret or the access token: a redirect would hand them to whatever host it names.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	maxBytes := cfg.MaxResponseBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxResponseBytes
	}
	c := &Client{
		base:     base,
		corpID:   cfg.CorpID,
		secret:   cfg.Secret,
		http:     &hc,
		log:      log.With(slog.String("wecom_corpid", cfg.CorpID)),
		maxBytes: maxBytes,
	}
	c.token = wechat.NewCredentials(wechat.CredentialsConfig{
		AppID: TokenKey(cfg.CorpID, cfg.Secret), Kind: wechat.KindAccessToken, Shared: cfg.Shared, Now: cfg.Now,
		Request: c.requestToken,
	}, c.log)
	return c, nil
}

// CorpID is the corp the client speaks for.
func (c *Client) CorpID() string { return c.corpID }

// TokenKey is the key of the (corp id, secret)'s access token in wechat.Shared: "wecom:", the corp id and
// the first 16 hex digits of the secret's SHA-256, so two secrets of a corp have two tokens, a changed
// secret starts afresh, and the key (which may be logged) reveals nothing usable of the secret.
func TokenKey(corpID, secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "wecom:" + corpID + ":" + hex.EncodeToString(sum[:8])
}

func (c *Client) requestToken(ctx context.Context) (string, time.Duration, error) {
	q := url.Values{"corpid": {c.corpID}, "corpsecret": {c.secret}}
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := c.attempts(ctx, request{api: apiGetToken, method: http.MethodGet, query: q, idempotent: true}, &out); err != nil {
		return "", 0, Translate(err)
	}
	if out.AccessToken == "" {
		return "", 0, fmt.Errorf("wecom %s: answer without access_token", apiGetToken)
	}
	return out.AccessToken, wechat.Lifetime(out.ExpiresIn), nil
}

// CheckToken fetches (or reuses) the access token: the cheapest proof that the corp id and secret are right.
// A wrong corp id or secret is platform.KindFailedPrecondition saying which.
func (c *Client) CheckToken(ctx context.Context) error {
	_, err := c.token.Get(ctx)
	return err
}

// request is one API call: api is the path under /cgi-bin/ and names the call in errors and logs.
type request struct {
	api    string
	method string
	query  url.Values
	body   []byte
	// contentType is the body's ("": JSON).
	contentType string
	// idempotent calls (reads) are retried when WeCom is busy, fails with 5xx or limits our rate; writes
	// are not, since WeCom may have done them.
	idempotent bool
}

func (c *Client) get(ctx context.Context, api string, q url.Values, out any) error {
	return c.withToken(ctx, request{api: api, method: http.MethodGet, query: q, idempotent: true}, out)
}

// read posts a request that changes nothing (WeCom takes many reads as POST).
func (c *Client) read(ctx context.Context, api string, in, out any) error {
	return c.postJSON(ctx, api, in, out, true)
}

// write posts a request that changes something in WeCom.
func (c *Client) write(ctx context.Context, api string, in, out any) error {
	return c.postJSON(ctx, api, in, out, false)
}

func (c *Client) postJSON(ctx context.Context, api string, in, out any, idempotent bool) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("wecom %s: encode the request: %w", api, err)
	}
	if len(body) > maxRequestBytes {
		return fmt.Errorf("wecom %s: request larger than %d bytes", api, maxRequestBytes)
	}
	if out == nil {
		out = &struct{}{}
	}
	return c.withToken(ctx, request{api: api, method: http.MethodPost, body: body, idempotent: idempotent}, out)
}

// withToken makes a call with the access token. When WeCom says the token is stale (expired, replaced, or
// not accepted), the token is dropped here and in the shared store and the call made once more with a fresh
// one; a second refusal is returned, not looped on. Errors come back translated (Translate).
func (c *Client) withToken(ctx context.Context, r request, out any) error {
	tok, err := c.token.Get(ctx)
	if err != nil {
		return err
	}
	err = c.attempts(ctx, r.withToken(tok), out)
	if IsTokenInvalid(err) {
		c.log.InfoContext(ctx, "wecom access token refused, refreshing", slog.String("api", r.api), slog.Int("errcode", errCode(err)))
		c.token.Drop(ctx, tok)
		if tok, err = c.token.Get(ctx); err != nil {
			return err
		}
		err = c.attempts(ctx, r.withToken(tok), out)
	}
	return Translate(err)
}

func (r request) withToken(tok string) request {
	q := url.Values{}
	for k, vs := range r.query {
		q[k] = vs
	}
	q.Set("access_token", tok)
	r.query = q
	return r
}

func errCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// retryable is a failure worth another attempt of an idempotent call: WeCom busy, or a server error.
type retryable struct{ err error }

func (r retryable) Error() string { return r.err.Error() }
func (r retryable) Unwrap() error { return r.err }

// attempts sends r, retrying an idempotent call when WeCom is busy or fails with 5xx (at most maxAttempts in
// all, with short jittered pauses) and, once, when WeCom limits our rate (after a pause of about a second:
// WeCom's concurrency limits clear that fast; a per-minute limit then surfaces to the caller).
func (c *Client) attempts(ctx context.Context, r request, out any) error {
	pausedForRate := false
	for attempt := 1; ; attempt++ {
		err := c.once(ctx, r, out)
		var rt retryable
		var pause time.Duration
		switch {
		case errors.As(err, &rt):
			err = rt.err
			if !r.idempotent || attempt >= maxAttempts {
				return err
			}
			pause = backoff(attempt)
		case IsRateLimited(err) && r.idempotent && !pausedForRate:
			pausedForRate = true
			pause = rateLimitPause()
		default:
			return err
		}
		c.log.WarnContext(ctx, "wecom call failed, retrying", slog.String("api", r.api), slog.Int("attempt", attempt),
			slog.String("error", err.Error()))
		if serr := sleep(ctx, pause); serr != nil {
			return fmt.Errorf("wecom %s: %w (after %w)", r.api, serr, err)
		}
	}
}

// backoff is 100–200 ms before the first retry and 200–300 ms before the second, jittered so many nodes do
// not retry in step.
func backoff(attempt int) time.Duration {
	base := 100 * time.Millisecond << (attempt - 1)
	return min(base+rand.N(100*time.Millisecond), 400*time.Millisecond)
}

// rateLimitPause is 0.5–1 s.
func rateLimitPause() time.Duration { return 500*time.Millisecond + rand.N(500*time.Millisecond) }

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

// status is what every WeCom answer carries.
type status struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// once is one HTTP exchange. Errors name the API, never the URL: it carries the secret or the token.
func (c *Client) once(ctx context.Context, r request, out any) error {
	var rd io.Reader
	if r.body != nil {
		rd = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.base+"/cgi-bin/"+r.api+"?"+r.query.Encode(), rd)
	if err != nil {
		return fmt.Errorf("wecom %s: cannot build the request", r.api)
	}
	if r.body != nil {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		// A *url.Error quotes the URL, query and all: keep only what went wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("wecom %s: %w", r.api, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, int64(c.maxBytes)+1))
	if err != nil {
		return fmt.Errorf("wecom %s: read the answer: %w", r.api, err)
	}
	switch {
	case resp.StatusCode >= 500:
		return retryable{fmt.Errorf("wecom %s: HTTP %d", r.api, resp.StatusCode)}
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("wecom %s: HTTP %d", r.api, resp.StatusCode)
	case len(raw) > c.maxBytes:
		return fmt.Errorf("wecom %s: answer larger than %d bytes", r.api, c.maxBytes)
	}
	var st status
	if err := json.Unmarshal(raw, &st); err != nil {
		// Type errors may quote input: say only that it was not the JSON we know.
		return fmt.Errorf("wecom %s: answer is not the JSON expected", r.api)
	}
	if st.ErrCode != 0 {
		e := newError(r.api, st.ErrCode, st.ErrMsg)
		if st.ErrCode == CodeSystemBusy {
			return retryable{e}
		}
		return e
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("wecom %s: answer is not the JSON expected", r.api)
	}
	return nil
}
