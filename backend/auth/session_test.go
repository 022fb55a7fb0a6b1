package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/auth"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/tenant"
	"github.com/salesapp/scrm/push/alert"
)

// signIn issues a session on a device, with what the app says about it, and returns the pair and the
// principal its access token stands for.
func (f fixture) signIn(t *testing.T, employeeID uuid.UUID, device string, c auth.Client) (auth.TokenPair, authn.Principal) {
	t.Helper()
	pair, err := f.svc.IssueSession(auth.WithClient(context.Background(), c), f.tenantID, employeeID, device)
	require.NoError(t, err)
	return pair, f.principal(t, pair.AccessToken)
}

func (f fixture) principal(t *testing.T, access string) authn.Principal {
	t.Helper()
	claims, err := f.tokens.Verify(access)
	require.NoError(t, err)
	p, err := f.svc.Check(context.Background(), claims)
	require.NoError(t, err)
	return p
}

// employee adds an employee of the fixture's tenant.
func (f fixture) employee(t *testing.T, role authn.Role) uuid.UUID {
	t.Helper()
	e, err := tenant.NewService(f.db.App, f.svc).Bootstrap().CreateEmployee(context.Background(), f.tenantID,
		tenant.NewEmployee{Name: "E " + uuid.NewString()[:6], Role: role})
	require.NoError(t, err)
	return e.ID
}

func ids(sessions []auth.Session) []uuid.UUID {
	out := make([]uuid.UUID, len(sessions))
	for i, s := range sessions {
		out[i] = s.ID
	}
	return out
}

// ListSessions shows my signed-in devices, most recently seen first, with what each app said about itself
// at sign-in and at its last refresh, and which one I am using; a colleague's are not mine to see, an
// admin sees anyone's.
func TestListSessionsShowsMyDevices(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	phone, me := f.signIn(t, f.empID, "phone", auth.Client{DeviceName: " Li Wei's\x00 iPhone ", Platform: "iOS", AppVersion: "2.3.1",
		Address: "203.0.113.7"})
	_, onTablet := f.signIn(t, f.empID, "tablet", auth.Client{DeviceName: strings.Repeat("很长", 40), Platform: "android"})
	colleague := f.employee(t, authn.RoleSales)
	_, theirs := f.signIn(t, colleague, "their-phone", auth.Client{})

	// The phone refreshes a minute later, from elsewhere, after an app update.
	f.clk.Advance(time.Minute)
	_, err := f.svc.Refresh(auth.WithClient(ctx, auth.Client{AppVersion: "2.4.0", Address: "198.51.100.2"}), phone.RefreshToken, "phone")
	require.NoError(t, err)

	list, err := f.svc.ListSessions(ctx, me, uuid.Nil)
	require.NoError(t, err)
	require.ElementsMatch(t, []uuid.UUID{me.SessionID, onTablet.SessionID}, ids(list))
	got := map[uuid.UUID]auth.Session{}
	for _, s := range list {
		got[s.ID] = s
	}
	p := got[me.SessionID]
	require.True(t, p.Current)
	require.Equal(t, "phone", p.DeviceID)
	require.Equal(t, "Li Wei's iPhone", p.DeviceName, "control characters dropped, spaces trimmed")
	require.Equal(t, "ios", p.Platform)
	require.Equal(t, "2.4.0", p.AppVersion, "the refresh's report")
	require.Equal(t, "198.51.100.2", p.Address)
	require.False(t, p.LastSeenAt.Before(p.SignedInAt))
	require.True(t, p.ExpiresAt.After(p.SignedInAt))
	require.Equal(t, f.clk.Now().Add(auth.DefaultLifetime-time.Minute).Unix(), p.EndsAt.Unix())
	tab := got[onTablet.SessionID]
	require.False(t, tab.Current)
	require.Equal(t, strings.Repeat("很长", 32), tab.DeviceName, "cut to 64 characters")
	require.Empty(t, tab.AppVersion)

	_, err = f.svc.ListSessions(ctx, me, colleague)
	require.Equal(t, platform.KindPermissionDenied, platform.KindOf(err))
	adminID := f.employee(t, authn.RoleAdmin)
	_, admin := f.signIn(t, adminID, "admin-laptop", auth.Client{})
	seen, err := f.svc.ListSessions(ctx, admin, colleague)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{theirs.SessionID}, ids(seen))
	none, err := f.svc.ListSessions(ctx, admin, uuid.New())
	require.NoError(t, err)
	require.Empty(t, none)

	// An ended session is not listed.
	require.NoError(t, f.svc.Logout(ctx, onTablet))
	list, err = f.svc.ListSessions(ctx, me, uuid.Nil)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{me.SessionID}, ids(list))
}

