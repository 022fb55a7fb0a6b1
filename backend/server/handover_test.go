package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server/servertest"
)

func handovers(e *servertest.Env, token string) salesappv1connect.HandoverServiceClient {
	return salesappv1connect.NewHandoverServiceClient(e.HTTP, e.URL, servertest.As(token))
}

// A salesperson leaves: disabling them is refused while they own customers; the admin hands them over. The customer, with its follow-up, leaves the departed employee's device and arrives on the
// successor's; the handover is listed and audited; the departed employee's link keeps working, shows the
// successor's card and brings new customers to the successor.
func TestDepartedEmployeeHandsOverToTheSuccessor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := servertest.Start(t)
	a, sales, token, _ := sharedMaterial(t, e)
	successor := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	cid := customerOf(t, e, sales, token, "visitor-ho01")
	// A card link the salesperson sent before leaving, first opened after.
	card, err := clientsOf(e, sales.Token).shares.ShareCard(ctx, connect.NewRequest(&salesappv1.ShareCardRequest{Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT}))
	require.NoError(t, err)
	cardToken := card.Msg.Share.Token
	salesDev, succDev := newDevice(t, e, sales), newDevice(t, e, successor)
	followUp := &salesappv1.Mutation{Op: &salesappv1.Mutation_AddNote{AddNote: &salesappv1.AddNote{NoteId: uuid.NewString(), CustomerId: cid,
		Kind: "follow_up", Body: "call back about the quote", NextAt: timestamppb.New(time.Now().Add(48 * time.Hour))}}}
	res, err := salesDev.push(salesDev.mutation(followUp))
	require.NoError(t, err)
	require.Equal(t, salesappv1.MutationResult_OUTCOME_APPLIED, res.Results[0].Outcome)
	salesDev.pull()
	succDev.pull()
	require.NotNil(t, salesDev.get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, cid))
	require.Nil(t, succDev.get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, cid))

	// Disabling with customers and no choice: refused, naming what to choose.
	disable := &salesappv1.SetEmployeeStatusRequest{EmployeeId: sales.ID.String(), Status: salesappv1.EmployeeStatus_EMPLOYEE_STATUS_DISABLED}
	_, err = employees(e, a.Admin.Token).SetEmployeeStatus(ctx, connect.NewRequest(disable))
	require.Equal(t, connect.CodeFailedPrecondition, connect.CodeOf(err))
	require.Contains(t, err.Error(), "successor_id")
	require.Contains(t, err.Error(), "release_to_pool")

	// The handover (a disabled employee's device cannot pull, so it runs first, as an admin does before
	// the last day).
	_, err = handovers(e, a.Admin.Token).HandOver(ctx, connect.NewRequest(&salesappv1.HandOverRequest{FromEmployeeId: sales.ID.String(),
		ToEmployeeIds: []string{successor.ID.String()}}))
	require.NoError(t, err)

	// Sync: a tombstone on the old owner's device (the customer and its notes), an upsert on the new one's.
	salesDev.pull()
	require.Nil(t, salesDev.get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, cid), "the departed employee's device lets it go")
	require.Zero(t, salesDev.count(salesappv1.EntityKind_ENTITY_KIND_NOTE))
	succDev.pull()
	c := succDev.get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, cid)
	require.NotNil(t, c, "the successor's device has it")
	require.Equal(t, successor.ID.String(), c.GetCustomer().OwnerId)
	require.Equal(t, 1, succDev.count(salesappv1.EntityKind_ENTITY_KIND_NOTE), "with its follow-up")

	// With nothing left to own, disabling needs no choice; the successor the handover named answers
	// for the departed employee.
	_, err = employees(e, a.Admin.Token).SetEmployeeStatus(ctx, connect.NewRequest(disable))
	require.NoError(t, err)

	// The follow-up is the successor's to do now.
	var author uuid.UUID
	require.NoError(t, e.DB.Super.QueryRow(ctx, `SELECT author_id FROM customer_notes WHERE customer_id = $1 AND next_at IS NOT NULL`, cid).Scan(&author))
	require.Equal(t, successor.ID, author)

	// Recorded and listed.
	list, err := handovers(e, a.Admin.Token).ListHandovers(ctx, connect.NewRequest(&salesappv1.ListHandoversRequest{}))
	require.NoError(t, err)
	require.Len(t, list.Msg.Handovers, 1)
	h := list.Msg.Handovers[0]
	require.Equal(t, sales.ID.String(), h.FromEmployeeId)
	require.Equal(t, []string{successor.ID.String()}, h.ToEmployeeIds)
	require.Equal(t, a.Admin.ID.String(), h.ActorId)
	require.EqualValues(t, 1, h.Customers)
	require.EqualValues(t, 1, h.FollowUps)
	entries, err := auditOf(e, a.Admin.Token).ListAuditEntries(ctx, connect.NewRequest(&salesappv1.ListAuditEntriesRequest{}))
	require.NoError(t, err)
	n := 0
	for _, en := range entries.Msg.Entries {
		if en.Action == "employee.handover" {
			n++
			require.Equal(t, sales.ID.String(), en.TargetId)
		}
	}
	require.Equal(t, 1, n, "one audit entry per handover")
	// Salespeople cannot hand over or list.
	_, err = handovers(e, successor.Token).ListHandovers(ctx, connect.NewRequest(&salesappv1.ListHandoversRequest{}))
	require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err))

	// The departed employee's link keeps working and shows the successor's card.
	var succName string
	require.NoError(t, e.DB.Super.QueryRow(ctx, `SELECT name FROM employees WHERE id = $1`, successor.ID).Scan(&succName))
	status, body, _ := newBrowser(t, e).get("/s/" + token)
	require.Equal(t, 200, status, body)
	require.True(t, strings.Contains(body, succName), "the successor's card on the page")

	// A new visitor through the departed employee's link becomes the successor's customer. (A node that
	// resolved the link before the handover credits the successor once its share cache entry expires;
	// this link is first opened now.)
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_CARD_VIEW, cardToken, "visitor-ho02"))
	mine, err := customers(e, successor.Token).ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{}))
	require.NoError(t, err)
	require.Len(t, mine.Msg.Customers, 2, "the handed-over customer and the new one")
	// The forward tree keeps the original sharer.
	var sharer uuid.UUID
	require.NoError(t, e.DB.Super.QueryRow(ctx, `SELECT employee_id FROM shares WHERE token = $1`, token).Scan(&sharer))
	require.Equal(t, sales.ID, sharer)
}

