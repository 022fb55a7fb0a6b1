// Package diagrpc serves PingService: an authenticated no-op that touches no database, the floor every other
// RPC's cost is measured against.
package diagrpc

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
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

// Module is PingService.
func Module() module.Module {
	return module.Module{Name: "diag", Services: []module.Service{module.Connect[salesappv1connect.PingServiceHandler](salesappv1connect.PingServiceName, salesappv1connect.NewPingServiceHandler, Handler{})}}
}
