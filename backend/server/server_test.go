package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/clientip"
	"github.com/salesapp/scrm/backend/server/servertest"
)

func employees(e *servertest.Env, token string, opts ...connect.ClientOption) salesappv1connect.EmployeeServiceClient {
	return salesappv1connect.NewEmployeeServiceClient(e.HTTP, e.URL, append(opts, servertest.As(token))...)
}

func teams(e *servertest.Env, token string) salesappv1connect.TeamServiceClient {
	return salesappv1connect.NewTeamServiceClient(e.HTTP, e.URL, servertest.As(token))
}

func ping(e *servertest.Env, token string) error {
	_, err := salesappv1connect.NewPingServiceClient(e.HTTP, e.URL, servertest.As(token)).
		Ping(context.Background(), connect.NewRequest(&salesappv1.PingRequest{}))
	return err
}

func requireCode(t *testing.T, err error, code connect.Code, msgContains string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, connect.CodeOf(err), "error: %v", err)
	if msgContains != "" {
		var ce *connect.Error
		require.True(t, errors.As(err, &ce))
		require.Contains(t, ce.Message(), msgContains)
	}
}

func TestRowLevelSecurityHoldsWithoutWhereClauses(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "Tenant A", 0)
	b := e.NewTenant(t, "Tenant B", 0)
	e.NewTeam(t, b.ID, "B team")
	e.NewPerson(t, b.ID, authn.RoleSales, uuid.Nil)

	// The app role owns nothing and cannot bypass RLS.
	var super, bypass bool
	require.NoError(t, e.DB.App.Pool.QueryRow(ctx, "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user").Scan(&super, &bypass))
	require.False(t, super)
	require.False(t, bypass)
	var owned int
	require.NoError(t, e.DB.App.Pool.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tableowner = current_user").Scan(&owned))
	require.Zero(t, owned)

	err := e.DB.App.InTenantTx(ctx, a.ID, func(tx platformTx) error {
		// No WHERE clause: only A's rows come back (A has its admin and their session, and no team).
		for table, want := range map[string]int{"employees": 1, "sessions": 1, "teams": 0} {
			var total, foreign int
			require.NoError(t, tx.QueryRow(ctx, "SELECT count(*), count(*) FILTER (WHERE tenant_id <> $1) FROM "+table, a.ID).Scan(&total, &foreign))
			require.Zero(t, foreign, table)
			require.Equal(t, want, total, table)
		}
		var tenants int
		require.NoError(t, tx.QueryRow(ctx, "SELECT count(*) FROM tenants").Scan(&tenants))
		require.Equal(t, 1, tenants)
		tag, err := tx.Exec(ctx, "UPDATE employees SET title = 'touched'")
		require.NoError(t, err)
		require.EqualValues(t, 1, tag.RowsAffected())
		tag, err = tx.Exec(ctx, "DELETE FROM teams")
		require.NoError(t, err)
		require.Zero(t, tag.RowsAffected())
		return nil
	})
	require.NoError(t, err)

	// Writing a row for another tenant is refused by the policy's WITH CHECK.
	err = e.DB.App.InTenantTx(ctx, a.ID, func(tx platformTx) error {
		_, err := tx.Exec(ctx, "INSERT INTO teams (id, tenant_id, name) VALUES ($1, $2, 'smuggled')", uuid.New(), b.ID)
		return err
	})
	require.True(t, platform.IsRowSecurityViolation(err), "got %v", err)
	// The app role creates a tenant only in a transaction scoped to that tenant (OperatorService, migration
	// 023): from another tenant's transaction the policy refuses it.
	err = e.DB.App.InTenantTx(ctx, a.ID, func(tx platformTx) error {
		_, err := tx.Exec(ctx, "INSERT INTO tenants (id, name, plan, seat_limit, expires_at) VALUES ($1, 'x', 'trial', 1, now())", uuid.New())
		return err
	})
	require.True(t, platform.IsRowSecurityViolation(err), "got %v", err)

	// Outside a tenant transaction the app role sees nothing at all.
	var n int
	require.NoError(t, e.DB.App.Pool.QueryRow(ctx, "SELECT count(*) FROM employees").Scan(&n))
	require.Zero(t, n)

	var untouched int
	require.NoError(t, e.DB.Super.QueryRow(ctx, "SELECT count(*) FROM employees WHERE title = 'touched' AND tenant_id = $1", b.ID).Scan(&untouched))
	require.Zero(t, untouched)
}

