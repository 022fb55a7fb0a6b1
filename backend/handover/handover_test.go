package handover_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/handover"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
)

type fixture struct {
	db     *pgtest.DB
	tenant pgtest.Tenant
	svc    *handover.Service
}

func setup(t testing.TB) fixture {
	t.Helper()
	db := pgtest.New(t)
	return fixture{db: db, tenant: db.NewTenant(t, "Handover"), svc: handover.NewService(db.App, nil, nil)}
}

// customers writes n customers of owner straight into the database, with a stage and tags, and a
// scheduled follow-up by the owner on each.
func (f fixture) customers(t testing.TB, owner uuid.UUID, n int, stage customer.Stage, tags []string) []uuid.UUID {
	t.Helper()
	ctx := context.Background()
	var ids []uuid.UUID
	err := pgx.BeginFunc(ctx, f.db.Super, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `WITH c AS (
			INSERT INTO customers (id, tenant_id, owner_id, display_name, stage, tags)
			SELECT gen_random_uuid(), $1, $2, 'c' || g, $4, $5 FROM generate_series(1, $3) g RETURNING id
		), n AS (
			INSERT INTO customer_notes (id, tenant_id, customer_id, author_id, kind, body, next_at)
			SELECT gen_random_uuid(), $1, c.id, $2, 'follow_up', 'call back', now() + interval '2 days' FROM c
		)
		SELECT array_agg(id) FROM c`, f.tenant.ID, owner, n, string(stage), tags).Scan(&ids)
	})
	require.NoError(t, err)
	return ids
}

func (f fixture) owner(t *testing.T, id uuid.UUID) uuid.UUID {
	t.Helper()
	var o uuid.NullUUID
	require.NoError(t, f.db.Super.QueryRow(context.Background(), "SELECT owner_id FROM customers WHERE id = $1", id).Scan(&o))
	return o.UUID
}

// synced says whether the customer's latest sync row in an employee's scope is there, and a tombstone.
func (f fixture) synced(t *testing.T, scope, id uuid.UUID) (bool, bool) {
	t.Helper()
	var tomb bool
	err := f.db.Super.QueryRow(context.Background(),
		"SELECT tombstone FROM sync_changes WHERE scope = $1 AND kind = 'customer' AND entity_id = $2", scope, id).Scan(&tomb)
	if err != nil {
		return false, false
	}
	return true, tomb
}

