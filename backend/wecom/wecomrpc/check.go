package wecomrpc

import (
	"context"

	"connectrpc.com/connect"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/backend/platform/authn"
)

// CheckWeComConnection implements WeComService.
func (h *Handler) CheckWeComConnection(ctx context.Context, _ *connect.Request[salesappv1.CheckWeComConnectionRequest]) (*connect.Response[salesappv1.CheckWeComConnectionResponse], error) {
	p, _ := authn.FromContext(ctx)
	c, err := h.svc.CheckConnection(ctx, p)
	if err != nil {
		return nil, err
	}
	out := &salesappv1.CheckWeComConnectionResponse{Ok: c.OK}
	for _, ch := range c.Checks {
		out.Checks = append(out.Checks, &salesappv1.WeComCheck{Part: string(ch.Part), Ok: ch.OK,
			Problem: string(ch.Problem), Message: ch.Message, Errcode: int32(ch.ErrCode)})
	}
	return connect.NewResponse(out), nil
}