func TestInvalidRequestsNameTheField(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "Tenant A", 0)
	c := employees(e, a.Admin.Token)

	_, err := c.CreateEmployee(ctx, connect.NewRequest(&salesappv1.CreateEmployeeRequest{Role: salesappv1.Role_ROLE_SALES}))
	requireCode(t, err, connect.CodeInvalidArgument, "name")
	_, err = c.CreateEmployee(ctx, connect.NewRequest(&salesappv1.CreateEmployeeRequest{Name: "x"}))
	requireCode(t, err, connect.CodeInvalidArgument, "role")
	_, err = c.CreateEmployee(ctx, connect.NewRequest(&salesappv1.CreateEmployeeRequest{Name: "x", Role: salesappv1.Role_ROLE_SALES, Email: "not-an-email"}))
	requireCode(t, err, connect.CodeInvalidArgument, "email")
	_, err = c.GetEmployee(ctx, connect.NewRequest(&salesappv1.GetEmployeeRequest{EmployeeId: "42"}))
	requireCode(t, err, connect.CodeInvalidArgument, "employee_id")
	_, err = c.ListEmployees(ctx, connect.NewRequest(&salesappv1.ListEmployeesRequest{PageSize: 1000}))
	requireCode(t, err, connect.CodeInvalidArgument, "page_size")
	_, err = c.ListEmployees(ctx, connect.NewRequest(&salesappv1.ListEmployeesRequest{PageToken: "garbage!"}))
	requireCode(t, err, connect.CodeInvalidArgument, "page_token")
	_, err = teams(e, a.Admin.Token).CreateTeam(ctx, connect.NewRequest(&salesappv1.CreateTeamRequest{Name: strings.Repeat("x", 65)}))
	requireCode(t, err, connect.CodeInvalidArgument, "name")

	// Nothing was written by the refused calls.
	var n int
	require.NoError(t, e.DB.Super.QueryRow(ctx, "SELECT count(*) FROM employees WHERE tenant_id = $1", a.ID).Scan(&n))
	require.Equal(t, 1, n)
}

func TestBadTokensAreUnauthenticated(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	a := e.NewTenant(t, "Tenant A", 0)

	requireCode(t, ping(e, ""), connect.CodeUnauthenticated, "bearer")
	requireCode(t, ping(e, "v4.local.garbage"), connect.CodeUnauthenticated, "")
	tampered := []byte(a.Admin.Token)
	tampered[len(tampered)-5] ^= 1
	requireCode(t, ping(e, string(tampered)), connect.CodeUnauthenticated, "")

	claims, err := e.Tokens.Verify(a.Admin.Token)
	require.NoError(t, err)
	otherKey := make([]byte, 32)
	otherKey[0] = 1
	forger, err := authn.NewTokens([][]byte{otherKey}, time.Hour, nil)
	require.NoError(t, err)
	forged, _ := forger.Issue(claims)
	requireCode(t, ping(e, forged), connect.CodeUnauthenticated, "")

	past, err := authn.NewTokens(e.Config.TokenKeys, time.Minute, func() time.Time { return time.Now().Add(-2 * time.Hour) })
	require.NoError(t, err)
	expired, _ := past.Issue(claims)
	requireCode(t, ping(e, expired), connect.CodeUnauthenticated, "expired")

	// A well-formed token for a session that does not exist.
	claims.SessionID = uuid.New()
	stranger, _ := e.Tokens.Issue(claims)
	requireCode(t, ping(e, stranger), connect.CodeUnauthenticated, "")

	require.NoError(t, ping(e, a.Admin.Token))
}

