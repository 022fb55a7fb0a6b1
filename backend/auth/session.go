package auth

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/audit"
	"github.com/salesapp/scrm/backend/auth/internal/authdb"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/push/alert"
)

// Client is what the app says about the device it signs in on (sent as request headers, see authrpc),
// and the address the request came from. Every field is optional and free text: it is shown to the person
// in ListSessions, never trusted for a decision.
type Client struct {
	DeviceName, Platform, AppVersion, Address string
}

// The longest value kept of each Client field, in characters (the columns' limits); longer ones are cut.
const (
	maxDeviceName = 64
	maxPlatform   = 16
	maxAppVersion = 32
	maxAddress    = 64
)

type clientKey struct{}

// WithClient returns a context carrying what the app said about its device, for IssueSession and Refresh
// to record.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// clientFrom returns ctx's Client, cut to what the columns hold and stripped of control characters.
func clientFrom(ctx context.Context) Client {
	c, _ := ctx.Value(clientKey{}).(Client)
	return Client{
		DeviceName: clip(c.DeviceName, maxDeviceName),
		Platform:   strings.ToLower(clip(c.Platform, maxPlatform)),
		AppVersion: clip(c.AppVersion, maxAppVersion),
		Address:    clip(c.Address, maxAddress),
	}
}

// clip keeps at most n characters of s's printable text.
func clip(s string, n int) string {
	s = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "")))
	if r := []rune(s); len(r) > n {
		s = strings.TrimSpace(string(r[:n]))
	}
	return s
}

// Session is one signed-in device, as its owner sees it.
type Session struct {
	ID       uuid.UUID
	DeviceID string
	// DeviceName, Platform and AppVersion are what the app reported at sign-in or its last refresh;
	// Address is where that request came from.
	DeviceName, Platform, AppVersion, Address string
	SignedInAt, LastSeenAt                    time.Time
	// ExpiresAt is when the session ends unless refreshed; EndsAt when it ends however often it is.
	ExpiresAt, EndsAt time.Time
	// Current is the session the request was made with.
	Current bool
}

// maxListedSessions bounds ListSessions; sessions unused for the refresh TTL end by themselves, so an
// employee has few.
const maxListedSessions = 200

// ListSessions lists the live sessions of the caller or, for an admin, of an employee of theirs
// (employeeID; uuid.Nil or the caller's own id means the caller), most recently seen first.
func (s *Service) ListSessions(ctx context.Context, p authn.Principal, employeeID uuid.UUID) ([]Session, error) {
	if employeeID == uuid.Nil {
		employeeID = p.EmployeeID
	}
	if employeeID != p.EmployeeID && p.Role != authn.RoleAdmin {
		return nil, platform.PermissionDenied("only an admin may see another employee's sessions")
	}
	var out []Session
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		rows, err := authdb.New(tx).ListLiveSessions(ctx, authdb.ListLiveSessionsParams{TenantID: p.TenantID, EmployeeID: employeeID,
			Now: s.now(), MaxRows: maxListedSessions})
		for _, r := range rows {
			out = append(out, Session{ID: r.ID, DeviceID: r.DeviceID, DeviceName: r.DeviceName, Platform: r.Platform,
				AppVersion: r.AppVersion, Address: r.ClientAddress, SignedInAt: r.CreatedAt, LastSeenAt: r.LastSeenAt,
				ExpiresAt: r.ExpiresAt, EndsAt: r.EndsAt, Current: r.ID == p.SessionID})
		}
		return err
	})
	return out, err
}

var errNoSession = platform.NotFound("session")

