package auth

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/audit"
	"github.com/salesapp/scrm/backend/auth/internal/authdb"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
)

// InvitationTTL is how long an invitation works.
const InvitationTTL = 7 * 24 * time.Hour

// invitationPrefix starts an invitation code: "inv1_" + base64url(tenant id | invitation id | 32-byte
// secret). The ids route the lookup (and scope it to the tenant); only the secret's SHA-256 is stored.
const invitationPrefix = "inv1_"

// Invitation is a one-time code with which an employee sets their password (and signs in).
type Invitation struct {
	EmployeeID uuid.UUID
	Code       string
	// URL is the link that opens the app on the invitation: PublicBaseURL/invite/CODE.
	URL       string
	ExpiresAt time.Time
}

var (
	errInvitationInvalid  = platform.FailedPrecondition("this invitation link is not valid: ask your administrator for a new one")
	errInvitationUsed     = platform.FailedPrecondition("this invitation has already been used: sign in with your password, or ask your administrator to reset it")
	errInvitationReplaced = platform.FailedPrecondition("this invitation was replaced by a newer one: use the latest link your administrator sent")
)

// errExpired marks an expired invitation's error (its message carries the date).
var errExpired = errors.New("invitation expired")

func errInvitationExpired(at time.Time) error {
	return &platform.Error{Kind: platform.KindFailedPrecondition, Cause: errExpired,
		Msg: fmt.Sprintf("this invitation expired on %s: ask your administrator to send a new one", at.UTC().Format("2006-01-02"))}
}

// InvitationProblem names why an invitation did not work, for pages that explain it in their own words:
// "invalid", "used", "replaced", "expired", or "" for any other error.
func InvitationProblem(err error) string {
	switch {
	case errors.Is(err, errInvitationInvalid):
		return "invalid"
	case errors.Is(err, errInvitationUsed):
		return "used"
	case errors.Is(err, errInvitationReplaced):
		return "replaced"
	case errors.Is(err, errExpired):
		return "expired"
	}
	return ""
}

// InviteTx makes an invitation for an employee inside the caller's transaction of their tenant, voiding
// any open one. tenant.CreateEmployee calls it in the transaction that creates the employee.
func (s *Service) InviteTx(ctx context.Context, tx pgx.Tx, tenantID, employeeID uuid.UUID) (code, url string, expiresAt time.Time, err error) {
	inv, err := s.invite(ctx, authdb.New(tx), tenantID, employeeID)
	return inv.Code, inv.URL, inv.ExpiresAt, err
}

func (s *Service) invite(ctx context.Context, q *authdb.Queries, tenantID, employeeID uuid.UUID) (Invitation, error) {
	now := s.now()
	if err := q.VoidOpenInvitations(ctx, authdb.VoidOpenInvitationsParams{TenantID: tenantID, EmployeeID: employeeID, Now: &now}); err != nil {
		return Invitation{}, err
	}
	id, secret, exp := uuid.Must(uuid.NewV7()), newSecret(), now.Add(InvitationTTL)
	if err := q.InsertInvitation(ctx, authdb.InsertInvitationParams{ID: id, TenantID: tenantID, EmployeeID: employeeID,
		SecretHash: hash(secret), CreatedAt: now, ExpiresAt: exp}); err != nil {
		return Invitation{}, err
	}
	code := encodeInvitation(tenantID, id, secret)
	return Invitation{EmployeeID: employeeID, Code: code, URL: s.baseURL + "/invite/" + code, ExpiresAt: exp}, nil
}

