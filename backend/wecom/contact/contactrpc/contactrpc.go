// Package contactrpc is the Connect adapter of WeCom external contacts: WeComChannelService,
// WeComContactService, and the welcome message and import workers.
package contactrpc

import (
	"context"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/module"
	"github.com/salesapp/scrm/backend/wecom/contact"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
)

// Module is what WeCom external contacts contribute: WeComChannelService and the welcome worker (the
// callback handlers are registered on the bridge by contact.Service.Register).
func Module(svc *contact.Service) module.Module {
	return module.Module{
		Name:    "wecom_contact",
		Feature: authn.FeatureWeCom,
		Services: []module.Service{
			module.Connect[salesappv1connect.WeComChannelServiceHandler](salesappv1connect.WeComChannelServiceName,
				salesappv1connect.NewWeComChannelServiceHandler, &Handler{svc: svc}),
			module.Connect[salesappv1connect.WeComContactServiceHandler](salesappv1connect.WeComContactServiceName,
				salesappv1connect.NewWeComContactServiceHandler, &ImportHandler{svc: svc}),
		},
		Workers:  svc.Workers,
		Periodic: svc.Periodic(),
	}
}

// Handler serves WeComChannelService.
type Handler struct{ svc *contact.Service }

var _ salesappv1connect.WeComChannelServiceHandler = (*Handler)(nil)

func channelOf(c contact.Channel) *salesappv1.WeComChannel {
	out := &salesappv1.WeComChannel{Id: c.ID.String(), Name: c.Name, State: c.State, QrCode: c.QRCode, Tags: c.Tags,
		WelcomeText: c.WelcomeText, Adds: int32(c.Adds), Leads: int32(c.Leads), Wins: int32(c.Wins), CreatedAt: timestamppb.New(c.CreatedAt)}
	for _, id := range c.EmployeeIDs {
		out.EmployeeIds = append(out.EmployeeIds, id.String())
	}
	if c.WelcomeMaterialID != uuid.Nil {
		out.WelcomeMaterialId = c.WelcomeMaterialID.String()
	}
	out.DailyCap, out.WelcomeMiniProgram = int32(c.DailyCap), c.WelcomeMiniProgram
	for _, id := range c.PausedIDs {
		out.PausedEmployeeIds = append(out.PausedEmployeeIds, id.String())
	}
	return out
}

// inputOf converts the fields (their shape already checked by protovalidate).
func inputOf(f *salesappv1.WeComChannelFields) (contact.ChannelInput, error) {
	in := contact.ChannelInput{Name: f.GetName(), Tags: f.GetTags(), WelcomeText: f.GetWelcomeText(), DailyCap: int(f.GetDailyCap()),
		WelcomeMiniProgram: f.GetWelcomeMiniProgram()}
	if m := f.GetWelcomeMaterialId(); m != "" {
		id, err := uuid.Parse(m)
		if err != nil {
			return contact.ChannelInput{}, platform.Invalid("fields.welcome_material_id", "must be a UUID")
		}
		in.WelcomeMaterialID = id
	}
	for _, s := range f.GetEmployeeIds() {
		id, err := uuid.Parse(s)
		if err != nil {
			return contact.ChannelInput{}, platform.Invalid("fields.employee_ids", "must be UUIDs")
		}
		in.EmployeeIDs = append(in.EmployeeIDs, id)
	}
	return in, nil
}

func channelID(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, platform.Invalid("channel_id", "must be a UUID")
	}
	return id, nil
}

// CreateWeComChannel implements WeComChannelService.
func (h *Handler) CreateWeComChannel(ctx context.Context, req *connect.Request[salesappv1.CreateWeComChannelRequest]) (*connect.Response[salesappv1.CreateWeComChannelResponse], error) {
	p, _ := authn.FromContext(ctx)
	in, err := inputOf(req.Msg.GetFields())
	if err != nil {
		return nil, err
	}
	c, err := h.svc.CreateChannel(ctx, p, in)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.CreateWeComChannelResponse{Channel: channelOf(c)}), nil
}

// UpdateWeComChannel implements WeComChannelService.
func (h *Handler) UpdateWeComChannel(ctx context.Context, req *connect.Request[salesappv1.UpdateWeComChannelRequest]) (*connect.Response[salesappv1.UpdateWeComChannelResponse], error) {
	p, _ := authn.FromContext(ctx)
	id, err := channelID(req.Msg.GetChannelId())
	if err != nil {
		return nil, err
	}
	in, err := inputOf(req.Msg.GetFields())
	if err != nil {
		return nil, err
	}
	c, err := h.svc.UpdateChannel(ctx, p, id, in)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.UpdateWeComChannelResponse{Channel: channelOf(c)}), nil
}

