package auth

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/salesapp/scrm/backend/auth/internal/authdb"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/jobs"
)

// SignInRequest is one attempt to sign in with a login and a password.
type SignInRequest struct {
	// Login is a phone number or an email, as the person typed it.
	Login    string
	Password string
	// DeviceID is the app's install id, which the session is bound to; DeviceName what the person calls
	// the device (optional, for the sign-in records).
	DeviceID, DeviceName string
	// Address is the client's IP address: failures count against it, and the sign-in record shows it.
	Address string
}

// SignedIn is a device signed in to one tenant as one employee.
type SignedIn struct {
	TenantID, EmployeeID uuid.UUID
	Tokens               TokenPair
}

// TenantChoice lists the tenants a password opened; SelectTenant takes the ticket and one of them.
type TenantChoice struct {
	Ticket    string
	ExpiresAt time.Time
	Tenants   []TenantOption
}

// TenantOption is one tenant to pick: its name and its logo's storage key ("" when it has none).
type TenantOption struct {
	TenantID uuid.UUID
	Name     string
	LogoKey  string
}

// SignInResult is either a signed-in device (Session) or the tenants to choose from (Choice).
type SignInResult struct {
	Session *SignedIn
	Choice  *TenantChoice
}

// Outcome says how a sign-in ended, as its record shows it.
type Outcome string

// The outcomes.
const (
	OutcomeSuccess       Outcome = "success"
	OutcomeWrongPassword Outcome = "wrong_password"
	// OutcomeLocked: refused before the password was checked, after too many failures.
	OutcomeLocked Outcome = "locked"
	// OutcomeDisabled and OutcomeTenantExpired: the password was right, the employee may not sign in.
	OutcomeDisabled      Outcome = "disabled"
	OutcomeTenantExpired Outcome = "tenant_expired"
)

// ticketTTL is how long a person has to pick a tenant after signing in.
const ticketTTL = 5 * time.Minute

// ticketPrefix starts a tenant ticket: "tk1_" + base64url(32-byte secret); only its SHA-256 is stored.
const ticketPrefix = "tk1_"

var (
	// errWrongCredentials is the one answer to an unknown login and to a wrong password.
	errWrongCredentials = platform.Unauthenticated("wrong phone number, email or password")
	errTicketEnded      = platform.Unauthenticated("this sign-in has expired: sign in again")
)

// credential is an employee's password hash, as signin_candidates finds it across tenants.
type credential struct {
	TenantID     uuid.UUID `db:"tenant_id"`
	EmployeeID   uuid.UUID `db:"employee_id"`
	PasswordHash string    `db:"password_hash"`
}

// device is where an attempt comes from, for the sign-in records.
type device struct{ id, name, address string }

func newDevice(id, name, address string) device {
	if utf8.RuneCountInString(name) > 64 {
		name = string([]rune(name)[:64])
	}
	return device{id: id, name: name, address: address}
}

func checkDevice(id string) error {
	if id == "" || len(id) > 128 {
		return platform.Invalid("device_id", "must be 1 to 128 characters")
	}
	return nil
}

