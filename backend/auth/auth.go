// Package auth signs staff in and manages their sessions: one per signed-in device, each with a rotating
// refresh token stored only as a hash and an absolute end that refreshing never passes. It issues access
// tokens (see authn) and tells the authenticator whether a token's session, employee and tenant are still
// good, caching that answer briefly per node. Sign-in with a login and password, the tenant picker,
// invitations and the brute-force counters are in signin.go, invitation.go, password.go and throttle.go. A
// person lists and ends their sessions (session.go); ending a session, by any route, also ends its push
// registrations in the same transaction, and the WebSocket hub closes its sockets (EndedSessions).
package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/auth/internal/authdb"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
)

// retryGrace is how long after a rotation the previous refresh token still works once more, for a client
// whose refresh response was lost on a bad mobile network. Any later use of an old token is taken as theft
// and ends the session.
const retryGrace = time.Minute

// TokenPair is what a device keeps to stay signed in.
type TokenPair struct {
	AccessToken           string
	AccessTokenExpiresAt  time.Time
	RefreshToken          string
	RefreshTokenExpiresAt time.Time
}

// Service issues, refreshes and revokes sessions, and checks them for the authenticator.
type Service struct {
	db         *platform.DB
	tokens     *authn.Tokens
	refreshTTL time.Duration
	lifetime   time.Duration
	now        func() time.Time
	cache      *statusCache
	// Sign-in with passwords (signin.go, invitation.go).
	pw      *passwords
	baseURL string
	log     *slog.Logger
}

// DefaultLifetime is a session's absolute lifetime when the configuration names none.
const DefaultLifetime = 90 * 24 * time.Hour

// Config configures the service.
type Config struct {
	// RefreshTTL is how long a session may go without refreshing before it ends.
	RefreshTTL time.Duration
	// Lifetime is how long a session may last from sign-in, however often it refreshes (0: DefaultLifetime).
	Lifetime time.Duration
	// CacheTTL is how long a node trusts a session's status; 0 disables the cache.
	CacheTTL time.Duration
	Now      func() time.Time
	// Argon2 are the parameters of new password hashes (zero: DefaultArgon2); HashSlots bounds the hashes
	// computed at once (0: half the cores) and HashQueue the sign-ins waiting for one.
	Argon2    Argon2Params
	HashSlots int
	HashQueue int
	// PublicBaseURL starts invitation links: BASE/invite/CODE.
	PublicBaseURL string
	// Log receives what sign-in has to say (locks, failures to record); nil discards it.
	Log *slog.Logger
}

// NewService builds the service.
func NewService(db *platform.DB, tokens *authn.Tokens, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = DefaultLifetime
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: db, tokens: tokens, refreshTTL: cfg.RefreshTTL, lifetime: cfg.Lifetime, now: cfg.Now,
		cache: newStatusCache(cfg.CacheTTL, cfg.Now),
		pw:    newPasswords(cfg.Argon2, cfg.HashSlots, cfg.HashQueue), baseURL: cfg.PublicBaseURL, log: cfg.Log}
}

// IssueSession signs an employee in on a device. Identity providers (WeCom OAuth, and `salesctl token` in
// development) call it once they know who the employee is. What the app says about the device, and where
// the request came from, are taken from ctx (WithClient) and shown by ListSessions. The session ends
// Lifetime after now at the latest, however often it is refreshed.
func (s *Service) IssueSession(ctx context.Context, tenantID, employeeID uuid.UUID, deviceID string) (TokenPair, error) {
	if deviceID == "" || len(deviceID) > 128 {
		return TokenPair{}, platform.Invalid("device_id", "must be 1 to 128 characters")
	}
	sessionID := uuid.Must(uuid.NewV7())
	secret := newSecret()
	now := s.now()
	ends := now.Add(s.lifetime)
	exp := earliest(now.Add(s.refreshTTL), ends)
	c := clientFrom(ctx)
	err := s.db.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		st, err := loadEmployeeStatus(ctx, tx, tenantID, employeeID)
		if err != nil {
			return err
		}
		if err := s.usable(st.Status, st.TenantExpiresAt); err != nil {
			return err
		}
		return authdb.New(tx).InsertSession(ctx, authdb.InsertSessionParams{
			ID: sessionID, TenantID: tenantID, EmployeeID: employeeID, DeviceID: deviceID,
			RefreshHash: hash(secret), ExpiresAt: exp, EndsAt: ends,
			DeviceName: c.DeviceName, Platform: c.Platform, AppVersion: c.AppVersion, ClientAddress: c.Address,
		})
	})
	if err != nil {
		return TokenPair{}, err
	}
	return s.pair(tenantID, employeeID, sessionID, deviceID, secret, exp), nil
}

func loadEmployeeStatus(ctx context.Context, tx pgx.Tx, tenantID, employeeID uuid.UUID) (authdb.GetEmployeeStatusRow, error) {
	st, err := authdb.New(tx).GetEmployeeStatus(ctx, authdb.GetEmployeeStatusParams{TenantID: tenantID, EmployeeID: employeeID})
	if errors.Is(err, pgx.ErrNoRows) {
		return st, platform.NotFound("employee")
	}
	return st, err
}

