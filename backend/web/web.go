// Package web serves the customers' side: what a share link shows (the salesperson's card, and the material
// when it is a material share) and forwards. Customers are not signed in; the token in the link is all
// they have. Pages are cached per token for a few seconds, because one link shared into a busy group
// chat is opened by many people at once.
package web

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/salesapp/scrm/backend/card"
	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/material"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/backend/tracking"
	"github.com/salesapp/scrm/backend/wechat"
)

// Page is what a share link shows.
type Page struct {
	Share share.Share
	Card  card.View
	// Material is nil for card shares.
	Material *material.View
}

// Service resolves share links into pages, and signs customers in.
type Service struct {
	shares    *share.Service
	cards     *card.Service
	materials *material.Service
	customers *customer.Service
	tracking  *tracking.Service
	wechat    *wechat.Client
	official  *wechat.Client
	cache     *pageCache
	signin    *signIn
}

// Deps are what the customers' side stands on. WeChat is nil when no mini-program is configured.
type Deps struct {
	Shares    *share.Service
	Cards     *card.Service
	Materials *material.Service
	Customers *customer.Service
	Tracking  *tracking.Service
	WeChat    *wechat.Client
	// Official is the official account's client (H5 web sign-in); nil when not configured.
	Official *wechat.Client
	// SignIn configures the pages' WeChat sign-in and JS-SDK signatures (oauth.go, wx.go).
	SignIn SignInConfig
}

// NewService builds the service; pages are cached for ttl (0 disables the cache). Presigned URLs in a
// cached page stay valid far longer than ttl.
func NewService(d Deps, ttl time.Duration) *Service {
	return &Service{shares: d.Shares, cards: d.Cards, materials: d.Materials, customers: d.Customers,
		tracking: d.Tracking, wechat: d.WeChat, official: d.Official, cache: newPageCache(ttl),
		signin: newSignIn(d.SignIn, ttl)}
}

var errNoMiniProgram = platform.FailedPrecondition("WeChat sign-in is not configured on this server")

// LoginMiniProgram exchanges wx.login's code for the visitor's WeChat identities and ties them to the
// visitor's customer (merging a known customer's earlier visits in). It reports whether the visitor was
// already known.
func (s *Service) LoginMiniProgram(ctx context.Context, token, visitorID, code string) (bool, error) {
	if s.wechat == nil {
		return false, errNoMiniProgram
	}
	sh, err := s.shares.Resolve(ctx, token)
	if err != nil {
		return false, err
	}
	sess, err := s.wechat.Code2Session(ctx, code)
	if err != nil {
		return false, err
	}
	_, returning, err := s.customers.Identify(ctx, sh.TenantID, visitorID, sourceOf(sh),
		customer.Identity{Kind: customer.IdentityUnion, Value: sess.UnionID},
		customer.Identity{Kind: customer.IdentityMiniProgram, Value: sess.OpenID})
	return returning, err
}

// LoginH5 is LoginMiniProgram for H5 pages: the official account's web sign-in code gives the visitor's
// openid of that account (and unionid, which ties them to the same person in the mini-program).
func (s *Service) LoginH5(ctx context.Context, token, visitorID, code string) (bool, error) {
	if s.official == nil {
		return false, errNoOfficialAccount
	}
	sh, err := s.shares.Resolve(ctx, token)
	if err != nil {
		return false, err
	}
	_, _, returning, err := s.signInH5(ctx, sh, visitorID, code)
	return returning, err
}

// LeavePhoneNumber exchanges the getPhoneNumber button's code for the number and records it, as a
// phone_left event of the visitor and as an identity of their customer.
func (s *Service) LeavePhoneNumber(ctx context.Context, token, visitorID, phoneCode string, eventID uuid.UUID) error {
	if s.wechat == nil {
		return errNoMiniProgram
	}
	sh, err := s.shares.Resolve(ctx, token)
	if err != nil {
		return err
	}
	phone, err := s.wechat.PhoneNumber(ctx, phoneCode)
	if err != nil {
		return err
	}
	if _, err := s.tracking.Ingest(ctx, []tracking.Event{{ID: eventID, Kind: event.PhoneLeft, ShareToken: token,
		VisitorID: visitorID, Phone: phone.Number}}); err != nil {
		return err
	}
	_, _, err = s.customers.Identify(ctx, sh.TenantID, visitorID, sourceOf(sh), customer.Identity{Kind: customer.IdentityPhone, Value: phone.Number})
	return err
}

func sourceOf(sh share.Share) customer.Source {
	return customer.Source{OwnerID: sh.EmployeeID, ShareID: sh.ID, Channel: sh.Channel}
}

// Open returns what the share link behind token shows. Unknown tokens, and materials no longer published,
// are NotFound.
func (s *Service) Open(ctx context.Context, token string) (Page, error) {
	if p, ok := s.cache.get(token); ok {
		return p, nil
	}
	sh, err := s.shares.Resolve(ctx, token)
	if err != nil {
		return Page{}, err
	}
	p := Page{Share: sh}
	if p.Card, err = s.cards.Public(ctx, sh.TenantID, sh.EmployeeID); err != nil {
		return Page{}, err
	}
	if sh.MaterialID != uuid.Nil {
		m, err := s.materials.Public(ctx, sh.TenantID, sh.EmployeeID, sh.MaterialID)
		if err != nil {
			return Page{}, err
		}
		p.Material = &m
	}
	s.cache.put(token, p)
	return p, nil
}

// Forward records a customer's forward of the share behind token and returns the child share.
func (s *Service) Forward(ctx context.Context, token string, ch event.Channel, forwarder string) (share.Share, error) {
	return s.shares.Forward(ctx, token, ch, forwarder)
}

// URL is the link of a share token.
func (s *Service) URL(token string) string { return s.shares.URL(token) }

type pageCache struct {
	ttl time.Duration
	mu  sync.RWMutex
	m   map[string]cachedPage
}

type cachedPage struct {
	page  Page
	until time.Time
}

// maxCachedPages bounds memory: past it the cache starts over.
const maxCachedPages = 50_000

func newPageCache(ttl time.Duration) *pageCache {
	return &pageCache{ttl: ttl, m: make(map[string]cachedPage)}
}

func (c *pageCache) get(token string) (Page, bool) {
	if c.ttl <= 0 {
		return Page{}, false
	}
	c.mu.RLock()
	e, ok := c.m[token]
	c.mu.RUnlock()
	if !ok || time.Now().After(e.until) {
		return Page{}, false
	}
	return e.page, true
}

func (c *pageCache) put(token string, p Page) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	if len(c.m) >= maxCachedPages {
		c.m = make(map[string]cachedPage)
	}
	c.m[token] = cachedPage{page: p, until: time.Now().Add(c.ttl)}
	c.mu.Unlock()
}
