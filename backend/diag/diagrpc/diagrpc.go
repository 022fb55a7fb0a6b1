// Package diagrpc serves PingService, an authenticated no-op that touches no database (the floor every
// other RPC's cost is measured against), and DiagService, what the app asks before signing in.
package diagrpc

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/diag"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/module"
)

// Handler serves PingService.
type Handler struct{}

var _ salesappv1connect.PingServiceHandler = Handler{}

// Ping implements PingService.
func (Handler) Ping(ctx context.Context, _ *connect.Request[salesappv1.PingRequest]) (*connect.Response[salesappv1.PingResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.PingResponse{
		TenantId: p.TenantID.String(), EmployeeId: p.EmployeeID.String(), ServerTime: timestamppb.New(time.Now()),
	}), nil
}

// DiagHandler serves DiagService.
type DiagHandler struct{ info diag.Info }

var _ salesappv1connect.DiagServiceHandler = DiagHandler{}

// GetServerInfo implements DiagService.
func (h DiagHandler) GetServerInfo(_ context.Context, req *connect.Request[salesappv1.GetServerInfoRequest]) (*connect.Response[salesappv1.GetServerInfoResponse], error) {
	return connect.NewResponse(&salesappv1.GetServerInfoResponse{
		ServerVersion: h.info.ServerVersion, ApiVersion: diag.APIVersion,
		MinAppVersion: h.info.MinAppVersion, MaxAppVersion: h.info.MaxAppVersion,
		AppVersionStatus: statusToProto(h.info.Check(req.Msg.GetAppVersion())), ServerTime: timestamppb.New(time.Now()),
	}), nil
}

func statusToProto(s diag.Status) salesappv1.AppVersionStatus {
	switch s {
	case diag.Supported:
		return salesappv1.AppVersionStatus_APP_VERSION_STATUS_SUPPORTED
	case diag.TooOld:
		return salesappv1.AppVersionStatus_APP_VERSION_STATUS_TOO_OLD
	case diag.TooNew:
		return salesappv1.AppVersionStatus_APP_VERSION_STATUS_TOO_NEW
	}
	return salesappv1.AppVersionStatus_APP_VERSION_STATUS_UNSPECIFIED
}

// Module is PingService and DiagService, whose GetServerInfo needs no token.
func Module(info diag.Info) module.Module {
	return module.Module{Name: "diag", Services: []module.Service{
		module.Connect[salesappv1connect.PingServiceHandler](salesappv1connect.PingServiceName, salesappv1connect.NewPingServiceHandler, Handler{}),
		module.Connect[salesappv1connect.DiagServiceHandler](salesappv1connect.DiagServiceName, salesappv1connect.NewDiagServiceHandler,
			DiagHandler{info: info}, salesappv1connect.DiagServiceGetServerInfoProcedure),
	}}
}
