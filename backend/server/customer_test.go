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
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server/servertest"
)

func customers(e *servertest.Env, token string) salesappv1connect.CustomerServiceClient {
	return salesappv1connect.NewCustomerServiceClient(e.HTTP, e.URL, servertest.As(token))
}

func track(t *testing.T, e *servertest.Env, events ...*salesappv1.TrackEvent) {
	t.Helper()
	_, err := tracker(e).Track(context.Background(), connect.NewRequest(&salesappv1.TrackRequest{Events: events}))
	require.NoError(t, err)
}

func TestCustomersAreSeenByTheirOwnerTeamAndAdmin(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "A", 0)
	east, west := e.NewTeam(t, a.ID, "East"), e.NewTeam(t, a.ID, "West")
	s1 := e.NewPerson(t, a.ID, authn.RoleSales, east)
	s2 := e.NewPerson(t, a.ID, authn.RoleSales, west)
	mgr := e.NewPerson(t, a.ID, authn.RoleManager, east)
	admin := clientsOf(e, a.Admin.Token)
	m := createArticle(t, admin, salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, "Plan")
	publish(t, admin, m.Id)
	shareOf := func(p servertest.Person) string {
		sh, err := clientsOf(e, p.Token).shares.ShareMaterial(ctx, connect.NewRequest(&salesappv1.ShareMaterialRequest{MaterialId: m.Id, Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT}))
		require.NoError(t, err)
		return sh.Msg.Share.Token
	}
	t1, t2 := shareOf(s1), shareOf(s2)
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, t1, "visitor-one1"),
		&salesappv1.TrackEvent{EventId: uuid.NewString(), Kind: salesappv1.EventKind_EVENT_KIND_PHONE_LEFT, ShareToken: t1, VisitorId: "visitor-one1", Phone: "+8613800138000"})
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, t2, "visitor-two2"))

	ids := func(token string) []string {
		resp, err := customers(e, token).ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{}))
		require.NoError(t, err)
		var out []string
		for _, c := range resp.Msg.Customers {
			out = append(out, c.OwnerId)
		}
		return out
	}
	require.Equal(t, []string{s1.ID.String()}, ids(s1.Token))
	require.Equal(t, []string{s2.ID.String()}, ids(s2.Token))
	require.Equal(t, []string{s1.ID.String()}, ids(mgr.Token))
	require.Len(t, ids(a.Admin.Token), 2)

	mine, err := customers(e, s1.Token).ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{}))
	require.NoError(t, err)
	c1 := mine.Msg.Customers[0]
	require.Equal(t, "+8613800138000", c1.Phone, "the owner sees the number")
	_, err = customers(e, s2.Token).GetCustomer(ctx, connect.NewRequest(&salesappv1.GetCustomerRequest{CustomerId: c1.Id}))
	requireCode(t, err, connect.CodeNotFound, "")
	_, err = customers(e, s2.Token).GetTimeline(ctx, connect.NewRequest(&salesappv1.GetTimelineRequest{CustomerId: c1.Id}))
	requireCode(t, err, connect.CodeNotFound, "")
	_, err = customers(e, s2.Token).AddNote(ctx, connect.NewRequest(&salesappv1.AddNoteRequest{CustomerId: c1.Id, Kind: "note", Body: "x"}))
	requireCode(t, err, connect.CodeNotFound, "")
	_, err = customers(e, s2.Token).ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{OwnerId: s1.ID.String()}))
	requireCode(t, err, connect.CodePermissionDenied, "")
	viaManager, err := customers(e, mgr.Token).GetCustomer(ctx, connect.NewRequest(&salesappv1.GetCustomerRequest{CustomerId: c1.Id}))
	require.NoError(t, err)
	require.Equal(t, "138****8000", viaManager.Msg.Profile.Customer.Phone, "others see it masked")

	// Another tenant sees none of it.
	b := e.NewTenant(t, "B", 0)
	_, err = customers(e, b.Admin.Token).GetCustomer(ctx, connect.NewRequest(&salesappv1.GetCustomerRequest{CustomerId: c1.Id}))
	requireCode(t, err, connect.CodeNotFound, "")
	require.Empty(t, ids(b.Admin.Token))
}

