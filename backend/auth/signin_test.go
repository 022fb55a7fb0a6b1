package auth_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/auth"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/platform/testclock"
	"github.com/salesapp/scrm/backend/tenant"
)

// cheap keeps the tests' hashes fast: they check the rules, not argon2id's cost.
var cheap = auth.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}

// accounts is a database with the auth and tenant services on one fake clock.
type accounts struct {
	db      *pgtest.DB
	svc     *auth.Service
	tenants *tenant.Service
	tokens  *authn.Tokens
	clk     *testclock.Clock
}

func newAccounts(t *testing.T) *accounts {
	t.Helper()
	db := pgtest.New(t)
	return accountsOn(t, db, testclock.New(time.Now()), cheap)
}

func accountsOn(t *testing.T, db *pgtest.DB, clk *testclock.Clock, params auth.Argon2Params) *accounts {
	t.Helper()
	tokens, err := authn.NewTokens([][]byte{make([]byte, 32)}, 15*time.Minute, clk.Now)
	require.NoError(t, err)
	svc := auth.NewService(db.App, tokens, auth.Config{RefreshTTL: 24 * time.Hour, Now: clk.Now, Argon2: params,
		PublicBaseURL: "https://app.example.com"})
	return &accounts{db: db, svc: svc, tenants: tenant.NewService(db.App, svc), tokens: tokens, clk: clk}
}

// org is a tenant with its admin.
type org struct {
	id    uuid.UUID
	admin authn.Principal
}

func (a *accounts) org(t *testing.T, name string) org {
	t.Helper()
	ctx := context.Background()
	tn, err := tenant.CreateTenant(ctx, a.db.Owner, tenant.NewTenant{Name: name, Plan: tenant.PlanStandard, SeatLimit: 10, ExpiresAt: time.Now().AddDate(1, 0, 0)})
	require.NoError(t, err)
	admin, err := a.tenants.Bootstrap().CreateEmployee(ctx, tn.ID, tenant.NewEmployee{Name: "Admin", Role: authn.RoleAdmin})
	require.NoError(t, err)
	return org{id: tn.ID, admin: authn.Principal{TenantID: tn.ID, EmployeeID: admin.ID, Role: authn.RoleAdmin}}
}

// hire creates an employee with a phone number (their login) and returns them with their invitation.
func (a *accounts) hire(t *testing.T, o org, phone string) tenant.Employee {
	t.Helper()
	e, err := a.tenants.CreateEmployee(context.Background(), o.admin, tenant.NewEmployee{Name: "E " + phone, Role: authn.RoleSales, Phone: phone})
	require.NoError(t, err)
	require.NotNil(t, e.Invitation)
	return e
}

// withPassword hires an employee and sets their password.
func (a *accounts) withPassword(t *testing.T, o org, phone, password string) tenant.Employee {
	t.Helper()
	e := a.hire(t, o, phone)
	require.NoError(t, a.svc.SetPassword(context.Background(), o.id, e.ID, password))
	return e
}

func (a *accounts) signIn(login, password, device string) (auth.SignInResult, error) {
	return a.signInFrom("203.0.113.7", login, password, device)
}

func (a *accounts) signInFrom(address, login, password, device string) (auth.SignInResult, error) {
	return a.svc.SignIn(context.Background(), auth.SignInRequest{Login: login, Password: password, DeviceID: device, Address: address})
}

func (a *accounts) check(access string) error {
	claims, err := a.tokens.Verify(access)
	if err != nil {
		return err
	}
	_, err = a.svc.Check(context.Background(), claims)
	return err
}

func requireKind(t *testing.T, want platform.Kind, err error) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, want, platform.KindOf(err), "error: %v", err)
}

func retryAfter(t *testing.T, err error) time.Duration {
	t.Helper()
	requireKind(t, platform.KindResourceExhausted, err)
	var pe *platform.Error
	require.ErrorAs(t, err, &pe)
	return pe.RetryAfter
}

