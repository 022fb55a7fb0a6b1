package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server/servertest"
)

func tracker(e *servertest.Env) salesappv1connect.TrackingServiceClient {
	return salesappv1connect.NewTrackingServiceClient(e.HTTP, e.URL)
}

func ev(kind salesappv1.EventKind, token, visitor string) *salesappv1.TrackEvent {
	return &salesappv1.TrackEvent{EventId: uuid.NewString(), Kind: kind, ShareToken: token, VisitorId: visitor, OccurredAt: timestamppb.Now()}
}

// sharedMaterial publishes an article and returns a salesperson and their share token of it.
func sharedMaterial(t *testing.T, e *servertest.Env) (servertest.Tenant, servertest.Person, string, string) {
	t.Helper()
	ctx := context.Background()
	a := e.NewTenant(t, "A", 0)
	sales := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	admin := clientsOf(e, a.Admin.Token)
	m := createArticle(t, admin, salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, "Plan")
	publish(t, admin, m.Id)
	sh, err := clientsOf(e, sales.Token).shares.ShareMaterial(ctx, connect.NewRequest(&salesappv1.ShareMaterialRequest{MaterialId: m.Id, Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT}))
	require.NoError(t, err)
	return a, sales, sh.Msg.Share.Token, m.Id
}

func TestTheSameBatchTwiceIsStoredOnce(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a, sales, token, _ := sharedMaterial(t, e)
	view := ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "visitor-0001")
	batch := &salesappv1.TrackRequest{Events: []*salesappv1.TrackEvent{
		view,
		{EventId: uuid.NewString(), Kind: salesappv1.EventKind_EVENT_KIND_DWELL, ShareToken: token, VisitorId: "visitor-0001", ViewId: view.EventId, DwellMs: 5000},
		ev(salesappv1.EventKind_EVENT_KIND_CALL_CLICK, token, "visitor-0001"),
		ev(salesappv1.EventKind_EVENT_KIND_WECHAT_CLICK, token, "visitor-0001"),
		{EventId: uuid.NewString(), Kind: salesappv1.EventKind_EVENT_KIND_PHONE_LEFT, ShareToken: token, VisitorId: "visitor-0001", Phone: "+8613800138000"},
	}}
	first, err := tracker(e).Track(ctx, connect.NewRequest(batch))
	require.NoError(t, err)
	require.EqualValues(t, 5, first.Msg.Accepted)
	again, err := tracker(e).Track(ctx, connect.NewRequest(batch))
	require.NoError(t, err)
	require.EqualValues(t, 0, again.Msg.Accepted)
	require.EqualValues(t, 5, again.Msg.Duplicates)

	var events int
	require.NoError(t, e.DB.Super.QueryRow(ctx, "SELECT count(*) FROM events WHERE tenant_id = $1", a.ID).Scan(&events))
	require.Equal(t, 5, events)
	var owner uuid.UUID
	var views, calls, wechats int
	var dwell int64
	var phone, channel string
	require.NoError(t, e.DB.Super.QueryRow(ctx, `SELECT owner_id, views, dwell_ms, call_clicks, wechat_clicks, phone, source_channel
		FROM customers WHERE tenant_id = $1`, a.ID).Scan(&owner, &views, &dwell, &calls, &wechats, &phone, &channel))
	require.Equal(t, sales.ID, owner, "a new customer belongs to the salesperson whose share brought them")
	require.Equal(t, 1, views)
	require.EqualValues(t, 5000, dwell)
	require.Equal(t, 1, calls)
	require.Equal(t, 1, wechats)
	require.Equal(t, "+8613800138000", phone)
	require.Equal(t, "chat", channel)
}

