package server_test

import (
	"context"
	"fmt"
	"sync"
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
	"github.com/salesapp/scrm/push/sender"
)

func alertsOf(e *servertest.Env, token string) salesappv1connect.AlertServiceClient {
	return salesappv1connect.NewAlertServiceClient(e.HTTP, e.URL, servertest.As(token))
}

func TestEventsAlertTheOwnerInAGapFreeStream(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	_, sales, token, _ := sharedMaterial(t, e)
	a := alertsOf(e, sales.Token)

	view := ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "visitor-al01")
	beats := []*salesappv1.TrackEvent{view}
	for range 7 {
		beats = append(beats, &salesappv1.TrackEvent{EventId: uuid.NewString(), Kind: salesappv1.EventKind_EVENT_KIND_DWELL,
			ShareToken: token, VisitorId: "visitor-al01", ViewId: view.EventId, DwellMs: 5000})
	}
	view.OccurredAt = timestamppb.New(time.Now().Add(-time.Minute))
	track(t, e, beats...)
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_CALL_CLICK, token, "visitor-al01"))
	// A second view of the same material minutes later updates the first alert instead of adding one.
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_FORWARD, token, "visitor-al01"))

	list, err := a.ListAlerts(ctx, connect.NewRequest(&salesappv1.ListAlertsRequest{}))
	require.NoError(t, err)
	kinds := []string{}
	for i, al := range list.Msg.Alerts {
		require.EqualValues(t, i+1, al.Seq, "gap-free from 1")
		kinds = append(kinds, al.Kind.String())
	}
	require.Equal(t, []string{"ALERT_KIND_FIRST_VIEW", "ALERT_KIND_LONG_READ", "ALERT_KIND_CALL_CLICK", "ALERT_KIND_FORWARD"}, kinds)
	require.EqualValues(t, 4, list.Msg.Head)
	require.NotEqual(t, uuid.Nil.String(), list.Msg.Epoch)
	require.Equal(t, "A new visitor read 《Plan》 for 35 s", list.Msg.Alerts[1].Body)
	require.Equal(t, list.Msg.Alerts[0].AlertId, list.Msg.Alerts[1].AlertId, "the long read updates the first-view alert")
	require.Equal(t, "A new visitor read 《Plan》 for 35 s and forwarded it to 1 friend", list.Msg.Alerts[3].Body)
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_FORWARD, token, "visitor-al01"))
	fwd, err := a.ListAlerts(ctx, connect.NewRequest(&salesappv1.ListAlertsRequest{AfterSeq: 4}))
	require.NoError(t, err)
	require.Len(t, fwd.Msg.Alerts, 1)
	require.Equal(t, "A new visitor read 《Plan》 for 35 s and forwarded it to 2 friends", fwd.Msg.Alerts[0].Body)

	unread, err := a.GetUnreadCount(ctx, connect.NewRequest(&salesappv1.GetUnreadCountRequest{}))
	require.NoError(t, err)
	require.EqualValues(t, 4, unread.Msg.Unread)
	marked, err := a.MarkAlertsRead(ctx, connect.NewRequest(&salesappv1.MarkAlertsReadRequest{ThroughSeq: 2}))
	require.NoError(t, err)
	require.EqualValues(t, 2, marked.Msg.Marked)
	unread, err = a.GetUnreadCount(ctx, connect.NewRequest(&salesappv1.GetUnreadCountRequest{}))
	require.NoError(t, err)
	require.EqualValues(t, 3, unread.Msg.Unread)

	// Paging from a seq returns exactly what follows it.
	rest, err := a.ListAlerts(ctx, connect.NewRequest(&salesappv1.ListAlertsRequest{AfterSeq: 2}))
	require.NoError(t, err)
	require.Len(t, rest.Msg.Alerts, 3)
	require.EqualValues(t, 3, rest.Msg.Alerts[0].Seq)

	// Muted kinds are not alerted at all.
	_, err = a.UpdateAlertPrefs(ctx, connect.NewRequest(&salesappv1.UpdateAlertPrefsRequest{MutedKinds: []salesappv1.AlertKind{salesappv1.AlertKind_ALERT_KIND_CALL_CLICK}}))
	require.NoError(t, err)
	_, err = a.UpdateAlertPrefs(ctx, connect.NewRequest(&salesappv1.UpdateAlertPrefsRequest{MutedKinds: []salesappv1.AlertKind{salesappv1.AlertKind_ALERT_KIND_TASK_ASSIGNED}}))
	requireCode(t, err, connect.CodeInvalidArgument, "muted_kinds") // only the kinds about customers' behaviour may be muted
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_CALL_CLICK, token, "visitor-al01"))
	again, err := a.ListAlerts(ctx, connect.NewRequest(&salesappv1.ListAlertsRequest{AfterSeq: 5}))
	require.NoError(t, err)
	require.Empty(t, again.Msg.Alerts)
	_, err = a.UpdateAlertPrefs(ctx, connect.NewRequest(&salesappv1.UpdateAlertPrefsRequest{QuietStartMin: ptr(int32(60))}))
	requireCode(t, err, connect.CodeInvalidArgument, "quiet_end_min")

	// Another salesperson's stream is their own.
	other := e.NewPerson(t, sales.TenantID, "sales", uuid.Nil)
	theirs, err := alertsOf(e, other.Token).ListAlerts(ctx, connect.NewRequest(&salesappv1.ListAlertsRequest{}))
	require.NoError(t, err)
	require.Empty(t, theirs.Msg.Alerts)
}

