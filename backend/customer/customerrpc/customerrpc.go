// Package customerrpc is the Connect adapter of customers: CustomerService.
package customerrpc

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/event/eventrpc"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/rpcserver"
)

// Handler serves CustomerService.
type Handler struct{ svc *customer.Service }

// New builds the handler.
func New(svc *customer.Service) *Handler { return &Handler{svc: svc} }

var _ salesappv1connect.CustomerServiceHandler = (*Handler)(nil)

var stageNames = map[salesappv1.CustomerStage]customer.Stage{
	salesappv1.CustomerStage_CUSTOMER_STAGE_NEW:         customer.StageNew,
	salesappv1.CustomerStage_CUSTOMER_STAGE_CONTACTED:   customer.StageContacted,
	salesappv1.CustomerStage_CUSTOMER_STAGE_INTERESTED:  customer.StageInterested,
	salesappv1.CustomerStage_CUSTOMER_STAGE_NEGOTIATING: customer.StageNegotiating,
	salesappv1.CustomerStage_CUSTOMER_STAGE_WON:         customer.StageWon,
	salesappv1.CustomerStage_CUSTOMER_STAGE_LOST:        customer.StageLost,
}

// StageFromProto is the stage a wire value names ("" for unspecified).
func StageFromProto(s salesappv1.CustomerStage) customer.Stage { return stageNames[s] }

// StageToProto is a stage's wire value.
func StageToProto(s customer.Stage) salesappv1.CustomerStage {
	for k, v := range stageNames {
		if v == s {
			return k
		}
	}
	return salesappv1.CustomerStage_CUSTOMER_STAGE_UNSPECIFIED
}

func optionalID(s string) uuid.UUID {
	if s == "" {
		return uuid.Nil
	}
	return uuid.MustParse(s) // the validator has checked it
}