func TestInvitationSetsThePasswordOnceAndSignsIn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newAccounts(t)
	o := a.org(t, "Acme")
	e := a.hire(t, o, "138 0000 0001")
	inv := e.Invitation
	require.Equal(t, "https://app.example.com/invite/"+inv.Code, inv.URL)
	require.WithinDuration(t, a.clk.Now().Add(7*24*time.Hour), inv.ExpiresAt, time.Second)

	// Not the person's own phone number.
	_, err := a.svc.AcceptInvitation(ctx, auth.AcceptRequest{Code: inv.Code, Password: "+86 13800000001", DeviceID: "phone"})
	requireKind(t, platform.KindInvalid, err)

	in, err := a.svc.AcceptInvitation(ctx, auth.AcceptRequest{Code: inv.Code, Password: "correct horse", DeviceID: "phone"})
	require.NoError(t, err)
	require.Equal(t, o.id, in.TenantID)
	require.Equal(t, e.ID, in.EmployeeID)
	require.NoError(t, a.check(in.Tokens.AccessToken))

	// Used once, it is refused.
	_, err = a.svc.AcceptInvitation(ctx, auth.AcceptRequest{Code: inv.Code, Password: "another horse", DeviceID: "phone"})
	requireKind(t, platform.KindFailedPrecondition, err)
	require.ErrorContains(t, err, "already been used")

	// The password works with the phone number however it is written; the token works and refreshes.
	for _, login := range []string{"13800000001", "+86 138-0000-0001", "0086 (138) 0000 0001"} {
		res, err := a.signIn(login, "correct horse", "tablet")
		require.NoError(t, err, login)
		require.NotNil(t, res.Session)
		require.Equal(t, e.ID, res.Session.EmployeeID)
		require.NoError(t, a.check(res.Session.Tokens.AccessToken))
		next, err := a.svc.Refresh(ctx, res.Session.Tokens.RefreshToken, "tablet")
		require.NoError(t, err)
		require.NoError(t, a.check(next.AccessToken))
	}

	// Codes that are not invitations, or whose secret is wrong, are invalid.
	for _, code := range []string{"inv1_nonsense", strings.Replace(inv.Code, inv.Code[len(inv.Code)-4:], "AAAA", 1)} {
		_, err = a.svc.AcceptInvitation(ctx, auth.AcceptRequest{Code: code, Password: "correct horse", DeviceID: "phone"})
		requireKind(t, platform.KindFailedPrecondition, err)
		require.ErrorContains(t, err, "not valid")
	}
}

func TestExpiredAndReplacedInvitationsAreRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newAccounts(t)
	o := a.org(t, "Acme")
	late := a.hire(t, o, "13800000001")
	resent := a.hire(t, o, "13800000002")

	a.clk.Advance(7*24*time.Hour + time.Minute)
	_, err := a.svc.AcceptInvitation(ctx, auth.AcceptRequest{Code: late.Invitation.Code, Password: "correct horse", DeviceID: "phone"})
	requireKind(t, platform.KindFailedPrecondition, err)
	require.ErrorContains(t, err, "expired")

	// Re-sending voids the old one; the new one works; re-sending after a password is set is refused.
	second, err := a.svc.ResendInvitation(ctx, o.admin, resent.ID)
	require.NoError(t, err)
	_, err = a.svc.AcceptInvitation(ctx, auth.AcceptRequest{Code: resent.Invitation.Code, Password: "correct horse", DeviceID: "phone"})
	requireKind(t, platform.KindFailedPrecondition, err)
	require.ErrorContains(t, err, "replaced")
	_, err = a.svc.AcceptInvitation(ctx, auth.AcceptRequest{Code: second.Code, Password: "correct horse", DeviceID: "phone"})
	require.NoError(t, err)
	_, err = a.svc.ResendInvitation(ctx, o.admin, resent.ID)
	requireKind(t, platform.KindFailedPrecondition, err)

	// Only admins send invitations, and only for their own tenant's employees.
	_, err = a.svc.ResendInvitation(ctx, authn.Principal{TenantID: o.id, EmployeeID: resent.ID, Role: authn.RoleSales}, late.ID)
	requireKind(t, platform.KindPermissionDenied, err)
	other := a.org(t, "Other")
	_, err = a.svc.ResendInvitation(ctx, other.admin, late.ID)
	requireKind(t, platform.KindNotFound, err)
}

