package wechat

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

const (
	// refreshMargin is how long before its expiry a token is replaced, so a call never starts with a token
	// that dies on the way.
	refreshMargin = 5 * time.Minute
	// tokenFetchTimeout bounds a token fetch, retries included. The fetch outlives the caller that started
	// it (others wait on it), so it cannot take that caller's deadline and needs one of its own.
	tokenFetchTimeout = 30 * time.Second
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

// Credentials holds one credential (an access token, a ticket) of one app in this process, in front of
// Shared when there is one. The issuer caps fetches per day and a fetch may replace the previous value, so
// concurrent callers share one fetch instead of each making their own. Other clients of Tencent APIs (WeCom)
// use it with their own request function and app key.
type Credentials struct {
	appID   string
	kind    string
	shared  Shared
	now     func() time.Time
	log     *slog.Logger
	request func(context.Context) (string, time.Duration, error)

	mu        sync.Mutex
	value     string
	refreshAt time.Time
	// inflight is the fetch under way, nil when none.
	inflight *credFetch
}

// CredentialsConfig says whose credential a Credentials holds and how to get a new one.
type CredentialsConfig struct {
	// AppID keys the credential in Shared (at most 64 bytes); for WeChat the app id.
	AppID string
	// Kind is KindAccessToken or KindJSAPITicket.
	Kind string
	// Shared keeps the credential for every node; nil keeps it in this process only.
	Shared Shared
	// Now tells the time; time.Now when nil.
	Now func() time.Time
	// Request asks the issuer for a new value and its lifetime. It runs at most once at a time per
	// Credentials (and, with Shared, across nodes) and must never log or return the value in an error.
	Request func(context.Context) (string, time.Duration, error)
}

// NewCredentials makes an empty holder; the first Get fetches. log may be nil.
func NewCredentials(cfg CredentialsConfig, log *slog.Logger) *Credentials {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Credentials{appID: cfg.AppID, kind: cfg.Kind, shared: cfg.Shared, now: now, log: log, request: cfg.Request}
}

// credFetch is one fetch that any number of callers wait on; done closes when value and err are set.
type credFetch struct {
	done  chan struct{}
	value string
	err   error
}

// Drop forgets value after the issuer refused it, here and in the shared store. A value another caller has
// already replaced is left alone, so a burst of refusals of the same stale value costs one fetch, not one
// each.
func (cc *Credentials) Drop(ctx context.Context, value string) {
	cc.mu.Lock()
	if cc.value == value {
		cc.value = ""
	}
	cc.mu.Unlock()
	if cc.shared != nil {
		if err := cc.shared.Invalidate(ctx, cc.appID, cc.kind, value); err != nil {
			cc.log.WarnContext(ctx, "credential not invalidated in the shared store", slog.String("kind", cc.kind),
				slog.String("error", err.Error()))
		}
	}
}

// Get returns a value good for a while yet, fetching one when there is none. Callers arriving while a fetch
// is under way wait for it; a caller whose ctx ends stops waiting but the fetch goes on for the others.
func (cc *Credentials) Get(ctx context.Context) (string, error) {
	cc.mu.Lock()
	if cc.value != "" && cc.now().Before(cc.refreshAt) {
		v := cc.value
		cc.mu.Unlock()
		return v, nil
	}
	f := cc.inflight
	if f == nil {
		f = &credFetch{done: make(chan struct{})}
		cc.inflight = f
		go cc.fetch(context.WithoutCancel(ctx), f)
	}
	cc.mu.Unlock()
	select {
	case <-f.done:
		return f.value, f.err
	case <-ctx.Done():
		return "", fmt.Errorf("%s: %w", cc.kind, ctx.Err())
	}
}

// fetch runs one fetch (from the shared store, which asks the issuer only when what it holds is stale) and
// publishes its outcome to the cache and to everyone waiting on f. A failure is not cached: the next caller
// tries again.
func (cc *Credentials) fetch(ctx context.Context, f *credFetch) {
	ctx, cancel := context.WithTimeout(ctx, tokenFetchTimeout)
	defer cancel()
	fromIssuer := func(ctx context.Context) (Credential, error) {
		fetchedAt := cc.now()
		v, ttl, err := cc.request(ctx)
		if err != nil {
			return Credential{}, err
		}
		cc.log.DebugContext(ctx, "credential fetched", slog.String("kind", cc.kind), slog.Duration("expires_in", ttl))
		return Credential{Value: v, FetchedAt: fetchedAt, ExpiresAt: fetchedAt.Add(ttl)}, nil
	}
	var cred Credential
	var err error
	if cc.shared != nil {
		cred, err = cc.shared.Get(ctx, cc.appID, cc.kind, func(s Credential) bool { return s.Fresh(cc.now()) }, fromIssuer)
	} else {
		cred, err = fromIssuer(ctx)
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

// Lifetime bounds what an issuer says a credential lives (expires_in, seconds): a value without a lifetime
// is used by the callers waiting for it and not kept; a day bounds an absurd one (WeChat and WeCom grant two
// hours).
func Lifetime(expiresIn int64) time.Duration {
	return time.Duration(min(max(expiresIn, 0), 86400)) * time.Second
}
