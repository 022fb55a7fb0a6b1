package operatorrpc

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/backend/operator"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/tenant"
	"github.com/salesapp/scrm/media"
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
	n := operator.NewTenant{Name: m.Name, Plan: tenant.Plan(m.Plan), SeatLimit: intPtr(m.SeatLimit), TimeZone: m.TimeZone}
	if m.ExpiresAt != nil {
		n.ExpiresAt = m.ExpiresAt.AsTime()
	}
	sub, err := h.tenants.Create(ctx, n)
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
	ch := tenant.TenantChange{Name: m.Name, TimeZone: m.TimeZone, SeatLimit: intPtr(m.SeatLimit)}
	if m.Plan != nil {
		p := tenant.Plan(*m.Plan)
		ch.Plan = &p
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

func toPlan(p tenant.PlanTerms) *salesappv1.PlanTerms {
	return &salesappv1.PlanTerms{Name: string(p.Name), SeatLimit: int32(p.SeatLimit), StorageQuotaMib: int32(p.StorageQuotaMiB),
		Features: tenant.FeatureNames(p.Features), TrialDays: int32(p.TrialDays), UpdatedAt: timestamppb.New(p.UpdatedAt)}
}

// ListPlans implements OperatorService.
func (h *Handler) ListPlans(ctx context.Context, _ *connect.Request[salesappv1.ListPlansRequest]) (*connect.Response[salesappv1.ListPlansResponse], error) {
	plans, err := h.tenants.Plans(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*salesappv1.PlanTerms, 0, len(plans))
	for _, p := range plans {
		out = append(out, toPlan(p))
	}
	return connect.NewResponse(&salesappv1.ListPlansResponse{Plans: out}), nil
}

// UpdatePlan implements OperatorService.
func (h *Handler) UpdatePlan(ctx context.Context, req *connect.Request[salesappv1.UpdatePlanRequest]) (*connect.Response[salesappv1.UpdatePlanResponse], error) {
	m := req.Msg
	ch := tenant.PlanChange{SeatLimit: intPtr(m.SeatLimit), StorageQuotaMiB: intPtr(m.StorageQuotaMib), TrialDays: intPtr(m.TrialDays)}
	if m.Features != nil {
		ch.Features = make([]authn.Feature, 0, len(m.Features.Features))
		for _, f := range m.Features.Features {
			ch.Features = append(ch.Features, authn.Feature(f))
		}
	}
	p, err := h.tenants.UpdatePlan(ctx, tenant.Plan(m.Name), ch)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.UpdatePlanResponse{Plan: toPlan(p)}), nil
}

func intPtr(n *int32) *int {
	if n == nil {
		return nil
	}
	v := int(*n)
	return &v
}

// GetTenantUsage implements OperatorService.
func (h *Handler) GetTenantUsage(ctx context.Context, req *connect.Request[salesappv1.GetTenantUsageRequest]) (*connect.Response[salesappv1.GetTenantUsageResponse], error) {
	id, err := tenantID(req.Msg.TenantId)
	if err != nil {
		return nil, err
	}
	days, err := h.tenants.Usage(ctx, id, req.Msg.Refresh)
	if err != nil {
		return nil, err
	}
	out := make([]*salesappv1.TenantUsage, 0, len(days))
	for _, u := range days {
		out = append(out, &salesappv1.TenantUsage{Day: u.Day.Format(time.DateOnly), MeasuredAt: timestamppb.New(u.MeasuredAt),
			SeatsUsed: int32(u.SeatsUsed), Active_7D: int32(u.Active7d), Active_30D: int32(u.Active30d), Shares_30D: int32(u.Shares30d),
			Views_30D: int32(u.Views30d), Customers: int32(u.Customers), StorageMib: int32((u.StorageBytes + media.MiB - 1) / media.MiB),
			Pushes_30D: int32(u.Pushes30d)})
	}
	return connect.NewResponse(&salesappv1.GetTenantUsageResponse{Days: out}), nil
}
