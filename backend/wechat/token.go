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

// tokenCache holds the one access token of a client. WeChat caps token fetches per day and each fetch
// replaces the previous token, so concurrent callers share one fetch instead of each making their own.
type tokenCache struct {
	mu        sync.Mutex
	token     string
	refreshAt time.Time
	// inflight is the fetch under way, nil when none.
	inflight *tokenFetch
}

// tokenFetch is one fetch that any number of callers wait on; done closes when token and err are set.
type tokenFetch struct {
	done  chan struct{}
	token string
	err   error
}

// drop forgets tok after WeChat refused it. A token another caller has already replaced is left alone, so a
// burst of refusals of the same stale token costs one fetch, not one each.
func (tc *tokenCache) drop(tok string) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.token == tok {
		tc.token = ""
	}
}

// accessToken returns a token good for a while yet, fetching one when there is none. Callers arriving while a
// fetch is under way wait for it; a caller whose ctx ends stops waiting but the fetch goes on for the others.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	tc := &c.token
	tc.mu.Lock()
	if tc.token != "" && c.now().Before(tc.refreshAt) {
		tok := tc.token
		tc.mu.Unlock()
		return tok, nil
	}
	f := tc.inflight
	if f == nil {
		f = &tokenFetch{done: make(chan struct{})}
		tc.inflight = f
		go c.fetchToken(context.WithoutCancel(ctx), f)
	}
	tc.mu.Unlock()
	select {
	case <-f.done:
		return f.token, f.err
	case <-ctx.Done():
		return "", fmt.Errorf("wechat token: %w", ctx.Err())
	}
}

// fetchToken runs one fetch and publishes its outcome to the cache and to everyone waiting on f. A failure
// is not cached: the next caller tries again.
func (c *Client) fetchToken(ctx context.Context, f *tokenFetch) {
	ctx, cancel := context.WithTimeout(ctx, tokenFetchTimeout)
	defer cancel()
	fetchedAt := c.now()
	tok, ttl, err := c.requestToken(ctx)

	tc := &c.token
	tc.mu.Lock()
	if err == nil {
		tc.token = tok
		// A token WeChat grants for less than twice the margin is kept for half its life instead.
		tc.refreshAt = fetchedAt.Add(ttl - min(refreshMargin, ttl/2))
	}
	tc.inflight = nil
	f.token, f.err = tok, err
	close(f.done)
	tc.mu.Unlock()
	if err == nil {
		c.log.DebugContext(ctx, "wechat access token fetched", slog.Duration("expires_in", ttl))
	}
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
	// A token without a lifetime is used by the callers waiting for it and not kept; a day bounds an absurd
	// one (WeChat grants two hours).
	ttl := time.Duration(min(max(out.ExpiresIn, 0), 86400)) * time.Second
	return out.AccessToken, ttl, nil
}
