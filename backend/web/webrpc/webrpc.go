// Package webrpc is the Connect adapter of the customers' pages: PublicService. Its procedures need no
// login and are rate limited per client address (see PublicProcedures).
package webrpc

import (
	"context"

	"connectrpc.com/connect"
	"github.com/google/uuid"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/card/cardrpc"
	"github.com/salesapp/scrm/backend/event/eventrpc"
	"github.com/salesapp/scrm/backend/material/materialrpc"
	"github.com/salesapp/scrm/backend/web"
)

// PublicProcedures need no access token.
var PublicProcedures = []string{
	salesappv1connect.PublicServiceOpenShareProcedure,
	salesappv1connect.PublicServiceForwardShareProcedure,
	salesappv1connect.PublicServiceLoginMiniProgramProcedure,
	salesappv1connect.PublicServiceLeavePhoneNumberProcedure,
	salesappv1connect.PublicServiceLoginH5Procedure,
	salesappv1connect.PublicServiceResolveSceneProcedure,
}

// Handler serves PublicService.
type Handler struct{ svc *web.Service }

// New builds the handler.
func New(svc *web.Service) *Handler { return &Handler{svc: svc} }

var _ salesappv1connect.PublicServiceHandler = (*Handler)(nil)

// OpenShare implements PublicService.
func (h *Handler) OpenShare(ctx context.Context, req *connect.Request[salesappv1.OpenShareRequest]) (*connect.Response[salesappv1.OpenShareResponse], error) {
	page, err := h.svc.Open(ctx, req.Msg.GetToken())
	if err != nil {
		return nil, err
	}
	out := &salesappv1.OpenShareResponse{
		Card: cardrpc.ToProto(page.Card), Channel: eventrpc.ChannelToProto(page.Share.Channel), Depth: int32(page.Share.Depth),
	}
	if page.Material != nil {
		m := materialrpc.ToProto(*page.Material)
		// Customers see the content, not the library's bookkeeping.
		m.ShareCount, m.OwnerId, m.FolderId, m.RejectReason = 0, "", "", ""
		out.Material = m
	}
	res := connect.NewResponse(out)
	// OpenShare answers Connect GET (it has no side effects): the same for every visitor of the link, so
	// shared caches may keep it, for a few seconds only, so that a material taken down leaves pages soon.
	res.Header().Set("Cache-Control", "public, max-age=5")
	return res, nil
}

// ForwardShare implements PublicService.
func (h *Handler) ForwardShare(ctx context.Context, req *connect.Request[salesappv1.ForwardShareRequest]) (*connect.Response[salesappv1.ForwardShareResponse], error) {
	sh, err := h.svc.Forward(ctx, req.Msg.GetToken(), eventrpc.ChannelFromProto(req.Msg.GetChannel()), req.Msg.GetForwarder())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.ForwardShareResponse{Token: sh.Token, Url: h.svc.URL(sh.Token)}), nil
}

// LoginMiniProgram implements PublicService.
func (h *Handler) LoginMiniProgram(ctx context.Context, req *connect.Request[salesappv1.LoginMiniProgramRequest]) (*connect.Response[salesappv1.LoginMiniProgramResponse], error) {
	returning, err := h.svc.LoginMiniProgram(ctx, req.Msg.GetToken(), req.Msg.GetVisitorId(), req.Msg.GetCode())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.LoginMiniProgramResponse{Returning: returning}), nil
}

// LeavePhoneNumber implements PublicService.
func (h *Handler) LeavePhoneNumber(ctx context.Context, req *connect.Request[salesappv1.LeavePhoneNumberRequest]) (*connect.Response[salesappv1.LeavePhoneNumberResponse], error) {
	m := req.Msg
	if err := h.svc.LeavePhoneNumber(ctx, m.GetToken(), m.GetVisitorId(), m.GetPhoneCode(), uuid.MustParse(m.GetEventId())); err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.LeavePhoneNumberResponse{}), nil
}

// LoginH5 implements PublicService.
func (h *Handler) LoginH5(ctx context.Context, req *connect.Request[salesappv1.LoginH5Request]) (*connect.Response[salesappv1.LoginH5Response], error) {
	returning, err := h.svc.LoginH5(ctx, req.Msg.GetToken(), req.Msg.GetVisitorId(), req.Msg.GetCode())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.LoginH5Response{Returning: returning}), nil
}

// ResolveScene implements PublicService.
func (h *Handler) ResolveScene(ctx context.Context, req *connect.Request[salesappv1.ResolveSceneRequest]) (*connect.Response[salesappv1.ResolveSceneResponse], error) {
	sh, err := h.svc.ResolveScene(ctx, req.Msg.GetScene())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.ResolveSceneResponse{Token: sh.Token, Url: h.svc.URL(sh.Token)}), nil
}