func TestDwellIsCappedByTheClockAndHeartbeatsFoldIntoTheirView(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a, _, token, _ := sharedMaterial(t, e)
	view := ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "visitor-0002")
	// A heartbeat that arrives before its view is kept and counted once the view arrives.
	early := &salesappv1.TrackEvent{EventId: uuid.NewString(), Kind: salesappv1.EventKind_EVENT_KIND_DWELL, ShareToken: token, VisitorId: "visitor-0002", ViewId: view.EventId, DwellMs: 10000}
	_, err := tracker(e).Track(ctx, connect.NewRequest(&salesappv1.TrackRequest{Events: []*salesappv1.TrackEvent{early}}))
	require.NoError(t, err)
	_, err = tracker(e).Track(ctx, connect.NewRequest(&salesappv1.TrackRequest{Events: []*salesappv1.TrackEvent{view}}))
	require.NoError(t, err)
	// A page claiming ten minutes of dwell a second after opening gets what the clock allows (one
	// heartbeat interval of slack).
	var beats []*salesappv1.TrackEvent
	for range 10 {
		beats = append(beats, &salesappv1.TrackEvent{EventId: uuid.NewString(), Kind: salesappv1.EventKind_EVENT_KIND_DWELL, ShareToken: token, VisitorId: "visitor-0002", ViewId: view.EventId, DwellMs: 60000})
	}
	_, err = tracker(e).Track(ctx, connect.NewRequest(&salesappv1.TrackRequest{Events: beats}))
	require.NoError(t, err)
	var viewDwell int
	require.NoError(t, e.DB.Super.QueryRow(ctx, "SELECT dwell_ms FROM events WHERE id = $1", view.EventId).Scan(&viewDwell))
	require.Greater(t, viewDwell, 10000)
	require.LessOrEqual(t, viewDwell, 60000+30000, "capped near the time since the view arrived plus one heartbeat")
	var customerDwell int
	require.NoError(t, e.DB.Super.QueryRow(ctx, "SELECT dwell_ms FROM customers WHERE tenant_id = $1", a.ID).Scan(&customerDwell))
	require.Equal(t, viewDwell, customerDwell, "the customer's dwell is the sum of what their views got")

	// Bad heartbeats are refused with the field named, and nothing of the batch is stored.
	_, err = tracker(e).Track(ctx, connect.NewRequest(&salesappv1.TrackRequest{Events: []*salesappv1.TrackEvent{
		ev(salesappv1.EventKind_EVENT_KIND_CALL_CLICK, token, "visitor-0002"),
		{EventId: uuid.NewString(), Kind: salesappv1.EventKind_EVENT_KIND_DWELL, ShareToken: token, VisitorId: "visitor-0002", DwellMs: 1000},
	}}))
	requireCode(t, err, connect.CodeInvalidArgument, "events[1].view_id")
	var calls int
	require.NoError(t, e.DB.Super.QueryRow(ctx, "SELECT call_clicks FROM customers WHERE tenant_id = $1", a.ID).Scan(&calls))
	require.Zero(t, calls)
}

func TestForgedTokensAndBadInputAreRefused(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	_, _, token, _ := sharedMaterial(t, e)
	_, err := tracker(e).Track(ctx, connect.NewRequest(&salesappv1.TrackRequest{Events: []*salesappv1.TrackEvent{
		ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, "forged-token-123", "visitor-0003")}}))
	requireCode(t, err, connect.CodeNotFound, "share_token")
	_, err = tracker(e).Track(ctx, connect.NewRequest(&salesappv1.TrackRequest{Events: []*salesappv1.TrackEvent{
		ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "no spaces allowed")}}))
	requireCode(t, err, connect.CodeInvalidArgument, "visitor_id")
	var many []*salesappv1.TrackEvent
	for range 101 {
		many = append(many, ev(salesappv1.EventKind_EVENT_KIND_CALL_CLICK, token, "visitor-0003"))
	}
	_, err = tracker(e).Track(ctx, connect.NewRequest(&salesappv1.TrackRequest{Events: many}))
	requireCode(t, err, connect.CodeInvalidArgument, "events")
	// A card link has no material to view.
	a2 := e.NewTenant(t, "B", 0)
	cardShare, err := clientsOf(e, a2.Admin.Token).shares.ShareCard(ctx, connect.NewRequest(&salesappv1.ShareCardRequest{Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT}))
	require.NoError(t, err)
	_, err = tracker(e).Track(ctx, connect.NewRequest(&salesappv1.TrackRequest{Events: []*salesappv1.TrackEvent{
		ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, cardShare.Msg.Share.Token, "visitor-0003")}}))
	requireCode(t, err, connect.CodeInvalidArgument, "kind")
}

