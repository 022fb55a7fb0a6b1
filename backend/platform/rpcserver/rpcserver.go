// Package rpcserver holds the interceptors every Connect handler runs behind (panic recovery, request
// logging and metrics, domain error translation) and the translation itself.
package rpcserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/salesapp/scrm/backend/platform"
)

// ToConnect translates a domain error into a Connect error once, at the boundary. Errors that are already
// Connect errors pass through; anything unknown becomes Internal with no detail (the cause is logged by
// the observer, never sent).
func ToConnect(err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return err
	}
	// A domain error of a kind decides its code, whatever its cause: a busy server's refusal whose own
	// wait timed out is ResourceExhausted with its retry hint, not the caller's deadline.
	var de *platform.Error
	isDomain := errors.As(err, &de) && de.Kind != platform.KindInternal
	if !isDomain && errors.Is(err, context.Canceled) {
		return connect.NewError(connect.CodeCanceled, errors.New("request canceled"))
	}
	if !isDomain && errors.Is(err, context.DeadlineExceeded) {
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("deadline exceeded"))
	}
	if de == nil {
		if outage(err) {
			// Retryable as it is: the app retries later rather than reporting a failure (or, on an
			// authenticated call, signing out).
			return connect.NewError(connect.CodeUnavailable, errors.New("temporarily unavailable: retry shortly"))
		}
		if platform.IsRaceLost(err) {
			// A deadlock or serialization failure that outlasted the handler's own retries (if any):
			// nothing was applied, and the same request may simply be sent again.
			return connect.NewError(connect.CodeAborted, errors.New("the request raced another change and was not applied: send it again"))
		}
		return connect.NewError(connect.CodeInternal, errors.New("internal error"))
	}
	msg := de.Msg
	if de.Field != "" {
		msg = de.Field + ": " + msg
	}
	ce = connect.NewError(codeOf(de.Kind), errors.New(msg))
	if de.RetryAfter > 0 {
		// Both forms: gRPC clients read RetryInfo, plain HTTP clients the header (whole seconds, rounded up).
		if d, err := connect.NewErrorDetail(&errdetails.RetryInfo{RetryDelay: durationpb.New(de.RetryAfter)}); err == nil {
			ce.AddDetail(d)
		}
		ce.Meta().Set("Retry-After", strconv.FormatInt(int64((de.RetryAfter+time.Second-1)/time.Second), 10))
	}
	return ce
}

// outage reports whether err is the database (or another backend) being unreachable or going away
// rather than a fault in the request: no connection, a connection lost, the server shutting down or
// not accepting connections yet.
func outage(err error) bool {
	var (
		connectErr *pgconn.ConnectError
		pgErr      *pgconn.PgError
		netErr     net.Error
	)
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr):
		return true
	case errors.As(err, &pgErr):
		// Class 08: connection exception; 57P01–57P03: shutting down, cannot connect now.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	return pgconn.SafeToRetry(err)
}

func codeOf(k platform.Kind) connect.Code {
	switch k {
	case platform.KindInvalid:
		return connect.CodeInvalidArgument
	case platform.KindNotFound:
		return connect.CodeNotFound
	case platform.KindAlreadyExists:
		return connect.CodeAlreadyExists
	case platform.KindPermissionDenied:
		return connect.CodePermissionDenied
	case platform.KindUnauthenticated:
		return connect.CodeUnauthenticated
	case platform.KindFailedPrecondition:
		return connect.CodeFailedPrecondition
	case platform.KindResourceExhausted:
		return connect.CodeResourceExhausted
	default:
		return connect.CodeInternal
	}
}

// Observer logs each request and records its count and latency by procedure and code. It also recovers
// panics (answering Internal, with the stack in the log only) and translates domain errors, so that what
// it logs is the real cause and what it returns is fit for a client. It is the outermost interceptor.
type Observer struct {
	log      *slog.Logger
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewObserver registers its metrics with reg.
func NewObserver(log *slog.Logger, reg prometheus.Registerer) *Observer {
	o := &Observer{
		log: log,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "salesd_rpc_requests_total",
			Help: "RPCs handled, by procedure and Connect code.",
		}, []string{"procedure", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "salesd_rpc_duration_seconds",
			Help:    "RPC handling time, by procedure and Connect code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"procedure", "code"}),
	}
	reg.MustRegister(o.requests, o.latency)
	return o
}

func (o *Observer) finish(ctx context.Context, procedure, peer string, start time.Time, err error) error {
	cause := err
	err = ToConnect(err)
	code := "ok"
	if err != nil {
		code = connect.CodeOf(err).String()
	}
	elapsed := time.Since(start)
	o.requests.WithLabelValues(procedure, code).Inc()
	o.latency.WithLabelValues(procedure, code).Observe(elapsed.Seconds())

	level := slog.LevelDebug
	attrs := []slog.Attr{
		slog.String("procedure", procedure),
		slog.String("code", code),
		slog.Duration("duration", elapsed),
		slog.String("peer", peer),
	}
	if err != nil {
		level = slog.LevelInfo
		if c := connect.CodeOf(err); c == connect.CodeInternal || c == connect.CodeUnknown || c == connect.CodeDataLoss {
			level = slog.LevelError
		}
		attrs = append(attrs, slog.String("error", cause.Error()))
	}
	o.log.LogAttrs(ctx, level, "rpc", attrs...)
	return err
}

func (o *Observer) recovered(ctx context.Context, procedure string, r any) error {
	o.log.ErrorContext(ctx, "panic in handler", "procedure", procedure, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	return errors.New("panic") // becomes Internal with no detail
}

// WrapUnary implements connect.Interceptor.
func (o *Observer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (resp connect.AnyResponse, err error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		start := time.Now()
		procedure := req.Spec().Procedure
		defer func() {
			if r := recover(); r != nil {
				resp, err = nil, o.recovered(ctx, procedure, r)
			}
			err = o.finish(ctx, procedure, req.Peer().Addr, start, err)
		}()
		return next(ctx, req)
	}
}

// WrapStreamingClient implements connect.Interceptor.
func (o *Observer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler implements connect.Interceptor.
func (o *Observer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) (err error) {
		start := time.Now()
		procedure := conn.Spec().Procedure
		defer func() {
			if r := recover(); r != nil {
				err = o.recovered(ctx, procedure, r)
			}
			err = o.finish(ctx, procedure, conn.Peer().Addr, start, err)
		}()
		return next(ctx, conn)
	}
}
