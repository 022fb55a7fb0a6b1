package server_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server/servertest"
)

// A salesperson claims a lead offline (the claim_lead sync mutation), by ClaimLead's rules: the first
// claim wins and the customer arrives on their device; a colleague's later claim is refused by its result.
func TestALeadClaimedOfflineThroughSync(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "Pools", 0)
	created, err := salesappv1connect.NewPoolServiceClient(e.HTTP, e.URL, servertest.As(a.Admin.Token)).CreatePool(ctx,
		connect.NewRequest(&salesappv1.CreatePoolRequest{Settings: &salesappv1.PoolSettings{Name: "Default", DailyClaimCap: 5, MaxHeld: 5}}))
	require.NoError(t, err)
	pool := created.Msg.Pool.Id
	lead := uuid.Must(uuid.NewV7())
	_, err = e.DB.Super.Exec(ctx, "INSERT INTO customers (id, tenant_id, display_name) VALUES ($1, $2, 'Waiting')", lead, a.ID)
	require.NoError(t, err)

	first := newDevice(t, e, e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil))
	second := newDevice(t, e, e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil))
	claim := func(d *device) *salesappv1.MutationResult {
		t.Helper()
		res, err := d.push(d.mutation(&salesappv1.Mutation{Op: &salesappv1.Mutation_ClaimLead{ClaimLead: &salesappv1.ClaimLead{
			PoolId: pool, CustomerId: lead.String()}}}))
		require.NoError(t, err)
		return res.Results[0]
	}
	require.Equal(t, salesappv1.MutationResult_OUTCOME_APPLIED, claim(first).Outcome)
	first.pull()
	require.NotNil(t, first.get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, lead.String()), "the claimed customer arrives")

	late := claim(second)
	require.NotEqual(t, salesappv1.MutationResult_OUTCOME_APPLIED, late.Outcome)
	require.Equal(t, "failed_precondition", late.Code, "a colleague claimed it first")
}
