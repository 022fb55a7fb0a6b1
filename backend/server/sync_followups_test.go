package server_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/backend/server/servertest"
	"github.com/salesapp/scrm/sync/replica"
)

// Today's follow-up list made offline by the reference client from its replica (issue 15: "in the sync
// scope") is the list the server gives online: the same customers, kinds, order, reasons and
// suggested material.
func TestTheFollowUpListOfflineIsTheServers(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a, sales, token, _ := sharedMaterial(t, e)
	other := createArticle(t, clientsOf(e, a.Admin.Token), salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, "Plan B")
	publish(t, clientsOf(e, a.Admin.Token), other.Id)

	// A hot reader (three views of the material, with reading time), and a customer with a follow-up
	// noted offline, due an hour ago.
	hot := customerOf(t, e, sales, token, "visitor-fu01")
	for range 2 {
		view := ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "visitor-fu01")
		track(t, e, view, &salesappv1.TrackEvent{EventId: uuid.NewString(), Kind: salesappv1.EventKind_EVENT_KIND_DWELL, ShareToken: token,
			VisitorId: "visitor-fu01", ViewId: view.EventId, DwellMs: 45_000})
	}
	_, err := e.DB.Super.Exec(ctx, "UPDATE customers SET intent_score = 60 WHERE id = $1", hot)
	require.NoError(t, err)
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "visitor-fu02"))
	list, err := customers(e, sales.Token).ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{}))
	require.NoError(t, err)
	var due string
	for _, c := range list.Msg.Customers {
		if c.Id != hot {
			due = c.Id
		}
	}
	require.NotEmpty(t, due)

	c := replicaClient(t, e, sales, "followups-1", replica.NewMemStore())
	_, err = c.Enqueue(&salesappv1.AddNote{NoteId: uuid.NewString(), CustomerId: due, Kind: "follow_up", Body: "call back",
		NextAt: timestamppb.New(time.Now().Add(-time.Hour))})
	require.NoError(t, err)
	_, err = c.Push(ctx)
	require.NoError(t, err)
	_, err = c.Sync(ctx)
	require.NoError(t, err)

	online, err := statsOf(e, sales.Token).ListFollowUps(ctx, connect.NewRequest(&salesappv1.ListFollowUpsRequest{}))
	require.NoError(t, err)
	me, err := salesappv1connectMe(e, sales.Token).GetMe(ctx, connect.NewRequest(&salesappv1.GetMeRequest{}))
	require.NoError(t, err)
	zone, err := time.LoadLocation(me.Msg.Tenant.TimeZone)
	require.NoError(t, err)
	offline := c.FollowUps(sales.ID.String(), time.Now().In(zone))

	var want, got []string
	for _, f := range online.Msg.FollowUps {
		want = append(want, f.CustomerId+" "+f.Kind.String()+": "+f.Reason+"; send "+f.SuggestedMaterialId)
	}
	for _, f := range offline {
		require.NotNil(t, f.Suggested)
		got = append(got, f.CustomerID.String()+" FOLLOW_UP_KIND_"+map[string]string{"due": "DUE", "hot": "HOT", "cold": "COLD"}[string(f.Kind)]+
			": "+f.Reason+"; send "+f.Suggested.ID.String())
	}
	require.Len(t, want, 2, "the due follow-up and the hot reader: %v", want)
	for _, f := range online.Msg.FollowUps {
		require.Equal(t, other.Id, f.SuggestedMaterialId, "both viewed the shared material, so the other one")
	}
	require.Equal(t, want, got)
}