// pushes records what would have gone to Apple or Google, and plays a dead token.
type pushes struct {
	mu   sync.Mutex
	sent []sender.Alert
	// to counts the pushes sent to each token.
	to   map[string]int
	dead map[string]bool
}

func (p *pushes) Send(_ context.Context, d sender.Device, a sender.Alert) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead[d.Token] {
		return fmt.Errorf("apns: 410 Unregistered: %w", sender.ErrDeadToken)
	}
	p.sent = append(p.sent, a)
	if p.to == nil {
		p.to = map[string]int{}
	}
	p.to[d.Token]++
	return nil
}

func (p *pushes) count() int { p.mu.Lock(); defer p.mu.Unlock(); return len(p.sent) }

// countTo is how many pushes went to a token.
func (p *pushes) countTo(token string) int { p.mu.Lock(); defer p.mu.Unlock(); return p.to[token] }

func TestAlertsArePushedToDevicesButNotTwiceNorToDeadTokens(t *testing.T) {
	t.Parallel()
	rec := &pushes{dead: map[string]bool{"dead-token": true}}
	e := servertest.StartWithSender(t, rec)
	ctx := context.Background()
	_, sales, token, _ := sharedMaterial(t, e)
	// Two phones, each signed in (a registration belongs to its session).
	oldPhone := e.SignIn(t, sales, "old-android")
	for access, d := range map[string]*salesappv1.RegisterDeviceRequest{
		sales.Token:    {DeviceId: "iphone", Platform: "ios", PushToken: "live-token", BundleId: "com.example.sales"},
		oldPhone.Token: {DeviceId: "old-android", Platform: "android", PushToken: "dead-token"},
	} {
		_, err := alertsOf(e, access).RegisterDevice(ctx, connect.NewRequest(d))
		require.NoError(t, err)
	}
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "visitor-push"))
	require.Eventually(t, func() bool { return rec.count() == 1 }, 20*time.Second, 20*time.Millisecond)
	var disabled int
	require.Eventually(t, func() bool {
		require.NoError(t, e.DB.Super.QueryRow(ctx, "SELECT count(*) FROM devices WHERE disabled_at IS NOT NULL").Scan(&disabled))
		return disabled == 1
	}, 20*time.Second, 20*time.Millisecond)
	require.Equal(t, "A new visitor opened 《Plan》", rec.sent[0].Body)

	// A call tap is a new alert, pushed to the live device only: the dead one is never sent to again.
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_CALL_CLICK, token, "visitor-push"))
	require.Eventually(t, func() bool { return rec.count() == 2 }, 20*time.Second, 20*time.Millisecond)
	var jobs int
	require.NoError(t, e.DB.Owner.QueryRow(ctx, "SELECT count(*) FROM river_job WHERE kind = 'push_alert'").Scan(&jobs))
	require.Equal(t, 3, jobs, "two alerts to two devices, less the dead one after it died")

	// While the app is open in the foreground, nothing is pushed (the WebSocket delivers).
	_, err := e.DB.Super.Exec(ctx, "UPDATE devices SET foreground_until = now() + interval '1 minute' WHERE device_id = 'iphone'")
	require.NoError(t, err)
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_WECHAT_CLICK, token, "visitor-push"))
	require.Eventually(t, func() bool {
		var pending int
		require.NoError(t, e.DB.Owner.QueryRow(ctx, "SELECT count(*) FROM river_job WHERE kind = 'push_alert' AND state NOT IN ('completed', 'cancelled', 'discarded')").Scan(&pending))
		return pending == 0
	}, 20*time.Second, 20*time.Millisecond)
	require.Equal(t, 2, rec.count())
}

