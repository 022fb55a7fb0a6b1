package tagrule_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/tagrule"
)

// queued records the jobs a service inserts.
type queued struct{ args []river.JobArgs }

func (q *queued) InsertTx(_ context.Context, _ pgx.Tx, a river.JobArgs, _ *river.InsertOpts) error {
	q.args = append(q.args, a)
	return nil
}

func (q *queued) InsertManyTx(_ context.Context, _ pgx.Tx, ps []river.InsertManyParams) error {
	for _, p := range ps {
		q.args = append(q.args, p.Args)
	}
	return nil
}

type world struct {
	db     *pgtest.DB
	tenant pgtest.Tenant
	sales  authn.Principal
	svc    *tagrule.Service
	jobs   *queued
}

func newWorld(t *testing.T) *world {
	t.Helper()
	db := pgtest.New(t)
	w := &world{db: db, tenant: db.NewTenant(t, "Clinic"), jobs: &queued{}}
	w.sales = db.NewEmployee(t, w.tenant.ID, authn.RoleSales, uuid.Nil)
	w.svc = tagrule.NewService(db.App, w.jobs)
	return w
}

func (w *world) material(t *testing.T, tags ...string) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	_, err := w.db.Super.Exec(context.Background(),
		`INSERT INTO materials (id, tenant_id, tier, kind, status, title, tags) VALUES ($1, $2, 'enterprise', 'article', 'published', 'M', $3)`,
		id, w.tenant.ID, tags)
	require.NoError(t, err)
	return id
}

func (w *world) customer(t *testing.T, tags ...string) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	if tags == nil {
		tags = []string{}
	}
	_, err := w.db.Super.Exec(context.Background(), `INSERT INTO customers (id, tenant_id, owner_id, tags) VALUES ($1, $2, $3, $4)`,
		id, w.tenant.ID, w.sales.EmployeeID, tags)
	require.NoError(t, err)
	return id
}

func (w *world) view(t *testing.T, customerID, materialID uuid.UUID) {
	t.Helper()
	_, err := w.db.Super.Exec(context.Background(),
		`INSERT INTO events (tenant_id, id, customer_id, employee_id, material_id, kind, occurred_at) VALUES ($1, $2, $3, $4, $5, 'material_view', now())`,
		w.tenant.ID, uuid.New(), customerID, w.sales.EmployeeID, materialID)
	require.NoError(t, err)
}

func (w *world) tags(t *testing.T, customerID uuid.UUID) []string {
	t.Helper()
	var tags []string
	require.NoError(t, w.db.Super.QueryRow(context.Background(), "SELECT tags FROM customers WHERE id = $1", customerID).Scan(&tags))
	return tags
}

func (w *world) backfill(t *testing.T, ruleID uuid.UUID) {
	t.Helper()
	job := &river.Job[tagrule.BackfillArgs]{JobRow: &rivertype.JobRow{}, Args: tagrule.BackfillArgs{TenantID: w.tenant.ID, RuleID: ruleID}}
	require.NoError(t, w.svc.BackfillWorker().Work(context.Background(), job))
}

// A new rule tags the customers who already read enough, once; the ingest's pass tags those who get there
// later, keeping their tags and their order.
func TestARuleTagsThoseWhoReadEnoughBeforeAndAfter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	implants := []uuid.UUID{w.material(t, "种植牙", "价格"), w.material(t, "种植牙"), w.material(t, "种植牙")}
	braces := w.material(t, "正畸")
	keen := w.customer(t, "老客户") // two implant materials, one of them twice
	glance := w.customer(t)      // one implant material, twice
	elsewhere := w.customer(t)   // other materials
	w.view(t, keen, implants[0])
	w.view(t, keen, implants[0])
	w.view(t, keen, implants[1])
	w.view(t, glance, implants[2])
	w.view(t, glance, implants[2])
	w.view(t, elsewhere, braces)

	rule, err := w.svc.Create(ctx, w.tenant.Admin, " 种植牙 ", 2, "种植牙意向")
	require.NoError(t, err)
	require.Equal(t, "种植牙", rule.MaterialTag, "trimmed")
	require.Equal(t, []river.JobArgs{tagrule.BackfillArgs{TenantID: w.tenant.ID, RuleID: rule.ID}}, w.jobs.args, "its first pass is queued with it")
	w.backfill(t, rule.ID)
	require.Equal(t, []string{"老客户", "种植牙意向"}, w.tags(t, keen))
	require.Empty(t, w.tags(t, glance), "the same material twice is one")
	require.Empty(t, w.tags(t, elsewhere))
	w.backfill(t, rule.ID) // run again (River retried it): nobody tagged twice
	require.Equal(t, []string{"老客户", "种植牙意向"}, w.tags(t, keen))

	// glance reads a second implant material: the ingest's pass (ApplyTx) tags them, and only them.
	w.view(t, glance, implants[1])
	var tagged []tagrule.Tagged
	require.NoError(t, w.db.App.InTenantTx(ctx, w.tenant.ID, func(tx pgx.Tx) error {
		tagged, err = tagrule.ApplyTx(ctx, tx, w.tenant.ID, []uuid.UUID{keen, glance, elsewhere})
		return err
	}))
	require.Equal(t, []tagrule.Tagged{{CustomerID: glance, RuleID: rule.ID, Tag: "种植牙意向"}}, tagged)
	require.Equal(t, []string{"种植牙意向"}, w.tags(t, glance))

	rules, err := w.svc.List(ctx, w.tenant.Admin)
	require.NoError(t, err)
	require.Len(t, rules, 1)
	require.Equal(t, int64(2), rules[0].Tagged)

	// Staff take the tag off: the rule gives it back only at the next reading.
	_, err = w.db.Super.Exec(ctx, "UPDATE customers SET tags = '{}' WHERE id = $1", glance)
	require.NoError(t, err)
	w.backfill(t, rule.ID)
	require.Equal(t, []string{"种植牙意向"}, w.tags(t, glance), "a rerun of the first pass gives it back too")

	// Deleting the rule keeps the tags it gave; the pass then finds nothing.
	require.NoError(t, w.svc.Delete(ctx, w.tenant.Admin, rule.ID))
	require.Equal(t, platform.KindNotFound, platform.KindOf(w.svc.Delete(ctx, w.tenant.Admin, rule.ID)))
	require.Equal(t, []string{"老客户", "种植牙意向"}, w.tags(t, keen))
	w.backfill(t, rule.ID)
}