// RevokeSession ends one of my sessions (or, for an admin, anyone's in the enterprise) with its push
// registration; anyone else's session, or one of another enterprise, is NotFound like an id naming nothing.
func TestRevokeSession(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	_, me := f.signIn(t, f.empID, "phone", auth.Client{})
	tablet, onTablet := f.signIn(t, f.empID, "tablet", auth.Client{})
	alerts := alert.NewService(f.db.App)
	require.NoError(t, alerts.RegisterDevice(ctx, alert.Key{TenantID: f.tenantID, EmployeeID: f.empID},
		alert.Device{DeviceID: "tablet", Platform: "android", PushToken: "tablet-token", SessionID: onTablet.SessionID}))
	colleague := f.employee(t, authn.RoleSales)
	_, theirs := f.signIn(t, colleague, "their-phone", auth.Client{})
	foreign := f.otherEnterprise(t)

	for _, id := range []uuid.UUID{theirs.SessionID, foreign.SessionID, uuid.New()} {
		require.Equal(t, platform.KindNotFound, platform.KindOf(f.svc.RevokeSession(ctx, me, id)), id)
	}
	require.NoError(t, f.check(t, f.tokensFor(t, theirs)), "the colleague's session is untouched")

	require.NoError(t, f.svc.RevokeSession(ctx, me, onTablet.SessionID))
	require.NoError(t, f.svc.RevokeSession(ctx, me, onTablet.SessionID), "revoking again succeeds")
	_, err := f.svc.Refresh(ctx, tablet.RefreshToken, "tablet")
	require.Equal(t, platform.KindUnauthenticated, platform.KindOf(err))
	require.Equal(t, platform.KindUnauthenticated, platform.KindOf(f.check(t, tablet.AccessToken)))
	require.Equal(t, "signed out from another device", deviceState(t, f, "tablet"))

	adminID := f.employee(t, authn.RoleAdmin)
	_, admin := f.signIn(t, adminID, "admin-laptop", auth.Client{})
	require.NoError(t, f.svc.RevokeSession(ctx, admin, theirs.SessionID))
	require.Equal(t, platform.KindNotFound, platform.KindOf(f.svc.RevokeSession(ctx, admin, foreign.SessionID)))
	require.NoError(t, f.check(t, f.tokensFor(t, foreign)), "the other enterprise's session is untouched")
	require.NoError(t, f.check(t, f.tokensFor(t, me)), "my phone is still signed in")
}

// otherEnterprise makes a second enterprise in the fixture's database with a signed-in employee, and
// returns that session.
func (f fixture) otherEnterprise(t *testing.T) authn.Principal {
	t.Helper()
	ctx := context.Background()
	tn, err := tenant.CreateTenant(ctx, f.db.Owner, tenant.NewTenant{Name: "Other", Plan: tenant.PlanTrial, SeatLimit: 5, ExpiresAt: time.Now().AddDate(0, 1, 0)})
	require.NoError(t, err)
	emp, err := tenant.NewService(f.db.App, f.svc).Bootstrap().CreateEmployee(ctx, tn.ID, tenant.NewEmployee{Name: "X", Role: authn.RoleAdmin})
	require.NoError(t, err)
	pair, err := f.svc.IssueSession(ctx, tn.ID, emp.ID, "phone")
	require.NoError(t, err)
	return f.principal(t, pair.AccessToken)
}

// tokensFor mints an access token for a principal's session (the fixture's keys and clock).
func (f fixture) tokensFor(t *testing.T, p authn.Principal) string {
	t.Helper()
	tok, _ := f.tokens.Issue(authn.Claims{TenantID: p.TenantID, EmployeeID: p.EmployeeID, SessionID: p.SessionID, DeviceID: p.DeviceID})
	return tok
}

// deviceState is the disabled reason of a push registration ("" while enabled).
func deviceState(t *testing.T, f fixture, deviceID string) string {
	t.Helper()
	var reason string
	require.NoError(t, f.db.App.InTenantTx(context.Background(), f.tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT disabled_reason FROM devices WHERE device_id = $1", deviceID).Scan(&reason)
	}))
	return reason
}

// A session lasts at most its lifetime from sign-in: each refresh's token ends no later, and refreshing
// after it is refused, however recently the session was refreshed.
func TestSessionsHaveAnAbsoluteLifetime(t *testing.T) {
	t.Parallel()
	f := setupWith(t, auth.Config{RefreshTTL: 24 * time.Hour, Lifetime: 50 * time.Hour})
	ctx := context.Background()
	signedIn := f.clk.Now()
	pair, err := f.svc.IssueSession(ctx, f.tenantID, f.empID, "phone")
	require.NoError(t, err)
	session := f.sessionOf(t, pair.AccessToken)
	require.Equal(t, signedIn.Add(24*time.Hour).Unix(), pair.RefreshTokenExpiresAt.Unix())
	for range 2 {
		f.clk.Advance(20 * time.Hour)
		pair, err = f.svc.Refresh(ctx, pair.RefreshToken, "phone")
		require.NoError(t, err)
	}
	require.Equal(t, signedIn.Add(50*time.Hour).Unix(), pair.RefreshTokenExpiresAt.Unix(), "never past the lifetime")
	f.clk.Advance(9 * time.Hour) // 49 h: the refresh token is still good
	pair, err = f.svc.Refresh(ctx, pair.RefreshToken, "phone")
	require.NoError(t, err)
	require.Equal(t, signedIn.Add(50*time.Hour).Unix(), pair.RefreshTokenExpiresAt.Unix())
	require.NoError(t, f.check(t, pair.AccessToken))
	f.clk.Advance(time.Hour) // 50 h
	_, err = f.svc.Refresh(ctx, pair.RefreshToken, "phone")
	require.Equal(t, platform.KindUnauthenticated, platform.KindOf(err))
	require.Equal(t, platform.KindUnauthenticated, platform.KindOf(f.check(t, f.tokensFor(t, authn.Principal{TenantID: f.tenantID,
		EmployeeID: f.empID, SessionID: session, DeviceID: "phone"}))), "its access tokens are refused too")
}