func TestHandOverMovesCustomersTasksAndFollowUps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	from := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, uuid.Nil)
	one := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, uuid.Nil)
	two := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, uuid.Nil)
	hot := f.customers(t, from.EmployeeID, 4, customer.StageNegotiating, []string{"vip"})
	cold := f.customers(t, from.EmployeeID, 3, customer.StageNew, []string{})
	// An open task of the departing employee, and one that ended.
	task := func(ends time.Duration) uuid.UUID {
		id := uuid.Must(uuid.NewV7())
		_, err := f.db.Super.Exec(ctx, `INSERT INTO tasks (tenant_id, id, created_by, title, target_shares, starts_at, ends_at, audience, employee_ids, claim_required)
			VALUES ($1, $2, $3, 't', 1, now() - interval '2 days', now() + $4::interval, 'employees', ARRAY[$5::uuid], false)`,
			f.tenant.ID, id, f.tenant.Admin.EmployeeID, fmt.Sprintf("%d seconds", int(ends.Seconds())), from.EmployeeID)
		require.NoError(t, err)
		_, err = f.db.Super.Exec(ctx, `INSERT INTO task_assignees (tenant_id, task_id, employee_id, claimed, shares) VALUES ($1, $2, $3, false, 3)`,
			f.tenant.ID, id, from.EmployeeID)
		require.NoError(t, err)
		return id
	}
	open, ended := task(24*time.Hour), task(-time.Hour)

	// Only the vip customers, spread over two colleagues.
	h, err := f.svc.HandOver(ctx, f.tenant.Admin, handover.Request{FromID: from.EmployeeID, ToIDs: []uuid.UUID{one.EmployeeID, two.EmployeeID},
		Selection: customer.Selection{Tags: []string{"vip"}}})
	require.NoError(t, err)
	require.Equal(t, 4, h.Customers)
	require.Equal(t, []int{2, 2}, h.PerSuccessor)
	require.Equal(t, 4, h.FollowUps)
	require.Equal(t, 1, h.Tasks, "the open task, not the ended one")
	got := map[uuid.UUID]int{}
	for _, id := range hot {
		got[f.owner(t, id)]++
		// Sync: a tombstone in the old owner's scope, an upsert in the new owner's.
		there, tomb := f.synced(t, from.EmployeeID, id)
		require.True(t, there && tomb, "tombstone for the old owner")
		there, tomb = f.synced(t, f.owner(t, id), id)
		require.True(t, there && !tomb, "upsert for the new owner")
	}
	require.Equal(t, map[uuid.UUID]int{one.EmployeeID: 2, two.EmployeeID: 2}, got)
	for _, id := range cold {
		require.Equal(t, from.EmployeeID, f.owner(t, id), "not selected")
	}
	var authors []uuid.UUID
	require.NoError(t, f.db.Super.QueryRow(ctx, `SELECT array_agg(DISTINCT author_id) FROM customer_notes WHERE customer_id = ANY ($1)`, hot).Scan(&authors))
	require.ElementsMatch(t, []uuid.UUID{one.EmployeeID, two.EmployeeID}, authors, "follow-ups go with the customers")
	var onOpen, onEnded uuid.UUID
	require.NoError(t, f.db.Super.QueryRow(ctx, `SELECT employee_id FROM task_assignees WHERE task_id = $1`, open).Scan(&onOpen))
	require.NoError(t, f.db.Super.QueryRow(ctx, `SELECT employee_id FROM task_assignees WHERE task_id = $1`, ended).Scan(&onEnded))
	require.Equal(t, one.EmployeeID, onOpen)
	require.Equal(t, from.EmployeeID, onEnded)
	var audience []uuid.UUID
	require.NoError(t, f.db.Super.QueryRow(ctx, `SELECT employee_ids FROM tasks WHERE id = $1`, open).Scan(&audience))
	require.Contains(t, audience, one.EmployeeID)

	// The rest, by stage, to one colleague; listed newest first, one page at a time.
	h2, err := f.svc.HandOver(ctx, f.tenant.Admin, handover.Request{FromID: from.EmployeeID, ToIDs: []uuid.UUID{two.EmployeeID},
		Selection: customer.Selection{Stages: []customer.Stage{customer.StageNew}}})
	require.NoError(t, err)
	require.Equal(t, 3, h2.Customers)
	page, next, err := f.svc.List(ctx, f.tenant.Admin, handover.Filter{PageSize: 1})
	require.NoError(t, err)
	require.Len(t, page, 1)
	require.Equal(t, h2.ID, page[0].ID)
	page, next, err = f.svc.List(ctx, f.tenant.Admin, handover.Filter{PageSize: 1, PageToken: next})
	require.NoError(t, err)
	require.Equal(t, h.ID, page[0].ID)
	require.Empty(t, next)
	var audits int
	require.NoError(t, f.db.Super.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'employee.handover'`, f.tenant.ID).Scan(&audits))
	require.Equal(t, 2, audits)
}

func TestHandOverRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	from := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, uuid.Nil)
	to := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, uuid.Nil)
	manager := f.db.NewEmployee(t, f.tenant.ID, authn.RoleManager, uuid.Nil)
	req := handover.Request{FromID: from.EmployeeID, ToIDs: []uuid.UUID{to.EmployeeID}}
	_, err := f.svc.HandOver(ctx, manager, req)
	require.Equal(t, platform.KindPermissionDenied, platform.KindOf(err))
	_, err = f.svc.HandOver(ctx, f.tenant.Admin, handover.Request{FromID: from.EmployeeID, ToIDs: []uuid.UUID{from.EmployeeID}})
	require.Equal(t, platform.KindInvalid, platform.KindOf(err))
	_, err = f.svc.HandOver(ctx, f.tenant.Admin, handover.Request{FromID: uuid.New(), ToIDs: []uuid.UUID{to.EmployeeID}})
	require.Equal(t, platform.KindNotFound, platform.KindOf(err))
	_, err = f.db.Super.Exec(ctx, "UPDATE employees SET status = 'disabled' WHERE id = $1", to.EmployeeID)
	require.NoError(t, err)
	_, err = f.svc.HandOver(ctx, f.tenant.Admin, req)
	require.Equal(t, platform.KindInvalid, platform.KindOf(err), "a disabled successor")
}

// credited_employee follows successors while they are disabled, and ends on a cycle.
func TestCreditedEmployeeFollowsTheChain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	a := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, uuid.Nil)
	b := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, uuid.Nil)
	c := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, uuid.Nil)
	credited := func(id uuid.UUID) uuid.UUID {
		t.Helper()
		var out uuid.UUID
		require.NoError(t, f.db.App.InTenantTx(ctx, f.tenant.ID, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, "SELECT credited_employee($1, $2)", f.tenant.ID, id).Scan(&out)
		}))
		return out
	}
	_, err := f.svc.HandOver(ctx, f.tenant.Admin, handover.Request{FromID: a.EmployeeID, ToIDs: []uuid.UUID{b.EmployeeID}})
	require.NoError(t, err)
	require.Equal(t, a.EmployeeID, credited(a.EmployeeID), "still active: their own")
	_, err = f.svc.HandOver(ctx, f.tenant.Admin, handover.Request{FromID: b.EmployeeID, ToIDs: []uuid.UUID{c.EmployeeID}})
	require.NoError(t, err)
	_, err = f.db.Super.Exec(ctx, "UPDATE employees SET status = 'disabled' WHERE id = ANY ($1)", []uuid.UUID{a.EmployeeID, b.EmployeeID})
	require.NoError(t, err)
	require.Equal(t, c.EmployeeID, credited(a.EmployeeID), "through the disabled successor")
	// A cycle of disabled employees ends somewhere in it.
	_, err = f.db.Super.Exec(ctx, "INSERT INTO employee_successors (tenant_id, employee_id, successor_id) VALUES ($1, $2, $3)",
		f.tenant.ID, c.EmployeeID, a.EmployeeID)
	require.NoError(t, err)
	_, err = f.db.Super.Exec(ctx, "UPDATE employees SET status = 'disabled' WHERE id = $1", c.EmployeeID)
	require.NoError(t, err)
	require.Contains(t, []uuid.UUID{a.EmployeeID, b.EmployeeID, c.EmployeeID}, credited(a.EmployeeID))
}

// BenchmarkHandOver20k hands over 20,000 customers (with a follow-up each) from one salesperson to
// another, sync changes included (the statement-level triggers write them in the same transaction).
func BenchmarkHandOver20k(b *testing.B) {
	ctx := context.Background()
	f := setup(b)
	from := f.db.NewEmployee(b, f.tenant.ID, authn.RoleSales, uuid.Nil)
	to := f.db.NewEmployee(b, f.tenant.ID, authn.RoleSales, uuid.Nil)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		f.customers(b, from.EmployeeID, 20000, customer.StageNew, []string{})
		// A production database has statistics on its tables; a fresh test database gets them here.
		if _, err := f.db.Super.Exec(ctx, "ANALYZE customers, customer_notes, sync_changes"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		h, err := f.svc.HandOver(ctx, f.tenant.Admin, handover.Request{FromID: from.EmployeeID, ToIDs: []uuid.UUID{to.EmployeeID}})
		if err != nil || h.Customers != 20000 {
			b.Fatalf("handover: %v (%d customers)", err, h.Customers)
		}
		from, to = to, from
		b.StopTimer()
		_, err = f.db.Super.Exec(ctx, "DELETE FROM customer_notes WHERE tenant_id = $1", f.tenant.ID)
		if err == nil {
			_, err = f.db.Super.Exec(ctx, "DELETE FROM customers WHERE tenant_id = $1", f.tenant.ID)
		}
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
