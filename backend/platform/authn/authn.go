// Package authn verifies access tokens and carries the authenticated caller through the context. Tokens are
// PASETO v4.local (authenticated encryption with a symmetric key shared by the salesd nodes): verifying one
// costs microseconds and needs no database, while a short-lived cache of session, employee and tenant
// status (see [Checker]) makes logouts, disabled employees and expired tenants take effect quickly.
package authn

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"aidanwoods.dev/go-paseto"
	"github.com/google/uuid"

	"github.com/salesapp/scrm/backend/platform"
)

// Role is what an employee may do in their enterprise.
type Role string

// The roles.
const (
	RoleAdmin   Role = "admin"
	RoleManager Role = "manager"
	RoleSales   Role = "sales"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleManager || r == RoleSales }

// Principal is the authenticated caller, as the database says they are now.
type Principal struct {
	TenantID   uuid.UUID
	EmployeeID uuid.UUID
	SessionID  uuid.UUID
	DeviceID   string
	Role       Role
	// TeamID is uuid.Nil when the employee belongs to no team.
	TeamID uuid.UUID
	// Leads are the teams a manager leads: their own and those an admin added (team_leads). Empty for
	// everyone else.
	Leads []uuid.UUID
	// Plan names the enterprise's plan, and Features are what it includes (Gate refuses the rest).
	Plan     string
	Features []Feature
}

type principalKey struct{}

type addressKey struct{}

// WithAddress returns a context carrying the caller's address (its IP), for records of who did what from
// where (the audit log).
func WithAddress(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, addressKey{}, addr)
}

// AddressFrom returns the caller's address, or "" when the context has none.
func AddressFrom(ctx context.Context) string {
	a, _ := ctx.Value(addressKey{}).(string)
	return a
}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the caller, if the request was authenticated.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Claims are what an access token says.
type Claims struct {
	TenantID   uuid.UUID
	EmployeeID uuid.UUID
	SessionID  uuid.UUID
	DeviceID   string
	ExpiresAt  time.Time
}

// Tokens issues and verifies access tokens.
type Tokens struct {
	keys []paseto.V4SymmetricKey
	ttl  time.Duration
	now  func() time.Time
}

// ErrInvalidToken is returned for tokens that are malformed, forged, expired or signed with an unknown key.
var ErrInvalidToken = errors.New("invalid or expired access token")

const (
	claimTenant  = "tid"
	claimSession = "sid"
	claimDevice  = "did"
	// implicit binds tokens to this purpose, so that a token minted for another use with the same key
	// can never pass as an access token.
	implicit = "salesapp access v1"
)

// NewTokens builds a token codec. keys[0] issues; every key verifies, so a key can be rotated by putting
// the new one first and keeping the old one until its tokens have expired.
func NewTokens(keys [][]byte, ttl time.Duration, now func() time.Time) (*Tokens, error) {
	if len(keys) == 0 {
		return nil, errors.New("authn: no token key")
	}
	if now == nil {
		now = time.Now
	}
	t := &Tokens{ttl: ttl, now: now}
	for i, k := range keys {
		sk, err := paseto.V4SymmetricKeyFromBytes(k)
		if err != nil {
			return nil, fmt.Errorf("authn: token key %d: %w", i, err)
		}
		t.keys = append(t.keys, sk)
	}
	return t, nil
}

// TTL is how long issued access tokens live.
func (t *Tokens) TTL() time.Duration { return t.ttl }

// Issue mints an access token for the claims (ExpiresAt is set from the TTL).
func (t *Tokens) Issue(c Claims) (string, time.Time) {
	now := t.now()
	exp := now.Add(t.ttl).Truncate(time.Second)
	tok := paseto.NewToken()
	tok.SetIssuedAt(now)
	tok.SetNotBefore(now.Add(-time.Minute)) // tolerate clock skew between nodes
	tok.SetExpiration(exp)
	tok.SetSubject(c.EmployeeID.String())
	tok.SetString(claimTenant, c.TenantID.String())
	tok.SetString(claimSession, c.SessionID.String())
	tok.SetString(claimDevice, c.DeviceID)
	return tok.V4Encrypt(t.keys[0], []byte(implicit)), exp
}

// Verify checks a token's integrity and lifetime and returns its claims.
func (t *Tokens) Verify(token string) (Claims, error) {
	parser := paseto.MakeParser([]paseto.Rule{paseto.ValidAt(t.now())})
	var (
		tok *paseto.Token
		err error
	)
	for _, k := range t.keys {
		tok, err = parser.ParseV4Local(k, token, []byte(implicit))
		if err == nil {
			break
		}
	}
	if err != nil {
		return Claims{}, ErrInvalidToken
	}
	var c Claims
	var sub, tid, sid string
	if sub, err = tok.GetSubject(); err != nil {
		return Claims{}, ErrInvalidToken
	}
	if tid, err = tok.GetString(claimTenant); err != nil {
		return Claims{}, ErrInvalidToken
	}
	if sid, err = tok.GetString(claimSession); err != nil {
		return Claims{}, ErrInvalidToken
	}
	if c.DeviceID, err = tok.GetString(claimDevice); err != nil {
		return Claims{}, ErrInvalidToken
	}
	if c.ExpiresAt, err = tok.GetExpiration(); err != nil {
		return Claims{}, ErrInvalidToken
	}
	if c.EmployeeID, err = uuid.Parse(sub); err != nil {
		return Claims{}, ErrInvalidToken
	}
	if c.TenantID, err = uuid.Parse(tid); err != nil {
		return Claims{}, ErrInvalidToken
	}
	if c.SessionID, err = uuid.Parse(sid); err != nil {
		return Claims{}, ErrInvalidToken
	}
	return c, nil
}

// LeadsTeam reports whether the caller is a manager who leads the team.
func (p Principal) LeadsTeam(team uuid.UUID) bool {
	return p.Role == RoleManager && team != uuid.Nil && slices.Contains(p.Leads, team)
}

// ErrNoTeam is what a manager who leads no team yet gets from anything scoped to "my team": the one
// thing to do about it is said, the same everywhere.
var ErrNoTeam = platform.FailedPrecondition("you lead no team yet: ask an admin to put you in one")
