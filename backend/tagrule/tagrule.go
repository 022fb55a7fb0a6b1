// Package tagrule keeps a tenant's reading rules (issue 16, point 9, "read ≥ 2 materials tagged 种植牙 → tag
// 种植牙意向"): a customer who has opened at least MinReads different materials carrying MaterialTag gets
// CustomerTag. The tracking ingest applies the rules to the customers of each batch who opened a material
// (ApplyTx, in its transaction); a new rule is applied once to every customer of the tenant by a River job
// (BackfillArgs), so customers who qualified before it existed are tagged too. A rule only adds its tag.
package tagrule

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/tagrule/internal/tagruledb"
)

// MaxRules is how many rules a tenant may have: the ingest evaluates all of them for each reader.
const MaxRules = 50

// Rule is one reading rule.
type Rule struct {
	ID          uuid.UUID
	MaterialTag string
	MinReads    int
	CustomerTag string
	CreatedAt   time.Time
	// Tagged counts the customers it has tagged.
	Tagged int64
}

// Service keeps the rules.
type Service struct {
	db   *platform.DB
	jobs jobs.Inserter
}

// NewService returns the rules' service; q queues the first pass of each new rule.
func NewService(db *platform.DB, q jobs.Inserter) *Service { return &Service{db: db, jobs: q} }

func adminOnly(p authn.Principal) error {
	if p.Role != authn.RoleAdmin {
		return platform.PermissionDenied("only an admin manages tag rules")
	}
	return nil
}

// Create makes a rule and queues its pass over the tenant's customers.
func (s *Service) Create(ctx context.Context, p authn.Principal, materialTag string, minReads int, customerTag string) (Rule, error) {
	if err := adminOnly(p); err != nil {
		return Rule{}, err
	}
	materialTag, customerTag = strings.TrimSpace(materialTag), strings.TrimSpace(customerTag)
	switch {
	case materialTag == "" || len([]rune(materialTag)) > 32:
		return Rule{}, platform.Invalid("material_tag", "1 to 32 characters")
	case customerTag == "" || len([]rune(customerTag)) > 32:
		return Rule{}, platform.Invalid("customer_tag", "1 to 32 characters")
	case minReads < 1 || minReads > 100:
		return Rule{}, platform.Invalid("min_reads", "1 to 100")
	}
	var r Rule
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := tagruledb.New(tx)
		// Counted under the tenant's row lock, so two concurrent creations cannot both pass the limit.
		if _, err := tx.Exec(ctx, "SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE", p.TenantID); err != nil {
			return err
		}
		n, err := q.CountRules(ctx, p.TenantID)
		if err != nil {
			return err
		}
		if n >= MaxRules {
			return platform.ResourceExhausted(fmt.Sprintf("a tenant has at most %d tag rules; delete one first", MaxRules))
		}
		row, err := q.InsertRule(ctx, tagruledb.InsertRuleParams{TenantID: p.TenantID, ID: uuid.Must(uuid.NewV7()),
			MaterialTag: materialTag, MinReads: int32(minReads), CustomerTag: customerTag, CreatedBy: p.EmployeeID})
		if errors.Is(err, pgx.ErrNoRows) {
			return platform.AlreadyExists("a rule with this material tag and customer tag exists already; delete it to change its number of reads")
		}
		if err != nil {
			return err
		}
		r = ruleOf(row)
		return s.jobs.InsertTx(ctx, tx, BackfillArgs{TenantID: p.TenantID, RuleID: r.ID}, nil)
	})
	return r, err
}

// List lists the rules, oldest first.
func (s *Service) List(ctx context.Context, p authn.Principal) ([]Rule, error) {
	if err := adminOnly(p); err != nil {
		return nil, err
	}
	var out []Rule
	err := s.db.InTenantSnapshot(ctx, p.TenantID, func(tx pgx.Tx) error {
		rows, err := tagruledb.New(tx).ListRules(ctx, p.TenantID)
		for _, row := range rows {
			out = append(out, ruleOf(row))
		}
		return err
	})
	return out, err
}

// Delete deletes a rule; the tags it gave stay.
func (s *Service) Delete(ctx context.Context, p authn.Principal, id uuid.UUID) error {
	if err := adminOnly(p); err != nil {
		return err
	}
	return s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		n, err := tagruledb.New(tx).DeleteRule(ctx, tagruledb.DeleteRuleParams{TenantID: p.TenantID, ID: id})
		if err == nil && n == 0 {
			return platform.NotFound("tag rule")
		}
		return err
	})
}

func ruleOf(r tagruledb.TagRule) Rule {
	return Rule{ID: r.ID, MaterialTag: r.MaterialTag, MinReads: int(r.MinReads), CustomerTag: r.CustomerTag,
		CreatedAt: r.CreatedAt, Tagged: r.Tagged}
}

// Tagged is a customer a rule just tagged.
type Tagged struct {
	CustomerID uuid.UUID
	RuleID     uuid.UUID
	Tag        string
}

// ApplyTx applies the tenant's rules to customers who have just opened a material, in the caller's
// transaction (the tracking ingest's): each gets the tags of the rules they now meet and lack. One
// statement; with no rules it finds nothing.
func ApplyTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, readers []uuid.UUID) ([]Tagged, error) {
	if len(readers) == 0 {
		return nil, nil
	}
	rows, err := tagruledb.New(tx).ApplyRules(ctx, tagruledb.ApplyRulesParams{TenantID: tenantID, CustomerIds: readers})
	if err != nil {
		return nil, err
	}
	out := make([]Tagged, len(rows))
	for i, r := range rows {
		out[i] = Tagged{CustomerID: r.CustomerID, RuleID: r.RuleID, Tag: r.CustomerTag}
	}
	return out, nil
}

// BackfillArgs is the job applying a new rule to every customer of its tenant.
type BackfillArgs struct {
	TenantID uuid.UUID `json:"tenant_id"`
	RuleID   uuid.UUID `json:"rule_id"`
}

// Kind implements river.JobArgs.
func (BackfillArgs) Kind() string { return "tag_rule_backfill" }

// BackfillWorker runs BackfillArgs.
type BackfillWorker struct {
	river.WorkerDefaults[BackfillArgs]
	s *Service
}

// BackfillWorker returns the first pass's worker.
func (s *Service) BackfillWorker() *BackfillWorker { return &BackfillWorker{s: s} }

// Timeout implements river.Worker: one statement over the tenant's material views.
func (*BackfillWorker) Timeout(*river.Job[BackfillArgs]) time.Duration { return 10 * time.Minute }

// Work implements river.Worker. A rule deleted meanwhile is left alone; a second run tags nobody twice.
func (w *BackfillWorker) Work(ctx context.Context, job *river.Job[BackfillArgs]) error {
	a := job.Args
	return w.s.db.InTenantTx(ctx, a.TenantID, func(tx pgx.Tx) error {
		q := tagruledb.New(tx)
		r, err := q.GetRule(ctx, tagruledb.GetRuleParams{TenantID: a.TenantID, ID: a.RuleID})
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		_, err = q.BackfillRule(ctx, tagruledb.BackfillRuleParams{TenantID: a.TenantID, ID: r.ID, MaterialTag: r.MaterialTag,
			MinReads: r.MinReads, CustomerTag: r.CustomerTag})
		return err
	})
}