// Wrong passwords on one login: five go through, then each next attempt must wait a doubling delay, and
// the twentieth failure locks the login for 15 minutes, during which the right password is refused too.
func TestWrongPasswordsDelayThenLock(t *testing.T) {
	t.Parallel()
	a := newAccounts(t)
	o := a.org(t, "Acme")
	a.withPassword(t, o, "13800000001", "correct horse")

	for range 5 {
		_, err := a.signIn("13800000001", "wrong horse", "phone")
		requireKind(t, platform.KindUnauthenticated, err)
	}
	for failures := 5; failures < 20; failures++ {
		_, err := a.signIn("13800000001", "wrong horse", "phone")
		wait := retryAfter(t, err)
		require.Equal(t, min(time.Second<<(failures-5), time.Minute), wait, "after %d failures", failures)
		a.clk.Advance(wait)
		_, err = a.signIn("13800000001", "wrong horse", "phone")
		requireKind(t, platform.KindUnauthenticated, err)
	}
	_, err := a.signIn("13800000001", "correct horse", "phone")
	require.Equal(t, 15*time.Minute, retryAfter(t, err), "locked: the right password is refused too")
	a.clk.Advance(15 * time.Minute)
	res, err := a.signIn("13800000001", "correct horse", "phone")
	require.NoError(t, err)
	require.NotNil(t, res.Session)

	// The right password cleared the login's failures. (An hour on, the address's have aged out: twenty
	// failures from one address slow it down too.)
	a.clk.Advance(time.Hour)
	for range 5 {
		_, err := a.signIn("13800000001", "wrong horse", "phone")
		requireKind(t, platform.KindUnauthenticated, err)
	}
}

// Concurrent guesses cannot slip in before the first failures are written: each attempt is counted when it
// starts, so exactly five of ten at once are checked.
func TestConcurrentGuessesAreCountedBeforeTheyAreChecked(t *testing.T) {
	t.Parallel()
	a := newAccounts(t)
	o := a.org(t, "Acme")
	a.withPassword(t, o, "13800000001", "correct horse")
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		kinds = map[platform.Kind]int{}
	)
	for range 10 {
		wg.Go(func() {
			_, err := a.signIn("13800000001", "wrong horse", "phone")
			mu.Lock()
			kinds[platform.KindOf(err)]++
			mu.Unlock()
		})
	}
	wg.Wait()
	require.Equal(t, map[platform.Kind]int{platform.KindUnauthenticated: 5, platform.KindResourceExhausted: 5}, kinds)
}

