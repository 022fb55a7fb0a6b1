package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/operator"
	"github.com/salesapp/scrm/backend/platform/rpcserver"
	"github.com/salesapp/scrm/backend/server/servertest"
)

// newOperator makes an operator account as salesctl does and signs it in through OperatorService.
func newOperator(t *testing.T, e *servertest.Env, email string) (salesappv1connect.OperatorServiceClient, string) {
	t.Helper()
	ctx := context.Background()
	_, err := operator.Create(ctx, e.DB.Owner, e.Sessions, email, "correct horse battery")
	require.NoError(t, err)
	c := salesappv1connect.NewOperatorServiceClient(e.HTTP, e.URL)
	resp, err := c.OperatorSignIn(ctx, connect.NewRequest(&salesappv1.OperatorSignInRequest{Email: email, Password: "correct horse battery"}))
	require.NoError(t, err)
	require.NotEmpty(t, resp.Msg.OperatorToken)
	return c, resp.Msg.OperatorToken
}

// Operators sign in by email and password; a wrong password and an unknown email get the same answer, and
// an account is made once per email.
func TestOperatorSignIn(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	c, token := newOperator(t, e, "Ops@Example.com")
	as := salesappv1connect.NewOperatorServiceClient(e.HTTP, e.URL, servertest.As(token))

	me, err := as.GetOperator(ctx, connect.NewRequest(&salesappv1.GetOperatorRequest{}))
	require.NoError(t, err)
	require.Equal(t, "ops@example.com", me.Msg.Operator.Email)

	for _, bad := range []*salesappv1.OperatorSignInRequest{
		{Email: "ops@example.com", Password: "wrong horse battery"},
		{Email: "nobody@example.com", Password: "correct horse battery"},
	} {
		_, err := c.OperatorSignIn(ctx, connect.NewRequest(bad))
		requireCode(t, err, connect.CodeUnauthenticated, "wrong email or password")
	}
	_, err = c.OperatorSignIn(ctx, connect.NewRequest(&salesappv1.OperatorSignInRequest{Email: "not-an-email", Password: "x"}))
	requireCode(t, err, connect.CodeInvalidArgument, "email")

	_, err = operator.Create(ctx, e.DB.Owner, e.Sessions, "ops@example.com", "another long password")
	requireCode(t, rpcserver.ToConnect(err), connect.CodeAlreadyExists, "")
	_, err = operator.Create(ctx, e.DB.Owner, e.Sessions, "short@example.com", "short")
	requireCode(t, rpcserver.ToConnect(err), connect.CodeInvalidArgument, "password")

	// A disabled operator's token stops working at once.
	_, err = e.DB.Super.Exec(ctx, "UPDATE operators SET disabled_at = now() WHERE email = 'ops@example.com'")
	require.NoError(t, err)
	_, err = as.GetOperator(ctx, connect.NewRequest(&salesappv1.GetOperatorRequest{}))
	requireCode(t, err, connect.CodeUnauthenticated, "disabled")
}

// A tenant's token (even an admin's) cannot call OperatorService, and no token at all cannot either.
func TestTenantTokenCannotCallOperatorService(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	admin := e.NewTenant(t, "Acme", 0).Admin
	c := salesappv1connect.NewOperatorServiceClient(e.HTTP, e.URL)
	_, err := salesappv1connect.NewOperatorServiceClient(e.HTTP, e.URL, servertest.As(admin.Token)).
		GetOperator(ctx, connect.NewRequest(&salesappv1.GetOperatorRequest{}))
	requireCode(t, err, connect.CodeUnauthenticated, "operator token")
	_, err = c.GetOperator(ctx, connect.NewRequest(&salesappv1.GetOperatorRequest{}))
	requireCode(t, err, connect.CodeUnauthenticated, "missing bearer token")
}

// An operator token opens no tenant RPC: every unary procedure of every other service answers it exactly
// as it answers a call with no token at all (Unauthenticated, except the public ones), so an operator acts
// on tenants only through OperatorService.
func TestOperatorTokenCannotCallTenantRPCs(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	_, token := newOperator(t, e, "ops@example.com")
	call := func(procedure, bearer string) string {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, e.URL+procedure, bytes.NewReader([]byte("{}")))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := e.HTTP1.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		if resp.StatusCode == http.StatusOK {
			return "ok"
		}
		var answer struct{ Code string }
		require.NoError(t, json.Unmarshal(body, &answer), "%s: %s", procedure, body)
		return answer.Code
	}
	refused := 0
	protoregistry.GlobalFiles.RangeFilesByPackage(salesappv1.File_salesapp_v1_ping_proto.Package(), func(f protoreflect.FileDescriptor) bool {
		for i := 0; i < f.Services().Len(); i++ {
			s := f.Services().Get(i)
			if s.FullName() == salesappv1connect.OperatorServiceName {
				continue
			}
			for j := 0; j < s.Methods().Len(); j++ {
				m := s.Methods().Get(j)
				if m.IsStreamingClient() || m.IsStreamingServer() {
					continue
				}
				procedure := "/" + string(s.FullName()) + "/" + string(m.Name())
				anonymous := call(procedure, "")
				require.Equal(t, anonymous, call(procedure, token), "%s answers an operator token otherwise than no token", procedure)
				if anonymous == "unauthenticated" {
					refused++
				}
			}
		}
		return true
	})
	require.Greater(t, refused, 40, "the tenant RPCs were not found")
}
