// Package directoryrpc is the Connect adapter of the WeCom directory: WeComDirectoryService and the full
// sync's worker.
package directoryrpc

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/module"
	"github.com/salesapp/scrm/backend/wecom/directory"
)

// Module is what the WeCom directory contributes: WeComDirectoryService and the sync worker (the callback
// handlers are registered on the bridge by directory.Service.Register).
func Module(svc *directory.Service) module.Module {
	return module.Module{
		Name:    "wecom_directory",
		Feature: authn.FeatureWeCom,
		Services: []module.Service{module.Connect[salesappv1connect.WeComDirectoryServiceHandler](salesappv1connect.WeComDirectoryServiceName,
			salesappv1connect.NewWeComDirectoryServiceHandler, &Handler{svc: svc})},
		Workers: svc.Workers,
	}
}

// Handler serves WeComDirectoryService.
type Handler struct{ svc *directory.Service }

var _ salesappv1connect.WeComDirectoryServiceHandler = (*Handler)(nil)

// SyncWeComDirectory implements WeComDirectoryService.
func (h *Handler) SyncWeComDirectory(ctx context.Context, _ *connect.Request[salesappv1.SyncWeComDirectoryRequest]) (*connect.Response[salesappv1.SyncWeComDirectoryResponse], error) {
	p, _ := authn.FromContext(ctx)
	if err := h.svc.RequestSync(ctx, p); err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.SyncWeComDirectoryResponse{}), nil
}

// GetWeComDirectoryStatus implements WeComDirectoryService.
func (h *Handler) GetWeComDirectoryStatus(ctx context.Context, _ *connect.Request[salesappv1.GetWeComDirectoryStatusRequest]) (*connect.Response[salesappv1.GetWeComDirectoryStatusResponse], error) {
	p, _ := authn.FromContext(ctx)
	st, err := h.svc.LastSync(ctx, p)
	if err != nil {
		return nil, err
	}
	out := &salesappv1.GetWeComDirectoryStatusResponse{}
	if st != nil {
		r := st.Result
		out.LastSync = &salesappv1.WeComDirectorySync{StartedAt: timestamppb.New(st.StartedAt),
			TeamsCreated: int32(r.TeamsCreated), TeamsUpdated: int32(r.TeamsUpdated), EmployeesCreated: int32(r.Created),
			EmployeesUpdated: int32(r.Updated), EmployeesDisabled: int32(r.Disabled), MembersWithoutSeat: int32(r.NoSeat),
			AwaitingHandover: int32(r.AwaitingHandover), Error: st.Error, EmployeesEnabled: int32(r.Enabled),
			LeadsChanged: int32(r.LeadsChanged)}
		if !st.FinishedAt.IsZero() {
			out.LastSync.FinishedAt = timestamppb.New(st.FinishedAt)
		}
	}
	return connect.NewResponse(out), nil
}