// ListCustomers implements CustomerService.
func (h *Handler) ListCustomers(ctx context.Context, req *connect.Request[salesappv1.ListCustomersRequest]) (*connect.Response[salesappv1.ListCustomersResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	sort := customer.SortLastActive
	switch m.GetSort() {
	case salesappv1.CustomerSort_CUSTOMER_SORT_INTENT:
		sort = customer.SortIntent
	case salesappv1.CustomerSort_CUSTOMER_SORT_NEWEST:
		sort = customer.SortNewest
	}
	list, next, err := h.svc.List(ctx, p, customer.Filter{
		Sort: sort, Tag: m.GetTag(), Stage: stageNames[m.GetStage()], Channel: eventrpc.ChannelFromProto(m.GetSourceChannel()),
		MaterialID: optionalID(m.GetMaterialId()), OwnerID: optionalID(m.GetOwnerId()), Unassigned: m.GetUnassigned(),
		PageSize: int(m.GetPageSize()), PageToken: m.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	out := make([]*salesappv1.Customer, len(list))
	for i, c := range list {
		out[i] = toProto(c, p)
	}
	return connect.NewResponse(&salesappv1.ListCustomersResponse{Customers: out, NextPageToken: next}), nil
}

func toProto(c customer.Customer, p authn.Principal) *salesappv1.Customer {
	phone := c.Phone
	if phone != "" && !(c.OwnerID.Valid && c.OwnerID.UUID == p.EmployeeID) {
		phone = customer.MaskPhone(phone)
	}
	out := &salesappv1.Customer{
		Id: c.ID.String(), DisplayName: c.DisplayName, AvatarUrl: c.AvatarURL, Phone: phone, Stage: StageToProto(c.Stage),
		SourceChannel: eventrpc.ChannelToProto(c.SourceChannel), Tags: c.Tags, Views: c.Views, DwellMs: rpcserver.Int32(c.DwellMs), IntentScore: c.IntentScore,
		LastActiveAt: timestamppb.New(c.LastActiveAt), CreatedAt: timestamppb.New(c.CreatedAt), Remark: c.Remark,
		PhoneVerified: c.PhoneVerified,
	}
	if c.OwnerID.Valid {
		out.OwnerId = c.OwnerID.UUID.String()
	}
	return out
}

// GetCustomer implements CustomerService.
func (h *Handler) GetCustomer(ctx context.Context, req *connect.Request[salesappv1.GetCustomerRequest]) (*connect.Response[salesappv1.GetCustomerResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	pr, err := h.svc.Get(ctx, p, uuid.MustParse(req.Msg.GetCustomerId()))
	if err != nil {
		return nil, err
	}
	out := &salesappv1.CustomerProfile{
		Customer: toProto(pr.Customer, p), Forwards: pr.Forwards, CallClicks: pr.CallClicks, WechatClicks: pr.WeChatClicks,
		FirstSeenAt: timestamppb.New(pr.FirstSeenAt), IntentReasons: pr.Reasons,
	}
	for _, id := range pr.Identities {
		v := customer.MaskIdentity(id.Value)
		if id.Kind == customer.IdentityPhone {
			v = customer.MaskPhone(id.Value)
		}
		out.Identities = append(out.Identities, &salesappv1.Identity{Kind: id.Kind, MaskedValue: v})
	}
	var top int64
	for _, in := range pr.Interests {
		top = max(top, in.Weight)
	}
	for _, in := range pr.Interests {
		out.Interests = append(out.Interests, &salesappv1.Interest{Tag: in.Tag, Weight: int32(in.Weight * 100 / max(top, 1))})
	}
	for _, n := range pr.Notes {
		out.Notes = append(out.Notes, noteToProto(n))
	}
	return connect.NewResponse(&salesappv1.GetCustomerResponse{Profile: out}), nil
}

func noteToProto(n customer.Note) *salesappv1.Note {
	out := &salesappv1.Note{Id: n.ID.String(), AuthorId: n.AuthorID.String(), Kind: string(n.Kind), Body: n.Body, CreatedAt: timestamppb.New(n.CreatedAt)}
	if n.NextAt != nil {
		out.NextAt = timestamppb.New(*n.NextAt)
	}
	return out
}

// GetTimeline implements CustomerService.
func (h *Handler) GetTimeline(ctx context.Context, req *connect.Request[salesappv1.GetTimelineRequest]) (*connect.Response[salesappv1.GetTimelineResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	items, next, err := h.svc.Timeline(ctx, p, uuid.MustParse(req.Msg.GetCustomerId()), int(req.Msg.GetPageSize()), req.Msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := make([]*salesappv1.TimelineItem, len(items))
	for i, it := range items {
		out[i] = &salesappv1.TimelineItem{
			EventId: it.ID.String(), Kind: eventrpc.KindToProto(it.Kind), OccurredAt: timestamppb.New(it.OccurredAt),
			DwellMs: rpcserver.Int32(int64(it.DwellMs)), Value: it.Value, MaterialTitle: it.MaterialTitle,
			ForwardOpened: int32(it.ForwardOpened), ForwardRead: int32(it.ForwardRead), Text: customer.Text(it),
		}
		if it.MaterialID.Valid {
			out[i].MaterialId = it.MaterialID.UUID.String()
		}
	}
	return connect.NewResponse(&salesappv1.GetTimelineResponse{Items: out, NextPageToken: next}), nil
}

// UpdateCustomer implements CustomerService.
func (h *Handler) UpdateCustomer(ctx context.Context, req *connect.Request[salesappv1.UpdateCustomerRequest]) (*connect.Response[salesappv1.UpdateCustomerResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	c := customer.Change{DisplayName: m.DisplayName, Remark: m.Remark}
	if s, ok := stageNames[m.GetStage()]; ok {
		c.Stage = &s
	}
	if m.Tags != nil {
		tags := m.Tags.GetValues()
		c.Tags = &tags
	}
	cu, err := h.svc.Update(ctx, p, uuid.MustParse(m.GetCustomerId()), c)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.UpdateCustomerResponse{Customer: toProto(cu, p)}), nil
}

// AddNote implements CustomerService.
func (h *Handler) AddNote(ctx context.Context, req *connect.Request[salesappv1.AddNoteRequest]) (*connect.Response[salesappv1.AddNoteResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	var next *time.Time
	if req.Msg.GetNextAt() != nil {
		t := req.Msg.GetNextAt().AsTime()
		next = &t
	}
	n, err := h.svc.AddNote(ctx, p, uuid.MustParse(req.Msg.GetCustomerId()), customer.NoteKind(req.Msg.GetKind()), req.Msg.GetBody(), next)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.AddNoteResponse{Note: noteToProto(n)}), nil
}

// AssignCustomer implements CustomerService.
func (h *Handler) AssignCustomer(ctx context.Context, req *connect.Request[salesappv1.AssignCustomerRequest]) (*connect.Response[salesappv1.AssignCustomerResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	c, err := h.svc.Assign(ctx, p, uuid.MustParse(req.Msg.GetCustomerId()), uuid.MustParse(req.Msg.GetOwnerId()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.AssignCustomerResponse{Customer: toProto(c, p)}), nil
}