// An admin spreads a salesperson's customers at one stage over two colleagues; the others stay. Leaving
// the rest in the pool is the other way to disable them.
func TestHandoverSpreadsAndFilters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := servertest.Start(t)
	a, sales, token, _ := sharedMaterial(t, e)
	one := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	two := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	for _, v := range []string{"visitor-hs01", "visitor-hs02", "visitor-hs03", "visitor-hs04", "visitor-hs05"} {
		track(t, e, ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, v))
	}
	list, err := customers(e, sales.Token).ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{}))
	require.NoError(t, err)
	require.Len(t, list.Msg.Customers, 5)
	stage := salesappv1.CustomerStage_CUSTOMER_STAGE_NEGOTIATING
	for _, c := range list.Msg.Customers[:4] {
		_, err := customers(e, sales.Token).UpdateCustomer(ctx, connect.NewRequest(&salesappv1.UpdateCustomerRequest{CustomerId: c.Id, Stage: stage}))
		require.NoError(t, err)
	}

	res, err := handovers(e, a.Admin.Token).HandOver(ctx, connect.NewRequest(&salesappv1.HandOverRequest{FromEmployeeId: sales.ID.String(),
		ToEmployeeIds: []string{one.ID.String(), two.ID.String()}, Stages: []salesappv1.CustomerStage{stage}}))
	require.NoError(t, err)
	require.EqualValues(t, 4, res.Msg.Handover.Customers)
	require.Equal(t, []int32{2, 2}, res.Msg.Handover.CustomersPerSuccessor, "spread evenly")

	left, err := customers(e, sales.Token).ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{}))
	require.NoError(t, err)
	require.Len(t, left.Msg.Customers, 1, "the one at another stage stays")

	// Bad requests.
	_, err = handovers(e, a.Admin.Token).HandOver(ctx, connect.NewRequest(&salesappv1.HandOverRequest{FromEmployeeId: sales.ID.String(),
		ToEmployeeIds: []string{sales.ID.String()}}))
	require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
	_, err = handovers(e, sales.Token).HandOver(ctx, connect.NewRequest(&salesappv1.HandOverRequest{FromEmployeeId: sales.ID.String(),
		ToEmployeeIds: []string{one.ID.String()}}))
	require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err))

	// Disabling with the rest left in the pool.
	_, err = employees(e, a.Admin.Token).SetEmployeeStatus(ctx, connect.NewRequest(&salesappv1.SetEmployeeStatusRequest{EmployeeId: sales.ID.String(),
		Status: salesappv1.EmployeeStatus_EMPLOYEE_STATUS_DISABLED, ReleaseToPool: true}))
	require.NoError(t, err)
	var pooled int
	require.NoError(t, e.DB.Super.QueryRow(ctx, `SELECT count(*) FROM customers WHERE tenant_id = $1 AND owner_id IS NULL`, a.ID).Scan(&pooled))
	require.Equal(t, 1, pooled)
}

// Disabling with a successor named moves what is left and records the successor in one step.
func TestDisableWithSuccessorHandsOver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := servertest.Start(t)
	a, sales, token, _ := sharedMaterial(t, e)
	successor := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	cid := customerOf(t, e, sales, token, "visitor-hd01")
	_, err := employees(e, a.Admin.Token).SetEmployeeStatus(ctx, connect.NewRequest(&salesappv1.SetEmployeeStatusRequest{EmployeeId: sales.ID.String(),
		Status: salesappv1.EmployeeStatus_EMPLOYEE_STATUS_DISABLED, SuccessorId: sales.ID.String()}))
	require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err), "not to themselves")
	_, err = employees(e, a.Admin.Token).SetEmployeeStatus(ctx, connect.NewRequest(&salesappv1.SetEmployeeStatusRequest{EmployeeId: sales.ID.String(),
		Status: salesappv1.EmployeeStatus_EMPLOYEE_STATUS_DISABLED, SuccessorId: successor.ID.String()}))
	require.NoError(t, err)
	got, err := customers(e, successor.Token).GetCustomer(ctx, connect.NewRequest(&salesappv1.GetCustomerRequest{CustomerId: cid}))
	require.NoError(t, err)
	require.Equal(t, successor.ID.String(), got.Msg.Profile.Customer.OwnerId)
	succDev := newDevice(t, e, successor)
	succDev.pull()
	require.NotNil(t, succDev.get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, cid))
}
