package wechat

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/salesapp/scrm/backend/platform"
)

const (
	// refreshMargin is how long before its expiry a token is replaced, so a call never starts with a token
	// that dies on the way.
	refreshMargin = 5 * time.Minute
	// tokenFetchTimeout bounds a token fetch, retries included. The fetch outlives the caller that started
	// it (others wait on it), so it cannot take that caller's deadline and needs one of its own.
	tokenFetchTimeout = 30 * time.Second
)

// The kinds of credential a client keeps, as Shared names them.
const (
	// KindAccessToken is the app's access token (cgi-bin/token).
	KindAccessToken = "access_token"
	// KindJSAPITicket is the official account's JS-SDK ticket (cgi-bin/ticket/getticket?type=jsapi).
	KindJSAPITicket = "jsapi_ticket"
)

// Credential is a token or ticket WeChat granted, and when.
type Credential struct {
	Value     string
	FetchedAt time.Time
	ExpiresAt time.Time
}

// refreshAt is when the credential is replaced: refreshMargin before it expires, or half-way through its life
// when WeChat granted it for less than twice the margin.
func (c Credential) refreshAt() time.Time {
	ttl := c.ExpiresAt.Sub(c.FetchedAt)
	return c.ExpiresAt.Add(-min(refreshMargin, ttl/2))
}

// Fresh reports whether c is worth using at now rather than fetching a new one.
func (c Credential) Fresh(now time.Time) bool {
	return c.Value != "" && now.Before(c.refreshAt())
}

// Shared keeps an app's credentials where every node finds them. WeChat caps fetches per day, and each fetch of
// an access token or ticket replaces the previous one, so nodes that each fetched their own would invalidate
// each other's; sharing one means one fetch for all of them. Store (PostgreSQL) is the implementation.
type Shared interface {
	// Get returns the stored credential of (appID, kind) when fresh(stored) holds; otherwise one caller at a
	// time, across nodes, runs fetch and stores what it returns, and callers waiting meanwhile get that.
	Get(ctx context.Context, appID, kind string, fresh func(Credential) bool, fetch func(context.Context) (Credential, error)) (Credential, error)
	// Invalidate marks value refused by WeChat, unless another value has replaced it already.
	Invalidate(ctx context.Context, appID, kind, value string) error
}

// credCache holds one credential of a client in this process, in front of Shared when there is one. WeChat
// caps fetches per day and each fetch replaces the previous value, so concurrent callers share one fetch
// instead of each making their own.
type credCache struct {
	kind      string
	mu        sync.Mutex
	value     string
	refreshAt time.Time
	// inflight is the fetch under way, nil when none.
	inflight *credFetch
}

// credFetch is one fetch that any number of callers wait on; done closes when value and err are set.
type credFetch struct {
	done  chan struct{}
	value string
	err   error
}

// drop forgets value after WeChat refused it, here and in the shared store. A value another caller has
// already replaced is left alone, so a burst of refusals of the same stale value costs one fetch, not one
// each.
func (c *Client) drop(ctx context.Context, cc *credCache, value string) {
	cc.mu.Lock()
	if cc.value == value {
		cc.value = ""
	}
	cc.mu.Unlock()
	if c.shared != nil {
		if err := c.shared.Invalidate(ctx, c.appID, cc.kind, value); err != nil {
			c.log.WarnContext(ctx, "wechat credential not invalidated in the shared store", slog.String("kind", cc.kind),
				slog.String("error", err.Error()))
		}
	}
}

// credential returns a value of cc good for a while yet, fetching one when there is none. Callers arriving
// while a fetch is under way wait for it; a caller whose ctx ends stops waiting but the fetch goes on for the
// others.
func (c *Client) credential(ctx context.Context, cc *credCache, request func(context.Context) (string, time.Duration, error)) (string, error) {
	cc.mu.Lock()
	if cc.value != "" && c.now().Before(cc.refreshAt) {
		v := cc.value
		cc.mu.Unlock()
		return v, nil
	}
	f := cc.inflight
	if f == nil {
		f = &credFetch{done: make(chan struct{})}
		cc.inflight = f
		go c.fetch(context.WithoutCancel(ctx), cc, f, request)
	}
	cc.mu.Unlock()
	select {
	case <-f.done:
		return f.value, f.err
	case <-ctx.Done():
		return "", fmt.Errorf("wechat %s: %w", cc.kind, ctx.Err())
	}
}

// fetch runs one fetch (from the shared store, which asks WeChat only when what it holds is stale) and
// publishes its outcome to the cache and to everyone waiting on f. A failure is not cached: the next caller
// tries again.
func (c *Client) fetch(ctx context.Context, cc *credCache, f *credFetch, request func(context.Context) (string, time.Duration, error)) {
	ctx, cancel := context.WithTimeout(ctx, tokenFetchTimeout)
	defer cancel()
	fromWeChat := func(ctx context.Context) (Credential, error) {
		fetchedAt := c.now()
		v, ttl, err := request(ctx)
		if err != nil {
			return Credential{}, err
		}
		c.log.DebugContext(ctx, "wechat credential fetched", slog.String("kind", cc.kind), slog.Duration("expires_in", ttl))
		return Credential{Value: v, FetchedAt: fetchedAt, ExpiresAt: fetchedAt.Add(ttl)}, nil
	}
	var cred Credential
	var err error
	if c.shared != nil {
		cred, err = c.shared.Get(ctx, c.appID, cc.kind, func(s Credential) bool { return s.Fresh(c.now()) }, fromWeChat)
	} else {
		cred, err = fromWeChat(ctx)
	}

	cc.mu.Lock()
	if err == nil {
		cc.value = cred.Value
		cc.refreshAt = cred.refreshAt()
	}
	cc.inflight = nil
	f.value, f.err = cred.Value, err
	close(f.done)
	cc.mu.Unlock()
}

// accessToken returns the app's access token.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	return c.credential(ctx, &c.token, c.requestToken)
}

func (c *Client) requestToken(ctx context.Context) (string, time.Duration, error) {
	const api = "token"
	q := url.Values{
		"grant_type": {"client_credential"},
		"appid":      {c.appID},
		"secret":     {c.secret},
	}
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := c.call(ctx, api, http.MethodGet, "/cgi-bin/token", q, nil, &out); err != nil {
		return "", 0, translate(err, platform.KindInternal, "")
	}
	if out.AccessToken == "" {
		return "", 0, fmt.Errorf("wechat %s: answer without access_token", api)
	}
	return out.AccessToken, lifetime(out.ExpiresIn), nil
}

// lifetime bounds what WeChat says a credential lives: a value without a lifetime is used by the callers
// waiting for it and not kept; a day bounds an absurd one (WeChat grants two hours).
func lifetime(expiresIn int64) time.Duration {
	return time.Duration(min(max(expiresIn, 0), 86400)) * time.Second
}
