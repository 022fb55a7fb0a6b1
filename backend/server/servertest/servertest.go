// Package servertest runs the whole salesd application in a test: a real PostgreSQL database of its own
// (pgtest), the real handler stack on an httptest server speaking HTTP/1.1 and cleartext HTTP/2, and
// helpers to make tenants and signed-in employees.
package servertest

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"

	"github.com/salesapp/scrm/backend/auth"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/platform/sealed"
	"github.com/salesapp/scrm/backend/server"
	"github.com/salesapp/scrm/backend/tenant"
	"github.com/salesapp/scrm/backend/wecom/wecomtest"
	"github.com/salesapp/scrm/media"
	"github.com/salesapp/scrm/media/miniotest"
	"github.com/salesapp/scrm/push/sender"
)

// Env is one running application.
type Env struct {
	DB     *pgtest.DB
	Server *server.Server
	Config platform.Config
	// URL is the base URL of the httptest server.
	URL string
	// OperatorURL is the base URL of the operator's routes (/readyz, /metrics, reflection).
	OperatorURL string
	// HTTP talks cleartext HTTP/2 to the server (what gRPC needs; Connect works on it too).
	HTTP *http.Client
	// HTTP1 talks HTTP/1.1.
	HTTP1 *http.Client
	// Store is the object storage (a real MinIO).
	Store *media.Store
	// Tenants, Sessions and Tokens are the accounts services on the same database and keys, for setting up
	// tenants and people without going through RPCs.
	Tenants  *tenant.Service
	Sessions *auth.Service
	Tokens   *authn.Tokens
	// WeCom is the fake WeCom API the server calls (SALESD_WECOM_API_URL), for tenants configured with its
	// CorpID and wecomtest.ContactSecret.
	WeCom *wecomtest.Server
}

// Option adjusts the configuration before the server starts.
type Option func(*platform.Config)

// Start runs the application on a fresh database; everything stops when the test ends.
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	db := pgtest.New(t)
	return StartOn(t, db, opts...)
}

// StartWithSender runs the application with snd pushing alerts (a recording fake, in tests).
func StartWithSender(t testing.TB, snd sender.Sender, opts ...Option) *Env {
	t.Helper()
	return start(t, pgtest.New(t), snd, opts...)
}

// StartOn runs another application node on an existing database (for multi-node tests).
func StartOn(t testing.TB, db *pgtest.DB, opts ...Option) *Env {
	t.Helper()
	return start(t, db, nil, opts...)
}

func start(t testing.TB, db *pgtest.DB, snd sender.Sender, opts ...Option) *Env {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	cfg := platform.Config{
		DatabaseURL: db.AppURL, MigrateDatabaseURL: db.OwnerURL, TokenKeys: [][]byte{key},
		AccessTokenTTL: 15 * time.Minute, RefreshTokenTTL: 24 * time.Hour, AuthCacheTTL: 5 * time.Second,
		ShutdownTimeout: 5 * time.Second, PublicRate: 1000, PublicBurst: 1000, VisitorRate: 1000, VisitorBurst: 1000,
		PublicBaseURL: "https://share.example.com", PublicPageTTL: 0, LogLevel: slog.LevelWarn, LogFormat: "text",
		// Cheap hashes: tests check the rules, not argon2id's cost (and -race makes it slow).
		Passwords:  platform.PasswordConfig{Time: 1, MemoryKiB: 64, Threads: 1, Slots: 2, Queue: 64},
		SecretKeys: []sealed.Key{{ID: "test", Secret: secret}},
		// WeCom callbacks per tenant: tests send bursts.
		WeComCallbackRate: 1000, WeComCallbackBurst: 1000,
	}
	fakeWeCom := wecomtest.New(t)
	cfg.WeComAPIURL = fakeWeCom.URL
	for _, o := range opts {
		o(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: cfg.LogLevel}))
	}
	store, err := media.New(context.Background(), miniotest.New(t))
	if err != nil {
		t.Fatalf("servertest: object store: %v", err)
	}
	srv, err := server.New(cfg, log, db.App, store, server.Options{Sender: snd})
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	if err := srv.StartWorkers(context.Background()); err != nil {
		t.Fatalf("servertest: workers: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.StopWorkers(ctx)
	})
	ts := httptest.NewUnstartedServer(srv.Handler)
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	ts.Config.Protocols = &p
	ts.Start()
	t.Cleanup(ts.Close)
	ops := httptest.NewUnstartedServer(srv.Operator)
	ops.Config.Protocols = &p
	ops.Start()
	t.Cleanup(ops.Close)

	var h2 http.Protocols
	h2.SetUnencryptedHTTP2(true)
	c2 := &http.Client{Transport: &http.Transport{Protocols: &h2}}
	c1 := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(c2.CloseIdleConnections)
	t.Cleanup(c1.CloseIdleConnections)
	tenants, sessions, tokens, err := server.Accounts(cfg, db.App)
	if err != nil {
		t.Fatalf("servertest: accounts: %v", err)
	}
	return &Env{WeCom: fakeWeCom, DB: db, Server: srv, Config: cfg, URL: ts.URL, OperatorURL: ops.URL, HTTP: c2, HTTP1: c1, Store: store,
		Tenants: tenants, Sessions: sessions, Tokens: tokens}
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }

