package authn

import (
	"context"
	"net"
	"strings"

	"connectrpc.com/connect"

	"github.com/salesapp/scrm/backend/platform"
)

// Checker turns verified claims into the caller as the database knows them now: it refuses ended
// sessions (Unauthenticated), disabled employees and expired tenants (PermissionDenied).
type Checker interface {
	Check(ctx context.Context, c Claims) (Principal, error)
}

// Authenticator checks bearer tokens on every procedure except the public ones.
type Authenticator struct {
	tokens  *Tokens
	checker Checker
	public  map[string]bool
	// others are the path prefixes ("/salesapp.v1.OperatorService/") of services another authenticator
	// guards in place of this one.
	others []string
	// features puts procedures (or services, by path prefix) behind plan features (Gate).
	features map[string]Feature
}

// Except leaves the named services (full names, salesapp.v1.OperatorService) to their own authenticator
// (the operator's): this one passes their procedures by, neither asking for an employee's token nor
// putting an employee in the context, and that authenticator alone decides who may call them.
func (a *Authenticator) Except(services ...string) *Authenticator {
	for _, s := range services {
		a.others = append(a.others, "/"+s+"/")
	}
	return a
}

// skips reports whether procedure needs no employee's token here.
func (a *Authenticator) skips(procedure string) bool {
	if a.public[procedure] {
		return true
	}
	for _, p := range a.others {
		if strings.HasPrefix(procedure, p) {
			return true
		}
	}
	return false
}

// NewAuthenticator builds the authenticator; publicProcedures (full procedure names such as
// "/salesapp.v1.AuthService/RefreshToken") need no token.
func NewAuthenticator(tokens *Tokens, checker Checker, publicProcedures ...string) *Authenticator {
	pub := make(map[string]bool, len(publicProcedures))
	for _, p := range publicProcedures {
		pub[p] = true
	}
	return &Authenticator{tokens: tokens, checker: checker, public: pub}
}

// Authenticate checks an Authorization header value ("Bearer <token>").
func (a *Authenticator) Authenticate(ctx context.Context, authorization string) (Principal, error) {
	token, ok := strings.CutPrefix(authorization, "Bearer ")
	if !ok || token == "" {
		return Principal{}, platform.Unauthenticated("missing bearer token: send Authorization: Bearer <access token>")
	}
	claims, err := a.tokens.Verify(token)
	if err != nil {
		return Principal{}, platform.Unauthenticated("invalid or expired access token: refresh it or sign in again")
	}
	return a.checker.Check(ctx, claims)
}

// WrapUnary implements connect.Interceptor.
func (a *Authenticator) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient || a.skips(req.Spec().Procedure) {
			return next(ctx, req)
		}
		p, err := a.Authenticate(ctx, req.Header().Get("Authorization"))
		if err != nil {
			return nil, err
		}
		if err := a.admit(p, req.Spec().Procedure); err != nil {
			return nil, err
		}
		return next(WithAddress(WithPrincipal(ctx, p), hostOf(req.Peer().Addr)), req)
	}
}

// WrapStreamingClient implements connect.Interceptor.
func (a *Authenticator) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler implements connect.Interceptor.
func (a *Authenticator) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if a.skips(conn.Spec().Procedure) {
			return next(ctx, conn)
		}
		p, err := a.Authenticate(ctx, conn.RequestHeader().Get("Authorization"))
		if err != nil {
			return err
		}
		if err := a.admit(p, conn.Spec().Procedure); err != nil {
			return err
		}
		return next(WithAddress(WithPrincipal(ctx, p), hostOf(conn.Peer().Addr)), conn)
	}
}

// Require returns the caller or an Unauthenticated error (for handlers behind the authenticator, the
// error means a procedure was wrongly listed as public).
func Require(ctx context.Context) (Principal, error) {
	p, ok := FromContext(ctx)
	if !ok {
		return Principal{}, platform.Unauthenticated("authentication required")
	}
	return p, nil
}

// RequireRole returns the caller when they hold one of the roles, else PermissionDenied.
func RequireRole(ctx context.Context, roles ...Role) (Principal, error) {
	p, err := Require(ctx)
	if err != nil {
		return p, err
	}
	for _, r := range roles {
		if p.Role == r {
			return p, nil
		}
	}
	return p, platform.PermissionDenied("your role (" + string(p.Role) + ") may not do this")
}

// hostOf is the host part of a peer address ("1.2.3.4:5678" → "1.2.3.4").
func hostOf(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}
