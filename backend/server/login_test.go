package server_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server/servertest"
	"github.com/salesapp/scrm/backend/wechat"
	"github.com/salesapp/scrm/backend/wechat/wechattest"
)

func withWeChat(wx *wechattest.Server) servertest.Option {
	return func(c *platform.Config) {
		wc := wx.Config()
		// The fake answers both the mini-program's and the official account's sign-in with one app id.
		c.WeChat = platform.WeChatConfig{AppID: wc.AppID, AppSecret: wc.AppSecret, BaseURL: wc.BaseURL,
			OfficialAppID: wc.AppID, OfficialSecret: wc.AppSecret}
	}
}

func TestPreLoginEventsMoveOntoTheKnownCustomer(t *testing.T) {
	t.Parallel()
	wx := wechattest.New(t)
	e := servertest.Start(t, withWeChat(wx))
	ctx := context.Background()
	a, sales, token, _ := sharedMaterial(t, e)

	// Monday: a visitor on one phone reads, then signs in (a known unionid from now on).
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "visitor-phone"), ev(salesappv1.EventKind_EVENT_KIND_CALL_CLICK, token, "visitor-phone"))
	wx.AddSession("code-1", wechat.Session{OpenID: "openid-1", UnionID: "union-1", SessionKey: "k1"})
	login, err := public(e).LoginMiniProgram(ctx, connect.NewRequest(&salesappv1.LoginMiniProgramRequest{Token: token, VisitorId: "visitor-phone", Code: "code-1"}))
	require.NoError(t, err)
	require.False(t, login.Msg.Returning)

	// Tuesday: the same person on a tablet, anonymous at first, then signs in with the same unionid.
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "visitor-tablet"), ev(salesappv1.EventKind_EVENT_KIND_FORWARD, token, "visitor-tablet"))
	var before int
	require.NoError(t, e.DB.Super.QueryRow(ctx, "SELECT count(*) FROM customers WHERE tenant_id = $1 AND merged_into IS NULL", a.ID).Scan(&before))
	require.Equal(t, 2, before)
	wx.AddSession("code-2", wechat.Session{OpenID: "openid-1", UnionID: "union-1", SessionKey: "k2"})
	login, err = public(e).LoginMiniProgram(ctx, connect.NewRequest(&salesappv1.LoginMiniProgramRequest{Token: token, VisitorId: "visitor-tablet", Code: "code-2"}))
	require.NoError(t, err)
	require.True(t, login.Msg.Returning)

	// One customer now, with every event, counted once.
	list, err := customers(e, sales.Token).ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{}))
	require.NoError(t, err)
	require.Len(t, list.Msg.Customers, 1)
	c := list.Msg.Customers[0]
	require.EqualValues(t, 2, c.Views)
	tl, err := customers(e, sales.Token).GetTimeline(ctx, connect.NewRequest(&salesappv1.GetTimelineRequest{CustomerId: c.Id}))
	require.NoError(t, err)
	require.Len(t, tl.Msg.Items, 4)
	prof, err := customers(e, sales.Token).GetCustomer(ctx, connect.NewRequest(&salesappv1.GetCustomerRequest{CustomerId: c.Id}))
	require.NoError(t, err)
	require.EqualValues(t, 1, prof.Msg.Profile.Forwards)
	require.EqualValues(t, 1, prof.Msg.Profile.CallClicks)
	kinds := map[string]int{}
	for _, id := range prof.Msg.Profile.Identities {
		kinds[id.Kind]++
	}
	require.Equal(t, map[string]int{"visitor": 2, "mp_openid": 1, "unionid": 1}, kinds)

	// Later events from either device land on the same customer.
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_WECHAT_CLICK, token, "visitor-tablet"))
	prof, err = customers(e, sales.Token).GetCustomer(ctx, connect.NewRequest(&salesappv1.GetCustomerRequest{CustomerId: c.Id}))
	require.NoError(t, err)
	require.EqualValues(t, 1, prof.Msg.Profile.WechatClicks)
}