// Person is a signed-in employee.
type Person struct {
	TenantID, ID uuid.UUID
	Role         authn.Role
	TeamID       uuid.UUID
	// Token is a valid access token; RefreshToken its session's refresh token, bound to DeviceID.
	Token, RefreshToken, DeviceID string
	// SessionID names the session.
	SessionID uuid.UUID
}

// Tenant is a tenant with its first admin.
type Tenant struct {
	ID    uuid.UUID
	Admin Person
}

// NewTenant creates a tenant with 10 seats (unless seats > 0), valid for a year, and its admin.
func (e *Env) NewTenant(t testing.TB, name string, seats int) Tenant {
	t.Helper()
	if seats <= 0 {
		seats = 10
	}
	tn, err := tenant.CreateTenant(context.Background(), e.DB.Owner, tenant.NewTenant{
		Name: name, Plan: tenant.PlanEnterprise, SeatLimit: seats, ExpiresAt: time.Now().AddDate(1, 0, 0),
	})
	if err != nil {
		t.Fatalf("servertest: create tenant: %v", err)
	}
	return Tenant{ID: tn.ID, Admin: e.NewPerson(t, tn.ID, authn.RoleAdmin, uuid.Nil)}
}

// NewTeam creates a team in the tenant.
func (e *Env) NewTeam(t testing.TB, tenantID uuid.UUID, name string) uuid.UUID {
	t.Helper()
	tm, err := e.Tenants.Bootstrap().CreateTeam(context.Background(), tenantID, name)
	if err != nil {
		t.Fatalf("servertest: create team: %v", err)
	}
	return tm.ID
}

// NewPerson creates an employee and signs them in on a device of their own.
func (e *Env) NewPerson(t testing.TB, tenantID uuid.UUID, role authn.Role, teamID uuid.UUID) Person {
	t.Helper()
	ctx := context.Background()
	emp, err := e.Tenants.Bootstrap().CreateEmployee(ctx, tenantID, tenant.NewEmployee{
		Name: fmt.Sprintf("%s %s", role, uuid.NewString()[:8]), Role: role, TeamID: teamID,
	})
	if err != nil {
		t.Fatalf("servertest: create employee: %v", err)
	}
	return e.SignIn(t, Person{TenantID: tenantID, ID: emp.ID, Role: role, TeamID: teamID}, "device-"+uuid.NewString()[:8])
}

// SignIn signs p's employee in again, on another device: the same person with a session of its own.
func (e *Env) SignIn(t testing.TB, p Person, device string) Person {
	t.Helper()
	pair, err := e.Sessions.IssueSession(context.Background(), p.TenantID, p.ID, device)
	if err != nil {
		t.Fatalf("servertest: sign in: %v", err)
	}
	claims, err := e.Tokens.Verify(pair.AccessToken)
	if err != nil {
		t.Fatalf("servertest: sign in: %v", err)
	}
	p.Token, p.RefreshToken, p.DeviceID, p.SessionID = pair.AccessToken, pair.RefreshToken, device, claims.SessionID
	return p
}

// SetLogin gives an employee a phone number (their login) and a password, as if they had accepted their
// invitation.
func (e *Env) SetLogin(t testing.TB, tenantID, employeeID uuid.UUID, phone, password string) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.DB.Super.Exec(ctx, "UPDATE employees SET phone = $3 WHERE tenant_id = $1 AND id = $2", tenantID, employeeID, phone); err != nil {
		t.Fatalf("servertest: set phone: %v", err)
	}
	if err := e.Sessions.SetPassword(ctx, tenantID, employeeID, password); err != nil {
		t.Fatalf("servertest: set password: %v", err)
	}
}

// As returns a client option that sends token as the bearer token.
func As(token string) connect.ClientOption {
	return connect.WithInterceptors(bearer(token))
}

type bearer string

func (b bearer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if b != "" {
			req.Header().Set("Authorization", "Bearer "+string(b))
		}
		return next(ctx, req)
	}
}

func (b bearer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		if b != "" {
			conn.RequestHeader().Set("Authorization", "Bearer "+string(b))
		}
		return conn
	}
}

func (b bearer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}
