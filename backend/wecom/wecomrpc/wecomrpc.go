// Package wecomrpc is the Connect adapter of the WeCom bridge: WeComService, the callback route and the
// dispatcher's workers.
package wecomrpc

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/platform/module"
	"github.com/salesapp/scrm/backend/wecom"
)

// Module is what the WeCom bridge contributes: WeComService, the public callback route WeCom posts to
// (authenticated by its signature, limited per tenant), the dispatcher processing stored events and the
// hourly rewrap of secrets sealed under an older key.
func Module(svc *wecom.Service) module.Module {
	return module.Module{
		Name:     "wecom",
		Feature:  authn.FeatureWeCom,
		Services: []module.Service{module.Connect[salesappv1connect.WeComServiceHandler](salesappv1connect.WeComServiceName, salesappv1connect.NewWeComServiceHandler, &Handler{svc: svc})},
		Routes:   []module.Route{{Pattern: wecom.CallbackPattern, Handler: svc.Callback()}},
		Workers: func(w *river.Workers) {
			river.AddWorker(w, svc.DispatchWorker())
			river.AddWorker(w, svc.RewrapWorker())
		},
		Periodic: []*river.PeriodicJob{jobs.Hourly(wecom.RewrapArgs{})},
	}
}

// Handler serves WeComService.
type Handler struct{ svc *wecom.Service }

var _ salesappv1connect.WeComServiceHandler = (*Handler)(nil)

func configOf(c wecom.Config) *salesappv1.WeComConfig {
	out := &salesappv1.WeComConfig{Configured: c.Configured, CorpId: c.CorpID, AgentId: int32(c.AgentID),
		AgentSecretSet: c.AgentSecretSet, ContactSecretSet: c.ContactSecretSet, CallbackTokenSet: c.TokenSet,
		EncodingAesKeySet: c.AESKeySet, CallbackUrl: c.CallbackURL}
	if !c.UpdatedAt.IsZero() {
		out.UpdatedAt = timestamppb.New(c.UpdatedAt)
	}
	if c.UpdatedBy != uuid.Nil {
		out.UpdatedBy = c.UpdatedBy.String()
	}
	return out
}

// SetWeComConfig implements WeComService.
func (h *Handler) SetWeComConfig(ctx context.Context, req *connect.Request[salesappv1.SetWeComConfigRequest]) (*connect.Response[salesappv1.SetWeComConfigResponse], error) {
	p, _ := authn.FromContext(ctx)
	m := req.Msg
	c, err := h.svc.SetConfig(ctx, p, wecom.ConfigInput{CorpID: m.GetCorpId(), AgentID: int64(m.GetAgentId()),
		AgentSecret: m.GetAgentSecret(), ContactSecret: m.GetContactSecret(), CallbackToken: m.GetCallbackToken(),
		EncodingAESKey: m.GetEncodingAesKey()})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.SetWeComConfigResponse{Config: configOf(c)}), nil
}

// GetWeComConfig implements WeComService.
func (h *Handler) GetWeComConfig(ctx context.Context, _ *connect.Request[salesappv1.GetWeComConfigRequest]) (*connect.Response[salesappv1.GetWeComConfigResponse], error) {
	p, _ := authn.FromContext(ctx)
	c, err := h.svc.GetConfig(ctx, p)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.GetWeComConfigResponse{Config: configOf(c)}), nil
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// ListWeComEvents implements WeComService.
func (h *Handler) ListWeComEvents(ctx context.Context, req *connect.Request[salesappv1.ListWeComEventsRequest]) (*connect.Response[salesappv1.ListWeComEventsResponse], error) {
	p, _ := authn.FromContext(ctx)
	m := req.Msg
	evs, next, err := h.svc.ListEvents(ctx, p, wecom.EventFilter{Status: wecom.Status(m.GetStatus()),
		PageSize: int(m.GetPageSize()), PageToken: m.GetPageToken()})
	if err != nil {
		return nil, err
	}
	out := &salesappv1.ListWeComEventsResponse{NextPageToken: next}
	for _, e := range evs {
		out.Events = append(out.Events, &salesappv1.WeComEvent{Id: e.ID.String(), MsgType: e.Kind.MsgType,
			Event: e.Kind.Event, ChangeType: e.Kind.ChangeType, ReceivedAt: ts(e.ReceivedAt), Status: string(e.Status),
			Attempts: uint32(e.Attempts), LastError: e.LastError, ProcessedAt: ts(e.ProcessedAt), Xml: e.XML})
	}
	return connect.NewResponse(out), nil
}

// ReplayWeComEvent implements WeComService.
func (h *Handler) ReplayWeComEvent(ctx context.Context, req *connect.Request[salesappv1.ReplayWeComEventRequest]) (*connect.Response[salesappv1.ReplayWeComEventResponse], error) {
	p, _ := authn.FromContext(ctx)
	if err := h.svc.ReplayEvent(ctx, p, uuid.MustParse(req.Msg.GetId())); err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.ReplayWeComEventResponse{}), nil
}
