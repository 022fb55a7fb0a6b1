package customer

// Customer sessions (issue 14, point 9): what a mini-program carries after LoginMiniProgram instead of
// keying every later public call on a visitor id it made up. A session names the tenant, the customer the
// sign-in found or made, and the visitor id it was made for; the server signs it, so a mini-program cannot
// claim another visitor's id with it. It is short-lived (SessionTTL) and refreshable without a new wx.login
// until SessionRefreshFor after the sign-in; after that the mini-program signs in again (wx.login is silent).
//
// Sessions are stateless: signed with a key derived from the server's token keys (SALESD_TOKEN_KEYS: the
// first signs, all verify, so keys rotate without signing anyone out at once). A session gives nothing a
// visitor id did not give already (tracking, leaving a number, forwarding, opening a salesperson's card);
// it only makes the visitor id one the server handed out.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/salesapp/scrm/backend/platform"
)

// SessionHeader is the request header a mini-program's public calls carry the session in.
const SessionHeader = "X-Customer-Session"

const (
	// SessionTTL is how long a session is accepted after it was issued or refreshed.
	SessionTTL = 2 * time.Hour
	// SessionRefreshFor is how long after the sign-in a session may be refreshed (even once expired).
	SessionRefreshFor = 30 * 24 * time.Hour
	// sessionPrefix names the format, so a later one can be told apart.
	sessionPrefix = "cs1."
	// maxSessionLen bounds what Verify reads; a session is about 250 characters.
	maxSessionLen = 512
)

// Session is a signed-in customer's session.
type Session struct {
	TenantID, CustomerID uuid.UUID
	VisitorID            string
	// SignedInAt is when the customer signed in (LoginMiniProgram); refreshes keep it.
	SignedInAt time.Time
	// ExpiresAt is when this session stops being accepted; RefreshUntil when it stops being refreshable.
	ExpiresAt time.Time
}

// RefreshUntil is when the session can no longer be refreshed.
func (s Session) RefreshUntil() time.Time { return s.SignedInAt.Add(SessionRefreshFor) }

// sessionClaims is the signed payload.
type sessionClaims struct {
	Tenant   uuid.UUID `json:"t"`
	Customer uuid.UUID `json:"c"`
	Visitor  string    `json:"v"`
	SignedIn int64     `json:"s"`
	Expires  int64     `json:"e"`
}

// Sessions issues and checks customer sessions.
type Sessions struct {
	keys [][]byte
	now  func() time.Time
}

// NewSessions derives the sessions' keys from the server's token keys (the first signs). Without keys, as
// a nil *Sessions, it issues nothing and accepts nothing (FailedPrecondition).
func NewSessions(keys [][]byte, now func() time.Time) *Sessions {
	s := &Sessions{now: now}
	if s.now == nil {
		s.now = time.Now
	}
	for _, k := range keys {
		m := hmac.New(sha256.New, k)
		m.Write([]byte("salesapp customer session v1"))
		s.keys = append(s.keys, m.Sum(nil))
	}
	return s
}

var (
	errNoSessionKeys  = platform.FailedPrecondition("customer sessions are not configured on this server (SALESD_TOKEN_KEYS)")
	errSessionInvalid = platform.Unauthenticated("customer session not valid: sign in again (LoginMiniProgram)")
	errSessionExpired = platform.Unauthenticated("customer session expired: refresh it (RefreshCustomerSession) or sign in again")
	errSessionEnded   = platform.Unauthenticated("customer session can no longer be refreshed: sign in again (LoginMiniProgram)")
)

// Issue makes a session for a customer who signed in now.
func (s *Sessions) Issue(tenantID, customerID uuid.UUID, visitorID string) (string, Session, error) {
	if s == nil {
		return "", Session{}, errNoSessionKeys
	}
	return s.issue(Session{TenantID: tenantID, CustomerID: customerID, VisitorID: visitorID, SignedInAt: s.now()})
}

