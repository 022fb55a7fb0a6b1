package audit_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/audit"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
)

func record(t *testing.T, db *pgtest.DB, p authn.Principal, e audit.Entry) {
	t.Helper()
	ctx := authn.WithAddress(authn.WithPrincipal(context.Background(), p), "203.0.113.7")
	require.NoError(t, db.App.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error { return audit.RecordTx(ctx, tx, p.TenantID, e) }))
}

// Entries keep who did what from where, before and after; admins list them newest first, filtered and
// paged; nobody else reads them, and no tenant sees another's.
func TestEntriesAreListedNewestFirstFilteredAndPagedForAdminsOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	a := db.NewTenant(t, "A")
	manager := db.NewEmployee(t, a.ID, authn.RoleManager, uuid.Nil)
	target := uuid.New()
	record(t, db, a.Admin, audit.Entry{Action: audit.EmployeeCreate, TargetKind: audit.TargetEmployee, TargetID: target,
		After: map[string]string{"name": "Nia", "role": "sales"}})
	record(t, db, a.Admin, audit.Entry{Action: audit.EmployeeUpdate, TargetKind: audit.TargetEmployee, TargetID: target,
		Before: map[string]string{"role": "sales"}, After: map[string]string{"role": "manager"}})
	record(t, db, manager, audit.Entry{Action: audit.CustomerAssign, TargetKind: audit.TargetCustomer, TargetID: uuid.New()})
	b := db.NewTenant(t, "B")
	record(t, db, b.Admin, audit.Entry{Action: audit.TeamCreate, TargetKind: audit.TargetTeam, TargetID: uuid.New()})

	svc := audit.NewService(db.App)
	all, next, err := svc.List(ctx, a.Admin, audit.Filter{})
	require.NoError(t, err)
	require.Empty(t, next)
	require.Len(t, all, 3, "only the tenant's own")
	require.Equal(t, audit.CustomerAssign, all[0].Action, "newest first")
	require.Equal(t, manager.EmployeeID, all[0].ActorID)
	require.Equal(t, "manager", all[0].ActorRole)
	upd := all[1]
	require.Equal(t, audit.EmployeeUpdate, upd.Action)
	require.Equal(t, a.Admin.EmployeeID, upd.ActorID)
	require.Equal(t, "203.0.113.7", upd.Address)
	require.Equal(t, target, upd.TargetID)
	var before, after map[string]string
	require.NoError(t, json.Unmarshal([]byte(upd.BeforeJSON), &before))
	require.NoError(t, json.Unmarshal([]byte(upd.AfterJSON), &after))
	require.Equal(t, map[string]string{"role": "sales"}, before)
	require.Equal(t, map[string]string{"role": "manager"}, after)
	require.Empty(t, all[2].BeforeJSON, "a creation has no before")

	byPrefix, _, err := svc.List(ctx, a.Admin, audit.Filter{ActionPrefix: "employee."})
	require.NoError(t, err)
	require.Len(t, byPrefix, 2)
	byTarget, _, err := svc.List(ctx, a.Admin, audit.Filter{TargetID: target})
	require.NoError(t, err)
	require.Len(t, byTarget, 2)
	byActor, _, err := svc.List(ctx, a.Admin, audit.Filter{ActorID: manager.EmployeeID})
	require.NoError(t, err)
	require.Len(t, byActor, 1)
	none, _, err := svc.List(ctx, a.Admin, audit.Filter{Since: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	require.Empty(t, none)

	// Paged one at a time: the same three, in the same order, each once.
	var paged []uuid.UUID
	token := ""
	for {
		page, next, err := svc.List(ctx, a.Admin, audit.Filter{PageSize: 1, PageToken: token})
		require.NoError(t, err)
		for _, r := range page {
			paged = append(paged, r.ID)
		}
		if next == "" {
			break
		}
		token = next
	}
	require.Equal(t, []uuid.UUID{all[0].ID, all[1].ID, all[2].ID}, paged)
	_, _, err = svc.List(ctx, a.Admin, audit.Filter{PageToken: "not-a-token"})
	require.Equal(t, platform.KindInvalid, platform.KindOf(err))

	_, _, err = svc.List(ctx, manager, audit.Filter{})
	require.Equal(t, platform.KindPermissionDenied, platform.KindOf(err))
}

// The application can append and read, never change or delete an entry; the purge removes only entries
// past 400 days.
func TestTheLogIsAppendOnlyAndPurgedAfter400Days(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	a := db.NewTenant(t, "A")
	record(t, db, a.Admin, audit.Entry{Action: audit.TeamCreate, TargetKind: audit.TargetTeam, TargetID: uuid.New()})
	record(t, db, a.Admin, audit.Entry{Action: audit.TeamDelete, TargetKind: audit.TargetTeam, TargetID: uuid.New()})

	for _, stmt := range []string{"UPDATE audit_log SET action = 'team.rename'", "DELETE FROM audit_log"} {
		err := db.App.InTenantTx(ctx, a.ID, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, stmt); return err })
		require.ErrorContains(t, err, "permission denied", stmt)
	}

	_, err := db.Super.Exec(ctx, "UPDATE audit_log SET at = now() - interval '401 days' WHERE action = 'team.create'")
	require.NoError(t, err)
	var purged int64
	require.NoError(t, db.App.Pool.QueryRow(ctx, "SELECT purge_audit_log()").Scan(&purged))
	require.EqualValues(t, 1, purged)
	left, _, err := audit.NewService(db.App).List(ctx, a.Admin, audit.Filter{})
	require.NoError(t, err)
	require.Len(t, left, 1)
	require.Equal(t, audit.TeamDelete, left[0].Action)
}