// usable refuses disabled employees and expired tenants with a message the app can show.
func (s *Service) usable(employeeStatus string, tenantExpiresAt time.Time) error {
	if employeeStatus != "active" {
		return platform.PermissionDenied("your account has been disabled by your enterprise's administrator")
	}
	if !s.now().Before(tenantExpiresAt) {
		return platform.PermissionDenied(fmt.Sprintf(
			"your enterprise's subscription expired on %s: ask your administrator to renew it",
			tenantExpiresAt.UTC().Format("2006-01-02")))
	}
	return nil
}

func (s *Service) pair(tenantID, employeeID, sessionID uuid.UUID, deviceID string, secret []byte, exp time.Time) TokenPair {
	access, accessExp := s.tokens.Issue(authn.Claims{TenantID: tenantID, EmployeeID: employeeID, SessionID: sessionID, DeviceID: deviceID})
	return TokenPair{
		AccessToken: access, AccessTokenExpiresAt: accessExp,
		RefreshToken: encodeRefresh(tenantID, sessionID, secret), RefreshTokenExpiresAt: exp,
	}
}

var errSessionEnded = platform.Unauthenticated("your session has ended: sign in again")

// Refresh rotates a session's refresh token and issues a new access token. The new refresh token lives
// RefreshTTL, but never past the session's absolute end. What ctx says of the device (WithClient)
// updates what ListSessions shows.
func (s *Service) Refresh(ctx context.Context, refreshToken, deviceID string) (TokenPair, error) {
	tenantID, sessionID, secret, err := decodeRefresh(refreshToken)
	if err != nil {
		return TokenPair{}, errSessionEnded
	}
	var (
		pair    TokenPair
		outcome error
	)
	err = s.db.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		q := authdb.New(tx)
		sess, err := q.GetSessionForRefresh(ctx, authdb.GetSessionForRefreshParams{TenantID: tenantID, ID: sessionID})
		if errors.Is(err, pgx.ErrNoRows) {
			outcome = errSessionEnded
			return nil
		}
		if err != nil {
			return err
		}
		// Disabled employees and expired tenants hear why, even though their sessions were ended too.
		st, err := loadEmployeeStatus(ctx, tx, tenantID, sess.EmployeeID)
		if err != nil {
			return err
		}
		if err := s.usable(st.Status, st.TenantExpiresAt); err != nil {
			outcome = err
			return nil
		}
		now := s.now()
		h := hash(secret)
		switch {
		case sess.RevokedAt != nil, !now.Before(sess.ExpiresAt), !now.Before(sess.EndsAt), sess.DeviceID != deviceID:
			outcome = errSessionEnded
			return nil
		case subtle.ConstantTimeCompare(h, sess.RefreshHash) == 1:
		case sess.PrevRefreshHash != nil && subtle.ConstantTimeCompare(h, sess.PrevRefreshHash) == 1 && now.Sub(sess.RotatedAt) < retryGrace:
		default:
			// An old refresh token came back after its grace: someone else may hold it. End the session
			// (committed, so the refusal sticks).
			s.cache.forgetSession(sessionID)
			outcome = errSessionEnded
			return endSessionTx(ctx, tx, tenantID, sessionID, "refresh token reused: session ended")
		}
		next := newSecret()
		exp := earliest(now.Add(s.refreshTTL), sess.EndsAt)
		c := clientFrom(ctx)
		if err := q.RotateSession(ctx, authdb.RotateSessionParams{TenantID: tenantID, ID: sessionID, RefreshHash: hash(next), ExpiresAt: exp,
			DeviceName: c.DeviceName, Platform: c.Platform, AppVersion: c.AppVersion, ClientAddress: c.Address}); err != nil {
			return err
		}
		pair = s.pair(tenantID, sess.EmployeeID, sessionID, deviceID, next, exp)
		return nil
	})
	if err != nil {
		return TokenPair{}, err
	}
	if outcome != nil {
		return TokenPair{}, outcome
	}
	return pair, nil
}

// Logout ends the caller's session, and the pushes to the device it was on.
func (s *Service) Logout(ctx context.Context, p authn.Principal) error {
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		return endSessionTx(ctx, tx, p.TenantID, p.SessionID, "signed out")
	})
	s.cache.forgetSession(p.SessionID)
	return err
}

// RevokeEmployeeSessions ends every session of an employee inside tx (tenant.Sessions: disabling them).
func (s *Service) RevokeEmployeeSessions(ctx context.Context, tx pgx.Tx, tenantID, employeeID uuid.UUID) error {
	return EndSessionsTx(ctx, tx, tenantID, employeeID, uuid.Nil)
}

// EmployeeChanged drops this node's cached view of the employee's sessions (tenant.Sessions); other nodes
// see the change within the cache TTL.
func (s *Service) EmployeeChanged(employeeID uuid.UUID) { s.cache.forgetEmployee(employeeID) }