func TestLogoutRevokesOnEveryNode(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "Tenant A", 0)
	// A second node on the same database with the same key and no status cache.
	other := servertest.StartOn(t, e.DB, func(c *platform.Config) { c.TokenKeys = e.Config.TokenKeys; c.AuthCacheTTL = 0 })
	require.NoError(t, ping(other, a.Admin.Token))
	require.NoError(t, ping(e, a.Admin.Token))

	_, err := salesappv1connect.NewAuthServiceClient(e.HTTP, e.URL, servertest.As(a.Admin.Token)).
		Logout(ctx, connect.NewRequest(&salesappv1.LogoutRequest{}))
	require.NoError(t, err)
	requireCode(t, ping(e, a.Admin.Token), connect.CodeUnauthenticated, "session")
	requireCode(t, ping(other, a.Admin.Token), connect.CodeUnauthenticated, "session")
	err = refresh(e, a.Admin)
	requireCode(t, err, connect.CodeUnauthenticated, "")
}

func TestRefreshTokenOverRPC(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "Tenant A", 0)
	c := salesappv1connect.NewAuthServiceClient(e.HTTP, e.URL)

	_, err := c.RefreshToken(ctx, connect.NewRequest(&salesappv1.RefreshTokenRequest{RefreshToken: a.Admin.RefreshToken, DeviceId: "another-device"}))
	requireCode(t, err, connect.CodeUnauthenticated, "")
	resp, err := c.RefreshToken(ctx, connect.NewRequest(&salesappv1.RefreshTokenRequest{RefreshToken: a.Admin.RefreshToken, DeviceId: a.Admin.DeviceID}))
	require.NoError(t, err)
	require.NotEqual(t, a.Admin.RefreshToken, resp.Msg.Tokens.RefreshToken)
	require.NoError(t, ping(e, resp.Msg.Tokens.AccessToken))
	_, err = c.RefreshToken(ctx, connect.NewRequest(&salesappv1.RefreshTokenRequest{RefreshToken: "rt1_" + strings.Repeat("A", 40), DeviceId: "d"}))
	requireCode(t, err, connect.CodeUnauthenticated, "")
	_, err = c.RefreshToken(ctx, connect.NewRequest(&salesappv1.RefreshTokenRequest{RefreshToken: "short", DeviceId: "d"}))
	requireCode(t, err, connect.CodeInvalidArgument, "refresh_token")
}

func TestDisabledEmployeeIsRefused(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "Tenant A", 0)
	sales := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	require.NoError(t, ping(e, sales.Token))

	_, err := employees(e, a.Admin.Token).SetEmployeeStatus(ctx, connect.NewRequest(&salesappv1.SetEmployeeStatusRequest{
		EmployeeId: sales.ID.String(), Status: salesappv1.EmployeeStatus_EMPLOYEE_STATUS_DISABLED}))
	require.NoError(t, err)
	requireCode(t, ping(e, sales.Token), connect.CodePermissionDenied, "disabled")
	err = refresh(e, sales)
	requireCode(t, err, connect.CodePermissionDenied, "disabled")
	_, err = e.Sessions.IssueSession(ctx, a.ID, sales.ID, "new-device")
	require.Equal(t, platform.KindPermissionDenied, platform.KindOf(err))

	// Enabled again, they sign in afresh: the old session stays ended.
	_, err = employees(e, a.Admin.Token).SetEmployeeStatus(ctx, connect.NewRequest(&salesappv1.SetEmployeeStatusRequest{
		EmployeeId: sales.ID.String(), Status: salesappv1.EmployeeStatus_EMPLOYEE_STATUS_ACTIVE}))
	require.NoError(t, err)
	requireCode(t, ping(e, sales.Token), connect.CodeUnauthenticated, "session")
	pair, err := e.Sessions.IssueSession(ctx, a.ID, sales.ID, "new-device")
	require.NoError(t, err)
	require.NoError(t, ping(e, pair.AccessToken))
}

