// Package operator is the platform's own staff (operators) and what they do to run the SaaS. Operators
// belong to no tenant: they sign in with an email and a password and get operator tokens (authn), which only
// OperatorService accepts.
package operator

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/salesapp/scrm/backend/operator/internal/operatordb"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
)

// Passwords hashes and checks passwords (backend/auth's argon2id, with its bound on concurrent hashing).
type Passwords interface {
	HashPassword(ctx context.Context, password string) (string, error)
	// CheckPassword checks password against stored; an empty stored costs what a wrong password costs.
	CheckPassword(ctx context.Context, stored, password string) (bool, error)
}

// Account is one operator.
type Account struct {
	ID        uuid.UUID
	Email     string
	CreatedAt time.Time
}

// MinPasswordLen is the shortest operator password: operators act on every tenant.
const MinPasswordLen = 12

// Service signs operators in and checks their tokens.
type Service struct {
	db     *platform.DB
	pw     Passwords
	tokens *authn.Tokens
}

// NewService builds the service on the application role's pool.
func NewService(db *platform.DB, pw Passwords, tokens *authn.Tokens) *Service {
	return &Service{db: db, pw: pw, tokens: tokens}
}

// normalEmail is the email as stored: trimmed and lower case.
func normalEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// Create makes an operator account. It runs as the table owner (the application role may only read
// operators): it is for salesctl, not for RPCs.
func Create(ctx context.Context, owner *pgxpool.Pool, pw Passwords, email, password string) (Account, error) {
	email = normalEmail(email)
	if len(email) < 3 || len(email) > 254 || !strings.Contains(email, "@") {
		return Account{}, platform.Invalid("email", "must be an email address")
	}
	if len(password) < MinPasswordLen || len(password) > 128 {
		return Account{}, platform.Invalid("password", "must have 12 to 128 characters")
	}
	hash, err := pw.HashPassword(ctx, password)
	if err != nil {
		return Account{}, err
	}
	row, err := operatordb.New(owner).InsertOperator(ctx, operatordb.InsertOperatorParams{
		ID: uuid.Must(uuid.NewV7()), Email: email, PasswordHash: hash})
	if platform.IsUniqueViolation(err, "operators_email_key") {
		return Account{}, platform.AlreadyExists("an operator with this email already exists")
	}
	if err != nil {
		return Account{}, err
	}
	return Account{ID: row.ID, Email: row.Email, CreatedAt: row.CreatedAt}, nil
}

// SetDisabled disables an operator account (its tokens stop working at once, as CheckOperator reads the
// account on every call) or enables it again. Like Create, it runs as the table owner: it is for salesctl.
func SetDisabled(ctx context.Context, owner *pgxpool.Pool, email string, disabled bool) error {
	n, err := operatordb.New(owner).SetOperatorDisabled(ctx, operatordb.SetOperatorDisabledParams{Disable: disabled, Email: normalEmail(email)})
	if err == nil && n == 0 {
		return platform.NotFound("operator")
	}
	return err
}

// errSignIn is the one answer to a wrong email or password, so that neither is revealed.
var errSignIn = platform.Unauthenticated("wrong email or password")

// SignIn checks an operator's email and password and issues an operator token. An unknown email costs what
// a wrong password costs.
func (s *Service) SignIn(ctx context.Context, email, password string) (Account, string, time.Time, error) {
	row, err := operatordb.New(s.db.Pool).OperatorByEmail(ctx, normalEmail(email))
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return Account{}, "", time.Time{}, err
	}
	ok, err := s.pw.CheckPassword(ctx, row.PasswordHash, password)
	if err != nil {
		return Account{}, "", time.Time{}, err
	}
	if !ok || row.ID == uuid.Nil {
		return Account{}, "", time.Time{}, errSignIn
	}
	token, exp := s.tokens.IssueOperator(row.ID)
	return Account{ID: row.ID, Email: row.Email}, token, exp, nil
}

// CheckOperator implements authn.OperatorChecker: the token's operator must still exist and be enabled.
func (s *Service) CheckOperator(ctx context.Context, id uuid.UUID) (authn.Operator, error) {
	row, err := operatordb.New(s.db.Pool).OperatorByID(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return authn.Operator{}, platform.Unauthenticated("this operator account is disabled or gone")
	}
	if err != nil {
		return authn.Operator{}, err
	}
	return authn.Operator{ID: row.ID, Email: row.Email}, nil
}
