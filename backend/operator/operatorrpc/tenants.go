package operatorrpc

import (
	"context"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/tenant"
)

func toTenant(s tenant.Subscription) *salesappv1.OperatorTenant {
	return &salesappv1.OperatorTenant{TenantId: s.ID.String(), Name: s.Name, Plan: string(s.Plan), SeatLimit: int32(s.SeatLimit),
		SeatsUsed: int32(s.SeatsUsed), ExpiresAt: timestamppb.New(s.ExpiresAt), TimeZone: s.TimeZone, Suspended: s.Suspended,
		CreatedAt: timestamppb.New(s.CreatedAt)}
}

func tenantID(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, platform.Invalid("tenant_id", "must be a UUID")
	}
	return id, nil
}

// CreateTenant implements OperatorService.
func (h *Handler) CreateTenant(ctx context.Context, req *connect.Request[salesappv1.CreateTenantRequest]) (*connect.Response[salesappv1.CreateTenantResponse], error) {
	m := req.Msg
	sub, err := h.tenants.Create(ctx, tenant.NewTenant{Name: m.Name, Plan: tenant.Plan(m.Plan), SeatLimit: int(m.SeatLimit),
		ExpiresAt: m.ExpiresAt.AsTime(), TimeZone: m.TimeZone})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.CreateTenantResponse{Tenant: toTenant(sub)}), nil
}

// UpdateTenant implements OperatorService.
func (h *Handler) UpdateTenant(ctx context.Context, req *connect.Request[salesappv1.UpdateTenantRequest]) (*connect.Response[salesappv1.UpdateTenantResponse], error) {
	m := req.Msg
	id, err := tenantID(m.TenantId)
	if err != nil {
		return nil, err
	}
	ch := tenant.TenantChange{Name: m.Name, TimeZone: m.TimeZone}
	if m.Plan != nil {
		p := tenant.Plan(*m.Plan)
		ch.Plan = &p
	}
	if m.SeatLimit != nil {
		n := int(*m.SeatLimit)
		ch.SeatLimit = &n
	}
	sub, err := h.tenants.Update(ctx, id, ch)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.UpdateTenantResponse{Tenant: toTenant(sub)}), nil
}

// SuspendTenant implements OperatorService.
func (h *Handler) SuspendTenant(ctx context.Context, req *connect.Request[salesappv1.SuspendTenantRequest]) (*connect.Response[salesappv1.SuspendTenantResponse], error) {
	id, err := tenantID(req.Msg.TenantId)
	if err != nil {
		return nil, err
	}
	sub, err := h.tenants.Suspend(ctx, id)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.SuspendTenantResponse{Tenant: toTenant(sub)}), nil
}

// ResumeTenant implements OperatorService.
func (h *Handler) ResumeTenant(ctx context.Context, req *connect.Request[salesappv1.ResumeTenantRequest]) (*connect.Response[salesappv1.ResumeTenantResponse], error) {
	id, err := tenantID(req.Msg.TenantId)
	if err != nil {
		return nil, err
	}
	sub, err := h.tenants.Resume(ctx, id)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.ResumeTenantResponse{Tenant: toTenant(sub)}), nil
}

// ExtendTenant implements OperatorService.
func (h *Handler) ExtendTenant(ctx context.Context, req *connect.Request[salesappv1.ExtendTenantRequest]) (*connect.Response[salesappv1.ExtendTenantResponse], error) {
	id, err := tenantID(req.Msg.TenantId)
	if err != nil {
		return nil, err
	}
	sub, err := h.tenants.Extend(ctx, id, req.Msg.ExpiresAt.AsTime())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.ExtendTenantResponse{Tenant: toTenant(sub)}), nil
}

// ListTenants implements OperatorService.
func (h *Handler) ListTenants(ctx context.Context, _ *connect.Request[salesappv1.ListTenantsRequest]) (*connect.Response[salesappv1.ListTenantsResponse], error) {
	subs, err := h.tenants.List(ctx)
	if err != nil {
		return nil, err
	}
	out := &salesappv1.ListTenantsResponse{Tenants: make([]*salesappv1.OperatorTenant, 0, len(subs))}
	for _, s := range subs {
		out.Tenants = append(out.Tenants, toTenant(s))
	}
	return connect.NewResponse(out), nil
}
