package rpcserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/salesapp/scrm/backend/platform"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
)

func serve(t *testing.T, log *slog.Logger, fn func() error) *connect.Client[emptypb.Empty, emptypb.Empty] {
	t.Helper()
	h := connect.NewUnaryHandler("/test.v1.Test/Call", func(context.Context, *connect.Request[emptypb.Empty]) (*connect.Response[emptypb.Empty], error) {
		if err := fn(); err != nil {
			return nil, err
		}
		return connect.NewResponse(&emptypb.Empty{}), nil
	}, connect.WithInterceptors(NewObserver(log, prometheus.NewRegistry())))
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return connect.NewClient[emptypb.Empty, emptypb.Empty](ts.Client(), ts.URL+"/test.v1.Test/Call")
}

func TestPanicsBecomeInternalWithoutDetail(t *testing.T) {
	t.Parallel()
	var logs strings.Builder
	c := serve(t, slog.New(slog.NewTextHandler(&logs, nil)), func() error { panic("secret internals") })
	_, err := c.CallUnary(context.Background(), connect.NewRequest(&emptypb.Empty{}))
	require.Equal(t, connect.CodeInternal, connect.CodeOf(err))
	require.NotContains(t, err.Error(), "secret")
	require.Contains(t, logs.String(), "secret internals", "the log keeps the cause")
}

func TestDomainErrorsMapToCodesAndInternalsStayHidden(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		code connect.Code
		msg  string
	}{
		{platform.Invalid("team_id", "no such team"), connect.CodeInvalidArgument, "team_id: no such team"},
		{platform.NotFound("employee"), connect.CodeNotFound, "employee not found"},
		{platform.PermissionDenied("no"), connect.CodePermissionDenied, "no"},
		{platform.Unauthenticated("who"), connect.CodeUnauthenticated, "who"},
		{platform.FailedPrecondition("seats"), connect.CodeFailedPrecondition, "seats"},
		{platform.ResourceExhausted("slow down"), connect.CodeResourceExhausted, "slow down"},
		{platform.AlreadyExists("dup"), connect.CodeAlreadyExists, "dup"},
		{errors.New(`ERROR: relation "employees" does not exist`), connect.CodeInternal, "internal error"},
		{&pgconn.PgError{Code: "23505"}, connect.CodeInternal, "internal error"},
		// The database unreachable or going away: retryable, with nothing about it said.
		{fmt.Errorf("load session: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}), connect.CodeUnavailable, "temporarily unavailable: retry shortly"},
		{&pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}, connect.CodeUnavailable, "temporarily unavailable: retry shortly"},
		{&pgconn.PgError{Code: "08006"}, connect.CodeUnavailable, "temporarily unavailable: retry shortly"},
		// A lost race (deadlock, serialization failure) applied nothing: the same request may be sent again.
		{fmt.Errorf("assign: %w", &pgconn.PgError{Code: "40P01", Message: "deadlock detected"}), connect.CodeAborted, "the request raced another change and was not applied: send it again"},
		{&pgconn.PgError{Code: "40001"}, connect.CodeAborted, "the request raced another change and was not applied: send it again"},
	}
	for _, tc := range cases {
		c := serve(t, slog.New(slog.NewTextHandler(io.Discard, nil)), func() error { return tc.err })
		_, err := c.CallUnary(context.Background(), connect.NewRequest(&emptypb.Empty{}))
		require.Equal(t, tc.code, connect.CodeOf(err), tc.err.Error())
		var ce *connect.Error
		require.True(t, errors.As(err, &ce))
		require.Equal(t, tc.msg, ce.Message())
	}
}

