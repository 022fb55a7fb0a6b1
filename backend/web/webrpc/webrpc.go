// Package webrpc is the Connect adapter of the customers' pages: PublicService. Its procedures need no
// login and are rate limited per client address (see PublicProcedures).
package webrpc

import (
	"context"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/card/cardrpc"
	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/event/eventrpc"
	"github.com/salesapp/scrm/backend/material/materialrpc"
	"github.com/salesapp/scrm/backend/platform"
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
	salesappv1connect.PublicServiceRefreshCustomerSessionProcedure,
	salesappv1connect.PublicServiceOpenCardProcedure,
	salesappv1connect.PublicServiceOpenHomeProcedure,
	salesappv1connect.PublicServiceOpenFeaturedProcedure,
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
	res := connect.NewResponse(pageToProto(page))
	// OpenShare answers Connect GET (it has no side effects): the same for every visitor of the link, so
	// shared caches may keep it, for a few seconds only, so that a material taken down leaves pages soon.
	res.Header().Set("Cache-Control", "public, max-age=5")
	return res, nil
}

// pageToProto is what a customer sees of a page.
func pageToProto(page web.Page) *salesappv1.OpenShareResponse {
	out := &salesappv1.OpenShareResponse{
		Card: cardrpc.ToProto(page.Card), Channel: eventrpc.ChannelToProto(page.Share.Channel), Depth: int32(page.Share.Depth),
	}
	if page.Material != nil {
		m := materialrpc.ToProto(*page.Material)
		// Customers see the content, not the library's bookkeeping.
		m.ShareCount, m.OwnerId, m.FolderId, m.RejectReason = 0, "", "", ""
		out.Material = m
	}
	return out
}

// session is the customer session req carries (nil: none).
func (h *Handler) session(req connect.AnyRequest) (*customer.Session, error) {
	return h.svc.Session(req.Header().Get(customer.SessionHeader))
}

// signedIn is the customer session req must carry.
func (h *Handler) signedIn(req connect.AnyRequest) (customer.Session, error) {
	sess, err := h.session(req)
	if err == nil && sess == nil {
		err = errNeedsSession
	}
	if err != nil {
		return customer.Session{}, err
	}
	return *sess, nil
}

// cardOf is the card of a page opened without a link (OpenCard, OpenHome) and the link it is tracked under.
func (h *Handler) cardOf(page web.Page) (*salesappv1.Card, string, string) {
	return pageToProto(page).GetCard(), page.Share.Token, h.svc.URL(page.Share.Token)
}

// sessionToProto is a session as the mini-program keeps it.
func sessionToProto(token string, s customer.Session) *salesappv1.CustomerSession {
	return &salesappv1.CustomerSession{Token: token, ExpiresAt: timestamppb.New(s.ExpiresAt), RefreshUntil: timestamppb.New(s.RefreshUntil()),
		CustomerId: s.CustomerID.String(), VisitorId: s.VisitorID}
}

// RefreshCustomerSession implements PublicService.
func (h *Handler) RefreshCustomerSession(ctx context.Context, req *connect.Request[salesappv1.RefreshCustomerSessionRequest]) (*connect.Response[salesappv1.RefreshCustomerSessionResponse], error) {
	token, s, err := h.svc.RefreshSession(ctx, req.Msg.GetToken())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.RefreshCustomerSessionResponse{Session: sessionToProto(token, s)}), nil
}

// OpenCard implements PublicService.
func (h *Handler) OpenCard(ctx context.Context, req *connect.Request[salesappv1.OpenCardRequest]) (*connect.Response[salesappv1.OpenCardResponse], error) {
	sess, err := h.signedIn(req)
	if err != nil {
		return nil, err
	}
	page, err := h.svc.OpenCard(ctx, sess, uuid.MustParse(req.Msg.GetEmployeeId()))
	if err != nil {
		return nil, err
	}
	out := &salesappv1.OpenCardResponse{}
	out.Card, out.Token, out.Url = h.cardOf(page)
	return connect.NewResponse(out), nil
}

// OpenHome implements PublicService.
func (h *Handler) OpenHome(ctx context.Context, req *connect.Request[salesappv1.OpenHomeRequest]) (*connect.Response[salesappv1.OpenHomeResponse], error) {
	sess, err := h.signedIn(req)
	if err != nil {
		return nil, err
	}
	page, err := h.svc.OpenHome(ctx, sess)
	if err != nil {
		return nil, err
	}
	out := &salesappv1.OpenHomeResponse{}
	out.Card, out.Token, out.Url = h.cardOf(page)
	return connect.NewResponse(out), nil
}

// OpenFeatured implements PublicService.
func (h *Handler) OpenFeatured(ctx context.Context, req *connect.Request[salesappv1.OpenFeaturedRequest]) (*connect.Response[salesappv1.OpenFeaturedResponse], error) {
	token, err := h.svc.Featured(ctx, req.Msg.GetToken(), uuid.MustParse(req.Msg.GetMaterialId()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.OpenFeaturedResponse{Token: token, Url: h.svc.URL(token)}), nil
}

var errNeedsSession = platform.Unauthenticated("a customer session is needed (X-Customer-Session, from LoginMiniProgram)")

// ForwardShare implements PublicService.
func (h *Handler) ForwardShare(ctx context.Context, req *connect.Request[salesappv1.ForwardShareRequest]) (*connect.Response[salesappv1.ForwardShareResponse], error) {
	forwarder := req.Msg.GetForwarder()
	sess, err := h.session(req)
	if err != nil {
		return nil, err
	}
	if sess != nil && forwarder == "" {
		forwarder = sess.VisitorID
	}
	sh, err := h.svc.Forward(ctx, req.Msg.GetToken(), eventrpc.ChannelFromProto(req.Msg.GetChannel()), forwarder)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.ForwardShareResponse{Token: sh.Token, Url: h.svc.URL(sh.Token)}), nil
}

// LoginMiniProgram implements PublicService.
func (h *Handler) LoginMiniProgram(ctx context.Context, req *connect.Request[salesappv1.LoginMiniProgramRequest]) (*connect.Response[salesappv1.LoginMiniProgramResponse], error) {
	returning, token, sess, err := h.svc.LoginMiniProgram(ctx, req.Msg.GetToken(), req.Msg.GetVisitorId(), req.Msg.GetCode())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.LoginMiniProgramResponse{Returning: returning, Session: sessionToProto(token, sess)}), nil
}

// LeavePhoneNumber implements PublicService.
func (h *Handler) LeavePhoneNumber(ctx context.Context, req *connect.Request[salesappv1.LeavePhoneNumberRequest]) (*connect.Response[salesappv1.LeavePhoneNumberResponse], error) {
	m := req.Msg
	sess, err := h.session(req)
	if err != nil {
		return nil, err
	}
	visitor, err := customer.VisitorOf(sess, m.GetVisitorId(), "visitor_id")
	if err != nil {
		return nil, err
	}
	if err := h.svc.LeavePhoneNumber(ctx, m.GetToken(), visitor, m.GetPhoneCode(), uuid.MustParse(m.GetEventId())); err != nil {
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
