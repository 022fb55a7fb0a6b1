// Package server assembles salesd: every domain's Connect handler behind the shared interceptors, gRPC
// reflection, health, readiness and metrics, on one HTTP server speaking HTTP/1.1 and cleartext HTTP/2
// (so Connect, gRPC and gRPC-Web all work on the same port).
package server

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"
	"connectrpc.com/validate"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/salesapp/scrm/backend/auth"
	"github.com/salesapp/scrm/backend/handover"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/platform/module"
	"github.com/salesapp/scrm/backend/platform/ratelimit"
	"github.com/salesapp/scrm/backend/platform/rpcserver"
	"github.com/salesapp/scrm/backend/tenant"
	"github.com/salesapp/scrm/backend/wecom/transfer"
	"github.com/salesapp/scrm/media"
	"github.com/salesapp/scrm/push/alert/alertrpc"
	"github.com/salesapp/scrm/push/sender"
)

// maxRequestBytes caps any RPC request body: the app sends small messages, and large uploads go to object
// storage by presigned URL, never through salesd.
const maxRequestBytes = 4 << 20

// Server is salesd's assembled application.
type Server struct {
	// Handler serves the public port: the API, the pages, beacons, /healthz (and, under SALESD_DEV, the
	// operator's routes too).
	Handler http.Handler
	// Operator serves the operator's routes: /readyz, /metrics, gRPC reflection and /healthz.
	Operator http.Handler

	db      *platform.DB
	log     *slog.Logger
	queue   *jobs.Queue
	modules []module.Module
}

// Options are the optional parts New takes.
type Options struct {
	// Sender pushes alerts to devices; nil logs instead (development).
	Sender sender.Sender
	// JobsDB is the pool River's runner works jobs through; nil shares db's.
	JobsDB *platform.DB
}

// Accounts builds the tenant and sign-in services alone, for tools that create tenants and issue
// sessions without serving (salesctl, salesbench's setup, tests).
func Accounts(cfg platform.Config, db *platform.DB) (*tenant.Service, *auth.Service, *authn.Tokens, error) {
	return accounts(cfg, db, nil, nil)
}

// accounts builds them; afterHandover runs inside the handover disabling an employee makes (nil: none).
func accounts(cfg platform.Config, db *platform.DB, log *slog.Logger, afterHandover handover.After) (*tenant.Service, *auth.Service, *authn.Tokens, error) {
	tokens, err := authn.NewTokens(cfg.TokenKeys, cfg.AccessTokenTTL, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	authSvc := auth.NewService(db, tokens, auth.Config{RefreshTTL: cfg.RefreshTokenTTL, Lifetime: cfg.SessionLifetime, CacheTTL: cfg.AuthCacheTTL,
		Argon2:    auth.Argon2Params{Time: cfg.Passwords.Time, MemoryKiB: cfg.Passwords.MemoryKiB, Threads: cfg.Passwords.Threads},
		HashSlots: cfg.Passwords.Slots, HashQueue: cfg.Passwords.Queue, PublicBaseURL: cfg.PublicBaseURL, Log: log})
	return tenant.NewService(db, authSvc, afterHandover), authSvc, tokens, nil
}

// New wires the application on db and store: it builds each domain's service once, asks each module what it
// contributes, and serves the union behind the shared interceptors.
func New(cfg platform.Config, log *slog.Logger, db *platform.DB, store *media.Store, options ...Options) (*Server, error) {
	var opt Options
	if len(options) > 0 {
		opt = options[0]
	}
	if store == nil {
		return nil, errors.New("server: no object store")
	}
	queue, err := jobs.New(db.Pool, log)
	if err != nil {
		return nil, err
	}
	if opt.JobsDB != nil {
		queue.RunOn(opt.JobsDB.Pool)
	}
	// A handover asks WeCom to move the customers who are WeCom contacts (the bridge's transfer job).
	tenants, authSvc, tokens, err := accounts(cfg, db, log, transfer.Record(queue))
	if err != nil {
		return nil, err
	}
	// One budget per client address for every public entry (RPCs and beacons alike).
	perIP := ratelimit.New(cfg.PublicRate, cfg.PublicBurst, 100_000)
	mods, err := modules(deps{cfg: cfg, log: log, db: db, store: store, queue: queue, sender: opt.Sender,
		tenants: tenants, auth: authSvc, tokens: tokens, perIP: perIP})
	if err != nil {
		return nil, err
	}
	s := &Server{db: db, log: log, queue: queue, modules: mods}
	for _, m := range mods {
		if m.Workers != nil {
			m.Workers(queue.Workers())
		}
		queue.AddPeriodic(m.Periodic...)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var public, services, ownAuthn []string
	for _, m := range mods {
		for _, svc := range m.Services {
			public = append(public, svc.Public...)
			services = append(services, svc.Name)
			if svc.Authn != nil {
				ownAuthn = append(ownAuthn, svc.Name)
			}
		}
	}
	opts := connect.WithHandlerOptions(
		connect.WithInterceptors(
			rpcserver.NewObserver(log, reg),
			rpcDeadline(cfg.RPCTimeout),
			ratelimit.NewPerIP(perIP, public...),
			authn.NewAuthenticator(tokens, authSvc, public...).Except(ownAuthn...).Gate(module.Gates(mods)),
			validate.NewInterceptor(),
		),
		connect.WithReadMaxBytes(maxRequestBytes),
		// Compressing small replies costs more CPU than the bytes it saves.
		connect.WithCompressMinBytes(1024),
		// gzip at its fastest level: replies are protobuf, which compresses about as well either way, and
		// the default level took a fifth of salesd's CPU on a timeline page.
		connect.WithCompression("gzip",
			func() connect.Decompressor { return &gzip.Reader{} },
			func() connect.Compressor { w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed); return w }),
	)

	mux := http.NewServeMux()
	for _, m := range mods {
		for _, svc := range m.Services {
			if svc.Authn != nil {
				// Inside the shared interceptors (observed, limited, with a deadline, validated).
				mux.Handle(svc.Mount(opts, connect.WithInterceptors(svc.Authn)))
				continue
			}
			mux.Handle(svc.Mount(opts))
		}
		for _, r := range m.Routes {
			mux.Handle(r.Pattern, r.Handler)
		}
	}
	// The operator's routes are unauthenticated and unlimited (readiness runs database checks, reflection
	// describes the whole API), so they are served on their own listener, and on the public port only in a
	// development run.
	operator := http.NewServeMux()
	mounts := []*http.ServeMux{operator}
	if cfg.Dev {
		mounts = append(mounts, mux)
	}
	reflector := grpcreflect.NewStaticReflector(services...)
	for _, m := range mounts {
		m.Handle(grpcreflect.NewHandlerV1(reflector))
		m.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
		m.HandleFunc("GET /readyz", s.readyz)
		m.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	}
	for _, m := range []*http.ServeMux{operator, mux} {
		m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte("ok\n"))
		})
	}
	s.Operator = operator
	// Behind a load balancer, everything downstream (per-address limits, logs) sees the client.
	s.Handler = cfg.TrustedProxies.Handler(withCORS(mux, pagePaths(public), newPageOrigins(cfg.BeaconOrigins, tenants, log)))
	return s, nil
}

