// Package sharerpc is the Connect adapter of share links for salespeople: ShareService.
package sharerpc

import (
	"context"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/event/eventrpc"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/rpcserver"
	"github.com/salesapp/scrm/backend/share"
)

// Handler serves ShareService.
type Handler struct{ svc *share.Service }

// New builds the handler.
func New(svc *share.Service) *Handler { return &Handler{svc: svc} }

var _ salesappv1connect.ShareServiceHandler = (*Handler)(nil)

// ShareMaterial implements ShareService.
func (h *Handler) ShareMaterial(ctx context.Context, req *connect.Request[salesappv1.ShareMaterialRequest]) (*connect.Response[salesappv1.ShareMaterialResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	taskID, _ := uuid.Parse(req.Msg.GetTaskId()) // validated: a uuid or empty (uuid.Nil)
	sh, err := h.svc.ShareMaterialForTask(ctx, p, uuid.MustParse(req.Msg.GetMaterialId()), eventrpc.ChannelFromProto(req.Msg.GetChannel()), taskID)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.ShareMaterialResponse{Share: ToProto(sh, h.svc.URL(sh.Token))}), nil
}

// ShareCard implements ShareService.
func (h *Handler) ShareCard(ctx context.Context, req *connect.Request[salesappv1.ShareCardRequest]) (*connect.Response[salesappv1.ShareCardResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	taskID, _ := uuid.Parse(req.Msg.GetTaskId()) // validated: a uuid or empty (uuid.Nil)
	sh, err := h.svc.ShareCardForTask(ctx, p, eventrpc.ChannelFromProto(req.Msg.GetChannel()), taskID)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.ShareCardResponse{Share: ToProto(sh, h.svc.URL(sh.Token))}), nil
}

// GetShareStats implements ShareService.
func (h *Handler) GetShareStats(ctx context.Context, req *connect.Request[salesappv1.GetShareStatsRequest]) (*connect.Response[salesappv1.GetShareStatsResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	id := uuid.Nil
	if s := req.Msg.GetEmployeeId(); s != "" {
		id = uuid.MustParse(s)
	}
	shares, forwards, err := h.svc.Stats(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.GetShareStatsResponse{Shares: rpcserver.Int32(shares), Forwards: rpcserver.Int32(forwards)}), nil
}

// ToProto converts a share for the wire.
func ToProto(sh share.Share, url string) *salesappv1.Share {
	out := &salesappv1.Share{
		Id: sh.ID.String(), Token: sh.Token, Url: url, Channel: eventrpc.ChannelToProto(sh.Channel),
		EmployeeId: sh.EmployeeID.String(), Depth: int32(sh.Depth), CreatedAt: timestamppb.New(sh.CreatedAt),
	}
	if sh.MaterialID != uuid.Nil {
		out.MaterialId = sh.MaterialID.String()
	}
	if sh.ParentID != uuid.Nil {
		out.ParentId = sh.ParentID.String()
	}
	if sh.TaskID != uuid.Nil {
		out.TaskId = sh.TaskID.String()
	}
	return out
}
