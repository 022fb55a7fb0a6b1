// Package transferrpc is the Connect adapter of WeCom transfers: WeComTransferService and the transfer job.
package transferrpc

import (
	"context"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/module"
	"github.com/salesapp/scrm/backend/wecom/transfer"
)

// Module is what WeCom transfers contribute: WeComTransferService and the job asking WeCom.
func Module(svc *transfer.Service) module.Module {
	return module.Module{
		Name:    "wecom_transfer",
		Feature: authn.FeatureWeCom,
		Services: []module.Service{module.Connect[salesappv1connect.WeComTransferServiceHandler](salesappv1connect.WeComTransferServiceName,
			salesappv1connect.NewWeComTransferServiceHandler, &Handler{svc: svc})},
		Workers: svc.Workers,
	}
}

// Handler serves WeComTransferService.
type Handler struct{ svc *transfer.Service }

var _ salesappv1connect.WeComTransferServiceHandler = (*Handler)(nil)

// ListWeComTransfers implements WeComTransferService.
func (h *Handler) ListWeComTransfers(ctx context.Context, req *connect.Request[salesappv1.ListWeComTransfersRequest]) (*connect.Response[salesappv1.ListWeComTransfersResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	list, counts, err := h.svc.List(ctx, p, uuid.MustParse(req.Msg.HandoverId))
	if err != nil {
		return nil, err
	}
	out := &salesappv1.ListWeComTransfersResponse{Counts: map[string]int32{}}
	for st, n := range counts {
		out.Counts[string(st)] = int32(n)
	}
	for _, t := range list {
		m := &salesappv1.WeComTransfer{CustomerId: t.CustomerID.String(), ExternalUserid: t.ExternalUserID,
			HandoverUserid: t.HandoverUserID, TakeoverUserid: t.TakeoverUserID, Resigned: t.Resigned, Status: string(t.Status),
			Errcode: int32(t.ErrCode)}
		if !t.RequestedAt.IsZero() {
			m.RequestedAt = timestamppb.New(t.RequestedAt)
		}
		if !t.TakeoverAt.IsZero() {
			m.TakeoverAt = timestamppb.New(t.TakeoverAt)
		}
		out.Transfers = append(out.Transfers, m)
	}
	return connect.NewResponse(out), nil
}