// A phone gets only the pushes of whoever is signed in on it: signing out, being disabled, or a
// colleague registering the same push token stops the others' alerts (which name customers) reaching it.
func TestPushesFollowWhoIsSignedInOnThePhone(t *testing.T) {
	t.Parallel()
	rec := &pushes{}
	e := servertest.StartWithSender(t, rec)
	ctx := context.Background()
	a, sales, token, _ := sharedMaterial(t, e)
	register := func(p servertest.Person, pushToken string) {
		t.Helper()
		_, err := alertsOf(e, p.Token).RegisterDevice(ctx, connect.NewRequest(&salesappv1.RegisterDeviceRequest{
			DeviceId: p.DeviceID, Platform: "ios", PushToken: pushToken}))
		require.NoError(t, err)
	}
	live := func() map[string]string { // employee id → push token of their enabled devices
		rows, err := e.DB.Super.Query(ctx, "SELECT employee_id::text, push_token FROM devices WHERE disabled_at IS NULL")
		require.NoError(t, err)
		out := map[string]string{}
		for rows.Next() {
			var emp, tok string
			require.NoError(t, rows.Scan(&emp, &tok))
			out[emp] = tok
		}
		require.NoError(t, rows.Err())
		return out
	}
	register(sales, "shared-phone")
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_CALL_CLICK, token, "visitor-phone"))
	require.Eventually(t, func() bool { return rec.count() >= 1 }, 20*time.Second, 20*time.Millisecond)

	// A colleague signs in on the same phone and registers it: the phone is theirs now.
	colleague := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	register(colleague, "shared-phone")
	require.Equal(t, map[string]string{colleague.ID.String(): "shared-phone"}, live())
	before := rec.count()
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_WECHAT_CLICK, token, "visitor-phone"))
	require.Eventually(t, func() bool {
		var unpushed int
		require.NoError(t, e.DB.Super.QueryRow(ctx, "SELECT count(*) FROM alerts WHERE employee_id = $1 AND kind = 'wechat_click'", sales.ID).Scan(&unpushed))
		return unpushed == 1
	}, 20*time.Second, 20*time.Millisecond)

	// Signing out stops pushes to the phone the session was on; the first salesperson's other phone,
	// registered meanwhile, is left alone until they are disabled.
	_, err := salesappv1connect.NewAuthServiceClient(e.HTTP, e.URL, servertest.As(colleague.Token)).Logout(ctx, connect.NewRequest(&salesappv1.LogoutRequest{}))
	require.NoError(t, err)
	register(sales, "own-phone")
	require.Equal(t, map[string]string{sales.ID.String(): "own-phone"}, live())
	_, err = employees(e, a.Admin.Token).SetEmployeeStatus(ctx, connect.NewRequest(&salesappv1.SetEmployeeStatusRequest{
		EmployeeId: sales.ID.String(), Status: salesappv1.EmployeeStatus_EMPLOYEE_STATUS_DISABLED, ReleaseToPool: true}))
	require.NoError(t, err)
	require.Empty(t, live())
	require.Eventually(t, func() bool {
		var pending int
		require.NoError(t, e.DB.Owner.QueryRow(ctx, "SELECT count(*) FROM river_job WHERE kind = 'push_alert' AND state NOT IN ('completed', 'cancelled', 'discarded')").Scan(&pending))
		return pending == 0
	}, 20*time.Second, 20*time.Millisecond)
	require.Equal(t, before, rec.count(), "nothing went to a phone after it changed hands")
}

func TestAlertsOlderThanAWeekArePurged(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	_, sales, token, _ := sharedMaterial(t, e)
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_CALL_CLICK, token, "visitor-old1"), ev(salesappv1.EventKind_EVENT_KIND_WECHAT_CLICK, token, "visitor-old1"))
	_, err := e.DB.Super.Exec(ctx, "UPDATE alerts SET created_at = now() - interval '8 days' WHERE seq = 1")
	require.NoError(t, err)
	var purged int64
	require.NoError(t, e.DB.App.Pool.QueryRow(ctx, "SELECT purge_old_alerts()").Scan(&purged))
	require.EqualValues(t, 1, purged)
	list, err := alertsOf(e, sales.Token).ListAlerts(ctx, connect.NewRequest(&salesappv1.ListAlertsRequest{}))
	require.NoError(t, err)
	require.Len(t, list.Msg.Alerts, 1)
	require.EqualValues(t, 2, list.Msg.Alerts[0].Seq, "numbering goes on")
}