// StartWorkers starts each module's background work, then working jobs.
func (s *Server) StartWorkers(ctx context.Context) error {
	for _, m := range s.modules {
		if m.Start == nil {
			continue
		}
		if err := m.Start(ctx); err != nil {
			return fmt.Errorf("start %s: %w", m.Name, err)
		}
	}
	return s.queue.Start(ctx)
}

// StopWorkers stops working jobs, waiting for running ones until ctx ends, then each module's background
// work in the reverse order (the tracking committers commit the events in hand first).
func (s *Server) StopWorkers(ctx context.Context) error {
	errs := []error{s.queue.Stop(ctx)}
	for _, m := range slices.Backward(s.modules) {
		if m.Stop != nil {
			errs = append(errs, m.Stop(ctx))
		}
	}
	return errors.Join(errs...)
}

// readyz answers 200 when PostgreSQL answers and the schema is current, else 503 with the reason.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.db.CheckSchema(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		msg := "database unreachable"
		if errors.Is(err, platform.ErrSchemaBehind) || errors.Is(err, platform.ErrRoleBypassesRLS) {
			msg = err.Error()
		}
		_, _ = fmt.Fprintf(w, "not ready: %s\n", msg)
		s.log.WarnContext(ctx, "not ready", "error", err)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// LongLivedPaths are the routes whose requests last as long as the client stays: Serve lifts its read and
// write timeouts from them.
var LongLivedPaths = []string{alertrpc.WebSocketPath}

// Timeouts bound how long a connection may take over each part of an HTTP exchange, so that slow or
// stalled clients cannot hold connections and goroutines for ever. Zero leaves a bound off.
type Timeouts struct {
	// Drain bounds the wait for in-flight requests on shutdown.
	Drain time.Duration
	// Read bounds reading a whole request, body included; Write bounds the time from the end of reading
	// the request's headers to the end of the answer; Idle bounds a kept-alive connection between requests.
	Read, Write, Idle time.Duration
	// LongLived are the paths whose requests may outlast Read and Write (the alert WebSocket): their
	// deadlines are lifted as they start.
	LongLived []string
}

// Serve serves on l until ctx is done, then stops accepting and drains in-flight requests for at most
// t.Drain.
func Serve(ctx context.Context, l net.Listener, h http.Handler, t Timeouts, log *slog.Logger) error {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	if t.Idle == 0 {
		t.Idle = 2 * time.Minute
	}
	if len(t.LongLived) > 0 {
		h = liftDeadlines(h, t.LongLived)
	}
	srv := &http.Server{
		Handler:           h,
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	drain := t.Drain
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests", "timeout", drain)
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// liftDeadlines lifts the server's read and write deadlines from requests to the given paths, which live as
// long as their client stays (a WebSocket upgrade then manages its own).
func liftDeadlines(h http.Handler, paths []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slices.Contains(paths, r.URL.Path) {
			rc := http.NewResponseController(w)
			_ = rc.SetReadDeadline(time.Time{})
			_ = rc.SetWriteDeadline(time.Time{})
		}
		h.ServeHTTP(w, r)
	})
}

// rpcDeadline gives every unary RPC at most d (a client's own shorter deadline still applies): a request
// stuck on a lock or a slow query ends and frees its connection instead of waiting for ever.
func rpcDeadline(d time.Duration) connect.Interceptor {
	return connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if d <= 0 {
				return next(ctx, req)
			}
			ctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			return next(ctx, req)
		}
	})
}