func encodeInvitation(tenantID, id uuid.UUID, secret []byte) string {
	b := make([]byte, 0, 64)
	b = append(b, tenantID[:]...)
	b = append(b, id[:]...)
	b = append(b, secret...)
	return invitationPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func decodeInvitation(code string) (tenantID, id uuid.UUID, secret []byte, ok bool) {
	rest, found := strings.CutPrefix(code, invitationPrefix)
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if !found || err != nil || len(b) != 64 {
		return uuid.Nil, uuid.Nil, nil, false
	}
	copy(tenantID[:], b[:16])
	copy(id[:], b[16:32])
	return tenantID, id, b[32:], tenantID != uuid.Nil && id != uuid.Nil
}

// openInvitation checks that an invitation works now and returns its employee, locking it.
func (s *Service) openInvitation(ctx context.Context, q *authdb.Queries, tenantID, id uuid.UUID, secret []byte) (uuid.UUID, error) {
	inv, err := q.GetInvitationForUpdate(ctx, authdb.GetInvitationForUpdateParams{TenantID: tenantID, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, errInvitationInvalid
	}
	if err != nil {
		return uuid.Nil, err
	}
	switch {
	case subtle.ConstantTimeCompare(hash(secret), inv.SecretHash) != 1:
		return uuid.Nil, errInvitationInvalid
	case inv.UsedAt != nil:
		return uuid.Nil, errInvitationUsed
	case inv.VoidedAt != nil:
		return uuid.Nil, errInvitationReplaced
	case !s.now().Before(inv.ExpiresAt):
		return uuid.Nil, errInvitationExpired(inv.ExpiresAt)
	}
	return inv.EmployeeID, nil
}

// AcceptRequest sets a password with an invitation code.
type AcceptRequest struct {
	Code, Password       string
	DeviceID, DeviceName string
	// Address is the client's IP address, for the sign-in record.
	Address string
}

// AcceptInvitation sets the invited employee's password and signs the device in. An invitation works
// once, within InvitationTTL, and only while it is the employee's latest.
func (s *Service) AcceptInvitation(ctx context.Context, r AcceptRequest) (SignedIn, error) {
	if err := checkDevice(r.DeviceID); err != nil {
		return SignedIn{}, err
	}
	inv, err := s.setInvitedPassword(ctx, r.Code, r.Password)
	if err != nil {
		return SignedIn{}, err
	}
	return s.signIn(ctx, inv.TenantID, inv.EmployeeID, newDevice(r.DeviceID, r.DeviceName, r.Address))
}

// Invitee is whom an invitation is for, as the invitation page shows them.
type Invitee struct {
	TenantID, EmployeeID uuid.UUID
	TenantName, Name     string
	// Login is the phone number (masked) or email the invitee signs in with afterwards.
	Login string
	// phone and email are the unmasked logins, for the password rules.
	phone, email string
}

// PeekInvitation says whom a working invitation is for, without using it: the invitation page's first
// look. A dead one gets the same errors as AcceptInvitation.
func (s *Service) PeekInvitation(ctx context.Context, code string) (Invitee, error) {
	tenantID, id, secret, ok := decodeInvitation(code)
	if !ok {
		return Invitee{}, errInvitationInvalid
	}
	var inv Invitee
	err := s.db.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		inv, err = s.invitee(ctx, authdb.New(tx), tenantID, id, secret)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Invitee{}, errInvitationInvalid // the employee is gone
	}
	return inv, err
}

// SetPasswordWithInvitation sets the invited employee's password without signing anything in: the
// invitation page's answer (the person then signs in on the app with it).
func (s *Service) SetPasswordWithInvitation(ctx context.Context, code, password string) (Invitee, error) {
	return s.setInvitedPassword(ctx, code, password)
}

// invitee checks that an invitation works now and whether its employee may sign in.
func (s *Service) invitee(ctx context.Context, q *authdb.Queries, tenantID, id uuid.UUID, secret []byte) (Invitee, error) {
	employeeID, err := s.openInvitation(ctx, q, tenantID, id, secret)
	if err != nil {
		return Invitee{}, err
	}
	emp, err := q.GetSignInEmployee(ctx, authdb.GetSignInEmployeeParams{TenantID: tenantID, EmployeeID: employeeID})
	if err != nil {
		return Invitee{}, err
	}
	if err := s.usable(emp.Status, emp.TenantExpiresAt); err != nil {
		return Invitee{}, err
	}
	login := maskLogin(emp.Email)
	if emp.Phone != "" {
		login = maskPhone(emp.Phone)
	}
	return Invitee{TenantID: tenantID, EmployeeID: employeeID, TenantName: emp.TenantName, Name: emp.Name,
		Login: login, phone: emp.Phone, email: emp.Email}, nil
}

// maskPhone shows a person their own number the way they know it: a mainland number without the country
// code, the first three and last four digits ("138****0077").
func maskPhone(phone string) string {
	d := strings.TrimPrefix(strings.TrimPrefix(phone, "+"), "86")
	if len(d) != 11 {
		d = strings.TrimPrefix(phone, "+")
	}
	if len(d) < 8 {
		return "****"
	}
	return d[:3] + "****" + d[len(d)-4:]
}

// setInvitedPassword checks the password, hashes it, and sets it with the invitation, using it up.
func (s *Service) setInvitedPassword(ctx context.Context, code, password string) (Invitee, error) {
	tenantID, id, secret, ok := decodeInvitation(code)
	if !ok {
		return Invitee{}, errInvitationInvalid
	}
	// A first look, before any hashing: a dead invitation costs no argon2id.
	var inv Invitee
	err := s.db.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		if inv, err = s.invitee(ctx, authdb.New(tx), tenantID, id, secret); err != nil {
			return err
		}
		return checkNewPassword("password", password, inv.phone, inv.email)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Invitee{}, errInvitationInvalid // the employee is gone
	}
	if err != nil {
		return Invitee{}, err
	}
	encoded, err := s.hashNew(ctx, password)
	if err != nil {
		return Invitee{}, err
	}
	err = s.db.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		q := authdb.New(tx)
		if _, err := q.LockEmployeeForCredentials(ctx, authdb.LockEmployeeForCredentialsParams{TenantID: tenantID, EmployeeID: inv.EmployeeID}); err != nil {
			return err
		}
		// Again, under the locks: a reset or a second acceptance may have come in between.
		if _, err := s.openInvitation(ctx, q, tenantID, id, secret); err != nil {
			return err
		}
		if err := q.SetPassword(ctx, authdb.SetPasswordParams{TenantID: tenantID, EmployeeID: inv.EmployeeID, PasswordHash: encoded}); err != nil {
			return err
		}
		now := s.now()
		return q.UseInvitation(ctx, authdb.UseInvitationParams{TenantID: tenantID, ID: id, Now: &now})
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Invitee{}, errInvitationInvalid // the employee is gone
	}
	return inv, err
}