// SignIn checks a login and a password. When they open exactly one tenant where the employee may sign in,
// the device is signed in; when several, the answer lists them with a ticket for SelectTenant.
//
// An unknown login and a wrong password are one path: the same failure counters (kept per login whether
// or not anybody has it, and per address), the same argon2id work (a login without a password is checked
// against a dummy hash of the same parameters), the same answer. A disabled employee or an expired tenant
// is told so only after the right password.
func (s *Service) SignIn(ctx context.Context, r SignInRequest) (SignInResult, error) {
	if err := checkDevice(r.DeviceID); err != nil {
		return SignInResult{}, err
	}
	login := loginKey(r.Login)
	keys := []throttleKey{loginThrottle(login, maskLogin(r.Login))}
	if r.Address != "" {
		keys = append(keys, addressThrottle(r.Address))
	}
	wait, err := s.claim(ctx, keys)
	if err != nil {
		return SignInResult{}, err
	}
	creds, err := s.credentials(ctx, login)
	if err != nil {
		if wait == 0 {
			s.settle(ctx, keys, false)
		}
		return SignInResult{}, err
	}
	dev := newDevice(r.DeviceID, r.DeviceName, r.Address)
	if wait > 0 {
		s.record(ctx, creds, OutcomeLocked, dev)
		return SignInResult{}, throttled(wait)
	}
	matched, err := s.check(ctx, creds, r.Password)
	if err != nil {
		s.settle(ctx, keys, false)
		return SignInResult{}, err
	}
	if len(matched) == 0 {
		s.record(ctx, creds, OutcomeWrongPassword, dev)
		return SignInResult{}, errWrongCredentials
	}
	s.settle(ctx, keys, true)
	return s.admit(ctx, matched, dev)
}

// credentials finds the password hashes of the employees, in any tenant, with this login.
func (s *Service) credentials(ctx context.Context, login string) ([]credential, error) {
	if login == "" {
		return nil, nil
	}
	rows, err := s.db.Pool.Query(ctx, "SELECT tenant_id, employee_id, password_hash FROM signin_candidates($1)", login)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[credential])
}

// match is a credential the password matched, with its hash remade when its parameters are outdated.
type match struct {
	credential
	rehash string
}

// check verifies password against each credential's hash, or against the dummy hash when there is none:
// an unknown login and a wrong password run this same loop, over one hash of the same parameters. It
// holds one hashing slot throughout, and remakes the matching hashes whose parameters are outdated.
func (s *Service) check(ctx context.Context, creds []credential, password string) ([]match, error) {
	hashes := creds
	if len(hashes) == 0 {
		hashes = []credential{{PasswordHash: s.pw.dummy}}
	}
	release, err := s.pw.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	var matched []match
	for _, c := range hashes {
		ok, stale := s.pw.verify(c.PasswordHash, password)
		if !ok {
			continue
		}
		m := match{credential: c}
		if stale {
			m.rehash = s.pw.hash(password)
		}
		matched = append(matched, m)
	}
	return matched, nil
}

// admit signs in the employees whose password matched: directly when one of them may sign in, with a
// ticket when several may. Refusals (disabled, tenant expired) come only here, after the right password.
func (s *Service) admit(ctx context.Context, matched []match, dev device) (SignInResult, error) {
	var (
		usable  []match
		options []TenantOption
		refusal error
	)
	for _, m := range matched {
		var emp authdb.GetSignInEmployeeRow
		err := s.db.InTenantTx(ctx, m.TenantID, func(tx pgx.Tx) error {
			q := authdb.New(tx)
			if m.rehash != "" {
				if _, err := q.ReplacePasswordHash(ctx, authdb.ReplacePasswordHashParams{TenantID: m.TenantID,
					EmployeeID: m.EmployeeID, OldHash: m.PasswordHash, NewHash: m.rehash}); err != nil {
					return err
				}
			}
			var err error
			emp, err = q.GetSignInEmployee(ctx, authdb.GetSignInEmployeeParams{TenantID: m.TenantID, EmployeeID: m.EmployeeID})
			return err
		})
		if errors.Is(err, pgx.ErrNoRows) {
			continue // removed since the lookup
		}
		if err != nil {
			return SignInResult{}, err
		}
		if err := s.usable(emp.Status, emp.TenantExpiresAt); err != nil {
			outcome := OutcomeTenantExpired
			if emp.Status != "active" {
				outcome = OutcomeDisabled
			}
			s.record(ctx, []credential{m.credential}, outcome, dev)
			if refusal == nil {
				refusal = err
			}
			continue
		}
		usable = append(usable, m)
		options = append(options, TenantOption{TenantID: m.TenantID, Name: emp.TenantName, LogoKey: emp.LogoKey})
	}
	switch len(usable) {
	case 0:
		if refusal != nil {
			return SignInResult{}, refusal
		}
		return SignInResult{}, errWrongCredentials
	case 1:
		in, err := s.signIn(ctx, usable[0].TenantID, usable[0].EmployeeID, dev)
		if err != nil {
			return SignInResult{}, err
		}
		return SignInResult{Session: &in}, nil
	}
	secret := newSecret()
	exp := s.now().Add(ticketTTL)
	p := authdb.InsertTicketParams{SecretHash: hash(secret), DeviceID: dev.id, DeviceName: dev.name, Address: dev.address, ExpiresAt: exp}
	for _, m := range usable {
		p.TenantIds = append(p.TenantIds, m.TenantID)
		p.EmployeeIds = append(p.EmployeeIds, m.EmployeeID)
	}
	if err := authdb.New(s.db.Pool).InsertTicket(ctx, p); err != nil {
		return SignInResult{}, err
	}
	return SignInResult{Choice: &TenantChoice{Ticket: ticketPrefix + base64.RawURLEncoding.EncodeToString(secret),
		ExpiresAt: exp, Tenants: options}}, nil
}