// An unknown login and a wrong password go down one path: the same answer, the same number of argon2id
// computations (the unknown login's against a dummy hash), the same throttling.
func TestUnknownLoginAndWrongPasswordAreOnePath(t *testing.T) {
	t.Parallel()
	a := newAccounts(t)
	o := a.org(t, "Acme")
	known := a.withPassword(t, o, "13800000001", "correct horse")
	invited := a.hire(t, o, "13800000002") // no password yet

	type answer struct {
		kind   platform.Kind
		msg    string
		hashes int64
		retry  time.Duration
	}
	attempt := func(address, login string) answer {
		before := auth.HashesComputed(a.svc)
		_, err := a.signInFrom(address, login, "wrong horse", "phone")
		var pe *platform.Error
		require.ErrorAs(t, err, &pe)
		return answer{kind: pe.Kind, msg: pe.Msg, hashes: auth.HashesComputed(a.svc) - before, retry: pe.RetryAfter}
	}
	var seqs [][]answer
	for i, login := range []string{"13800000001", "13899999999", "13800000002", "nobody@example.com"} {
		var seq []answer
		for range 7 {
			seq = append(seq, attempt(fmt.Sprintf("203.0.113.%d", i), login))
		}
		seqs = append(seqs, seq)
	}
	require.Equal(t, answer{kind: platform.KindUnauthenticated, msg: "wrong phone number, email or password", hashes: 1}, seqs[0][0])
	require.Equal(t, answer{kind: platform.KindResourceExhausted, msg: "too many failed sign-in attempts: try again in 1s", retry: time.Second}, seqs[0][5],
		"throttled attempts compute nothing")
	for _, seq := range seqs[1:] {
		require.Equal(t, seqs[0], seq)
	}

	// What differs is only what nobody outside sees: the known employee's tenant records the failures.
	records, _, err := a.svc.ListSignIns(context.Background(), o.admin, auth.SignInFilter{})
	require.NoError(t, err)
	require.Len(t, records, 7)
	for _, r := range records {
		require.Equal(t, known.ID, r.EmployeeID)
		require.NotEqual(t, invited.ID, r.EmployeeID)
	}
	require.Equal(t, auth.OutcomeLocked, records[0].Outcome)
	require.Equal(t, auth.OutcomeWrongPassword, records[6].Outcome)
}

// A disabled employee or an expired tenant hears why only after the right password.
func TestDisabledAndExpiredAreToldOnlyAfterTheRightPassword(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newAccounts(t)
	o := a.org(t, "Acme")
	e := a.withPassword(t, o, "13800000001", "correct horse")
	_, err := a.tenants.SetEmployeeStatus(ctx, o.admin, e.ID, tenant.StatusDisabled)
	require.NoError(t, err)
	_, err = a.signIn("13800000001", "wrong horse", "phone")
	requireKind(t, platform.KindUnauthenticated, err)
	_, err = a.signIn("13800000001", "correct horse", "phone")
	requireKind(t, platform.KindPermissionDenied, err)
	require.ErrorContains(t, err, "disabled")

	expired := a.org(t, "Lapsed")
	a.withPassword(t, expired, "13800000002", "correct horse")
	_, err = a.db.Super.Exec(ctx, "UPDATE tenants SET expires_at = now() - interval '1 day' WHERE id = $1", expired.id)
	require.NoError(t, err)
	_, err = a.signIn("13800000002", "wrong horse", "phone")
	requireKind(t, platform.KindUnauthenticated, err)
	_, err = a.signIn("13800000002", "correct horse", "phone")
	requireKind(t, platform.KindPermissionDenied, err)
	require.ErrorContains(t, err, "expired")
}

