package tenant

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/tenant/internal/tenantdb"
)

// PlanTerms is what a plan gives an enterprise (the plans table, migration 027). Operators change them
// (UpdatePlan); no employee reaches them.
type PlanTerms struct {
	Name Plan
	// SeatLimit is the seat limit of a tenant created on the plan without one of its own.
	SeatLimit int
	// StorageQuotaMiB is how many MiB of finalized uploads each tenant on the plan may keep.
	StorageQuotaMiB int
	// Features are what the plan includes; the Authenticator refuses the others' procedures.
	Features []authn.Feature
	// TrialDays is how long a tenant created on the plan without an end runs; 0: an end must be given.
	TrialDays int
	UpdatedAt time.Time
}

// PlanChange is what an operator changes of a plan; nil fields are unchanged (Features non-nil and empty
// removes every feature).
type PlanChange struct {
	SeatLimit       *int
	StorageQuotaMiB *int
	Features        []authn.Feature
	TrialDays       *int
}

// Plans lists the plans, cheapest first.
func (s *Service) Plans(ctx context.Context) ([]PlanTerms, error) {
	rows, err := tenantdb.New(s.db.Pool).ListPlans(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]PlanTerms, 0, len(rows))
	for _, r := range rows {
		out = append(out, termsOf(r))
	}
	return out, nil
}

// PlanTerms reads one plan.
func (s *Service) PlanTerms(ctx context.Context, name Plan) (PlanTerms, error) {
	plans, err := s.Plans(ctx)
	if err != nil {
		return PlanTerms{}, err
	}
	for _, p := range plans {
		if p.Name == name {
			return p, nil
		}
	}
	return PlanTerms{}, platform.Invalid("plan", "unknown plan")
}

// UpdatePlan changes a plan's terms. Tenants on it get its features and quota within the authenticator's
// cache of a few seconds; their own seat limits are left as they are. The change, before and after, is in
// the audit log of each tenant on the plan, by the operator in ctx.
func (s *Service) UpdatePlan(ctx context.Context, name Plan, ch PlanChange) (PlanTerms, error) {
	if !name.Valid() {
		return PlanTerms{}, platform.Invalid("name", "unknown plan")
	}
	p := tenantdb.UpdatePlanParams{Name: string(name), SeatLimit: int4(ch.SeatLimit), StorageQuotaMib: int4(ch.StorageQuotaMiB),
		TrialDays: int4(ch.TrialDays)}
	if ch.Features != nil {
		p.Features = FeatureNames(ch.Features)
		for _, f := range ch.Features {
			if !f.Valid() {
				return PlanTerms{}, platform.Invalid("features", "unknown feature "+string(f))
			}
		}
	}
	before, err := s.PlanTerms(ctx, name)
	if err != nil {
		return PlanTerms{}, err
	}
	var after PlanTerms
	err = pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		q := tenantdb.New(tx)
		n, err := q.UpdatePlan(ctx, p)
		if err == nil && n == 0 {
			return platform.NotFound("plan")
		}
		if err != nil {
			return err
		}
		rows, err := q.ListPlans(ctx)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if Plan(r.Name) == name {
				after = termsOf(r)
			}
		}
		// In the log of each enterprise on the plan: what it gets changed.
		audit := tenantdb.AuditPlanParams{Name: string(name), Address: authn.AddressFrom(ctx)}
		if op, ok := authn.OperatorFrom(ctx); ok {
			audit.ActorID = uuid.NullUUID{UUID: op.ID, Valid: true}
		}
		if audit.Before, err = json.Marshal(before.record()); err != nil {
			return err
		}
		if audit.After, err = json.Marshal(after.record()); err != nil {
			return err
		}
		_, err = q.AuditPlan(ctx, audit)
		return err
	})
	return after, err
}

// record is a plan's terms as the audit log keeps them.
func (t PlanTerms) record() map[string]any {
	return map[string]any{"seat_limit": t.SeatLimit, "storage_quota_mib": t.StorageQuotaMiB,
		"features": FeatureNames(t.Features), "trial_days": t.TrialDays}
}

func termsOf(r tenantdb.ListPlansRow) PlanTerms {
	return PlanTerms{Name: Plan(r.Name), SeatLimit: int(r.SeatLimit), StorageQuotaMiB: int(r.StorageQuotaMib),
		Features: authn.ParseFeatures(r.Features), TrialDays: int(r.TrialDays), UpdatedAt: r.UpdatedAt}
}

// FeatureNames lists features by name, in the order of authn.AllFeatures, each once.
func FeatureNames(fs []authn.Feature) []string {
	out := make([]string, 0, len(fs))
	for _, f := range authn.AllFeatures {
		for _, g := range fs {
			if g == f {
				out = append(out, string(f))
				break
			}
		}
	}
	return out
}

func int4(n *int) pgtype.Int4 {
	if n == nil {
		return pgtype.Int4{}
	}
	return pgtype.Int4{Int32: int32(*n), Valid: true}
}