// A customer with the most tags gets no more from a rule; the rule is still applied to others.
func TestARuleRespectsTheTagLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	m := w.material(t, "保险")
	var full []string
	for i := range 20 {
		full = append(full, fmt.Sprintf("t%d", i))
	}
	crowded, plain := w.customer(t, full...), w.customer(t)
	w.view(t, crowded, m)
	w.view(t, plain, m)
	rule, err := w.svc.Create(ctx, w.tenant.Admin, "保险", 1, "保险意向")
	require.NoError(t, err)
	w.backfill(t, rule.ID)
	require.Equal(t, full, w.tags(t, crowded))
	require.Equal(t, []string{"保险意向"}, w.tags(t, plain))
	var tagged []tagrule.Tagged
	require.NoError(t, w.db.App.InTenantTx(ctx, w.tenant.ID, func(tx pgx.Tx) error {
		tagged, err = tagrule.ApplyTx(ctx, tx, w.tenant.ID, []uuid.UUID{crowded, plain})
		return err
	}))
	require.Empty(t, tagged)
	require.Equal(t, full, w.tags(t, crowded))
}

func TestRulesAreAnAdminsAndTheTenantsOwn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	_, err := w.svc.Create(ctx, w.sales, "a", 1, "b")
	require.Equal(t, platform.KindPermissionDenied, platform.KindOf(err))
	_, err = w.svc.List(ctx, w.sales)
	require.Equal(t, platform.KindPermissionDenied, platform.KindOf(err))
	for _, bad := range []struct {
		field, material, customer string
		reads                     int
	}{{"material_tag", " ", "b", 1}, {"customer_tag", "a", "", 1}, {"min_reads", "a", "b", 0}, {"min_reads", "a", "b", 101}} {
		_, err = w.svc.Create(ctx, w.tenant.Admin, bad.material, bad.reads, bad.customer)
		require.Equal(t, platform.KindInvalid, platform.KindOf(err), bad.field)
		var pe *platform.Error
		require.ErrorAs(t, err, &pe)
		require.Equal(t, bad.field, pe.Field)
	}
	rule, err := w.svc.Create(ctx, w.tenant.Admin, "a", 1, "b")
	require.NoError(t, err)
	_, err = w.svc.Create(ctx, w.tenant.Admin, "a", 3, "b")
	require.Equal(t, platform.KindAlreadyExists, platform.KindOf(err))
	for i := 1; i < tagrule.MaxRules; i++ {
		_, err = w.svc.Create(ctx, w.tenant.Admin, "a", 1, fmt.Sprintf("b%d", i))
		require.NoError(t, err)
	}
	_, err = w.svc.Create(ctx, w.tenant.Admin, "a", 1, "one too many")
	require.Equal(t, platform.KindResourceExhausted, platform.KindOf(err))

	other := w.db.NewTenant(t, "Other")
	rules, err := w.svc.List(ctx, other.Admin)
	require.NoError(t, err)
	require.Empty(t, rules)
	require.Equal(t, platform.KindNotFound, platform.KindOf(w.svc.Delete(ctx, other.Admin, rule.ID)))
	_, err = w.svc.Create(ctx, other.Admin, "a", 1, "b")
	require.NoError(t, err, "another tenant's rules are its own")
}
