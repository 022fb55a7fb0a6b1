package server_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/server/servertest"
)

// An admin's reading rule made through TagRuleService reaches a customer who read before it existed (its
// first pass, a River job), and the salesperson sees the tag on the customer.
func TestATagRuleTagsAnEarlierReaderThroughItsJob(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a, sales, token, materialID := sharedMaterial(t, e)
	_, err := e.DB.Super.Exec(ctx, "UPDATE materials SET tags = '{种植牙}' WHERE id = $1", materialID)
	require.NoError(t, err)
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "visitor-0001"))

	rules := salesappv1connect.NewTagRuleServiceClient(e.HTTP, e.URL, servertest.As(a.Admin.Token))
	_, err = salesappv1connect.NewTagRuleServiceClient(e.HTTP, e.URL, servertest.As(sales.Token)).CreateTagRule(ctx,
		connect.NewRequest(&salesappv1.CreateTagRuleRequest{MaterialTag: "种植牙", MinReads: 1, CustomerTag: "种植牙意向"}))
	require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err))
	_, err = rules.CreateTagRule(ctx, connect.NewRequest(&salesappv1.CreateTagRuleRequest{MaterialTag: "种植牙", MinReads: 0, CustomerTag: "x"}))
	require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
	made, err := rules.CreateTagRule(ctx, connect.NewRequest(&salesappv1.CreateTagRuleRequest{MaterialTag: "种植牙", MinReads: 1, CustomerTag: "种植牙意向"}))
	require.NoError(t, err)

	list := customers(e, sales.Token)
	require.Eventually(t, func() bool {
		res, err := list.ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{}))
		require.NoError(t, err)
		return len(res.Msg.Customers) == 1 && len(res.Msg.Customers[0].Tags) == 1 && res.Msg.Customers[0].Tags[0] == "种植牙意向"
	}, 30*time.Second, 50*time.Millisecond)
	got, err := rules.ListTagRules(ctx, connect.NewRequest(&salesappv1.ListTagRulesRequest{}))
	require.NoError(t, err)
	require.Len(t, got.Msg.Rules, 1)
	require.Equal(t, made.Msg.Rule.Id, got.Msg.Rules[0].Id)
	require.EqualValues(t, 1, got.Msg.Rules[0].Tagged)
	_, err = rules.DeleteTagRule(ctx, connect.NewRequest(&salesappv1.DeleteTagRuleRequest{Id: made.Msg.Rule.Id}))
	require.NoError(t, err)
}
