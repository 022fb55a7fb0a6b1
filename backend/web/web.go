// Package web serves the customers' side: what a share link shows (the salesperson's card, and the material
// when it is a material share) and forwards. Customers are not signed in; the token in the link is all
// they have. What pages are made of is cached for a few seconds (pagecache.go), because one link shared
// into a busy group chat is opened by many people at once. The pages themselves are in pages.go.
package web

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/salesapp/scrm/backend/card"
	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/material"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/ratelimit"
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
	sessions  *customer.Sessions
	wechat    *wechat.Client
	official  *wechat.Client
	cache     *pageCache
	signin    *signIn
	// phones limits the leave-a-number form per client address.
	phones *ratelimit.Limiter
	// lookups bounds the node's lookups of links not in the cache.
	lookups   *lookupGate
	heartbeat time.Duration
}

// Deps are what the customers' side stands on. WeChat is nil when no mini-program is configured.
type Deps struct {
	Shares    *share.Service
	Cards     *card.Service
	Materials *material.Service
	Customers *customer.Service
	Tracking  *tracking.Service
	// Sessions issues and checks the mini-program's customer sessions; nil: none are issued or accepted.
	Sessions *customer.Sessions
	WeChat   *wechat.Client
	// Official is the official account's client (H5 web sign-in); nil when not configured.
	Official *wechat.Client
	// SignIn configures the pages' WeChat sign-in and JS-SDK signatures (oauth.go, wx.go).
	SignIn SignInConfig
	// CacheBytes bounds the node's page cache; 0 is DefaultCacheBytes.
	CacheBytes int64
	// Heartbeat is how often pages report dwell while visible; 0 is DefaultHeartbeat.
	Heartbeat time.Duration
	// LookupRate is how many links not in the cache the node looks up a second (lookups.go); 0 is
	// DefaultLookupRate.
	LookupRate int
}

// NewService builds the service; pages are cached for ttl (0 disables the cache). Presigned URLs in a
// cached page stay valid far longer than ttl.
func NewService(d Deps, ttl time.Duration) *Service {
	s := &Service{shares: d.Shares, cards: d.Cards, materials: d.Materials, customers: d.Customers,
		tracking: d.Tracking, sessions: d.Sessions, wechat: d.WeChat, official: d.Official, cache: newPageCache(ttl, d.CacheBytes),
		signin: newSignIn(d.SignIn), heartbeat: d.Heartbeat, lookups: newLookupGate(d.LookupRate),
		// A person leaves a number once or twice; three at once and one a minute after is plenty.
		phones: ratelimit.New(1.0/60, 3, 100_000)}
	if s.heartbeat <= 0 {
		s.heartbeat = DefaultHeartbeat
	}
	return s
}

var errPagesEnded = platform.NotFound("share link")

var errNoMiniProgram = platform.FailedPrecondition("WeChat sign-in is not configured on this server")

// LoginMiniProgram exchanges wx.login's code for the visitor's WeChat identities and ties them to the
// visitor's customer (merging a known customer's earlier visits in). It reports whether the visitor was
// already known, and returns the customer's session (customer.Sessions).
func (s *Service) LoginMiniProgram(ctx context.Context, token, visitorID, code string) (returning bool, session string, sess customer.Session, err error) {
	if s.wechat == nil {
		return false, "", sess, errNoMiniProgram
	}
	sh, err := s.shares.Resolve(ctx, token)
	if err != nil {
		return false, "", sess, err
	}
	wx, err := s.wechat.Code2Session(ctx, code)
	if err != nil {
		return false, "", sess, err
	}
	customerID, returning, err := s.customers.Identify(ctx, sh.TenantID, visitorID, sourceOf(sh),
		customer.Identity{Kind: customer.IdentityUnion, Value: wx.UnionID},
		customer.Identity{Kind: customer.IdentityMiniProgram, Value: wx.OpenID})
	if err != nil {
		return false, "", sess, err
	}
	session, sess, err = s.sessions.Issue(sh.TenantID, customerID, visitorID)
	return returning, session, sess, err
}

// Session returns the customer session a request carries in customer.SessionHeader (nil when it carries
// none); one that is forged or expired is Unauthenticated.
func (s *Service) Session(header string) (*customer.Session, error) {
	return s.sessions.Carried(header)
}