// RevokeSession ends a session of the caller's (another device of theirs, or this one) or, for an admin,
// of any employee of their enterprise, with its push registrations. Anyone else's session is NotFound, as
// an id that names nothing. Revoking a session that already ended succeeds (a retried call).
func (s *Service) RevokeSession(ctx context.Context, p authn.Principal, sessionID uuid.UUID) error {
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		owner, err := authdb.New(tx).GetSessionOwner(ctx, authdb.GetSessionOwnerParams{TenantID: p.TenantID, ID: sessionID})
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoSession
		}
		if err != nil {
			return err
		}
		reason := "signed out from another device"
		switch {
		case owner == p.EmployeeID && sessionID == p.SessionID:
			reason = "signed out"
		case owner == p.EmployeeID:
		case p.Role == authn.RoleAdmin:
			reason = "signed out by an administrator"
			if err := audit.RecordTx(ctx, tx, p.TenantID, audit.Entry{Action: audit.SessionRevoke, TargetKind: audit.TargetSession,
				TargetID: sessionID, Before: map[string]string{"employee_id": owner.String()}}); err != nil {
				return err
			}
		default:
			return errNoSession
		}
		return endSessionTx(ctx, tx, p.TenantID, sessionID, reason)
	})
	if err == nil {
		s.cache.forgetSession(sessionID)
	}
	return err
}

// endSessionTx ends one session and stops the pushes of its registrations, inside tx.
func endSessionTx(ctx context.Context, tx pgx.Tx, tenantID, sessionID uuid.UUID, reason string) error {
	if err := authdb.New(tx).RevokeSession(ctx, authdb.RevokeSessionParams{TenantID: tenantID, ID: sessionID}); err != nil {
		return err
	}
	return alert.DisableSessionDevicesTx(ctx, tx, tenantID, []uuid.UUID{sessionID}, reason)
}

// EndSessionsTx ends every session of an employee except exceptSessionID (uuid.Nil ends them all), and
// stops the pushes to every phone registered under them, inside the caller's transaction: disabling the
// employee, a password reset, "sign out my other devices". Their access tokens are refused, and their
// WebSockets closed, within the WebSocket hub's check interval on every node; after commit, call
// Service.EmployeeChanged so that this node forgets its cached view at once (other nodes within the cache
// TTL).
func EndSessionsTx(ctx context.Context, tx pgx.Tx, tenantID, employeeID, exceptSessionID uuid.UUID) error {
	if err := authdb.New(tx).RevokeEmployeeSessions(ctx, authdb.RevokeEmployeeSessionsParams{
		TenantID: tenantID, EmployeeID: employeeID, ExceptID: exceptSessionID}); err != nil {
		return err
	}
	return alert.DisableEmployeeDevicesTx(ctx, tx, alert.Key{TenantID: tenantID, EmployeeID: employeeID}, exceptSessionID,
		"signed out everywhere")
}

// SessionRef names a session of a tenant.
type SessionRef struct{ TenantID, SessionID uuid.UUID }

// EndedSessions says which of the sessions can no longer be used, reading the database (never the
// cache), for many tenants in one round trip: it is the WebSocket hub's check of its open sockets. Each
// ended session maps to the error a request with it gets now: Unauthenticated for a session signed out,
// revoked or past its end (sign in again), PermissionDenied with the reason for a disabled employee or an
// expired enterprise. Sessions still good are left out.
func (s *Service) EndedSessions(ctx context.Context, refs []SessionRef) (map[SessionRef]error, error) {
	byTenant := map[uuid.UUID][]uuid.UUID{}
	for _, r := range refs {
		byTenant[r.TenantID] = append(byTenant[r.TenantID], r.SessionID)
	}
	now := s.now()
	out := map[SessionRef]error{}
	err := s.db.PerTenant(ctx, slices.Collect(maps.Keys(byTenant)), authdb.EndedSessions, func(t uuid.UUID) []any {
		return []any{byTenant[t], t, now}
	}, func(t uuid.UUID, rows pgx.Rows) error {
		ended, err := pgx.CollectRows(rows, pgx.RowToStructByPos[authdb.EndedSessionsRow])
		for _, r := range ended {
			out[SessionRef{TenantID: t, SessionID: r.ID}] = s.endedBecause(r.EmployeeStatus, r.TenantExpiresAt)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// endedBecause words why an ended session ended: disabled employees and expired enterprises hear why (as
// Check tells them), everything else is a session that ended.
func (s *Service) endedBecause(employeeStatus *string, tenantExpiresAt *time.Time) error {
	if employeeStatus == nil || tenantExpiresAt == nil {
		return errSessionEnded
	}
	if err := s.usable(*employeeStatus, *tenantExpiresAt); err != nil {
		return err
	}
	return errSessionEnded
}