func TestVisitorsAndAddressesAreRateLimited(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t, func(c *platform.Config) { c.VisitorRate, c.VisitorBurst = 0.01, 3 })
	ctx := context.Background()
	_, _, token, _ := sharedMaterial(t, e)
	for range 3 {
		_, err := tracker(e).Track(ctx, connect.NewRequest(&salesappv1.TrackRequest{Events: []*salesappv1.TrackEvent{ev(salesappv1.EventKind_EVENT_KIND_CALL_CLICK, token, "visitor-fast")}}))
		require.NoError(t, err)
	}
	_, err := tracker(e).Track(ctx, connect.NewRequest(&salesappv1.TrackRequest{Events: []*salesappv1.TrackEvent{ev(salesappv1.EventKind_EVENT_KIND_CALL_CLICK, token, "visitor-fast")}}))
	requireCode(t, err, connect.CodeResourceExhausted, "visitor")
	_, err = tracker(e).Track(ctx, connect.NewRequest(&salesappv1.TrackRequest{Events: []*salesappv1.TrackEvent{ev(salesappv1.EventKind_EVENT_KIND_CALL_CLICK, token, "visitor-slow")}}))
	require.NoError(t, err, "another visitor is not limited by the first")
}

func TestBeaconEndpointStoresTextPlainJSONWithCORS(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t, func(c *platform.Config) { c.BeaconOrigins = []string{"https://h5.example.com"} })
	ctx := context.Background()
	a, _, token, _ := sharedMaterial(t, e)
	body, err := protojson.Marshal(&salesappv1.TrackRequest{Events: []*salesappv1.TrackEvent{ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "visitor-beacon")}})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, e.URL+"/t", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("Origin", "https://h5.example.com")
	resp, err := e.HTTP1.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "https://h5.example.com", resp.Header.Get("Access-Control-Allow-Origin"))
	var n int
	require.NoError(t, e.DB.Super.QueryRow(ctx, "SELECT count(*) FROM events WHERE tenant_id = $1", a.ID).Scan(&n))
	require.Equal(t, 1, n)

	// Other origins get no CORS grant; garbage and oversized bodies are refused.
	req, _ = http.NewRequest(http.MethodOptions, e.URL+"/t", nil)
	req.Header.Set("Origin", "https://evil.example.com")
	resp, err = e.HTTP1.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	resp, err = e.HTTP1.Post(e.URL+"/t", "text/plain", strings.NewReader("{not json"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp, err = e.HTTP1.Post(e.URL+"/t", "text/plain", bytes.NewReader(bytes.Repeat([]byte(" "), 70<<10)))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
}

// A beacon is as lenient as the RPC's JSON about unknown fields, and one bad event does not cost the page
// the others: the good ones are stored and the answer says which were left out and why.
func TestBeaconStoresTheGoodEventsOfAMixedBatch(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a, _, token, _ := sharedMaterial(t, e)
	good := func(kind string) string {
		return `{"eventId":"` + uuid.NewString() + `","kind":"` + kind + `","shareToken":"` + token + `","visitorId":"visitor-mixed","fromANewerPage":{"x":1}}`
	}
	body := `{"events":[` + strings.Join([]string{
		good("EVENT_KIND_MATERIAL_VIEW"),
		good("EVENT_KIND_FROM_THE_FUTURE"),
		`{"eventId":"` + uuid.NewString() + `","kind":"EVENT_KIND_CALL_CLICK","shareToken":"no-such-token","visitorId":"visitor-mixed"}`,
		`{"eventId":"nope","kind":"EVENT_KIND_CARD_VIEW","shareToken":"` + token + `","visitorId":"visitor-mixed"}`,
		`{"eventId":42}`,
		good("EVENT_KIND_CALL_CLICK"),
	}, ",") + `],"batchHint":"newer pages send this"}`
	resp, err := e.HTTP1.Post(e.URL+"/t", "text/plain;charset=UTF-8", strings.NewReader(body))
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
	var answer struct {
		Accepted int
		Rejected []struct {
			Index         int
			Field, Reason string
		}
	}
	require.NoError(t, json.Unmarshal(raw, &answer), string(raw))
	require.Equal(t, 2, answer.Accepted)
	var fields []string
	for i, r := range answer.Rejected {
		require.Equal(t, i+1, r.Index)
		require.NotEmpty(t, r.Reason)
		fields = append(fields, r.Field)
	}
	require.Equal(t, []string{"events[1].kind", "events[2].share_token", "events[3].event_id", "events[4]"}, fields)
	var n int
	require.NoError(t, e.DB.Super.QueryRow(ctx, "SELECT count(*) FROM events WHERE tenant_id = $1", a.ID).Scan(&n))
	require.Equal(t, 2, n)
}

func TestForwardChainCreditsTheOriginalSharer(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a, sales, token, _ := sharedMaterial(t, e)
	visitors := []string{"visitor-a000", "visitor-b000", "visitor-c000", "visitor-d000"}
	for i, v := range visitors {
		_, err := tracker(e).Track(ctx, connect.NewRequest(&salesappv1.TrackRequest{Events: []*salesappv1.TrackEvent{ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, v)}}))
		require.NoError(t, err)
		if i == len(visitors)-1 {
			break
		}
		fw, err := public(e).ForwardShare(ctx, connect.NewRequest(&salesappv1.ForwardShareRequest{Token: token, Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT, Forwarder: v}))
		require.NoError(t, err)
		_, err = tracker(e).Track(ctx, connect.NewRequest(&salesappv1.TrackRequest{Events: []*salesappv1.TrackEvent{ev(salesappv1.EventKind_EVENT_KIND_FORWARD, token, v)}}))
		require.NoError(t, err)
		token = fw.Msg.Token
	}
	// Every view, however deep, is credited to the salesperson who shared, and brought them the customer.
	rows, err := e.DB.Super.Query(ctx, `SELECT e.employee_id, c.owner_id, s.depth FROM events e
		JOIN customers c ON c.id = e.customer_id JOIN shares s ON s.id = e.share_id
		WHERE e.tenant_id = $1 AND e.kind = 'material_view' ORDER BY s.depth`, a.ID)
	require.NoError(t, err)
	depth := 0
	for rows.Next() {
		var emp, owner uuid.UUID
		var d int
		require.NoError(t, rows.Scan(&emp, &owner, &d))
		require.Equal(t, sales.ID, emp)
		require.Equal(t, sales.ID, owner)
		require.Equal(t, depth, d)
		depth++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, 4, depth)
	// And to each forwarder: the views their forwards led to, at any depth.
	reach := func(visitor string) int {
		var n int
		require.NoError(t, e.DB.Super.QueryRow(ctx, `
			WITH RECURSIVE sub AS (
			  SELECT id FROM shares WHERE tenant_id = $1 AND forwarder = $2
			  UNION ALL SELECT s.id FROM shares s JOIN sub ON s.parent_id = sub.id)
			SELECT count(DISTINCT customer_id) FROM events WHERE tenant_id = $1 AND kind = 'material_view' AND share_id IN (SELECT id FROM sub)`,
			a.ID, visitor).Scan(&n))
		return n
	}
	require.Equal(t, 3, reach("visitor-a000"))
	require.Equal(t, 2, reach("visitor-b000"))
	require.Equal(t, 1, reach("visitor-c000"))
}