func TestProfileTimelineNotesAndSorting(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	_, sales, token, materialID := sharedMaterial(t, e)
	c := customers(e, sales.Token)

	view := ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "visitor-hot1")
	view.OccurredAt = timestamppb.New(time.Now().Add(-time.Minute))
	beats := []*salesappv1.TrackEvent{view}
	for range 6 {
		beats = append(beats, &salesappv1.TrackEvent{EventId: uuid.NewString(), Kind: salesappv1.EventKind_EVENT_KIND_DWELL, ShareToken: token, VisitorId: "visitor-hot1", ViewId: view.EventId, DwellMs: 5000})
	}
	track(t, e, beats...)
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_CALL_CLICK, token, "visitor-hot1"))
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "visitor-cold"))

	// The hot customer forwards to three people; two of them read for 10 s or more.
	fw, err := public(e).ForwardShare(ctx, connect.NewRequest(&salesappv1.ForwardShareRequest{Token: token, Channel: salesappv1.ShareChannel_SHARE_CHANNEL_GROUP, Forwarder: "visitor-hot1"}))
	require.NoError(t, err)
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_FORWARD, token, "visitor-hot1"))
	for i, v := range []string{"visitor-fr01", "visitor-fr02", "visitor-fr03"} {
		vw := ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, fw.Msg.Token, v)
		events := []*salesappv1.TrackEvent{vw}
		if i < 2 {
			events = append(events, &salesappv1.TrackEvent{EventId: uuid.NewString(), Kind: salesappv1.EventKind_EVENT_KIND_DWELL, ShareToken: fw.Msg.Token, VisitorId: v, ViewId: vw.EventId, DwellMs: 12000})
		}
		track(t, e, events...)
	}

	byIntent, err := c.ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{Sort: salesappv1.CustomerSort_CUSTOMER_SORT_INTENT}))
	require.NoError(t, err)
	require.Len(t, byIntent.Msg.Customers, 5)
	hot := byIntent.Msg.Customers[0]
	require.EqualValues(t, 30000, hot.DwellMs)
	require.Greater(t, hot.IntentScore, byIntent.Msg.Customers[1].IntentScore)
	viewed, err := c.ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{MaterialId: materialID}))
	require.NoError(t, err)
	require.Len(t, viewed.Msg.Customers, 5)
	none, err := c.ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{MaterialId: uuid.NewString()}))
	require.NoError(t, err)
	require.Empty(t, none.Msg.Customers)
	// By the channel that brought them, as Customer.source_channel names it; a value the enum lacks is refused.
	chat, err := c.ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{SourceChannel: hot.SourceChannel}))
	require.NoError(t, err)
	require.NotEmpty(t, chat.Msg.Customers)
	_, err = c.ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{SourceChannel: salesappv1.ShareChannel(99)}))
	require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))

	tl, err := c.GetTimeline(ctx, connect.NewRequest(&salesappv1.GetTimelineRequest{CustomerId: hot.Id}))
	require.NoError(t, err)
	require.Len(t, tl.Msg.Items, 3, "six heartbeats fold into their view")
	kinds := map[salesappv1.EventKind]*salesappv1.TimelineItem{}
	for _, it := range tl.Msg.Items {
		kinds[it.Kind] = it
	}
	require.EqualValues(t, 30000, kinds[salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW].DwellMs)
	require.Equal(t, "Read 《Plan》 for 30 s", kinds[salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW].Text)
	f := kinds[salesappv1.EventKind_EVENT_KIND_FORWARD]
	require.EqualValues(t, 3, f.ForwardOpened)
	require.EqualValues(t, 2, f.ForwardRead)
	require.Equal(t, "Forwarded 《Plan》 to 3 people, 2 of them read it", f.Text)

	// Paging the timeline.
	p1, err := c.GetTimeline(ctx, connect.NewRequest(&salesappv1.GetTimelineRequest{CustomerId: hot.Id, PageSize: 2}))
	require.NoError(t, err)
	require.Len(t, p1.Msg.Items, 2)
	p2, err := c.GetTimeline(ctx, connect.NewRequest(&salesappv1.GetTimelineRequest{CustomerId: hot.Id, PageSize: 2, PageToken: p1.Msg.NextPageToken}))
	require.NoError(t, err)
	require.Len(t, p2.Msg.Items, 1)
	require.Empty(t, p2.Msg.NextPageToken)

	prof, err := c.GetCustomer(ctx, connect.NewRequest(&salesappv1.GetCustomerRequest{CustomerId: hot.Id}))
	require.NoError(t, err)
	require.Contains(t, prof.Msg.Profile.IntentReasons, "tapped call once")
	require.ElementsMatch(t, []string{"insurance", "family"}, []string{prof.Msg.Profile.Interests[0].Tag, prof.Msg.Profile.Interests[1].Tag})
	require.EqualValues(t, 100, prof.Msg.Profile.Interests[0].Weight)
	require.Len(t, prof.Msg.Profile.Identities, 1)
	require.Equal(t, "visitor", prof.Msg.Profile.Identities[0].Kind)
	require.Equal(t, "visi****", prof.Msg.Profile.Identities[0].MaskedValue)

	_, err = c.AddNote(ctx, connect.NewRequest(&salesappv1.AddNoteRequest{CustomerId: hot.Id, Kind: "follow_up", Body: "Called, wants a quote", NextAt: timestamppb.New(time.Now().Add(24 * time.Hour))}))
	require.NoError(t, err)
	up, err := c.UpdateCustomer(ctx, connect.NewRequest(&salesappv1.UpdateCustomerRequest{CustomerId: hot.Id, Stage: salesappv1.CustomerStage_CUSTOMER_STAGE_INTERESTED,
		Tags: &salesappv1.TagList{Values: []string{"vip", "vip", "family"}}}))
	require.NoError(t, err)
	require.Equal(t, salesappv1.CustomerStage_CUSTOMER_STAGE_INTERESTED, up.Msg.Customer.Stage)
	require.Equal(t, []string{"vip", "family"}, up.Msg.Customer.Tags)
	byTag, err := c.ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{Tag: "vip", Stage: salesappv1.CustomerStage_CUSTOMER_STAGE_INTERESTED}))
	require.NoError(t, err)
	require.Len(t, byTag.Msg.Customers, 1)
	prof, err = c.GetCustomer(ctx, connect.NewRequest(&salesappv1.GetCustomerRequest{CustomerId: hot.Id}))
	require.NoError(t, err)
	require.Len(t, prof.Msg.Profile.Notes, 1)
	require.Equal(t, "follow_up", prof.Msg.Profile.Notes[0].Kind)

	// Paging the list in every order visits everyone once.
	for _, sort := range []salesappv1.CustomerSort{salesappv1.CustomerSort_CUSTOMER_SORT_LAST_ACTIVE, salesappv1.CustomerSort_CUSTOMER_SORT_INTENT, salesappv1.CustomerSort_CUSTOMER_SORT_NEWEST} {
		seen := map[string]bool{}
		tok := ""
		for range 10 {
			page, err := c.ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{Sort: sort, PageSize: 2, PageToken: tok}))
			require.NoError(t, err)
			for _, cu := range page.Msg.Customers {
				require.False(t, seen[cu.Id])
				seen[cu.Id] = true
			}
			if tok = page.Msg.NextPageToken; tok == "" {
				break
			}
		}
		require.Len(t, seen, 5, sort.String())
	}
}