// One person employed by two tenants with the same password picks one without typing it again; with a
// password of each tenant's, each password opens its own.
func TestTenantPicker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newAccounts(t)
	acme, globex := a.org(t, "Acme"), a.org(t, "Globex")
	inAcme := a.withPassword(t, acme, "13800000001", "correct horse")
	inGlobex := a.withPassword(t, globex, "+86 138 0000 0001", "correct horse")

	res, err := a.signIn("13800000001", "correct horse", "phone")
	require.NoError(t, err)
	require.Nil(t, res.Session)
	require.NotNil(t, res.Choice)
	names := map[uuid.UUID]string{}
	for _, o := range res.Choice.Tenants {
		names[o.TenantID] = o.Name
	}
	require.Equal(t, map[uuid.UUID]string{acme.id: "Acme", globex.id: "Globex"}, names)

	// Another device, a tenant the ticket does not list: refused (and the ticket is spent).
	_, err = a.svc.SelectTenant(ctx, res.Choice.Ticket, globex.id, "laptop")
	requireKind(t, platform.KindUnauthenticated, err)
	res, err = a.signIn("13800000001", "correct horse", "phone")
	require.NoError(t, err)
	_, err = a.svc.SelectTenant(ctx, res.Choice.Ticket, uuid.New(), "phone")
	requireKind(t, platform.KindUnauthenticated, err)

	res, err = a.signIn("13800000001", "correct horse", "phone")
	require.NoError(t, err)
	in, err := a.svc.SelectTenant(ctx, res.Choice.Ticket, globex.id, "phone")
	require.NoError(t, err)
	require.Equal(t, inGlobex.ID, in.EmployeeID)
	require.NoError(t, a.check(in.Tokens.AccessToken))
	_, err = a.svc.SelectTenant(ctx, res.Choice.Ticket, acme.id, "phone")
	requireKind(t, platform.KindUnauthenticated, err)

	// Tickets expire.
	res, err = a.signIn("13800000001", "correct horse", "phone")
	require.NoError(t, err)
	a.clk.Advance(6 * time.Minute)
	_, err = a.svc.SelectTenant(ctx, res.Choice.Ticket, acme.id, "phone")
	requireKind(t, platform.KindUnauthenticated, err)

	// Disabled in one: the other signs in directly.
	_, err = a.tenants.SetEmployeeStatus(ctx, globex.admin, inGlobex.ID, tenant.StatusDisabled)
	require.NoError(t, err)
	res, err = a.signIn("13800000001", "correct horse", "phone")
	require.NoError(t, err)
	require.NotNil(t, res.Session)
	require.Equal(t, inAcme.ID, res.Session.EmployeeID)

	// Different passwords: each opens its own tenant only.
	_, err = a.tenants.SetEmployeeStatus(ctx, globex.admin, inGlobex.ID, tenant.StatusActive)
	require.NoError(t, err)
	require.NoError(t, a.svc.SetPassword(ctx, globex.id, inGlobex.ID, "globex horse"))
	res, err = a.signIn("13800000001", "globex horse", "phone")
	require.NoError(t, err)
	require.NotNil(t, res.Session)
	require.Equal(t, globex.id, res.Session.TenantID)
}

// A reset removes the password and ends every session of the employee; the new invitation sets a new one.
func TestResetPasswordEndsEverySession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newAccounts(t)
	o := a.org(t, "Acme")
	e := a.withPassword(t, o, "13800000001", "correct horse")
	var pairs []auth.TokenPair
	for _, device := range []string{"phone", "tablet"} {
		res, err := a.signIn("13800000001", "correct horse", device)
		require.NoError(t, err)
		pairs = append(pairs, res.Session.Tokens)
	}

	_, err := a.svc.ResetPassword(ctx, authn.Principal{TenantID: o.id, EmployeeID: e.ID, Role: authn.RoleSales}, e.ID)
	requireKind(t, platform.KindPermissionDenied, err)
	inv, err := a.svc.ResetPassword(ctx, o.admin, e.ID)
	require.NoError(t, err)
	for i, device := range []string{"phone", "tablet"} {
		requireKind(t, platform.KindUnauthenticated, a.check(pairs[i].AccessToken))
		_, err := a.svc.Refresh(ctx, pairs[i].RefreshToken, device)
		requireKind(t, platform.KindUnauthenticated, err)
	}
	_, err = a.signIn("13800000001", "correct horse", "phone")
	requireKind(t, platform.KindUnauthenticated, err)

	in, err := a.svc.AcceptInvitation(ctx, auth.AcceptRequest{Code: inv.Code, Password: "battery staple", DeviceID: "phone"})
	require.NoError(t, err)
	require.NoError(t, a.check(in.Tokens.AccessToken))
}