// SelectTenant signs a device in to one of the tenants a ticket lists. The ticket works once, until it
// expires, from the device that signed in.
func (s *Service) SelectTenant(ctx context.Context, ticket string, tenantID uuid.UUID, deviceID string) (SignedIn, error) {
	if err := checkDevice(deviceID); err != nil {
		return SignedIn{}, err
	}
	rest, ok := strings.CutPrefix(ticket, ticketPrefix)
	secret, err := base64.RawURLEncoding.DecodeString(rest)
	if !ok || err != nil || len(secret) != 32 {
		return SignedIn{}, errTicketEnded
	}
	t, err := authdb.New(s.db.Pool).TakeTicket(ctx, hash(secret))
	if errors.Is(err, pgx.ErrNoRows) {
		return SignedIn{}, errTicketEnded
	}
	if err != nil {
		return SignedIn{}, err
	}
	i := slices.Index(t.TenantIds, tenantID)
	if !s.now().Before(t.ExpiresAt) || t.DeviceID != deviceID || i < 0 || i >= len(t.EmployeeIds) {
		return SignedIn{}, errTicketEnded
	}
	in, err := s.signIn(ctx, tenantID, t.EmployeeIds[i], newDevice(deviceID, t.DeviceName, t.Address))
	if platform.KindOf(err) == platform.KindNotFound {
		return SignedIn{}, errTicketEnded // the employee was removed since
	}
	return in, err
}

// signIn issues the session and records the sign-in.
func (s *Service) signIn(ctx context.Context, tenantID, employeeID uuid.UUID, dev device) (SignedIn, error) {
	pair, err := s.IssueSession(ctx, tenantID, employeeID, dev.id)
	if err != nil {
		return SignedIn{}, err
	}
	s.record(ctx, []credential{{TenantID: tenantID, EmployeeID: employeeID}}, OutcomeSuccess, dev)
	return SignedIn{TenantID: tenantID, EmployeeID: employeeID, Tokens: pair}, nil
}

// record writes an attempt's sign-in records, one per employee it concerned, each in its tenant. An
// attempt on a login nobody has is recorded nowhere (there is nobody to show it to). A record that cannot
// be written is logged: the answer to the sign-in does not depend on it.
func (s *Service) record(ctx context.Context, who []credential, outcome Outcome, dev device) {
	at := s.now()
	for _, c := range who {
		err := s.db.InTenantTx(ctx, c.TenantID, func(tx pgx.Tx) error {
			return authdb.New(tx).InsertSignInRecord(ctx, authdb.InsertSignInRecordParams{
				ID: uuid.Must(uuid.NewV7()), TenantID: c.TenantID, EmployeeID: c.EmployeeID, At: at, Result: string(outcome),
				DeviceID: dev.id, DeviceName: dev.name, Address: dev.address,
			})
		})
		if err != nil {
			s.log.ErrorContext(ctx, "sign-in: write the record", "outcome", outcome, "tenant_id", c.TenantID, "error", err)
		}
	}
}