func TestPoolRuleLeavesNewCustomersForManagersToAssign(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a, sales, token, _ := sharedMaterial(t, e)
	team := e.NewTeam(t, a.ID, "East")
	mgr := e.NewPerson(t, a.ID, authn.RoleManager, team)
	teamSales := e.NewPerson(t, a.ID, authn.RoleSales, team)

	rule := "pool"
	_, err := salesappv1connect.NewTenantServiceClient(e.HTTP, e.URL, servertest.As(sales.Token)).UpdateTenantSettings(ctx, connect.NewRequest(&salesappv1.UpdateTenantSettingsRequest{CustomerOwnerRule: &rule}))
	requireCode(t, err, connect.CodePermissionDenied, "")
	upd, err := salesappv1connect.NewTenantServiceClient(e.HTTP, e.URL, servertest.As(a.Admin.Token)).UpdateTenantSettings(ctx, connect.NewRequest(&salesappv1.UpdateTenantSettingsRequest{CustomerOwnerRule: &rule}))
	require.NoError(t, err)
	require.Equal(t, "pool", upd.Msg.Tenant.CustomerOwnerRule)

	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "visitor-pool"))
	mine, err := customers(e, sales.Token).ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{}))
	require.NoError(t, err)
	require.Empty(t, mine.Msg.Customers, "a pooled customer belongs to nobody yet")
	_, err = customers(e, sales.Token).ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{Unassigned: true}))
	requireCode(t, err, connect.CodePermissionDenied, "")
	pool, err := customers(e, mgr.Token).ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{Unassigned: true}))
	require.NoError(t, err)
	require.Len(t, pool.Msg.Customers, 1)
	id := pool.Msg.Customers[0].Id

	// A manager assigns within their team, not outside it.
	_, err = customers(e, mgr.Token).AssignCustomer(ctx, connect.NewRequest(&salesappv1.AssignCustomerRequest{CustomerId: id, OwnerId: sales.ID.String()}))
	requireCode(t, err, connect.CodePermissionDenied, "team")
	_, err = customers(e, sales.Token).AssignCustomer(ctx, connect.NewRequest(&salesappv1.AssignCustomerRequest{CustomerId: id, OwnerId: sales.ID.String()}))
	requireCode(t, err, connect.CodePermissionDenied, "")
	got, err := customers(e, mgr.Token).AssignCustomer(ctx, connect.NewRequest(&salesappv1.AssignCustomerRequest{CustomerId: id, OwnerId: teamSales.ID.String()}))
	require.NoError(t, err)
	require.Equal(t, teamSales.ID.String(), got.Msg.Customer.OwnerId)
	theirs, err := customers(e, teamSales.Token).ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{}))
	require.NoError(t, err)
	require.Len(t, theirs.Msg.Customers, 1)
	pool, err = customers(e, a.Admin.Token).ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{Unassigned: true}))
	require.NoError(t, err)
	require.Empty(t, pool.Msg.Customers)
	// The admin may move it anywhere.
	_, err = customers(e, a.Admin.Token).AssignCustomer(ctx, connect.NewRequest(&salesappv1.AssignCustomerRequest{CustomerId: id, OwnerId: sales.ID.String()}))
	require.NoError(t, err)
	_, err = customers(e, a.Admin.Token).AssignCustomer(ctx, connect.NewRequest(&salesappv1.AssignCustomerRequest{CustomerId: id, OwnerId: uuid.NewString()}))
	requireCode(t, err, connect.CodeInvalidArgument, "owner_id")
}
