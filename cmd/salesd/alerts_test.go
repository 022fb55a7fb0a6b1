package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/push/alert"
	"github.com/salesapp/scrm/push/sender/apnstest"
)

// track sends events to a salesd process and returns once they are committed.
func track(t *testing.T, addr string, events ...*salesappv1.TrackEvent) {
	t.Helper()
	_, err := salesappv1connect.NewTrackingServiceClient(http.DefaultClient, "http://"+addr).
		Track(context.Background(), connect.NewRequest(&salesappv1.TrackRequest{Events: events}))
	require.NoError(t, err)
}

func callClick(shareToken, visitor string) *salesappv1.TrackEvent {
	return &salesappv1.TrackEvent{EventId: uuid.NewString(), Kind: salesappv1.EventKind_EVENT_KIND_CALL_CLICK, ShareToken: shareToken, VisitorId: visitor}
}

// TestAlertFromOneProcessReachesAWebSocketOnAnother runs two real salesd processes on one database: the
// app's WebSocket is on B, the customer's view arrives at A, and the alert frame reaches the app through
// B (woken by A's NOTIFY, or B's polling behind it).
func TestAlertFromOneProcessReachesAWebSocketOnAnother(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	bin := buildSalesd(t)
	a, b := w.startSalesd(t, bin), w.startSalesd(t, bin)

	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+b.addr+"/ws", http.Header{"Authorization": {"Bearer " + w.salesToken}})
	require.NoError(t, err)
	resp.Body.Close()
	defer ws.Close()
	require.NoError(t, ws.WriteJSON(map[string]any{"type": "resume", "epoch": "", "seq": 0, "device_id": "phone-1", "foreground": true}))
	type frame struct {
		Type  string `json:"type"`
		Epoch string `json:"epoch"`
		Seq   int64  `json:"seq"`
		Alert struct {
			AlertID string `json:"alertId"`
			Kind    string `json:"kind"`
		} `json:"alert"`
	}
	next := func() frame {
		t.Helper()
		for {
			require.NoError(t, ws.SetReadDeadline(time.Now().Add(20*time.Second)))
			var f frame
			require.NoError(t, ws.ReadJSON(&f))
			if f.Type == "alert" {
				return f
			}
		}
	}

	track(t, a.addr, &salesappv1.TrackEvent{EventId: uuid.NewString(), Kind: salesappv1.EventKind_EVENT_KIND_CARD_VIEW,
		ShareToken: w.shareToken, VisitorId: "visitor-cross-node"})
	f := next()
	entries, err := alert.NewService(w.db.App).Since(context.Background(), alert.Key{TenantID: w.tenantID, EmployeeID: w.employeeID}, 0, 10)
	require.NoError(t, err)
	require.Len(t, entries, 1, "one alert in the stream")
	require.Equal(t, int64(1), f.Seq)
	require.Equal(t, "ALERT_KIND_"+strings.ToUpper(string(entries[0].Kind)), f.Alert.Kind)
	require.Equal(t, entries[0].AlertID.String(), f.Alert.AlertID)

	// And the other way round, several at once: B's own WebSocket sees A's alerts in order, no gap.
	track(t, a.addr, callClick(w.shareToken, "visitor-cross-2"), callClick(w.shareToken, "visitor-cross-3"))
	require.Equal(t, int64(2), next().Seq)
	require.Equal(t, int64(3), next().Seq)
}