// Changing one's password takes the current one, ends every other session and hands this device a new pair.
func TestChangePasswordEndsTheOtherSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newAccounts(t)
	o := a.org(t, "Acme")
	a.withPassword(t, o, "13800000001", "correct horse")
	phone, err := a.signIn("13800000001", "correct horse", "phone")
	require.NoError(t, err)
	laptop, err := a.signIn("13800000001", "correct horse", "laptop")
	require.NoError(t, err)
	claims, err := a.tokens.Verify(phone.Session.Tokens.AccessToken)
	require.NoError(t, err)
	me, err := a.svc.Check(ctx, claims)
	require.NoError(t, err)

	_, err = a.svc.ChangePassword(ctx, me, "wrong horse", "battery staple")
	requireKind(t, platform.KindInvalid, err)
	var pe *platform.Error
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "old_password", pe.Field)
	_, err = a.svc.ChangePassword(ctx, me, "correct horse", "13800000001")
	requireKind(t, platform.KindInvalid, err)

	pair, err := a.svc.ChangePassword(ctx, me, "correct horse", "battery staple")
	require.NoError(t, err)
	require.NoError(t, a.check(pair.AccessToken))
	_, err = a.svc.Refresh(ctx, pair.RefreshToken, "phone")
	require.NoError(t, err)
	requireKind(t, platform.KindUnauthenticated, a.check(laptop.Session.Tokens.AccessToken))
	_, err = a.svc.Refresh(ctx, laptop.Session.Tokens.RefreshToken, "laptop")
	requireKind(t, platform.KindUnauthenticated, err)
	requireKind(t, platform.KindUnauthenticated, a.check(phone.Session.Tokens.AccessToken))

	_, err = a.signIn("13800000001", "correct horse", "phone")
	requireKind(t, platform.KindUnauthenticated, err)
	_, err = a.signIn("13800000001", "battery staple", "phone")
	require.NoError(t, err)
}

// A hash made under older parameters is remade under the current ones at the next sign-in.
func TestSignInRehashesUnderNewParameters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	clk := testclock.New(time.Now())
	old := accountsOn(t, db, clk, cheap)
	o := old.org(t, "Acme")
	e := old.withPassword(t, o, "13800000001", "correct horse")
	stored := func() string {
		var h string
		require.NoError(t, db.Super.QueryRow(ctx, "SELECT password_hash FROM employee_passwords WHERE employee_id = $1", e.ID).Scan(&h))
		return h
	}
	require.Contains(t, stored(), "$m=64,t=1,p=1$")

	stronger := accountsOn(t, db, clk, auth.Argon2Params{Time: 2, MemoryKiB: 128, Threads: 1})
	_, err := stronger.signIn("13800000001", "correct horse", "phone")
	require.NoError(t, err)
	require.Contains(t, stored(), "$m=128,t=2,p=1$")
	_, err = stronger.signIn("13800000001", "correct horse", "phone")
	require.NoError(t, err)
}

func TestAdminsListSignInsNewestFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newAccounts(t)
	o := a.org(t, "Acme")
	e := a.withPassword(t, o, "13800000001", "correct horse")
	other := a.withPassword(t, o, "13800000002", "correct horse")
	_, err := a.svc.SignIn(ctx, auth.SignInRequest{Login: "13800000001", Password: "wrong horse", DeviceID: "phone", DeviceName: "Nia's iPhone", Address: "203.0.113.7"})
	requireKind(t, platform.KindUnauthenticated, err)
	a.clk.Advance(time.Second)
	_, err = a.signIn("13800000001", "correct horse", "phone")
	require.NoError(t, err)
	a.clk.Advance(time.Second)
	_, err = a.signIn("13800000002", "correct horse", "laptop")
	require.NoError(t, err)

	_, _, err = a.svc.ListSignIns(ctx, authn.Principal{TenantID: o.id, EmployeeID: e.ID, Role: authn.RoleManager}, auth.SignInFilter{})
	requireKind(t, platform.KindPermissionDenied, err)

	all, _, err := a.svc.ListSignIns(ctx, o.admin, auth.SignInFilter{})
	require.NoError(t, err)
	require.Len(t, all, 3)
	require.Equal(t, other.ID, all[0].EmployeeID)
	require.Equal(t, auth.OutcomeWrongPassword, all[2].Outcome)
	require.Equal(t, "Nia's iPhone", all[2].DeviceName)
	require.Equal(t, "203.0.113.7", all[2].Address)

	var paged []auth.SignInRecord
	token := ""
	for {
		page, next, err := a.svc.ListSignIns(ctx, o.admin, auth.SignInFilter{EmployeeID: e.ID, PageSize: 1, PageToken: token})
		require.NoError(t, err)
		paged = append(paged, page...)
		if next == "" {
			break
		}
		token = next
	}
	require.Len(t, paged, 2)
	require.Equal(t, auth.OutcomeSuccess, paged[0].Outcome)
	require.Equal(t, auth.OutcomeWrongPassword, paged[1].Outcome)
}