// A limit that knows when it lifts says so twice: a RetryInfo detail for gRPC clients and a Retry-After
// header (whole seconds, rounded up) for plain HTTP ones.
func TestRetryAfterTravelsAsDetailAndHeader(t *testing.T) {
	t.Parallel()
	c := serve(t, slog.New(slog.NewTextHandler(io.Discard, nil)), func() error {
		return platform.RetryLater("locked: try again in 1m31s", 90*time.Second+300*time.Millisecond)
	})
	_, err := c.CallUnary(context.Background(), connect.NewRequest(&emptypb.Empty{}))
	require.Equal(t, connect.CodeResourceExhausted, connect.CodeOf(err))
	var ce *connect.Error
	require.True(t, errors.As(err, &ce))
	require.Equal(t, "locked: try again in 1m31s", ce.Message())
	require.Equal(t, "91", ce.Meta().Get("Retry-After"))
	require.Len(t, ce.Details(), 1)
	v, err := ce.Details()[0].Value()
	require.NoError(t, err)
	info, ok := v.(*errdetails.RetryInfo)
	require.True(t, ok, "%T", v)
	require.Equal(t, 90*time.Second+300*time.Millisecond, info.GetRetryDelay().AsDuration())
}

func TestInt32Saturates(t *testing.T) {
	for in, want := range map[int64]int32{0: 0, 42: 42, -7: -7, math.MaxInt32: math.MaxInt32,
		math.MaxInt32 + 1: math.MaxInt32, math.MaxInt64: math.MaxInt32, math.MinInt64: math.MinInt32} {
		if got := Int32(in); got != want {
			t.Errorf("Int32(%d) = %d, want %d", in, got, want)
		}
	}
}

// A busy refusal caused by its own wait timing out keeps its kind and hint: the caller's deadline did not
// pass, and the app must know to come back.
func TestARefusalWhoseWaitTimedOutIsNotTheCallersDeadline(t *testing.T) {
	t.Parallel()
	c := serve(t, slog.New(slog.NewTextHandler(io.Discard, nil)), func() error {
		return &platform.Error{Kind: platform.KindResourceExhausted, Msg: "busy with other images", RetryAfter: 5 * time.Second,
			Cause: context.DeadlineExceeded}
	})
	_, err := c.CallUnary(context.Background(), connect.NewRequest(&emptypb.Empty{}))
	require.Equal(t, connect.CodeResourceExhausted, connect.CodeOf(err))
	var ce *connect.Error
	require.True(t, errors.As(err, &ce))
	require.Equal(t, "5", ce.Meta().Get("Retry-After"))

	// An error of no kind that ends in a context's end still says so.
	c = serve(t, slog.New(slog.NewTextHandler(io.Discard, nil)), func() error {
		return fmt.Errorf("query: %w", context.DeadlineExceeded)
	})
	_, err = c.CallUnary(context.Background(), connect.NewRequest(&emptypb.Empty{}))
	require.Equal(t, connect.CodeDeadlineExceeded, connect.CodeOf(err))
}

// A concept's words and its enum's values map both ways; UNSPECIFIED and unknown words map to nothing.
func TestWordsMapAnEnumToTheWordsOfItsValueNames(t *testing.T) {
	w := NewWords[salesappv1.CustomerStage](salesappv1.CustomerStage_value, "CUSTOMER_STAGE_")
	require.Equal(t, salesappv1.CustomerStage_CUSTOMER_STAGE_WON, w.Enum("won"))
	require.Equal(t, "negotiating", w.Word(salesappv1.CustomerStage_CUSTOMER_STAGE_NEGOTIATING))
	require.Equal(t, salesappv1.CustomerStage_CUSTOMER_STAGE_UNSPECIFIED, w.Enum("someday"))
	require.Equal(t, salesappv1.CustomerStage_CUSTOMER_STAGE_UNSPECIFIED, w.Enum("unspecified"))
	require.Empty(t, w.Word(salesappv1.CustomerStage_CUSTOMER_STAGE_UNSPECIFIED))
	require.Empty(t, w.Word(42))
	for v := range salesappv1.CustomerStage_name {
		if v != 0 {
			require.Equal(t, salesappv1.CustomerStage(v), w.Enum(w.Word(salesappv1.CustomerStage(v))))
		}
	}
}