// SignInRecord is one sign-in attempt of an employee, as admins list them.
type SignInRecord struct {
	ID, EmployeeID uuid.UUID
	EmployeeName   string
	At             time.Time
	Outcome        Outcome
	DeviceID       string
	DeviceName     string
	Address        string
}

// SignInFilter narrows ListSignIns.
type SignInFilter struct {
	// EmployeeID keeps one employee's sign-ins (uuid.Nil: everyone's).
	EmployeeID uuid.UUID
	// PageSize is at most 200; 0 means 50.
	PageSize  int
	PageToken string
}

// ListSignIns pages through the tenant's sign-in records, newest first. Admin only.
func (s *Service) ListSignIns(ctx context.Context, p authn.Principal, f SignInFilter) ([]SignInRecord, string, error) {
	if p.Role != authn.RoleAdmin {
		return nil, "", platform.PermissionDenied("only an admin may list sign-ins")
	}
	size := f.PageSize
	if size <= 0 {
		size = 50
	}
	size = min(size, 200)
	params := authdb.ListSignInsParams{TenantID: p.TenantID, MaxRows: int32(size + 1),
		EmployeeID: uuid.NullUUID{UUID: f.EmployeeID, Valid: f.EmployeeID != uuid.Nil}}
	if f.PageToken != "" {
		at, id, ok := decodeSignInCursor(f.PageToken)
		if !ok {
			return nil, "", platform.Invalid("page_token", "not a token this server issued")
		}
		params.HasCursor, params.BeforeAt, params.BeforeID = true, at, id
	}
	var (
		out  []SignInRecord
		next string
	)
	err := s.db.InTenantSnapshot(ctx, p.TenantID, func(tx pgx.Tx) error {
		rows, err := authdb.New(tx).ListSignIns(ctx, params)
		if err != nil {
			return err
		}
		if len(rows) > size {
			rows = rows[:size]
			last := rows[len(rows)-1]
			next = encodeSignInCursor(last.At, last.ID)
		}
		out = make([]SignInRecord, len(rows))
		for i, r := range rows {
			out[i] = SignInRecord{ID: r.ID, EmployeeID: r.EmployeeID, EmployeeName: r.EmployeeName, At: r.At,
				Outcome: Outcome(r.Result), DeviceID: r.DeviceID, DeviceName: r.DeviceName, Address: r.Address}
		}
		return nil
	})
	return out, next, err
}

// Sign-in page tokens: base64url(microseconds since the epoch | record id), the last row's sort key.
func encodeSignInCursor(at time.Time, id uuid.UUID) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(at.UnixMicro()))
	return base64.RawURLEncoding.EncodeToString(append(b, id[:]...))
}

func decodeSignInCursor(tok string) (time.Time, uuid.UUID, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 24 {
		return time.Time{}, uuid.Nil, false
	}
	id, _ := uuid.FromBytes(b[8:])
	return time.UnixMicro(int64(binary.BigEndian.Uint64(b[:8]))), id, true
}

// PurgeArgs asks for old sign-in data to go (an hourly job): records after 90 days, invitations 30 days
// past their expiry, idle failure counters and expired tickets. purge_signin_data runs as the owner, across
// tenants, and can do nothing else.
type PurgeArgs struct{}

// Kind implements river.JobArgs.
func (PurgeArgs) Kind() string { return "auth_purge" }

// PurgeWorker runs PurgeArgs.
func (s *Service) PurgeWorker() river.Worker[PurgeArgs] {
	return &jobs.Statement[PurgeArgs]{Pool: s.db.Pool, SQL: "SELECT purge_signin_data()"}
}