// hashNew hashes a new password in a hashing slot.
func (s *Service) hashNew(ctx context.Context, password string) (string, error) {
	release, err := s.pw.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return s.pw.hash(password), nil
}

// checkNewPassword holds a new password to what the proto cannot say: not the person's own phone number
// or email (the length, 8 to 128 characters, is checked here too for callers other than RPCs).
func checkNewPassword(field, password, phone, email string) error {
	if n := utf8.RuneCountInString(password); n < 8 || n > 128 {
		return platform.Invalid(field, "must be 8 to 128 characters")
	}
	k := loginKey(password)
	for _, own := range []string{phone, email} {
		if own != "" && k == loginKey(own) {
			return platform.Invalid(field, "must not be your phone number or email")
		}
	}
	return nil
}

// ResetPassword removes an employee's password, ends every session of theirs (as disabling them does)
// and makes an invitation to set a new one. Admin only.
func (s *Service) ResetPassword(ctx context.Context, p authn.Principal, employeeID uuid.UUID) (Invitation, error) {
	if p.Role != authn.RoleAdmin {
		return Invitation{}, platform.PermissionDenied("only an admin may reset passwords")
	}
	inv, err := s.reinvite(ctx, p.TenantID, employeeID, func(ctx context.Context, q *authdb.Queries, tx pgx.Tx, _ bool) error {
		if err := q.DeletePassword(ctx, authdb.DeletePasswordParams{TenantID: p.TenantID, EmployeeID: employeeID}); err != nil {
			return err
		}
		if err := s.RevokeEmployeeSessions(ctx, tx, p.TenantID, employeeID); err != nil {
			return err
		}
		return audit.RecordTx(ctx, tx, p.TenantID, audit.Entry{Action: audit.PasswordReset, TargetKind: audit.TargetEmployee, TargetID: employeeID})
	})
	if err == nil {
		s.EmployeeChanged(employeeID)
	}
	return inv, err
}

// ResendInvitation makes a new invitation for an employee who has not set a password yet; the previous
// one stops working. Admin only.
func (s *Service) ResendInvitation(ctx context.Context, p authn.Principal, employeeID uuid.UUID) (Invitation, error) {
	if p.Role != authn.RoleAdmin {
		return Invitation{}, platform.PermissionDenied("only an admin may send invitations")
	}
	return s.reinvite(ctx, p.TenantID, employeeID, func(ctx context.Context, _ *authdb.Queries, tx pgx.Tx, hasPassword bool) error {
		if hasPassword {
			return platform.FailedPrecondition("this employee has already set a password: reset it to send a new invitation")
		}
		return audit.RecordTx(ctx, tx, p.TenantID, audit.Entry{Action: audit.InvitationResend, TargetKind: audit.TargetEmployee, TargetID: employeeID})
	})
}

// reinvite makes a new invitation for an active employee of the tenant after before, with the employee
// locked.
func (s *Service) reinvite(ctx context.Context, tenantID, employeeID uuid.UUID,
	before func(ctx context.Context, q *authdb.Queries, tx pgx.Tx, hasPassword bool) error) (Invitation, error) {
	var inv Invitation
	err := s.db.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		q := authdb.New(tx)
		emp, err := q.LockEmployeeForCredentials(ctx, authdb.LockEmployeeForCredentialsParams{TenantID: tenantID, EmployeeID: employeeID})
		if errors.Is(err, pgx.ErrNoRows) {
			return platform.NotFound("employee")
		}
		if err != nil {
			return err
		}
		if emp.Status != "active" {
			return platform.FailedPrecondition("this employee is disabled: enable them first")
		}
		if err := before(ctx, q, tx, emp.HasPassword); err != nil {
			return err
		}
		inv, err = s.invite(ctx, q, tenantID, employeeID)
		return err
	})
	return inv, err
}

