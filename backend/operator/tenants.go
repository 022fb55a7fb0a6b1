package operator

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/tenant"
	"github.com/salesapp/scrm/backend/usage"
)

// Tenants is what operators do to enterprises: backend/tenant's operator entry points.
type Tenants struct {
	svc     *Service
	tenants *tenant.Service
	usage   *usage.Service
	now     func() time.Time
}

// Tenants returns the operators' tenant operations on tenants and their usage (now nil: the wall clock).
func (s *Service) Tenants(tenants *tenant.Service, use *usage.Service, now func() time.Time) *Tenants {
	if now == nil {
		now = time.Now
	}
	return &Tenants{svc: s, tenants: tenants, usage: use, now: now}
}

// UsageWorker is the worker of the periodic job measuring every enterprise (usage.MeasureArgs).
func (t *Tenants) UsageWorker() *usage.Worker { return t.usage.Worker() }

// Usage answers an enterprise's daily measures of use, newest first, measuring it now first when refresh
// is set.
func (t *Tenants) Usage(ctx context.Context, id uuid.UUID, refresh bool) ([]usage.Usage, error) {
	if refresh {
		if _, err := t.usage.Measure(ctx, id, t.now()); err != nil {
			return nil, err
		}
	} else if _, err := t.tenants.Subscription(ctx, id); err != nil {
		return nil, err
	}
	return t.usage.History(ctx, id)
}

// NewTenant is an enterprise to create. A nil SeatLimit takes the plan's; a zero ExpiresAt ends the
// subscription after the plan's trial length (refused when the plan has none).
type NewTenant struct {
	Name      string
	Plan      tenant.Plan
	SeatLimit *int
	ExpiresAt time.Time
	TimeZone  string
}

// Create creates an enterprise by backend/tenant's one create path, with the plan's seats and trial length
// where the operator named none.
func (t *Tenants) Create(ctx context.Context, n NewTenant) (tenant.Subscription, error) {
	nt := tenant.NewTenant{Name: n.Name, Plan: n.Plan, ExpiresAt: n.ExpiresAt, TimeZone: n.TimeZone}
	if n.SeatLimit == nil || n.ExpiresAt.IsZero() {
		terms, err := t.tenants.PlanTerms(ctx, n.Plan)
		if err != nil {
			return tenant.Subscription{}, err
		}
		nt.SeatLimit = terms.SeatLimit
		if n.ExpiresAt.IsZero() {
			if terms.TrialDays == 0 {
				return tenant.Subscription{}, platform.Invalid("expires_at",
					"required: the "+string(n.Plan)+" plan has no trial length")
			}
			nt.ExpiresAt = t.now().AddDate(0, 0, terms.TrialDays)
		}
	}
	if n.SeatLimit != nil {
		nt.SeatLimit = *n.SeatLimit
	}
	created, err := tenant.CreateTenant(ctx, t.svc.db.Pool, nt)
	if err != nil {
		return tenant.Subscription{}, err
	}
	return t.tenants.Subscription(ctx, created.ID)
}

// Plans lists the plans, cheapest first.
func (t *Tenants) Plans(ctx context.Context) ([]tenant.PlanTerms, error) { return t.tenants.Plans(ctx) }

// UpdatePlan changes a plan's terms.
func (t *Tenants) UpdatePlan(ctx context.Context, name tenant.Plan, ch tenant.PlanChange) (tenant.PlanTerms, error) {
	return t.tenants.UpdatePlan(ctx, name, ch)
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
