package operator

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/salesapp/scrm/backend/tenant"
)

// Tenants is what operators do to enterprises: backend/tenant's operator entry points.
type Tenants struct {
	svc     *Service
	tenants *tenant.Service
	now     func() time.Time
}

// Tenants returns the operators' tenant operations on tenants (now nil: the wall clock).
func (s *Service) Tenants(tenants *tenant.Service, now func() time.Time) *Tenants {
	if now == nil {
		now = time.Now
	}
	return &Tenants{svc: s, tenants: tenants, now: now}
}

// Create creates an enterprise by backend/tenant's one create path.
func (t *Tenants) Create(ctx context.Context, n tenant.NewTenant) (tenant.Subscription, error) {
	created, err := tenant.CreateTenant(ctx, t.svc.db.Pool, n)
	if err != nil {
		return tenant.Subscription{}, err
	}
	return t.tenants.Subscription(ctx, created.ID)
}

// Update changes an enterprise's name, plan, seat limit or time zone.
func (t *Tenants) Update(ctx context.Context, id uuid.UUID, ch tenant.TenantChange) (tenant.Subscription, error) {
	return t.tenants.ChangeTenant(ctx, id, ch)
}

// Suspend refuses an enterprise's staff until Resume.
func (t *Tenants) Suspend(ctx context.Context, id uuid.UUID) (tenant.Subscription, error) {
	return t.tenants.Suspend(ctx, id, t.now())
}

// Resume lifts a suspension.
func (t *Tenants) Resume(ctx context.Context, id uuid.UUID) (tenant.Subscription, error) {
	return t.tenants.Resume(ctx, id)
}

// Extend sets when an enterprise's subscription ends.
func (t *Tenants) Extend(ctx context.Context, id uuid.UUID, at time.Time) (tenant.Subscription, error) {
	return t.tenants.SetExpiry(ctx, id, at)
}

// List lists every enterprise, by name.
func (t *Tenants) List(ctx context.Context) ([]tenant.Subscription, error) {
	ids, err := t.tenants.TenantIDs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]tenant.Subscription, 0, len(ids))
	for _, id := range ids {
		sub, err := t.tenants.Subscription(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, sub)
	}
	return out, nil
}
