package pool

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/pool/internal/pooldb"
)

// When more salespeople may claim a hot lead than it is offered to, each lead goes to its own choice of
// them, the same one each time it reads again, so that nobody is always first (the lowest ids, before)
// and nobody is always left out.
func TestHotLeadsAreOfferedToADifferentChoiceOfSalespeopleEach(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	tn := db.NewTenant(t, "Offers")
	for range 6 {
		db.NewEmployee(t, tn.ID, authn.RoleSales, uuid.Nil)
	}
	_, err := db.Super.Exec(ctx, `INSERT INTO pools (tenant_id, id, name, is_default, daily_claim_cap, max_held, offer_hot_leads, created_by)
		VALUES ($1, $2, 'Default', true, 10, 10, true, $3)`, tn.ID, uuid.New(), tn.Admin.EmployeeID)
	require.NoError(t, err)
	var leads []uuid.UUID
	for range 8 {
		id := uuid.New()
		_, err := db.Super.Exec(ctx, "INSERT INTO customers (id, tenant_id) VALUES ($1, $2)", id, tn.ID)
		require.NoError(t, err)
		leads = append(leads, id)
	}
	offers := func() map[uuid.UUID][]uuid.UUID {
		out := map[uuid.UUID][]uuid.UUID{}
		require.NoError(t, db.App.InTenantTx(ctx, tn.ID, func(tx pgx.Tx) error {
			rows, err := pooldb.New(tx).ActiveLeadManagers(ctx, pooldb.ActiveLeadManagersParams{TenantID: tn.ID, CustomerIds: leads, MaxOffers: 2})
			for _, r := range rows {
				if r.Offer {
					out[r.CustomerID] = append(out[r.CustomerID], r.EmployeeID)
				}
			}
			return err
		}))
		for _, es := range out {
			slices.SortFunc(es, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
		}
		return out
	}
	first := offers()
	offered := map[uuid.UUID]bool{}
	for _, id := range leads {
		require.Len(t, first[id], 2, "each lead to two of the six")
		for _, e := range first[id] {
			offered[e] = true
		}
	}
	require.Greater(t, len(offered), 2, "not the same two for every lead: %v", first)
	require.Equal(t, first, offers(), "a lead goes to the same people each time")
}