// DeleteWeComChannel implements WeComChannelService.
func (h *Handler) DeleteWeComChannel(ctx context.Context, req *connect.Request[salesappv1.DeleteWeComChannelRequest]) (*connect.Response[salesappv1.DeleteWeComChannelResponse], error) {
	p, _ := authn.FromContext(ctx)
	id, err := channelID(req.Msg.GetChannelId())
	if err != nil {
		return nil, err
	}
	if err := h.svc.DeleteChannel(ctx, p, id); err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.DeleteWeComChannelResponse{}), nil
}

// ListWeComChannels implements WeComChannelService.
func (h *Handler) ListWeComChannels(ctx context.Context, req *connect.Request[salesappv1.ListWeComChannelsRequest]) (*connect.Response[salesappv1.ListWeComChannelsResponse], error) {
	p, _ := authn.FromContext(ctx)
	cs, next, err := h.svc.ListChannels(ctx, p, int(req.Msg.GetPageSize()), req.Msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &salesappv1.ListWeComChannelsResponse{NextPageToken: next}
	for _, c := range cs {
		out.Channels = append(out.Channels, channelOf(c))
	}
	return connect.NewResponse(out), nil
}

// ImportHandler serves WeComContactService.
type ImportHandler struct{ svc *contact.Service }

var _ salesappv1connect.WeComContactServiceHandler = (*ImportHandler)(nil)

// ImportWeComContacts implements WeComContactService.
func (h *ImportHandler) ImportWeComContacts(ctx context.Context, _ *connect.Request[salesappv1.ImportWeComContactsRequest]) (*connect.Response[salesappv1.ImportWeComContactsResponse], error) {
	p, _ := authn.FromContext(ctx)
	if err := h.svc.RequestImport(ctx, p); err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.ImportWeComContactsResponse{}), nil
}

// GetWeComContactImport implements WeComContactService.
func (h *ImportHandler) GetWeComContactImport(ctx context.Context, _ *connect.Request[salesappv1.GetWeComContactImportRequest]) (*connect.Response[salesappv1.GetWeComContactImportResponse], error) {
	p, _ := authn.FromContext(ctx)
	st, err := h.svc.ImportState(ctx, p)
	if err != nil {
		return nil, err
	}
	out := &salesappv1.GetWeComContactImportResponse{}
	if st != nil {
		out.LastImport = &salesappv1.WeComContactImport{StartedAt: timestamppb.New(st.StartedAt), Pages: int32(st.Pages),
			Contacts: int32(st.Contacts), Created: int32(st.Created), Existing: int32(st.Existing), Error: st.Error}
		if !st.FinishedAt.IsZero() {
			out.LastImport.FinishedAt = timestamppb.New(st.FinishedAt)
		}
	}
	return connect.NewResponse(out), nil
}

func tagGroupOf(g wecomapi.TagGroup) *salesappv1.WeComCorpTagGroup {
	out := &salesappv1.WeComCorpTagGroup{Id: g.GroupID, Name: g.GroupName}
	for _, t := range g.Tags {
		out.Tags = append(out.Tags, &salesappv1.WeComCorpTag{Id: t.ID, Name: t.Name})
	}
	return out
}

// ListWeComCorpTags implements WeComContactService.
func (h *ImportHandler) ListWeComCorpTags(ctx context.Context, _ *connect.Request[salesappv1.ListWeComCorpTagsRequest]) (*connect.Response[salesappv1.ListWeComCorpTagsResponse], error) {
	p, _ := authn.FromContext(ctx)
	groups, err := h.svc.CorpTags(ctx, p)
	if err != nil {
		return nil, err
	}
	out := &salesappv1.ListWeComCorpTagsResponse{}
	for _, g := range groups {
		out.Groups = append(out.Groups, tagGroupOf(g))
	}
	return connect.NewResponse(out), nil
}

// AddWeComCorpTags implements WeComContactService.
func (h *ImportHandler) AddWeComCorpTags(ctx context.Context, req *connect.Request[salesappv1.AddWeComCorpTagsRequest]) (*connect.Response[salesappv1.AddWeComCorpTagsResponse], error) {
	p, _ := authn.FromContext(ctx)
	g, err := h.svc.AddCorpTags(ctx, p, req.Msg.GetGroupName(), req.Msg.GetTags())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.AddWeComCorpTagsResponse{Group: tagGroupOf(g)}), nil
}