func TestPhoneNumberThroughWeChat(t *testing.T) {
	t.Parallel()
	wx := wechattest.New(t)
	e := servertest.Start(t, withWeChat(wx))
	ctx := context.Background()
	_, sales, token, _ := sharedMaterial(t, e)
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "visitor-ph01"))
	wx.AddPhone("phone-code", wechattest.PhoneInfo{PurePhoneNumber: "13800138000", CountryCode: "86", CountryCodeAsNumber: true})
	eventID := uuid.NewString()
	req := &salesappv1.LeavePhoneNumberRequest{Token: token, VisitorId: "visitor-ph01", PhoneCode: "phone-code", EventId: eventID}
	_, err := public(e).LeavePhoneNumber(ctx, connect.NewRequest(req))
	require.NoError(t, err)
	list, err := customers(e, sales.Token).ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{}))
	require.NoError(t, err)
	require.Equal(t, "+8613800138000", list.Msg.Customers[0].Phone)
	// A code is good once; a number minted for another app is refused.
	_, err = public(e).LeavePhoneNumber(ctx, connect.NewRequest(req))
	require.Error(t, err)
	wx.AddPhone("other-app", wechattest.PhoneInfo{PurePhoneNumber: "13900139000", CountryCode: "86", WatermarkAppID: "wx-someone-else"})
	_, err = public(e).LeavePhoneNumber(ctx, connect.NewRequest(&salesappv1.LeavePhoneNumberRequest{Token: token, VisitorId: "visitor-ph01", PhoneCode: "other-app", EventId: uuid.NewString()}))
	requireCode(t, err, connect.CodePermissionDenied, "")
	// An invalid login code is the customer's to retry, not a server error.
	wx.FailNext(wechattest.Code2Session, 1, wechat.CodeInvalidCode)
	_, err = public(e).LoginMiniProgram(ctx, connect.NewRequest(&salesappv1.LoginMiniProgramRequest{Token: token, VisitorId: "visitor-ph01", Code: "whatever"}))
	requireCode(t, err, connect.CodeUnauthenticated, "log in again")
}

func TestLoginWithoutAMiniProgramIsRefusedClearly(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	_, _, token, _ := sharedMaterial(t, e)
	_, err := public(e).LoginMiniProgram(context.Background(), connect.NewRequest(&salesappv1.LoginMiniProgramRequest{Token: token, VisitorId: "visitor-none", Code: "c"}))
	requireCode(t, err, connect.CodeFailedPrecondition, "not configured")
}

func TestOnePersonAcrossMiniProgramAndH5IsOneCustomer(t *testing.T) {
	t.Parallel()
	wx := wechattest.New(t)
	e := servertest.Start(t, withWeChat(wx))
	ctx := context.Background()
	_, sales, token, _ := sharedMaterial(t, e)
	// The same person reads in the mini-program and, another day, on an H5 page: different openids, one
	// unionid.
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "visitor-mp01"))
	wx.AddSession("mp-code", wechat.Session{OpenID: "mp-openid", UnionID: "union-x", SessionKey: "k"})
	_, err := public(e).LoginMiniProgram(ctx, connect.NewRequest(&salesappv1.LoginMiniProgramRequest{Token: token, VisitorId: "visitor-mp01", Code: "mp-code"}))
	require.NoError(t, err)
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "visitor-h501"))
	wx.AddSession("web-code", wechat.Session{OpenID: "oa-openid", UnionID: "union-x"})
	h5, err := public(e).LoginH5(ctx, connect.NewRequest(&salesappv1.LoginH5Request{Token: token, VisitorId: "visitor-h501", Code: "web-code"}))
	require.NoError(t, err)
	require.True(t, h5.Msg.Returning)
	list, err := customers(e, sales.Token).ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{}))
	require.NoError(t, err)
	require.Len(t, list.Msg.Customers, 1)
	require.EqualValues(t, 2, list.Msg.Customers[0].Views)
	prof, err := customers(e, sales.Token).GetCustomer(ctx, connect.NewRequest(&salesappv1.GetCustomerRequest{CustomerId: list.Msg.Customers[0].Id}))
	require.NoError(t, err)
	kinds := map[string]int{}
	for _, id := range prof.Msg.Profile.Identities {
		kinds[id.Kind]++
	}
	require.Equal(t, map[string]int{"visitor": 2, "mp_openid": 1, "h5_openid": 1, "unionid": 1}, kinds)
}

// sessionReq is a public request carrying a customer session.
func sessionReq[T any](msg *T, session string) *connect.Request[T] {
	req := connect.NewRequest(msg)
	req.Header().Set(customer.SessionHeader, session)
	return req
}