// RefreshSession renews a customer session (customer.Sessions.Refresh) for the customer its visitor is now;
// a visitor no longer known (the customer erased) signs in again.
func (s *Service) RefreshSession(ctx context.Context, token string) (string, customer.Session, error) {
	return s.sessions.Refresh(token, func(old customer.Session) (uuid.UUID, error) {
		id, _, err := s.customers.VisitorCustomer(ctx, old.TenantID, old.VisitorID)
		if platform.KindOf(err) == platform.KindNotFound {
			return uuid.Nil, errSessionGone
		}
		return id, err
	})
}

var errSessionGone = platform.Unauthenticated("customer session's visitor is no longer known: sign in again (LoginMiniProgram)")

// OpenCard is what a salesperson's card shows a signed-in customer of their company, as their card's
// standing link (its QR code's) shows it: Open of that link, whose token the page's events then carry.
func (s *Service) OpenCard(ctx context.Context, sess customer.Session, employeeID uuid.UUID) (Page, error) {
	if !s.cache.has(cardKey(sess.TenantID, employeeID)) {
		if err := s.lookups.admit(ctx); err != nil {
			return Page{}, err
		}
	}
	v, err := s.card(ctx, sess.TenantID, employeeID)
	if err != nil {
		return Page{}, err
	}
	return s.Open(ctx, v.ShareToken)
}

// OpenHome is a signed-in customer's home: their salesperson's card, as OpenCard shows it. A customer with no
// salesperson yet (a pool's, waiting for a manager) is NotFound.
func (s *Service) OpenHome(ctx context.Context, sess customer.Session) (Page, error) {
	if err := s.lookups.admit(ctx); err != nil {
		return Page{}, err
	}
	_, owner, err := s.customers.VisitorCustomer(ctx, sess.TenantID, sess.VisitorID)
	if err != nil {
		return Page{}, err
	}
	if owner == uuid.Nil {
		return Page{}, errNoSalesperson
	}
	return s.OpenCard(ctx, sess, owner)
}

var errNoSalesperson = platform.NotFound("salesperson of this customer (none yet: open a card or a link)")

// Featured returns the token of the salesperson's standing link of a material featured on the card behind
// token (made once, on the card link's channel), so that the customer's reading is credited to them. A
// material the card does not feature is NotFound.
func (s *Service) Featured(ctx context.Context, token string, materialID uuid.UUID) (string, error) {
	p, err := s.Open(ctx, token)
	if err != nil {
		return "", err
	}
	if !slices.ContainsFunc(p.Card.Featured, func(f material.Summary) bool { return f.ID == materialID }) {
		return "", platform.NotFound("featured material")
	}
	sh := p.Share
	key := "f:" + sh.TenantID.String() + ":" + sh.EmployeeID.String() + ":" + materialID.String() + ":" + string(sh.Channel)
	return get(ctx, s.cache, key, func(ctx context.Context) (string, int64, error) {
		t, err := s.shares.StandingShare(ctx, sh.TenantID, sh.EmployeeID, materialID, sh.Channel)
		return t, int64(entryOverhead + len(t)), err
	})
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
	if visitorID == "" {
		return platform.Invalid("visitor_id", "required without a customer session")
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
		VisitorID: visitorID, Phone: phone.Number, PhoneVerified: true}}); err != nil {
		return err
	}
	_, _, err = s.customers.Identify(ctx, sh.TenantID, visitorID, sourceOf(sh), customer.Identity{Kind: customer.IdentityPhone, Value: phone.Number})
	return err
}

func sourceOf(sh share.Share) customer.Source {
	return customer.Source{OwnerID: sh.EmployeeID, ShareID: sh.ID, Channel: sh.Channel}
}