// Check implements authn.Checker.
func (s *Service) Check(ctx context.Context, c authn.Claims) (authn.Principal, error) {
	if e, ok := s.cache.get(c.SessionID); ok {
		return e.principal, e.err
	}
	p, err := s.load(ctx, c)
	var de *platform.Error
	if err == nil || errors.As(err, &de) { // cache answers, not outages
		s.cache.put(c.SessionID, c.EmployeeID, p, err)
	}
	return p, err
}

func (s *Service) load(ctx context.Context, c authn.Claims) (authn.Principal, error) {
	var row authdb.GetSessionStatusRow
	err := s.db.InTenantTx(ctx, c.TenantID, func(tx pgx.Tx) error {
		var err error
		row, err = authdb.New(tx).GetSessionStatus(ctx, authdb.GetSessionStatusParams{TenantID: c.TenantID, ID: c.SessionID})
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return authn.Principal{}, errSessionEnded
	}
	if err != nil {
		return authn.Principal{}, err
	}
	if row.EmployeeID != c.EmployeeID || row.DeviceID != c.DeviceID {
		return authn.Principal{}, errSessionEnded
	}
	// Disabled employees and expired tenants hear why, even though their sessions were ended too.
	if err := s.usable(row.Status, row.TenantExpiresAt); err != nil {
		return authn.Principal{}, err
	}
	if row.RevokedAt != nil || !s.now().Before(row.SessionExpiresAt) {
		return authn.Principal{}, errSessionEnded
	}
	return authn.Principal{
		TenantID: c.TenantID, EmployeeID: c.EmployeeID, SessionID: c.SessionID, DeviceID: c.DeviceID,
		Role: authn.Role(row.Role), TeamID: row.TeamID.UUID, Leads: row.Leads,
		Plan: row.Plan, Features: authn.ParseFeatures(row.Features),
	}, nil
}

// Refresh tokens: "rt1_" + base64url(tenant id | session id | 32-byte secret). The ids route the lookup
// (and scope it to the tenant); only the secret's SHA-256 is stored.
const refreshPrefix = "rt1_"

func encodeRefresh(tenantID, sessionID uuid.UUID, secret []byte) string {
	b := make([]byte, 0, 64)
	b = append(b, tenantID[:]...)
	b = append(b, sessionID[:]...)
	b = append(b, secret...)
	return refreshPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func decodeRefresh(tok string) (tenantID, sessionID uuid.UUID, secret []byte, err error) {
	rest, ok := bytes.CutPrefix([]byte(tok), []byte(refreshPrefix))
	if !ok {
		return uuid.Nil, uuid.Nil, nil, errors.New("not a refresh token")
	}
	b, err := base64.RawURLEncoding.DecodeString(string(rest))
	if err != nil || len(b) != 64 {
		return uuid.Nil, uuid.Nil, nil, errors.New("malformed refresh token")
	}
	copy(tenantID[:], b[:16])
	copy(sessionID[:], b[16:32])
	if tenantID == uuid.Nil || sessionID == uuid.Nil {
		return uuid.Nil, uuid.Nil, nil, errors.New("malformed refresh token")
	}
	return tenantID, sessionID, b[32:], nil
}

func newSecret() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	return b
}

func hash(secret []byte) []byte {
	h := sha256.Sum256(secret)
	return h[:]
}

// statusCache remembers, per session, what the database said (a principal or a refusal) for ttl.
type statusCache struct {
	ttl time.Duration
	now func() time.Time
	mu  sync.RWMutex
	m   map[uuid.UUID]cacheEntry
}

type cacheEntry struct {
	employeeID uuid.UUID
	principal  authn.Principal
	err        error
	until      time.Time
}

// maxCacheEntries bounds memory: past it the cache starts over (it only saves database reads).
const maxCacheEntries = 200_000

func newStatusCache(ttl time.Duration, now func() time.Time) *statusCache {
	return &statusCache{ttl: ttl, now: now, m: make(map[uuid.UUID]cacheEntry)}
}

func (c *statusCache) get(id uuid.UUID) (cacheEntry, bool) {
	if c.ttl <= 0 {
		return cacheEntry{}, false
	}
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	if !ok || !c.now().Before(e.until) {
		return cacheEntry{}, false
	}
	return e, true
}

func (c *statusCache) put(id, employeeID uuid.UUID, p authn.Principal, err error) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	if len(c.m) >= maxCacheEntries {
		c.m = make(map[uuid.UUID]cacheEntry)
	}
	c.m[id] = cacheEntry{employeeID: employeeID, principal: p, err: err, until: c.now().Add(c.ttl)}
	c.mu.Unlock()
}

func (c *statusCache) forgetSession(id uuid.UUID) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

func (c *statusCache) forgetEmployee(employeeID uuid.UUID) {
	c.mu.Lock()
	for id, e := range c.m {
		if e.employeeID == employeeID {
			delete(c.m, id)
		}
	}
	c.mu.Unlock()
}
