package tenant

import (
	"context"
	"errors"
	"reflect"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/salesapp/scrm/backend/audit"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/tenant/internal/tenantdb"
)

// Subscription is a tenant as the platform's operators see it. Its methods are the operators' (the operator
// service calls them after authenticating an operator token); no employee reaches them.
type Subscription struct {
	Tenant
	// Suspended: the staff are refused whatever the subscription's end (ExpiresAt) says.
	Suspended bool
}

// TenantChange is what an operator changes of a tenant; nil fields are unchanged.
type TenantChange struct {
	Name      *string
	Plan      *Plan
	SeatLimit *int
	TimeZone  *string
}

// Subscription reads one tenant, for operators.
func (s *Service) Subscription(ctx context.Context, id uuid.UUID) (Subscription, error) {
	var sub Subscription
	err := s.tx(ctx, id, func(q *tenantdb.Queries, _ pgx.Tx) error {
		var err error
		sub, err = subscription(ctx, q, id)
		return err
	})
	return sub, err
}

func subscription(ctx context.Context, q *tenantdb.Queries, id uuid.UUID) (Subscription, error) {
	r, err := q.GetSubscription(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return Subscription{}, platform.NotFound("tenant")
	}
	if err != nil {
		return Subscription{}, err
	}
	return Subscription{Suspended: r.Suspended, Tenant: Tenant{ID: r.ID, Name: r.Name, Plan: Plan(r.Plan),
		SeatLimit: int(r.SeatLimit), SeatsUsed: int(r.SeatsUsed), ExpiresAt: r.EndsAt, TimeZone: r.TimeZone, CreatedAt: r.CreatedAt}}, nil
}

// TenantIDs lists every tenant's id, by name.
func (s *Service) TenantIDs(ctx context.Context) ([]uuid.UUID, error) {
	return tenantdb.New(s.db.Pool).TenantIDs(ctx)
}

// ChangeTenant changes a tenant's name, plan, seat limit or time zone. A seat limit below the seats in use
// is refused.
func (s *Service) ChangeTenant(ctx context.Context, id uuid.UUID, ch TenantChange) (Subscription, error) {
	p := tenantdb.UpdateSubscriptionParams{TenantID: id, Name: ch.Name, TimeZone: ch.TimeZone, Now: time.Now()}
	if ch.Plan != nil {
		if !ch.Plan.Valid() {
			return Subscription{}, platform.Invalid("plan", "unknown plan")
		}
		plan := string(*ch.Plan)
		p.Plan = &plan
	}
	if ch.TimeZone != nil {
		if _, err := time.LoadLocation(*ch.TimeZone); err != nil || *ch.TimeZone == "" {
			return Subscription{}, platform.Invalid("time_zone", "unknown IANA time zone")
		}
	}
	if ch.SeatLimit != nil {
		p.SeatLimit = pgtype.Int4{Int32: int32(*ch.SeatLimit), Valid: true}
	}
	var sub Subscription
	err := s.tx(ctx, id, func(q *tenantdb.Queries, tx pgx.Tx) error {
		if ch.SeatLimit != nil {
			if _, err := q.LockTenantSeats(ctx, id); errors.Is(err, pgx.ErrNoRows) {
				return platform.NotFound("tenant")
			} else if err != nil {
				return err
			}
			used, err := q.CountActiveEmployees(ctx, id)
			if err != nil {
				return err
			}
			if *ch.SeatLimit < int(used) {
				return platform.FailedPrecondition("the enterprise has more active employees than that: disable some first")
			}
		}
		before, err := subscription(ctx, q, id)
		if err != nil {
			return err
		}
		if _, err := q.UpdateSubscription(ctx, p); err != nil {
			return err
		}
		if sub, err = subscription(ctx, q, id); err != nil {
			return err
		}
		return audit.RecordTx(ctx, tx, id, audit.Entry{Action: audit.TenantUpdate, TargetKind: audit.TargetTenant, TargetID: id,
			Before: before, After: sub})
	})
	return sub, err
}

// SetExpiry sets when a tenant's subscription ends (while suspended, the end the resume gives back).
func (s *Service) SetExpiry(ctx context.Context, id uuid.UUID, at time.Time) (Subscription, error) {
	return s.operate(ctx, audit.TenantExtend, tenantdb.UpdateSubscriptionParams{TenantID: id, ExpiresAt: &at, Now: time.Now()})
}

// Suspend refuses a tenant's staff from now on (the auth cache's few seconds aside), keeping the end of its
// subscription for Resume. Suspending a suspended tenant changes nothing.
func (s *Service) Suspend(ctx context.Context, id uuid.UUID, now time.Time) (Subscription, error) {
	return s.operate(ctx, audit.TenantSuspend, tenantdb.UpdateSubscriptionParams{TenantID: id, Suspend: pgtype.Bool{Bool: true, Valid: true}, Now: now})
}

// Resume lifts a suspension, giving the subscription its end back. Resuming a tenant not suspended changes
// nothing.
func (s *Service) Resume(ctx context.Context, id uuid.UUID) (Subscription, error) {
	return s.operate(ctx, audit.TenantResume, tenantdb.UpdateSubscriptionParams{TenantID: id, Suspend: pgtype.Bool{Bool: false, Valid: true}, Now: time.Now()})
}

// operate changes a tenant's subscription and records the change in its audit log as action.
func (s *Service) operate(ctx context.Context, action audit.Action, p tenantdb.UpdateSubscriptionParams) (Subscription, error) {
	var sub Subscription
	err := s.tx(ctx, p.TenantID, func(q *tenantdb.Queries, tx pgx.Tx) error {
		before, err := subscription(ctx, q, p.TenantID)
		if err != nil {
			return err
		}
		if _, err := q.UpdateSubscription(ctx, p); err != nil {
			return err
		}
		if sub, err = subscription(ctx, q, p.TenantID); err != nil {
			return err
		}
		if reflect.DeepEqual(sub, before) {
			return nil // suspending a suspended tenant, resuming one that is not: nothing done, nothing recorded
		}
		return audit.RecordTx(ctx, tx, p.TenantID, audit.Entry{Action: action, TargetKind: audit.TargetTenant, TargetID: p.TenantID,
			Before: before, After: sub})
	})
	return sub, err
}