// Go and PostgreSQL agree on the canonical form of a login: sign-in computes it in Go, the employees'
// unique indexes and signin_candidates in SQL.
func TestLoginKeyMatchesTheDatabase(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	for _, v := range []string{"13800000001", "+8613800000001", "0086 138 0000 0001", "(138) 0000-0001", "138.0000.0001",
		"+1 (415) 555-0100", "004915112345678", "12345", "2138000000", "Nia@Acme.Example", " nia@acme.example ", "  ", "",
		"+86\t138 0000 0001", "1380000000a"} {
		var sql *string
		require.NoError(t, db.Super.QueryRow(context.Background(), "SELECT login_key($1)", v).Scan(&sql))
		want := ""
		if sql != nil {
			want = *sql
		}
		require.Equal(t, want, auth.LoginKey(v), "%q", v)
	}
	require.Equal(t, "+86****0001", auth.MaskLogin("13800000001"))
	require.Equal(t, "n***@acme.example", auth.MaskLogin("Nia@acme.example"))
}

// signin_candidates finds one login's credentials across tenants for the application role, and leaves
// nothing behind: the owner's policies show rows only while a login is named, and only that login's.
func TestSignInLookupReachesOnlyTheLogin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newAccounts(t)
	acme, globex := a.org(t, "Acme"), a.org(t, "Globex")
	a.withPassword(t, acme, "13800000001", "correct horse")
	a.withPassword(t, globex, "13800000001", "correct horse")
	a.withPassword(t, acme, "13800000002", "correct horse")
	a.hire(t, acme, "13800000003") // invited, no password: not a candidate

	count := func(q pgx.Tx, sql string) int {
		var n int
		require.NoError(t, q.QueryRow(ctx, sql).Scan(&n))
		return n
	}
	var n int
	require.NoError(t, a.db.App.Pool.QueryRow(ctx, "SELECT count(*) FROM signin_candidates('p:+8613800000001')").Scan(&n))
	require.Equal(t, 2, n)
	require.NoError(t, a.db.App.Pool.QueryRow(ctx, "SELECT count(*) FROM signin_candidates('p:+8613800000003')").Scan(&n))
	require.Zero(t, n)

	require.NoError(t, pgx.BeginFunc(ctx, a.db.Owner, func(tx pgx.Tx) error {
		require.Equal(t, 2, count(tx, "SELECT count(*) FROM signin_candidates('p:+8613800000001')"))
		require.Zero(t, count(tx, "SELECT count(*) FROM employees"), "the owner saw employees after the lookup")
		require.Zero(t, count(tx, "SELECT count(*) FROM employee_passwords"))
		// An owner session that names a login itself reads that login's rows and no others.
		_, err := tx.Exec(ctx, "SELECT set_config('app.signin_login', 'p:+8613800000002', true)")
		require.NoError(t, err)
		require.Equal(t, 1, count(tx, "SELECT count(*) FROM employees"))
		require.Equal(t, 1, count(tx, "SELECT count(*) FROM employee_passwords"))
		return nil
	}))
	// The application role gains nothing by naming a login: the policies are the owner's.
	require.NoError(t, pgx.BeginFunc(ctx, a.db.App.Pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "SELECT set_config('app.signin_login', 'p:+8613800000001', true)")
		require.NoError(t, err)
		require.Zero(t, count(tx, "SELECT count(*) FROM employees"))
		require.Zero(t, count(tx, "SELECT count(*) FROM employee_passwords"))
		return nil
	}))
}
