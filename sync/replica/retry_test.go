package replica

import (
	"errors"
	"fmt"
	"testing"

	"connectrpc.com/connect"
)

func TestTransient(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain error", errors.New("disk full"), false},
		{"store closed", ErrClosed, false},
		{"protocol violation", fmt.Errorf("%w: change x: upsert without an entity", ErrProtocol), false},
		{"unavailable", connect.NewError(connect.CodeUnavailable, errors.New("try again")), true},
		{"wrapped unavailable", fmt.Errorf("replica: pull failed after 5 attempts: %w",
			connect.NewError(connect.CodeUnavailable, errors.New("try again"))), true},
		{"aborted", connect.NewError(connect.CodeAborted, errors.New("conflict")), true},
		{"broken connection", connect.NewError(connect.CodeUnknown, errors.New("unexpected EOF")), true},
		{"unknown from the server", connect.NewWireError(connect.CodeUnknown, errors.New("boom")), false},
		{"failed precondition", connect.NewError(connect.CodeFailedPrecondition, errors.New("gap")), false},
		{"gap", fmt.Errorf("%w: %w", ErrGap, connect.NewError(connect.CodeFailedPrecondition, errors.New("gap"))), false},
		{"unauthenticated", connect.NewError(connect.CodeUnauthenticated, errors.New("bad token")), false},
	} {
		if got := Transient(tc.err); got != tc.want {
			t.Errorf("Transient(%s: %v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