// ChangePassword changes the caller's password, given the current one. Every session of theirs ends (the
// same way as when they are disabled), this one included; the answer is a new pair for this device. Wrong
// current passwords count against the employee like failed sign-ins.
func (s *Service) ChangePassword(ctx context.Context, p authn.Principal, oldPassword, newPassword string) (TokenPair, error) {
	var (
		stored string
		emp    authdb.GetSignInEmployeeRow
	)
	err := s.db.InTenantSnapshot(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := authdb.New(tx)
		var err error
		stored, err = q.GetPassword(ctx, authdb.GetPasswordParams{TenantID: p.TenantID, EmployeeID: p.EmployeeID})
		if errors.Is(err, pgx.ErrNoRows) {
			return platform.FailedPrecondition("you have no password yet: set one with the invitation your administrator sent")
		}
		if err != nil {
			return err
		}
		emp, err = q.GetSignInEmployee(ctx, authdb.GetSignInEmployeeParams{TenantID: p.TenantID, EmployeeID: p.EmployeeID})
		return err
	})
	if err != nil {
		return TokenPair{}, err
	}
	if err := checkNewPassword("new_password", newPassword, emp.Phone, emp.Email); err != nil {
		return TokenPair{}, err
	}
	keys := []throttleKey{employeeThrottle(p.EmployeeID)}
	wait, err := s.claim(ctx, keys)
	if err != nil {
		return TokenPair{}, err
	}
	if wait > 0 {
		return TokenPair{}, throttled(wait)
	}
	release, err := s.pw.acquire(ctx)
	if err != nil {
		s.settle(ctx, keys, false)
		return TokenPair{}, err
	}
	ok, _ := s.pw.verify(stored, oldPassword)
	var encoded string
	if ok {
		encoded = s.pw.hash(newPassword)
	}
	release()
	if !ok {
		return TokenPair{}, platform.Invalid("old_password", "is not your current password")
	}
	s.settle(ctx, keys, true)
	err = s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		n, err := authdb.New(tx).ReplacePasswordHash(ctx, authdb.ReplacePasswordHashParams{TenantID: p.TenantID,
			EmployeeID: p.EmployeeID, OldHash: stored, NewHash: encoded})
		if err != nil {
			return err
		}
		if n == 0 {
			return platform.FailedPrecondition("your password was changed or reset meanwhile: sign in again")
		}
		return s.RevokeEmployeeSessions(ctx, tx, p.TenantID, p.EmployeeID)
	})
	if err != nil {
		return TokenPair{}, err
	}
	s.EmployeeChanged(p.EmployeeID)
	return s.IssueSession(ctx, p.TenantID, p.EmployeeID, p.DeviceID)
}

// SetPassword sets an employee's password with no invitation and no caller: for the operator (`salesctl
// set-password`, the demo seed) and tests. It voids the employee's open invitations; sessions stay.
func (s *Service) SetPassword(ctx context.Context, tenantID, employeeID uuid.UUID, password string) error {
	var emp authdb.GetSignInEmployeeRow
	err := s.db.InTenantSnapshot(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		emp, err = authdb.New(tx).GetSignInEmployee(ctx, authdb.GetSignInEmployeeParams{TenantID: tenantID, EmployeeID: employeeID})
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return platform.NotFound("employee")
	}
	if err != nil {
		return err
	}
	if err := checkNewPassword("password", password, emp.Phone, emp.Email); err != nil {
		return err
	}
	encoded, err := s.hashNew(ctx, password)
	if err != nil {
		return err
	}
	return s.db.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		q := authdb.New(tx)
		if _, err := q.LockEmployeeForCredentials(ctx, authdb.LockEmployeeForCredentialsParams{TenantID: tenantID, EmployeeID: employeeID}); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return platform.NotFound("employee")
			}
			return err
		}
		if err := q.SetPassword(ctx, authdb.SetPasswordParams{TenantID: tenantID, EmployeeID: employeeID, PasswordHash: encoded}); err != nil {
			return err
		}
		now := s.now()
		return q.VoidOpenInvitations(ctx, authdb.VoidOpenInvitationsParams{TenantID: tenantID, EmployeeID: employeeID, Now: &now})
	})
}
