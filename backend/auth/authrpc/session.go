package authrpc

import (
	"context"
	"net"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/auth"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
)

// The request headers in which the app describes its device (session.proto says what each holds).
const (
	HeaderDeviceName = "Salesapp-Device-Name"
	HeaderPlatform   = "Salesapp-Platform"
	HeaderAppVersion = "Salesapp-App-Version"
)

// clientInterceptor hands what the app says about its device, and the client's address, to the auth
// service through the context (auth.WithClient), so that every way of signing in and refreshing records
// it without each handler reading headers.
type clientInterceptor struct{}

func clientOf(h interface{ Get(string) string }, peer string) auth.Client {
	addr, _, err := net.SplitHostPort(peer)
	if err != nil {
		addr = peer
	}
	return auth.Client{DeviceName: h.Get(HeaderDeviceName), Platform: h.Get(HeaderPlatform), AppVersion: h.Get(HeaderAppVersion),
		Address: addr}
}

// WrapUnary implements connect.Interceptor.
func (clientInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		return next(auth.WithClient(ctx, clientOf(req.Header(), req.Peer().Addr)), req)
	}
}

// WrapStreamingClient implements connect.Interceptor.
func (clientInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler implements connect.Interceptor.
func (clientInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		return next(auth.WithClient(ctx, clientOf(conn.RequestHeader(), conn.Peer().Addr)), conn)
	}
}

// SessionHandler serves SessionService.
type SessionHandler struct {
	svc *auth.Service
}

// NewSessionHandler builds the handler.
func NewSessionHandler(svc *auth.Service) *SessionHandler { return &SessionHandler{svc: svc} }

var _ salesappv1connect.SessionServiceHandler = (*SessionHandler)(nil)

// ListSessions implements SessionService.
func (h *SessionHandler) ListSessions(ctx context.Context, req *connect.Request[salesappv1.ListSessionsRequest]) (*connect.Response[salesappv1.ListSessionsResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	var employeeID uuid.UUID
	if s := req.Msg.GetEmployeeId(); s != "" {
		if employeeID, err = uuid.Parse(s); err != nil {
			return nil, platform.Invalid("employee_id", "must be a UUID")
		}
	}
	sessions, err := h.svc.ListSessions(ctx, p, employeeID)
	if err != nil {
		return nil, err
	}
	out := &salesappv1.ListSessionsResponse{Sessions: make([]*salesappv1.DeviceSession, len(sessions))}
	for i, s := range sessions {
		out.Sessions[i] = &salesappv1.DeviceSession{SessionId: s.ID.String(), DeviceId: s.DeviceID, DeviceName: s.DeviceName,
			Platform: s.Platform, AppVersion: s.AppVersion, Address: s.Address, SignedInAt: timestamppb.New(s.SignedInAt),
			LastSeenAt: timestamppb.New(s.LastSeenAt), ExpiresAt: timestamppb.New(s.ExpiresAt), EndsAt: timestamppb.New(s.EndsAt),
			Current: s.Current}
	}
	return connect.NewResponse(out), nil
}

// RevokeSession implements SessionService.
func (h *SessionHandler) RevokeSession(ctx context.Context, req *connect.Request[salesappv1.RevokeSessionRequest]) (*connect.Response[salesappv1.RevokeSessionResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	id, err := uuid.Parse(req.Msg.GetSessionId())
	if err != nil {
		return nil, platform.Invalid("session_id", "must be a UUID")
	}
	if err := h.svc.RevokeSession(ctx, p, id); err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.RevokeSessionResponse{}), nil
}
