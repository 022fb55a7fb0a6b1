// Package handoverrpc is the Connect adapter of employee handovers: HandoverService.
package handoverrpc

import (
	"context"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/customer/customerrpc"
	"github.com/salesapp/scrm/backend/handover"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/module"
)

// Module is what handovers contribute: HandoverService.
func Module(svc *handover.Service) module.Module {
	return module.Module{
		Name: "handover",
		Services: []module.Service{module.Connect[salesappv1connect.HandoverServiceHandler](salesappv1connect.HandoverServiceName,
			salesappv1connect.NewHandoverServiceHandler, &Handler{svc: svc})},
	}
}

// Handler serves HandoverService.
type Handler struct{ svc *handover.Service }

var _ salesappv1connect.HandoverServiceHandler = (*Handler)(nil)

// HandOver implements HandoverService.
func (h *Handler) HandOver(ctx context.Context, req *connect.Request[salesappv1.HandOverRequest]) (*connect.Response[salesappv1.HandOverResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	r := handover.Request{FromID: uuid.MustParse(req.Msg.GetFromEmployeeId()), Selection: customer.Selection{Tags: req.Msg.GetTags()}}
	for _, s := range req.Msg.GetToEmployeeIds() {
		r.ToIDs = append(r.ToIDs, uuid.MustParse(s))
	}
	for _, st := range req.Msg.GetStages() {
		r.Selection.Stages = append(r.Selection.Stages, customerrpc.StageFromProto(st))
	}
	out, err := h.svc.HandOver(ctx, p, r)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.HandOverResponse{Handover: toProto(out)}), nil
}

// ListHandovers implements HandoverService.
func (h *Handler) ListHandovers(ctx context.Context, req *connect.Request[salesappv1.ListHandoversRequest]) (*connect.Response[salesappv1.ListHandoversResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	f := handover.Filter{PageSize: int(req.Msg.GetPageSize()), PageToken: req.Msg.GetPageToken()}
	if s := req.Msg.GetFromEmployeeId(); s != "" {
		f.FromID = uuid.MustParse(s)
	}
	list, next, err := h.svc.List(ctx, p, f)
	if err != nil {
		return nil, err
	}
	out := &salesappv1.ListHandoversResponse{NextPageToken: next}
	for _, x := range list {
		out.Handovers = append(out.Handovers, toProto(x))
	}
	return connect.NewResponse(out), nil
}

func toProto(h handover.Handover) *salesappv1.Handover {
	out := &salesappv1.Handover{Id: h.ID.String(), At: timestamppb.New(h.At), ActorId: h.ActorID.String(),
		FromEmployeeId: h.FromID.String(), Tags: h.Selection.Tags, Customers: int32(h.Customers), Tasks: int32(h.Tasks),
		FollowUps: int32(h.FollowUps)}
	for _, id := range h.ToIDs {
		out.ToEmployeeIds = append(out.ToEmployeeIds, id.String())
	}
	for _, st := range h.Selection.Stages {
		out.Stages = append(out.Stages, customerrpc.StageToProto(st))
	}
	for _, n := range h.PerSuccessor {
		out.CustomersPerSuccessor = append(out.CustomersPerSuccessor, int32(n))
	}
	return out
}