func TestAMiniProgramCustomerCarriesASessionInsteadOfAVisitorID(t *testing.T) {
	t.Parallel()
	wx := wechattest.New(t)
	e := servertest.Start(t, withWeChat(wx))
	ctx := context.Background()
	_, sales, token, materialID := sharedMaterial(t, e)

	// The mini-program signs in from the link it was opened with and gets a session of two hours.
	wx.AddSession("code-s1", wechat.Session{OpenID: "openid-s1", UnionID: "union-s1", SessionKey: "k"})
	login, err := public(e).LoginMiniProgram(ctx, connect.NewRequest(&salesappv1.LoginMiniProgramRequest{Token: token, VisitorId: "visitor-s101", Code: "code-s1"}))
	require.NoError(t, err)
	s := login.Msg.GetSession()
	require.NotEmpty(t, s.GetToken())
	require.Equal(t, "visitor-s101", s.GetVisitorId())
	require.WithinDuration(t, time.Now().Add(customer.SessionTTL), s.GetExpiresAt().AsTime(), time.Minute)
	require.WithinDuration(t, time.Now().Add(customer.SessionRefreshFor), s.GetRefreshUntil().AsTime(), time.Minute)

	// Its events name no visitor: they are the session's customer's.
	view := ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "")
	_, err = tracker(e).Track(ctx, sessionReq(&salesappv1.TrackRequest{Events: []*salesappv1.TrackEvent{view}}, s.GetToken()))
	require.NoError(t, err)
	prof, err := customers(e, sales.Token).GetCustomer(ctx, connect.NewRequest(&salesappv1.GetCustomerRequest{CustomerId: s.GetCustomerId()}))
	require.NoError(t, err)
	require.EqualValues(t, 1, prof.Msg.Profile.Customer.Views)
	// Another visitor's id beside the session is refused; no session and no visitor id is invalid.
	other := ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "visitor-s102")
	_, err = tracker(e).Track(ctx, sessionReq(&salesappv1.TrackRequest{Events: []*salesappv1.TrackEvent{other}}, s.GetToken()))
	requireCode(t, err, connect.CodePermissionDenied, "not the customer session's visitor")
	_, err = tracker(e).Track(ctx, connect.NewRequest(&salesappv1.TrackRequest{Events: []*salesappv1.TrackEvent{ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "")}}))
	requireCode(t, err, connect.CodeInvalidArgument, "visitor_id")
	// A forged or broken session is refused, whatever the call.
	_, err = tracker(e).Track(ctx, sessionReq(&salesappv1.TrackRequest{Events: []*salesappv1.TrackEvent{view}}, s.GetToken()+"x"))
	requireCode(t, err, connect.CodeUnauthenticated, "sign in again")

	// The number the customer leaves is on the session's customer.
	wx.AddPhone("phone-s1", wechattest.PhoneInfo{PurePhoneNumber: "13800138001", CountryCode: "86", CountryCodeAsNumber: true})
	_, err = public(e).LeavePhoneNumber(ctx, sessionReq(&salesappv1.LeavePhoneNumberRequest{Token: token, PhoneCode: "phone-s1", EventId: uuid.NewString()}, s.GetToken()))
	require.NoError(t, err)
	prof, err = customers(e, sales.Token).GetCustomer(ctx, connect.NewRequest(&salesappv1.GetCustomerRequest{CustomerId: s.GetCustomerId()}))
	require.NoError(t, err)
	require.Equal(t, "+8613800138001", prof.Msg.Profile.Customer.Phone)
	_, err = public(e).LeavePhoneNumber(ctx, connect.NewRequest(&salesappv1.LeavePhoneNumberRequest{Token: token, PhoneCode: "phone-s1", EventId: uuid.NewString()}))
	requireCode(t, err, connect.CodeInvalidArgument, "visitor_id")

	// Without a link: the salesperson's card, by their id, with the card's own link to track under.
	_, err = public(e).OpenCard(ctx, connect.NewRequest(&salesappv1.OpenCardRequest{EmployeeId: sales.ID.String()}))
	requireCode(t, err, connect.CodeUnauthenticated, "customer session")
	card, err := public(e).OpenCard(ctx, sessionReq(&salesappv1.OpenCardRequest{EmployeeId: sales.ID.String()}, s.GetToken()))
	require.NoError(t, err)
	require.Equal(t, sales.ID.String(), card.Msg.GetCard().GetEmployeeId())
	require.NotEmpty(t, card.Msg.GetToken())
	require.Equal(t, card.Msg.GetCard().GetShareUrl(), card.Msg.GetUrl())
	tap := ev(salesappv1.EventKind_EVENT_KIND_CALL_CLICK, card.Msg.GetToken(), "")
	_, err = tracker(e).Track(ctx, sessionReq(&salesappv1.TrackRequest{Events: []*salesappv1.TrackEvent{tap}}, s.GetToken()))
	require.NoError(t, err)
	prof, err = customers(e, sales.Token).GetCustomer(ctx, connect.NewRequest(&salesappv1.GetCustomerRequest{CustomerId: s.GetCustomerId()}))
	require.NoError(t, err)
	require.EqualValues(t, 1, prof.Msg.Profile.CallClicks, "the tap on the card opened by id is the same customer's")
	fw, err := public(e).ForwardShare(ctx, sessionReq(&salesappv1.ForwardShareRequest{Token: card.Msg.GetToken(), Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT}, s.GetToken()))
	require.NoError(t, err)
	require.NotEmpty(t, fw.Msg.GetToken())
	// The customer's home: their salesperson's card (the one whose link brought them), under its own link.
	_, err = public(e).OpenHome(ctx, connect.NewRequest(&salesappv1.OpenHomeRequest{}))
	requireCode(t, err, connect.CodeUnauthenticated, "customer session")
	home, err := public(e).OpenHome(ctx, sessionReq(&salesappv1.OpenHomeRequest{}, s.GetToken()))
	require.NoError(t, err)
	require.Equal(t, sales.ID.String(), home.Msg.GetCard().GetEmployeeId())
	require.Equal(t, card.Msg.GetToken(), home.Msg.GetToken())
	// A material the card features opens through the salesperson's standing link of it; others do not.
	_, err = clientsOf(e, sales.Token).cards.UpdateMyCard(ctx, connect.NewRequest(&salesappv1.UpdateMyCardRequest{
		FeaturedMaterialIds: &salesappv1.StringList{Values: []string{materialID}}}))
	require.NoError(t, err)
	_, err = public(e).OpenFeatured(ctx, connect.NewRequest(&salesappv1.OpenFeaturedRequest{Token: home.Msg.GetToken(), MaterialId: uuid.NewString()}))
	requireCode(t, err, connect.CodeNotFound, "")
	f, err := public(e).OpenFeatured(ctx, connect.NewRequest(&salesappv1.OpenFeaturedRequest{Token: home.Msg.GetToken(), MaterialId: materialID}))
	require.NoError(t, err)
	opened, err := public(e).OpenShare(ctx, connect.NewRequest(&salesappv1.OpenShareRequest{Token: f.Msg.GetToken()}))
	require.NoError(t, err)
	require.Equal(t, materialID, opened.Msg.GetMaterial().GetId())
	require.Equal(t, sales.ID.String(), opened.Msg.GetCard().GetEmployeeId())
	again, err := public(e).OpenFeatured(ctx, connect.NewRequest(&salesappv1.OpenFeaturedRequest{Token: home.Msg.GetToken(), MaterialId: materialID}))
	require.NoError(t, err)
	require.Equal(t, f.Msg.GetToken(), again.Msg.GetToken(), "one standing link, made once")

	// Only the session's company's salespeople: another company's, or no one, is not found.
	b := e.NewTenant(t, "B", 0)
	stranger := e.NewPerson(t, b.ID, authn.RoleSales, uuid.Nil)
	for _, id := range []uuid.UUID{stranger.ID, uuid.New()} {
		_, err = public(e).OpenCard(ctx, sessionReq(&salesappv1.OpenCardRequest{EmployeeId: id.String()}, s.GetToken()))
		requireCode(t, err, connect.CodeNotFound, "")
	}

	// A refresh gives a new session of the same customer; a forged one is refused.
	fresh, err := public(e).RefreshCustomerSession(ctx, connect.NewRequest(&salesappv1.RefreshCustomerSessionRequest{Token: s.GetToken()}))
	require.NoError(t, err)
	require.Equal(t, s.GetCustomerId(), fresh.Msg.GetSession().GetCustomerId())
	require.Equal(t, s.GetRefreshUntil().AsTime(), fresh.Msg.GetSession().GetRefreshUntil().AsTime())
	_, err = public(e).OpenCard(ctx, sessionReq(&salesappv1.OpenCardRequest{EmployeeId: sales.ID.String()}, fresh.Msg.GetSession().GetToken()))
	require.NoError(t, err)
	_, err = public(e).RefreshCustomerSession(ctx, connect.NewRequest(&salesappv1.RefreshCustomerSessionRequest{Token: "cs1.e30.AAAA"}))
	requireCode(t, err, connect.CodeUnauthenticated, "sign in again")

	// The same phone later signs in as a person already known on another device: the session's customer
	// is merged into that one, and a refresh of the first session names the survivor.
	wx.AddSession("code-b", wechat.Session{OpenID: "openid-b", UnionID: "union-b", SessionKey: "k"})
	known, err := public(e).LoginMiniProgram(ctx, connect.NewRequest(&salesappv1.LoginMiniProgramRequest{Token: token, VisitorId: "visitor-s1b2", Code: "code-b"}))
	require.NoError(t, err)
	wx.AddSession("code-s1-b", wechat.Session{OpenID: "openid-b", UnionID: "union-b", SessionKey: "k"})
	_, err = public(e).LoginMiniProgram(ctx, connect.NewRequest(&salesappv1.LoginMiniProgramRequest{Token: token, VisitorId: "visitor-s101", Code: "code-s1-b"}))
	require.NoError(t, err)
	renewed, err := public(e).RefreshCustomerSession(ctx, connect.NewRequest(&salesappv1.RefreshCustomerSessionRequest{Token: s.GetToken()}))
	require.NoError(t, err)
	require.NotEqual(t, s.GetCustomerId(), known.Msg.GetSession().GetCustomerId())
	require.Equal(t, known.Msg.GetSession().GetCustomerId(), renewed.Msg.GetSession().GetCustomerId())
}