func TestConcurrentIngestGroupsCommitsAndLosesNothing(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a, _, token, _ := sharedMaterial(t, e)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for w := range 40 {
		wg.Go(func() {
			var batch []*salesappv1.TrackEvent
			for i := range 25 {
				batch = append(batch, ev(salesappv1.EventKind_EVENT_KIND_CARD_VIEW, token, "visitor-"+string(rune('a'+w%26))+strings.Repeat("x", 8)+string(rune('a'+i%3))))
			}
			_, err := tracker(e).Track(ctx, connect.NewRequest(&salesappv1.TrackRequest{Events: batch}))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	var events, views int
	require.NoError(t, e.DB.Super.QueryRow(ctx, "SELECT count(*) FROM events WHERE tenant_id = $1", a.ID).Scan(&events))
	require.NoError(t, e.DB.Super.QueryRow(ctx, "SELECT sum(views) FROM customers WHERE tenant_id = $1", a.ID).Scan(&views))
	require.Equal(t, 1000, events)
	require.Equal(t, 1000, views)
	var customers, identities int
	require.NoError(t, e.DB.Super.QueryRow(ctx, "SELECT count(*) FROM customers WHERE tenant_id = $1", a.ID).Scan(&customers))
	require.NoError(t, e.DB.Super.QueryRow(ctx, "SELECT count(*) FROM customer_identities WHERE tenant_id = $1", a.ID).Scan(&identities))
	require.Equal(t, identities, customers, "concurrent first sightings of a visitor make one customer")
	require.Equal(t, 26*3, customers)
}