// Refresh makes a new session from one that is valid or expired, until RefreshUntil. current, when not
// nil, says who the session's visitor is now (Service.VisitorCustomer): the customer may have been merged
// into another since, or be gone (then the error is current's).
func (s *Sessions) Refresh(token string, current func(Session) (uuid.UUID, error)) (string, Session, error) {
	old, err := s.verify(token, true)
	if err != nil {
		return "", Session{}, err
	}
	if !s.now().Before(old.RefreshUntil()) { // (verify returned: s is not nil)
		return "", Session{}, errSessionEnded
	}
	if current != nil {
		if old.CustomerID, err = current(old); err != nil {
			return "", Session{}, err
		}
	}
	return s.issue(old)
}

// Verify returns the session token carries: Unauthenticated when it is forged, malformed or expired.
func (s *Sessions) Verify(token string) (Session, error) { return s.verify(token, false) }

// Carried returns the session a request carries in SessionHeader's value (nil when it carries none); one
// that is forged, malformed or expired is Unauthenticated.
func (s *Sessions) Carried(header string) (*Session, error) {
	if header == "" {
		return nil, nil
	}
	sess, err := s.Verify(header)
	if err != nil {
		return nil, err
	}
	return &sess, nil
}

func (s *Sessions) issue(sess Session) (string, Session, error) {
	if s == nil || len(s.keys) == 0 {
		return "", Session{}, errNoSessionKeys
	}
	sess.SignedInAt = sess.SignedInAt.Truncate(time.Second)
	sess.ExpiresAt = s.now().Add(SessionTTL).Truncate(time.Second)
	if end := sess.RefreshUntil(); sess.ExpiresAt.After(end) {
		sess.ExpiresAt = end
	}
	payload, err := json.Marshal(sessionClaims{Tenant: sess.TenantID, Customer: sess.CustomerID, Visitor: sess.VisitorID,
		SignedIn: sess.SignedInAt.Unix(), Expires: sess.ExpiresAt.Unix()})
	if err != nil {
		return "", Session{}, err
	}
	enc := base64.RawURLEncoding
	body := sessionPrefix + enc.EncodeToString(payload)
	return body + "." + enc.EncodeToString(mac(s.keys[0], body)), sess, nil
}

func (s *Sessions) verify(token string, expiredToo bool) (Session, error) {
	if s == nil || len(s.keys) == 0 {
		return Session{}, errNoSessionKeys
	}
	rest, prefixed := strings.CutPrefix(token, sessionPrefix)
	p64, sig, ok := strings.Cut(rest, ".")
	if len(token) > maxSessionLen || !prefixed || !ok {
		return Session{}, errSessionInvalid
	}
	enc := base64.RawURLEncoding
	got, err := enc.DecodeString(sig)
	if err != nil {
		return Session{}, errSessionInvalid
	}
	signed := false
	for _, k := range s.keys {
		if hmac.Equal(got, mac(k, sessionPrefix+p64)) {
			signed = true
			break
		}
	}
	if !signed {
		return Session{}, errSessionInvalid
	}
	payload, err := enc.DecodeString(p64)
	if err != nil {
		return Session{}, errSessionInvalid
	}
	var c sessionClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.Tenant == uuid.Nil || c.Visitor == "" {
		return Session{}, errSessionInvalid
	}
	sess := Session{TenantID: c.Tenant, CustomerID: c.Customer, VisitorID: c.Visitor,
		SignedInAt: time.Unix(c.SignedIn, 0).UTC(), ExpiresAt: time.Unix(c.Expires, 0).UTC()}
	if !expiredToo && !s.now().Before(sess.ExpiresAt) {
		return Session{}, errSessionExpired
	}
	return sess, nil
}

func mac(key []byte, body string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(body))
	return m.Sum(nil)
}

// VisitorOf is the visitor a public call is made for: the session's when it carries one (a visitor id given
// beside it must be the same one), else the one given, under field's name.
func VisitorOf(sess *Session, given, field string) (string, error) {
	switch {
	case sess == nil && given == "":
		return "", platform.Invalid(field, "required without a customer session")
	case sess == nil:
		return given, nil
	case given != "" && given != sess.VisitorID:
		return "", &platform.Error{Kind: platform.KindPermissionDenied, Field: field, Msg: "not the customer session's visitor"}
	}
	return sess.VisitorID, nil
}
