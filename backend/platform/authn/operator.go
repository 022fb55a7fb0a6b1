package authn

import (
	"context"
	"strings"
	"time"

	"aidanwoods.dev/go-paseto"
	"connectrpc.com/connect"
	"github.com/google/uuid"

	"github.com/salesapp/scrm/backend/platform"
)

// Operator tokens are the platform's own staff's: they sign in to OperatorService, belong to no tenant and
// may never pass as an employee's access token, nor an access token as theirs. The two kinds are kept apart
// twice: by the implicit assertion (a token sealed for one purpose does not open for the other, whatever its
// claims say) and by a kind claim checked after it.
const (
	operatorImplicit = "salesapp operator v1"
	claimKind        = "kind"
	kindOperator     = "operator"
)

// Operator is the authenticated operator: one of the platform's staff.
type Operator struct {
	ID    uuid.UUID
	Email string
}

type operatorKey struct{}

// WithOperator returns a context carrying o.
func WithOperator(ctx context.Context, o Operator) context.Context {
	return context.WithValue(ctx, operatorKey{}, o)
}

// OperatorFrom returns the operator, if the request was authenticated by an operator token.
func OperatorFrom(ctx context.Context) (Operator, bool) {
	o, ok := ctx.Value(operatorKey{}).(Operator)
	return o, ok
}

// RequireOperator returns the operator or Unauthenticated (behind the operator authenticator, the error
// means a procedure was wrongly listed as public).
func RequireOperator(ctx context.Context) (Operator, error) {
	o, ok := OperatorFrom(ctx)
	if !ok {
		return Operator{}, platform.Unauthenticated("operator authentication required")
	}
	return o, nil
}

// IssueOperator mints an operator token for operatorID (its lifetime is the access tokens' TTL).
func (t *Tokens) IssueOperator(operatorID uuid.UUID) (string, time.Time) {
	now := t.now()
	exp := now.Add(t.ttl).Truncate(time.Second)
	tok := paseto.NewToken()
	tok.SetIssuedAt(now)
	tok.SetNotBefore(now.Add(-time.Minute))
	tok.SetExpiration(exp)
	tok.SetSubject(operatorID.String())
	tok.SetString(claimKind, kindOperator)
	return tok.V4Encrypt(t.keys[0], []byte(operatorImplicit)), exp
}

// VerifyOperator checks an operator token and returns its operator's id. An employee's access token fails.
func (t *Tokens) VerifyOperator(token string) (uuid.UUID, error) {
	parser := paseto.MakeParser([]paseto.Rule{paseto.ValidAt(t.now())})
	var (
		tok *paseto.Token
		err error
	)
	for _, k := range t.keys {
		if tok, err = parser.ParseV4Local(k, token, []byte(operatorImplicit)); err == nil {
			break
		}
	}
	if err != nil {
		return uuid.Nil, ErrInvalidToken
	}
	if kind, err := tok.GetString(claimKind); err != nil || kind != kindOperator {
		return uuid.Nil, ErrInvalidToken
	}
	sub, err := tok.GetSubject()
	if err != nil {
		return uuid.Nil, ErrInvalidToken
	}
	id, err := uuid.Parse(sub)
	if err != nil {
		return uuid.Nil, ErrInvalidToken
	}
	return id, nil
}

// OperatorChecker turns a verified operator id into the operator as the database knows them now: it
// refuses disabled or deleted operators.
type OperatorChecker interface {
	CheckOperator(ctx context.Context, id uuid.UUID) (Operator, error)
}

// OperatorAuthenticator checks operator tokens on every procedure of the services it guards except the
// public ones (operator sign-in). It is the only authenticator of those services: the tenant
// [Authenticator] passes them by (see [Authenticator.Except]), so an employee's token reaches none of them.
type OperatorAuthenticator struct {
	tokens  *Tokens
	checker OperatorChecker
	public  map[string]bool
}

// NewOperatorAuthenticator builds the operator authenticator; publicProcedures need no token.
func NewOperatorAuthenticator(tokens *Tokens, checker OperatorChecker, publicProcedures ...string) *OperatorAuthenticator {
	pub := make(map[string]bool, len(publicProcedures))
	for _, p := range publicProcedures {
		pub[p] = true
	}
	return &OperatorAuthenticator{tokens: tokens, checker: checker, public: pub}
}

// Authenticate checks an Authorization header value ("Bearer <operator token>").
func (a *OperatorAuthenticator) Authenticate(ctx context.Context, authorization string) (Operator, error) {
	token, ok := strings.CutPrefix(authorization, "Bearer ")
	if !ok || token == "" {
		return Operator{}, platform.Unauthenticated("missing bearer token: send Authorization: Bearer <operator token>")
	}
	id, err := a.tokens.VerifyOperator(token)
	if err != nil {
		return Operator{}, platform.Unauthenticated("invalid or expired operator token (an employee's token is not one): sign in as an operator")
	}
	return a.checker.CheckOperator(ctx, id)
}

// WrapUnary implements connect.Interceptor.
func (a *OperatorAuthenticator) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient || a.public[req.Spec().Procedure] {
			return next(ctx, req)
		}
		o, err := a.Authenticate(ctx, req.Header().Get("Authorization"))
		if err != nil {
			return nil, err
		}
		return next(WithAddress(WithOperator(ctx, o), hostOf(req.Peer().Addr)), req)
	}
}

// WrapStreamingClient implements connect.Interceptor.
func (a *OperatorAuthenticator) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler implements connect.Interceptor.
func (a *OperatorAuthenticator) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if a.public[conn.Spec().Procedure] {
			return next(ctx, conn)
		}
		o, err := a.Authenticate(ctx, conn.RequestHeader().Get("Authorization"))
		if err != nil {
			return err
		}
		return next(WithAddress(WithOperator(ctx, o), hostOf(conn.Peer().Addr)), conn)
	}
}
