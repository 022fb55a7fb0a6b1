// Package tagrulerpc is the Connect adapter of reading rules: TagRuleService.
package tagrulerpc

import (
	"context"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/module"
	"github.com/salesapp/scrm/backend/platform/rpcserver"
	"github.com/salesapp/scrm/backend/tagrule"
)

// Module is what reading rules contribute: TagRuleService and the worker of a new rule's first pass.
func Module(svc *tagrule.Service) module.Module {
	return module.Module{
		Name: "tagrule",
		Services: []module.Service{module.Connect[salesappv1connect.TagRuleServiceHandler](salesappv1connect.TagRuleServiceName,
			salesappv1connect.NewTagRuleServiceHandler, &Handler{svc: svc})},
		Workers: func(w *river.Workers) { river.AddWorker(w, svc.BackfillWorker()) },
	}
}

// Handler serves TagRuleService.
type Handler struct{ svc *tagrule.Service }

var _ salesappv1connect.TagRuleServiceHandler = (*Handler)(nil)

// CreateTagRule implements TagRuleService.
func (h *Handler) CreateTagRule(ctx context.Context, req *connect.Request[salesappv1.CreateTagRuleRequest]) (*connect.Response[salesappv1.CreateTagRuleResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	r, err := h.svc.Create(ctx, p, req.Msg.GetMaterialTag(), int(req.Msg.GetMinReads()), req.Msg.GetCustomerTag())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.CreateTagRuleResponse{Rule: toProto(r)}), nil
}

// ListTagRules implements TagRuleService.
func (h *Handler) ListTagRules(ctx context.Context, _ *connect.Request[salesappv1.ListTagRulesRequest]) (*connect.Response[salesappv1.ListTagRulesResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	rules, err := h.svc.List(ctx, p)
	if err != nil {
		return nil, err
	}
	out := &salesappv1.ListTagRulesResponse{}
	for _, r := range rules {
		out.Rules = append(out.Rules, toProto(r))
	}
	return connect.NewResponse(out), nil
}

// DeleteTagRule implements TagRuleService.
func (h *Handler) DeleteTagRule(ctx context.Context, req *connect.Request[salesappv1.DeleteTagRuleRequest]) (*connect.Response[salesappv1.DeleteTagRuleResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.svc.Delete(ctx, p, uuid.MustParse(req.Msg.GetId())); err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.DeleteTagRuleResponse{}), nil
}

func toProto(r tagrule.Rule) *salesappv1.TagRule {
	return &salesappv1.TagRule{Id: r.ID.String(), MaterialTag: r.MaterialTag, MinReads: int32(r.MinReads),
		CustomerTag: r.CustomerTag, CreatedAt: timestamppb.New(r.CreatedAt), Tagged: rpcserver.Int32(r.Tagged)}
}