func TestExpiredTenantIsRefused(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t, func(c *platform.Config) { c.AuthCacheTTL = 0 })
	ctx := context.Background()
	a := e.NewTenant(t, "Tenant A", 0)
	require.NoError(t, ping(e, a.Admin.Token))
	_, err := e.DB.Super.Exec(ctx, "UPDATE tenants SET expires_at = now() - interval '1 day' WHERE id = $1", a.ID)
	require.NoError(t, err)
	requireCode(t, ping(e, a.Admin.Token), connect.CodePermissionDenied, "expired")
	err = refresh(e, a.Admin)
	requireCode(t, err, connect.CodePermissionDenied, "expired")
}

func TestSameRPCOverConnectGRPCAndGRPCWeb(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "Tenant A", 0)
	cases := map[string]salesappv1connect.MeServiceClient{
		"connect-http1": salesappv1connect.NewMeServiceClient(e.HTTP1, e.URL, servertest.As(a.Admin.Token)),
		"connect-h2c":   salesappv1connect.NewMeServiceClient(e.HTTP, e.URL, servertest.As(a.Admin.Token)),
		"connect-proto": salesappv1connect.NewMeServiceClient(e.HTTP1, e.URL, servertest.As(a.Admin.Token), connect.WithProtoJSON()),
		"grpc":          salesappv1connect.NewMeServiceClient(e.HTTP, e.URL, servertest.As(a.Admin.Token), connect.WithGRPC()),
		"grpc-web":      salesappv1connect.NewMeServiceClient(e.HTTP1, e.URL, servertest.As(a.Admin.Token), connect.WithGRPCWeb()),
	}
	for name, c := range cases {
		resp, err := c.GetMe(ctx, connect.NewRequest(&salesappv1.GetMeRequest{}))
		require.NoError(t, err, name)
		assert.Equal(t, a.Admin.ID.String(), resp.Msg.Employee.Id, name)
		assert.Equal(t, "Tenant A", resp.Msg.Tenant.Name, name)
		assert.EqualValues(t, 1, resp.Msg.Tenant.SeatsUsed, name)
	}
	// Errors keep their codes over gRPC too.
	_, err := employees(e, "", connect.WithGRPC()).ListEmployees(ctx, connect.NewRequest(&salesappv1.ListEmployeesRequest{}))
	requireCode(t, err, connect.CodeUnauthenticated, "")
	_, err = employees(e, a.Admin.Token, connect.WithGRPC()).GetEmployee(ctx, connect.NewRequest(&salesappv1.GetEmployeeRequest{EmployeeId: "x"}))
	requireCode(t, err, connect.CodeInvalidArgument, "employee_id")
}

