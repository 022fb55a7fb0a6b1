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
	"os"
	"slices"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"
	"connectrpc.com/validate"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/auth"
	"github.com/salesapp/scrm/backend/auth/authrpc"
	"github.com/salesapp/scrm/backend/card"
	"github.com/salesapp/scrm/backend/card/cardrpc"
	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/customer/customerrpc"
	"github.com/salesapp/scrm/backend/diag"
	"github.com/salesapp/scrm/backend/material"
	"github.com/salesapp/scrm/backend/material/materialrpc"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/ratelimit"
	"github.com/salesapp/scrm/backend/platform/rpcserver"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/backend/share/sharerpc"
	"github.com/salesapp/scrm/backend/tenant"
	"github.com/salesapp/scrm/backend/tenant/tenantrpc"
	"github.com/salesapp/scrm/backend/tracking"
	"github.com/salesapp/scrm/backend/tracking/trackingrpc"
	"github.com/salesapp/scrm/backend/upload/uploadrpc"
	"github.com/salesapp/scrm/backend/web"
	"github.com/salesapp/scrm/backend/web/webrpc"
	"github.com/salesapp/scrm/backend/wechat"
	"github.com/salesapp/scrm/media"
	"github.com/salesapp/scrm/media/poster"
	"github.com/salesapp/scrm/push/alert"
	"github.com/salesapp/scrm/push/alert/alertrpc"
	"github.com/salesapp/scrm/push/hub"
	"github.com/salesapp/scrm/push/sender"
	"github.com/salesapp/scrm/push/wake"
	"github.com/salesapp/scrm/sync/syncrpc"
)

// maxRequestBytes caps any RPC request body: the app sends small messages, and large uploads go to object
// storage by presigned URL, never through salesd.
const maxRequestBytes = 4 << 20

// Server is salesd's assembled application.
type Server struct {
	// Handler serves every route.
	Handler http.Handler
	// Auth issues and checks sessions.
	Auth *auth.Service
	// Tenant manages tenants, teams and employees.
	Tenant *tenant.Service
	// Tokens issues and verifies access tokens.
	Tokens *authn.Tokens
	// Materials is the material library.
	Materials *material.Service
	// Shares makes share links.
	Shares *share.Service
	// Cards are the business cards.
	Cards *card.Service
	// Tracking ingests customers' events.
	Tracking *tracking.Service
	// Hub serves the apps' live alert connections.
	Hub *hub.Hub

	db          *platform.DB
	log         *slog.Logger
	jobs        *jobs
	publisher   *wake.Publisher
	databaseURL string
	stopWake    context.CancelFunc
}

// Options are the optional parts New takes.
type Options struct {
	// Sender pushes alerts to devices; nil logs instead (development).
	Sender sender.Sender
}