func (f fixture) sessionOf(t *testing.T, access string) uuid.UUID {
	t.Helper()
	claims, err := f.tokens.Verify(access)
	require.NoError(t, err)
	return claims.SessionID
}

// EndSessionsTx (a password reset, "sign out my other devices") ends every session of the employee but
// one, and stops their phones' pushes, in the caller's transaction.
func TestEndSessionsTxKeepsOneSession(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	alerts := alert.NewService(f.db.App)
	var pairs []auth.TokenPair
	var ps []authn.Principal
	for _, d := range []string{"phone", "tablet", "laptop"} {
		pair, p := f.signIn(t, f.empID, d, auth.Client{})
		pairs, ps = append(pairs, pair), append(ps, p)
		require.NoError(t, alerts.RegisterDevice(ctx, alert.Key{TenantID: f.tenantID, EmployeeID: f.empID},
			alert.Device{DeviceID: d, Platform: "ios", PushToken: d + "-token", SessionID: p.SessionID}))
	}
	colleague := f.employee(t, authn.RoleSales)
	theirs, _ := f.signIn(t, colleague, "their-phone", auth.Client{})

	require.NoError(t, f.db.App.InTenantTx(ctx, f.tenantID, func(tx pgx.Tx) error {
		return auth.EndSessionsTx(ctx, tx, f.tenantID, f.empID, ps[0].SessionID)
	}))
	f.svc.EmployeeChanged(f.empID)
	require.NoError(t, f.check(t, pairs[0].AccessToken), "the kept session")
	require.Empty(t, deviceState(t, f, "phone"))
	for i, d := range []string{"tablet", "laptop"} {
		require.Equal(t, platform.KindUnauthenticated, platform.KindOf(f.check(t, pairs[i+1].AccessToken)), d)
		require.Equal(t, "signed out everywhere", deviceState(t, f, d))
	}
	require.NoError(t, f.check(t, theirs.AccessToken), "a colleague's session")
}

// EndedSessions, the WebSocket hub's check, reads across tenants in one call and tells a session that
// ended from one whose employee is disabled or whose enterprise expired.
func TestEndedSessionsAcrossTenants(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	_, live := f.signIn(t, f.empID, "phone", auth.Client{})
	_, out := f.signIn(t, f.empID, "tablet", auth.Client{})
	require.NoError(t, f.svc.Logout(ctx, out))
	disabled := f.employee(t, authn.RoleSales)
	_, ofDisabled := f.signIn(t, disabled, "phone", auth.Client{})
	_, err := f.db.Super.Exec(ctx, "UPDATE employees SET status = 'disabled' WHERE id = $1", disabled)
	require.NoError(t, err)
	// A second enterprise in the same database, which has expired.
	other := f.otherEnterprise(t)
	tnID, expired := other.TenantID, other.SessionID
	_, err = f.db.Super.Exec(ctx, "UPDATE tenants SET expires_at = now() - interval '1 day' WHERE id = $1", tnID)
	require.NoError(t, err)

	ref := func(tenantID, id uuid.UUID) auth.SessionRef {
		return auth.SessionRef{TenantID: tenantID, SessionID: id}
	}
	gone := ref(f.tenantID, uuid.New())
	misplaced := ref(tnID, live.SessionID) // a session named under another tenant is not found there
	ended, err := f.svc.EndedSessions(ctx, []auth.SessionRef{ref(f.tenantID, live.SessionID), ref(f.tenantID, out.SessionID),
		ref(f.tenantID, ofDisabled.SessionID), ref(tnID, expired), gone, misplaced})
	require.NoError(t, err)
	require.Len(t, ended, 5)
	require.NotContains(t, ended, ref(f.tenantID, live.SessionID))
	for _, r := range []auth.SessionRef{ref(f.tenantID, out.SessionID), gone, misplaced} {
		require.Equal(t, platform.KindUnauthenticated, platform.KindOf(ended[r]), r)
	}
	require.Equal(t, platform.KindPermissionDenied, platform.KindOf(ended[ref(f.tenantID, ofDisabled.SessionID)]))
	require.ErrorContains(t, ended[ref(tnID, expired)], "subscription expired")

	none, err := f.svc.EndedSessions(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, none)
}
