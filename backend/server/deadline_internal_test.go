package server

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Every unary RPC runs under the configured deadline; a client's shorter one still wins.
func TestRPCDeadline(t *testing.T) {
	t.Parallel()
	var got time.Time
	var had bool
	next := connect.UnaryFunc(func(ctx context.Context, _ connect.AnyRequest) (connect.AnyResponse, error) {
		got, had = ctx.Deadline()
		return nil, nil
	})
	call := rpcDeadline(time.Hour).WrapUnary(next)
	_, _ = call(context.Background(), connect.NewRequest(&emptypb.Empty{}))
	require.True(t, had, "no deadline")
	require.True(t, got.After(time.Now().Add(59*time.Minute)), "not the configured deadline")

	short, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	want, _ := short.Deadline()
	_, _ = call(short, connect.NewRequest(&emptypb.Empty{}))
	require.Equal(t, want, got, "the client's shorter deadline")

	_, _ = rpcDeadline(0).WrapUnary(next)(context.Background(), connect.NewRequest(&emptypb.Empty{}))
	require.False(t, had, "0 sets no deadline")
}