// New wires the application on db and store. Tools that use only tenants and sessions (salesctl,
// salesbench's setup) may pass a nil store; salesd never does.
func New(cfg platform.Config, log *slog.Logger, db *platform.DB, store *media.Store, options ...Options) (*Server, error) {
	var opt Options
	if len(options) > 0 {
		opt = options[0]
	}
	tokens, err := authn.NewTokens(cfg.TokenKeys, cfg.AccessTokenTTL, nil)
	if err != nil {
		return nil, err
	}
	authSvc := auth.NewService(db, tokens, auth.Config{RefreshTTL: cfg.RefreshTokenTTL, CacheTTL: cfg.AuthCacheTTL})
	tenantSvc := tenant.NewService(db, authSvc)

	var font []byte
	if cfg.PosterFont != "" {
		if font, err = os.ReadFile(cfg.PosterFont); err != nil {
			return nil, fmt.Errorf("SALESD_POSTER_FONT: %w", err)
		}
	}
	renderer, err := poster.NewRenderer(font)
	if err != nil {
		return nil, fmt.Errorf("SALESD_POSTER_FONT: %w", err)
	}
	snd := opt.Sender
	if snd == nil {
		snd = sender.NewLog(log) // no APNs/FCM credentials: log what would be pushed
	}
	jobs, err := newJobs(db, store, snd, log)
	if err != nil {
		return nil, err
	}
	// Who is told, after a commit, that alert streams grew (the WebSocket hub, the cross-node notifier).
	var wakers []func([]alert.Key)
	materials := material.NewService(db, store, renderer, jobs)
	shares := share.NewService(db, cfg.PublicBaseURL, materials)
	materials.SetSharer(shares)
	cards := card.NewService(db, store, materials, shares)
	alerts := alert.NewService(db)
	authenticator := authn.NewAuthenticator(tokens, authSvc, slices.Concat(authrpc.PublicProcedures, webrpc.PublicProcedures, trackingrpc.PublicProcedures)...)
	liveHub := newHub(alerts, authenticator, log)
	publisher := wake.NewPublisher(db.Pool, log)
	// Streams grow with pushes queued: every node's push workers fetch them at once.
	publisher.AlsoNotify(riverInsertTopic, riverInsertPayload)
	wakers = append(wakers, func(keys []alert.Key) {
		for _, k := range keys {
			liveHub.Notify(hub.Key(k))
		}
		publisher.Publish(keys)
	})
	track := tracking.NewService(db, shares, log, tracking.Config{Jobs: jobs, Wake: func(keys []alert.Key) {
		for _, fn := range wakers {
			fn(keys)
		}
	}})
	customers := customer.NewService(db)
	var wx *wechat.Client
	if cfg.WeChat.AppID != "" {
		wx = wechat.New(wechat.Config{BaseURL: cfg.WeChat.BaseURL, AppID: cfg.WeChat.AppID, AppSecret: cfg.WeChat.AppSecret}, log)
	}
	var official *wechat.Client
	if cfg.WeChat.OfficialAppID != "" {
		official = wechat.New(wechat.Config{BaseURL: cfg.WeChat.BaseURL, AppID: cfg.WeChat.OfficialAppID, AppSecret: cfg.WeChat.OfficialSecret}, log)
	}
	pages := web.NewService(web.Deps{Shares: shares, Cards: cards, Materials: materials, Customers: customers,
		Tracking: track, WeChat: wx, Official: official}, cfg.PublicPageTTL)
	uploads := jobs.uploads

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	public := slices.Concat(authrpc.PublicProcedures, webrpc.PublicProcedures, trackingrpc.PublicProcedures)
	perIP := ratelimit.New(cfg.PublicRate, cfg.PublicBurst, 100_000)
	trackHandler, err := trackingrpc.New(track, ratelimit.New(cfg.VisitorRate, cfg.VisitorBurst, 200_000), perIP, cfg.BeaconOrigins)
	if err != nil {
		return nil, err
	}
	opts := connect.WithHandlerOptions(
		connect.WithInterceptors(
			rpcserver.NewObserver(log, reg),
			ratelimit.NewPerIP(perIP, public...),
			authenticator,
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
	tenantHandler := tenantrpc.New(tenantSvc)
	mux.Handle(salesappv1connect.NewTeamServiceHandler(tenantHandler, opts))
	mux.Handle(salesappv1connect.NewEmployeeServiceHandler(tenantHandler, opts))
	mux.Handle(salesappv1connect.NewMeServiceHandler(tenantHandler, opts))
	mux.Handle(salesappv1connect.NewTenantServiceHandler(tenantHandler, opts))
	mux.Handle(salesappv1connect.NewAuthServiceHandler(authrpc.New(authSvc), opts))
	mux.Handle(salesappv1connect.NewPingServiceHandler(diag.Handler{}, opts))
	mux.Handle(salesappv1connect.NewMediaServiceHandler(uploadrpc.New(uploads), opts))
	mux.Handle(salesappv1connect.NewCardServiceHandler(cardrpc.New(cards), opts))
	mux.Handle(salesappv1connect.NewMaterialServiceHandler(materialrpc.New(materials), opts))
	mux.Handle(salesappv1connect.NewShareServiceHandler(sharerpc.New(shares), opts))
	mux.Handle(salesappv1connect.NewPublicServiceHandler(webrpc.New(pages), opts))
	mux.Handle(salesappv1connect.NewTrackingServiceHandler(trackHandler, opts))
	mux.Handle(trackingrpc.BeaconPath, trackHandler)
	mux.Handle(salesappv1connect.NewCustomerServiceHandler(customerrpc.New(customers), opts))
	mux.Handle(salesappv1connect.NewAlertServiceHandler(alertrpc.New(alerts), opts))
	mux.Handle(salesappv1connect.NewSyncServiceHandler(syncrpc.New(newSync(db, cards)), opts))
	mux.Handle(WebSocketPath, liveHub)

	reflector := grpcreflect.NewStaticReflector(
		salesappv1connect.TeamServiceName,
		salesappv1connect.EmployeeServiceName,
		salesappv1connect.MeServiceName,
		salesappv1connect.TenantServiceName,
		salesappv1connect.AuthServiceName,
		salesappv1connect.PingServiceName,
		salesappv1connect.MediaServiceName,
		salesappv1connect.CardServiceName,
		salesappv1connect.MaterialServiceName,
		salesappv1connect.ShareServiceName,
		salesappv1connect.PublicServiceName,
		salesappv1connect.TrackingServiceName,
		salesappv1connect.CustomerServiceName,
		salesappv1connect.AlertServiceName,
		salesappv1connect.SyncServiceName,
	)
	mux.Handle(grpcreflect.NewHandlerV1(reflector))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))

	s := &Server{Auth: authSvc, Tenant: tenantSvc, Tokens: tokens, Materials: materials, Shares: shares, Cards: cards,
		Tracking: track, Hub: liveHub, db: db, log: log, jobs: jobs, publisher: publisher, databaseURL: cfg.DatabaseURL}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// Behind a load balancer, everything downstream (per-address limits, logs) sees the client.
	s.Handler = cfg.TrustedProxies.Handler(mux)
	return s, nil
}

// StartWorkers starts working background jobs and the cross-node alert wake-ups (publishing this node's,
// listening for the others'); StopWorkers stops them.
func (s *Server) StartWorkers(ctx context.Context) error {
	wctx, cancel := context.WithCancel(context.Background())
	s.stopWake = cancel
	go s.publisher.Run(wctx)
	go wake.Listen(wctx, s.databaseURL, s.log, func(k alert.Key) { s.Hub.Notify(hub.Key(k)) })
	return s.jobs.start(ctx)
}

// StopWorkers stops the job workers, waiting for running jobs until ctx ends, and the tracking committers
// after the events in hand are committed.
func (s *Server) StopWorkers(ctx context.Context) error {
	s.Tracking.Close()
	s.Hub.Close()
	if s.stopWake != nil {
		s.stopWake()
	}
	return s.jobs.stop(ctx)
}

// readyz answers 200 when PostgreSQL answers and the schema is current, else 503 with the reason.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.db.CheckSchema(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		msg := "database unreachable"
		if errors.Is(err, platform.ErrSchemaBehind) {
			msg = err.Error()
		}
		_, _ = fmt.Fprintf(w, "not ready: %s\n", msg)
		s.log.WarnContext(ctx, "not ready", "error", err)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// Serve serves on l until ctx is done, then stops accepting and drains in-flight requests for at most
// drain. It returns nil after a clean drain.
func Serve(ctx context.Context, l net.Listener, h http.Handler, drain time.Duration, log *slog.Logger) error {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Handler:           h,
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
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