// Open returns what the share link behind token shows. Unknown tokens, and materials no longer published,
// are NotFound. Its parts come from the cache (pagecache.go): share links by token, cards by salesperson,
// materials by id, so a material or card changed or withdrawn shows so within the cache's TTL.
func (s *Service) Open(ctx context.Context, token string) (Page, error) {
	key := "s:" + token
	if !s.cache.has(key) {
		if err := s.lookups.admit(ctx); err != nil {
			return Page{}, err
		}
	}
	sh, err := get(ctx, s.cache, key, func(ctx context.Context) (share.Share, int64, error) {
		sh, err := s.shares.Resolve(ctx, token)
		return sh, shareBytes(sh), err
	})
	if err != nil {
		return Page{}, err
	}
	if !sh.Showable(time.Now()) {
		// The tenant's subscription ended more than share.PageGrace ago: the neutral page, though the
		// visit is still tracked (the page's beacons are accepted), so a renewal shows everything.
		return Page{}, errPagesEnded
	}
	p := Page{Share: sh}
	p.Card, err = s.card(ctx, sh.TenantID, sh.EmployeeID)
	if err != nil {
		return Page{}, err
	}
	if sh.MaterialID != uuid.Nil {
		m, err := get(ctx, s.cache, "m:"+sh.TenantID.String()+":"+sh.MaterialID.String(), func(ctx context.Context) (material.View, int64, error) {
			v, err := s.materials.Public(ctx, sh.TenantID, sh.SharerID, sh.MaterialID)
			return v, materialBytes(v), err
		})
		if err != nil {
			return Page{}, err
		}
		// Cached per material, so the rule of material.Public that a personal material shows only through
		// its owner's links is applied again here. A departed owner's personal material keeps showing
		// through their links, credited to the successor.
		if m.Tier == material.TierPersonal && m.OwnerID != sh.SharerID {
			return Page{}, platform.NotFound("material")
		}
		p.Material = &m
	}
	return p, nil
}

// card is a salesperson's public card, from the page cache.
func (s *Service) card(ctx context.Context, tenantID, employeeID uuid.UUID) (card.View, error) {
	return get(ctx, s.cache, cardKey(tenantID, employeeID), func(ctx context.Context) (card.View, int64, error) {
		v, err := s.cards.Public(ctx, tenantID, employeeID)
		return v, cardBytes(v), err
	})
}

func cardKey(tenantID, employeeID uuid.UUID) string {
	return "c:" + tenantID.String() + ":" + employeeID.String()
}

// Forward records a customer's forward of the share behind token and returns the child share.
func (s *Service) Forward(ctx context.Context, token string, ch event.Channel, forwarder string) (share.Share, error) {
	return s.shares.Forward(ctx, token, ch, forwarder)
}

// URL is the link of a share token.
func (s *Service) URL(token string) string { return s.shares.URL(token) }

// The estimated sizes of cached parts: their strings plus a fixed overhead for the structs and the
// cache's own entry. Estimates, so the budget is approximate, but every byte that grows with content
// (article bodies, URLs) is counted.
const entryOverhead = 256

func shareBytes(sh share.Share) int64 {
	return int64(entryOverhead + 2*len(sh.Token) + len(sh.Forwarder))
}

func cardBytes(v card.View) int64 {
	n := entryOverhead + len(v.DisplayName) + len(v.Title) + len(v.Phone) + len(v.WeChatID) + len(v.Email) +
		len(v.AvatarURL) + len(v.Bio) + len(v.IntroVideoURL) + len(v.QRCodeURL) + len(v.ShareURL) + len(v.ShareToken) +
		len(v.Company.Name) + len(v.Company.LogoURL) + len(v.Company.Website) + len(v.Company.Address)
	for _, u := range v.PhotoURLs {
		n += len(u) + 16
	}
	for _, f := range v.Featured {
		n += 64 + len(f.Title) + len(f.CoverURL) + len(f.ThumbnailURL)
	}
	return int64(n)
}

func materialBytes(v material.View) int64 {
	n := entryOverhead + len(v.Title) + len(v.Summary) + len(v.BodyHTML) + len(v.TextBody) + len(v.FileKey) +
		len(v.CoverKey) + len(v.ThumbKey) + len(v.RejectReason) + len(v.FileURL) + len(v.CoverURL) + len(v.ThumbnailURL)
	for _, k := range v.ImageKeys {
		n += len(k) + 16
	}
	for _, u := range v.ImageURLs {
		n += len(u) + 16
	}
	for _, t := range v.Tags {
		n += len(t) + 16
	}
	if v.Layout != nil {
		n += 512
	}
	return int64(n)
}