// TestKilledPushWorkerLosesNoAlertAndPushesNoneTwice pushes a burst of alerts to a phone whose app is in
// the background, through a fake APNs. When a third of them have been delivered, the fake stops
// answering, so that every push worker of process A is stuck mid-request; A is then killed with SIGKILL
// with jobs running (their requests unanswered) and jobs not yet started. Process B, started after, must
// deliver every alert, and no alert twice.
//
// The kill comes once every push APNs answered has completed its job: a kill between Apple's 200 and that
// commit is the one case that can push an alert twice (see pushWorker.Work in backend/server), and the
// phone then shows it once, since both copies carry the alert's collapse id. The test does not aim at
// that instant; it checks that a sent push is not sent again, and that pushes in flight and queued at the
// kill are all delivered by another process.
func TestKilledPushWorkerLosesNoAlertAndPushesNoneTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	bin := buildSalesd(t)

	fake := apnstest.Start()
	t.Cleanup(fake.Close)
	p8, _, err := apnstest.NewKey()
	require.NoError(t, err)
	dir := t.TempDir()
	keyFile, caFile := filepath.Join(dir, "AuthKey.p8"), filepath.Join(dir, "apns-ca.pem")
	require.NoError(t, os.WriteFile(keyFile, p8, 0o600))
	require.NoError(t, os.WriteFile(caFile, fake.CertPEM(), 0o600))
	apns := []string{"SALESD_APNS_KEY_FILE=" + keyFile, "SALESD_APNS_KEY_ID=ABC123DEFG", "SALESD_APNS_TEAM_ID=TEAM123456",
		"SALESD_APNS_HOST=" + fake.URL, "SALESD_APNS_CA_FILE=" + caFile,
		// The burst is 400 new visitors on one link in a second: past the new-visitor budget, and their new-customer
		// pushes would collapse into one per minute. This test is about delivering every push once, so each visitor
		// is admitted and pushed on its own.
		"SALESD_NEW_VISITORS_PER_SHARE=100000", "SALESD_NEW_VISITORS_PER_TENANT=100000", "SALESD_NEW_CUSTOMER_PUSH_WINDOW=0s"}

	const deviceToken = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
	require.NoError(t, alert.NewService(w.db.App).RegisterDevice(ctx, alert.Key{TenantID: w.tenantID, EmployeeID: w.employeeID},
		alert.Device{DeviceID: "iphone", Platform: "ios", PushToken: deviceToken, BundleID: "com.salesapp.ios", SessionID: w.sessionID}))

	const (
		burst     = 400
		delivered = burst / 4
	)
	fake.HoldAfter(delivered)
	a := w.startSalesd(t, bin, apns...)
	for i := range burst / 10 { // a request carries events of at most 10 visitors
		var events []*salesappv1.TrackEvent
		for j := range 10 {
			events = append(events, callClick(w.shareToken, "visitor-burst-"+strconv.Itoa(i*10+j)))
		}
		track(t, a.addr, events...)
	}

	pushJobs := func(states ...string) int {
		var n int
		require.NoError(t, w.db.Owner.QueryRow(ctx, "SELECT count(*) FROM river_job WHERE kind = 'push_alert' AND state = ANY ($1)", states).Scan(&n))
		return n
	}
	// A click by a new visitor may alert twice (a new customer, then the click): count the jobs.
	total := pushJobs("available", "running", "completed", "retryable", "scheduled", "pending", "cancelled", "discarded")
	require.GreaterOrEqual(t, total, burst)
	// Mid-burst: some delivered and completed, some held in flight at the fake, the rest queued.
	require.Eventually(t, func() bool {
		return fake.Count() == delivered && fake.Held() > 0 && pushJobs("completed") == delivered
	}, 30*time.Second, 5*time.Millisecond)
	require.NoError(t, a.cmd.Process.Signal(syscall.SIGKILL))
	<-a.exited
	running, queued := pushJobs("running"), pushJobs("available")
	require.Positive(t, running, "pushes in flight when the worker died")
	require.Equal(t, total, delivered+running+queued)
	// The held requests' connection is gone: none of them was delivered. Then APNs answers again.
	require.Eventually(t, func() bool { return fake.Held() == 0 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, delivered, fake.Count())
	fake.Release()

	// Another process takes over: the queued pushes at once, the ones A was running once River deems A
	// dead (rescueStuckJobsAfter).
	w.startSalesd(t, bin, apns...)
	require.Eventually(t, func() bool {
		return pushJobs("completed") == total
	}, 4*time.Minute, 50*time.Millisecond, "every push job completes")
	require.Zero(t, pushJobs("available", "running", "retryable", "scheduled", "pending", "cancelled", "discarded"))

	var alertIDs []uuid.UUID
	rows, err := w.db.Super.Query(ctx, "SELECT alert_id FROM alerts WHERE employee_id = $1 AND pushed", w.employeeID)
	require.NoError(t, err)
	for rows.Next() {
		var id uuid.UUID
		require.NoError(t, rows.Scan(&id))
		alertIDs = append(alertIDs, id)
	}
	require.NoError(t, rows.Err())
	require.Len(t, alertIDs, total)
	got := map[string]int{}
	for _, d := range fake.Deliveries() {
		require.Equal(t, deviceToken, d.Token)
		require.Equal(t, d.Data["alert_id"], d.CollapseID, "the collapse id is the alert id")
		got[d.CollapseID]++
	}
	for _, id := range alertIDs {
		require.Equal(t, 1, got[id.String()], "alert %s delivered exactly once", id)
	}
	require.Len(t, got, total, "nothing but the burst's alerts")
}