// TestReflectionListsEveryService takes the services from the compiled protos, so a service added to the
// API and not to the server's modules fails here.
func TestReflectionListsEveryService(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	stream := grpcreflect.NewClient(e.HTTP, e.OperatorURL).NewStream(context.Background())
	defer stream.Close()
	names, err := stream.ListServices()
	require.NoError(t, err)
	got := map[string]bool{}
	for _, n := range names {
		got[string(n)] = true
	}
	var want []string
	protoregistry.GlobalFiles.RangeFilesByPackage(salesappv1.File_salesapp_v1_ping_proto.Package(), func(f protoreflect.FileDescriptor) bool {
		for i := 0; i < f.Services().Len(); i++ {
			want = append(want, string(f.Services().Get(i).FullName()))
		}
		return true
	})
	require.GreaterOrEqual(t, len(want), 15, "the API's services were not found in the registry")
	for _, w := range want {
		assert.True(t, got[w], "reflection does not list %s", w)
		files, err := stream.FileContainingSymbol(protoreflect.FullName(w))
		require.NoError(t, err, w)
		require.NotEmpty(t, files, w)
	}
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	a := e.NewTenant(t, "Tenant A", 0)
	require.NoError(t, ping(e, a.Admin.Token))
	requireCode(t, ping(e, ""), connect.CodeUnauthenticated, "")

	getFrom := func(base, path string) (int, string) {
		resp, err := e.HTTP1.Get(base + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	get := func(path string) (int, string) { return getFrom(e.OperatorURL, path) }
	// The public port answers liveness only: readiness, metrics and reflection are the operator's.
	code, _ := getFrom(e.URL, "/healthz")
	require.Equal(t, http.StatusOK, code)
	for _, path := range []string{"/readyz", "/metrics"} {
		code, _ = getFrom(e.URL, path)
		require.Equal(t, http.StatusNotFound, code, path)
	}
	_, err := grpcreflect.NewClient(e.HTTP, e.URL).NewStream(context.Background()).ListServices()
	require.Error(t, err, "no reflection on the public port")

	code, _ = get("/healthz")
	require.Equal(t, http.StatusOK, code)
	code, body := get("/readyz")
	require.Equal(t, http.StatusOK, code, body)
	code, body = get("/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `salesd_rpc_requests_total{code="ok",procedure="/salesapp.v1.PingService/Ping"} 1`)
	require.Contains(t, body, `salesd_rpc_requests_total{code="unauthenticated",procedure="/salesapp.v1.PingService/Ping"} 1`)
	require.Contains(t, body, `salesd_rpc_duration_seconds_bucket{code="ok",procedure="/salesapp.v1.PingService/Ping"`)
}

func TestPublicProceduresAreRateLimitedPerIP(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t, func(c *platform.Config) { c.PublicRate, c.PublicBurst = 0.01, 3 })
	a := e.NewTenant(t, "Tenant A", 0)
	bogus := servertest.Person{RefreshToken: "rt1_" + strings.Repeat("A", 86), DeviceID: "d"}
	for range 3 {
		requireCode(t, refresh(e, bogus), connect.CodeUnauthenticated, "")
	}
	requireCode(t, refresh(e, bogus), connect.CodeResourceExhausted, "too many requests")
	requireCode(t, refresh(e, a.Admin), connect.CodeResourceExhausted, "")
	// Authenticated procedures are not limited by it.
	for range 5 {
		require.NoError(t, ping(e, a.Admin.Token))
	}
}

func ptr[T any](v T) *T { return &v }

// Behind a trusted proxy, the limit is per client it names, not per proxy; a client cannot escape its
// limit by naming someone else, because only what the trusted proxy appended is believed.
func TestPerIPLimitsKeyOnTheClientBehindTrustedProxies(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t, func(c *platform.Config) {
		c.PublicRate, c.PublicBurst = 0.01, 2
		var err error
		c.TrustedProxies, err = clientip.Parse("127.0.0.1, ::1") // the test's client is the "proxy"
		require.NoError(t, err)
	})
	bogus := servertest.Person{RefreshToken: "rt1_" + strings.Repeat("A", 86), DeviceID: "d"}
	from := func(xff string) error {
		req := connect.NewRequest(&salesappv1.RefreshTokenRequest{RefreshToken: bogus.RefreshToken, DeviceId: bogus.DeviceID})
		req.Header().Set("X-Forwarded-For", xff)
		_, err := salesappv1connect.NewAuthServiceClient(e.HTTP, e.URL).RefreshToken(context.Background(), req)
		return err
	}
	for range 2 {
		requireCode(t, from("198.51.100.7"), connect.CodeUnauthenticated, "")
	}
	requireCode(t, from("198.51.100.7"), connect.CodeResourceExhausted, "too many requests")
	requireCode(t, from("6.6.6.6, 198.51.100.7"), connect.CodeResourceExhausted, "") // a forged hop changes nothing
	requireCode(t, from("198.51.100.8"), connect.CodeUnauthenticated, "")            // another customer: a bucket of their own
}

func refresh(e *servertest.Env, p servertest.Person) error {
	_, err := salesappv1connect.NewAuthServiceClient(e.HTTP, e.URL).RefreshToken(context.Background(), connect.NewRequest(
		&salesappv1.RefreshTokenRequest{RefreshToken: p.RefreshToken, DeviceId: p.DeviceID}))
	return err
}
