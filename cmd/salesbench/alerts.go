package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/server"
	"github.com/salesapp/scrm/backend/tracking"
	"github.com/salesapp/scrm/push/alert"
	"github.com/salesapp/scrm/push/sender/apnstest"
)

// alertRate is the view rate of the WebSocket latency scenarios (the load).
const alertRate = 1000

// apnsRate is the view rate of view-to-apns, the WebSocket scenarios' (the issue sets none for the push
// latency). Each view is a new customer: one push each.
const apnsRate = alertRate

// viewToWebSocket opens the salesperson's WebSocket, then sends card views by new visitors at alertRate
// per second, open loop (each one a "new customer" alert), and measures from the moment each view was
// sent (its occurred_at, carried into the alert) to the moment its frame arrives.
func viewToWebSocket(ctx context.Context, b *bench) (rows []row, err error) {
	s, httpClient, protocol, err := startForLoad(ctx, b, "view-to-websocket")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	defer httpClient.CloseIdleConnections()
	return webSocketLatency(ctx, b, httpClient, s.addr, s.addr, protocol+"; alerts over /ws", "≤ 100 ms")
}

// crossNodeWebSocket is viewToWebSocket with two salesd processes on the one database: the views go to A,
// the WebSocket is on B, which learns of A's alerts from A's NOTIFY (or its own polling).
func crossNodeWebSocket(ctx context.Context, b *bench) (rows []row, err error) {
	a, httpClient, protocol, err := startForLoad(ctx, b, "cross-node-a")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, a.stop()) }()
	defer httpClient.CloseIdleConnections()
	other, err := b.startReady(ctx, "cross-node-b")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, other.stop()) }()
	return webSocketLatency(ctx, b, httpClient, a.addr, other.addr, protocol+" to process A; alerts over /ws of process B", "≤ 250 ms")
}

// webSocketLatency opens the salesperson's WebSocket on wsAddr, sends views to trackAddr at alertRate for
// the run's duration, and tabulates view → frame latency.
func webSocketLatency(ctx context.Context, b *bench, httpClient *http.Client, trackAddr, wsAddr, protocol, target string) ([]row, error) {
	ws, resp, err := websocket.DefaultDialer.DialContext(ctx, "ws://"+wsAddr+"/ws", http.Header{"Authorization": {"Bearer " + b.salesToken}})
	if err != nil {
		return nil, fmt.Errorf("websocket: %w", err)
	}
	resp.Body.Close()
	defer ws.Close()
	if err := ws.WriteJSON(map[string]any{"type": "resume", "epoch": "", "seq": 0}); err != nil {
		return nil, err
	}
	var (
		mu  sync.Mutex
		lat []time.Duration
	)
	readDone := make(chan error, 1)
	go func() {
		for {
			var f struct {
				Type  string `json:"type"`
				Alert struct {
					CreatedAt time.Time `json:"createdAt"`
				} `json:"alert"`
			}
			if err := ws.ReadJSON(&f); err != nil {
				readDone <- err
				return
			}
			if f.Type != "alert" {
				continue
			}
			d := time.Since(f.Alert.CreatedAt)
			mu.Lock()
			lat = append(lat, d)
			mu.Unlock()
		}
	}()
	client := salesappv1connect.NewTrackingServiceClient(httpClient, "http://"+trackAddr)
	sent, failed := openLoop(ctx, b.opts.duration, alertRate, func() error {
		_, err := client.Track(ctx, cardView(b.shareToken, "ws-bench-"+uuid.NewString()[:12]))
		return err
	})
	received := func() int { mu.Lock(); defer mu.Unlock(); return len(lat) }
	waitFor(func() bool { return int64(received()) >= sent })
	select {
	case err := <-readDone:
		return nil, fmt.Errorf("websocket closed: %w", err)
	default:
	}
	// What the stream holds, to tell an alert never made from one never delivered.
	head := connect.NewRequest(&salesappv1.ListAlertsRequest{PageSize: 1})
	head.Header().Set("Authorization", "Bearer "+b.salesToken)
	h, err := salesappv1connect.NewAlertServiceClient(httpClient, "http://"+trackAddr).ListAlerts(ctx, head)
	if err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lat) == 0 {
		return nil, errors.New("no alert arrived")
	}
	slices.Sort(lat)
	return []row{
		{"protocol", protocol, ""},
		{"views sent", fmt.Sprintf("%s at %d/s, open loop (%s failed)", thousands(sent), alertRate, thousands(failed)), ""},
		{"alerts in the stream", thousands(int64(h.Msg.Head)), ""},
		{"alerts received", thousands(int64(len(lat))), "all"},
		{"view → frame p50", millis(percentile(lat, 50)), ""},
		{"view → frame p99", millis(percentile(lat, 99)), target},
		{"view → frame max", millis(lat[len(lat)-1]), ""},
	}, nil
}

// cardView is a card view by a visitor, stamped now (the alert carries the stamp as its time).
func cardView(shareToken, visitor string) *connect.Request[salesappv1.TrackRequest] {
	return connect.NewRequest(&salesappv1.TrackRequest{Events: []*salesappv1.TrackEvent{{
		EventId: uuid.NewString(), Kind: salesappv1.EventKind_EVENT_KIND_CARD_VIEW, ShareToken: shareToken,
		VisitorId: visitor, OccurredAt: timestamppb.Now(),
	}}})
}

// beside calls send at rate per second, open loop, until the returned stop is called (or ctx ends): the
// stated load beside a measure. stop waits for the calls under way and says how many were sent and how
// many failed; calling it again says the same.
func beside(ctx context.Context, rate float64, send func(ctx context.Context) error) (stop func() (sent, failed int64)) {
	loadCtx, cancel := context.WithCancel(ctx)
	var sent, failed int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		sent, failed = openLoop(loadCtx, 24*time.Hour, rate, func() error { return send(loadCtx) })
	}()
	return func() (int64, int64) {
		cancel()
		<-done
		return sent, failed
	}
}

// openLoop calls send at rate per second for d, open loop: every 5 ms it starts as many calls as are due by then,
// however long earlier ones take (a 1 ms ticker drops ticks under load and would send less than it claims).
// It returns how many calls succeeded and failed.
func openLoop(ctx context.Context, d time.Duration, rate float64, send func() error) (sent, failed int64) {
	var (
		wg       sync.WaitGroup
		ok, fail atomic.Int64
	)
	tick := time.NewTicker(5 * time.Millisecond)
	start := time.Now()
	end := start.Add(d)
	started := int64(0)
	for now := range tick.C {
		if now.After(end) || ctx.Err() != nil {
			break
		}
		due := int64(now.Sub(start).Seconds() * rate)
		for ; started < due; started++ {
			wg.Go(func() {
				if send() != nil {
					fail.Add(1)
					return
				}
				ok.Add(1)
			})
		}
	}
	tick.Stop()
	wg.Wait()
	return ok.Load(), fail.Load()
}

// waitFor polls done for up to 10 s: the last alerts' way to the phone, bounded.
func waitFor(done func() bool) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !done(); {
		time.Sleep(10 * time.Millisecond)
	}
}

// The phone the push scenarios push to: an iOS app in the background (no WebSocket open).
const (
	benchDeviceID    = "salesbench-iphone"
	benchDeviceToken = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
)

// fakeAPNs starts a fake APNs in this process and returns salesd's configuration for it: a fresh .p8 key
// and the fake's certificate, written to the log directory.
func (b *bench) fakeAPNs() (*apnstest.Server, []string, error) {
	p8, _, err := apnstest.NewKey()
	if err != nil {
		return nil, nil, err
	}
	fake := apnstest.Start()
	keyFile, caFile := filepath.Join(b.logDir, "AuthKey.p8"), filepath.Join(b.logDir, "apns-ca.pem")
	if err := errors.Join(os.WriteFile(keyFile, p8, 0o600), os.WriteFile(caFile, fake.CertPEM(), 0o600)); err != nil {
		fake.Close()
		return nil, nil, err
	}
	return fake, []string{"SALESD_APNS_KEY_FILE=" + keyFile, "SALESD_APNS_KEY_ID=BENCH12345", "SALESD_APNS_TEAM_ID=BENCHTEAM1",
		"SALESD_APNS_HOST=" + fake.URL, "SALESD_APNS_CA_FILE=" + caFile}, nil
}

// withDevice opens the benchmark database as salesd's role and registers the benchmark phone for the
// salesperson (in the background: pushes go to it). done disables the phone again, so that later
// scenarios push nothing, and closes the database.
func (b *bench) withDevice(ctx context.Context) (db *platform.DB, cfg platform.Config, done func() error, err error) {
	if cfg, err = platform.LoadConfig(func(k string) string { return b.env[k] }); err != nil {
		return nil, cfg, nil, err
	}
	if db, err = platform.OpenDB(ctx, cfg.DatabaseURL, 8); err != nil {
		return nil, cfg, nil, err
	}
	err = alert.NewService(db).RegisterDevice(ctx, alert.Key{TenantID: b.tenantID, EmployeeID: b.salesID},
		alert.Device{DeviceID: benchDeviceID, Platform: "ios", PushToken: benchDeviceToken, BundleID: "com.salesapp.bench", SessionID: b.salesSession})
	if err != nil {
		db.Close()
		return nil, cfg, nil, err
	}
	done = func() error {
		defer db.Close()
		return unregister(ctx, b.seedURL)
	}
	return db, cfg, done, nil
}

// unregister disables the benchmark phone.
func unregister(ctx context.Context, seedURL string) error {
	conn, err := pgx.Connect(ctx, seedURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "UPDATE devices SET disabled_at = now(), disabled_reason = 'salesbench' WHERE device_id = $1", benchDeviceID)
	return err
}

// viewToAPNs sends card views by new visitors at apnsRate, open loop, to a salesperson whose phone has the
// app in the background, and measures from each view's sending to its push's arrival at the fake APNs
// (in this process): the ingest, the alert and its River job in the events' transaction, River fetching
// it, the device and alert reads, and the HTTP/2 request to APNs.
func viewToAPNs(ctx context.Context, b *bench) (rows []row, err error) {
	fake, apnsEnv, err := b.fakeAPNs()
	if err != nil {
		return nil, err
	}
	defer fake.Close()
	_, _, done, err := b.withDevice(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, done()) }()
	s, err := b.startReady(ctx, "view-to-apns", apnsEnv...)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	httpClient, protocol := loadClient(b.opts.concurrency, b.opts.http1)
	defer httpClient.CloseIdleConnections()

	client := salesappv1connect.NewTrackingServiceClient(httpClient, "http://"+s.addr)
	// Warm up, then bring the statistics up to date: the views make customers, alerts and jobs in tables
	// that were nearly empty when last analyzed, and plans made for a handful of rows scan every alert of
	// the salesperson. In production autovacuum keeps the statistics of such tables current.
	warm, _ := openLoop(ctx, b.opts.warmup, apnsRate, func() error {
		_, err := client.Track(ctx, cardView(b.shareToken, "apns-warm-"+uuid.NewString()[:12]))
		return err
	})
	waitFor(func() bool { return int64(fake.Count()) >= warm })
	if err := b.analyze(ctx); err != nil {
		return nil, err
	}
	before := int64(fake.Count())
	var (
		mu     sync.Mutex
		sentAt = map[string]time.Time{}
	)
	cpu, err := meterCPU(s)
	if err != nil {
		return nil, err
	}
	sent, failed := openLoop(ctx, b.opts.duration, apnsRate, func() error {
		visitor := "apns-bench-" + uuid.NewString()[:12]
		at := time.Now()
		if _, err := client.Track(ctx, cardView(b.shareToken, visitor)); err != nil {
			return err
		}
		mu.Lock()
		sentAt[visitor] = at
		mu.Unlock()
		return nil
	})
	waitFor(func() bool { return int64(fake.Count())-before >= sent })
	cpuRows, err := cpu.rows(sent, "view")
	if err != nil {
		return nil, err
	}

	// The push names the customer; the customer is the visitor's.
	visitors := make([]string, 0, len(sentAt))
	for v := range sentAt {
		visitors = append(visitors, v)
	}
	conn, err := pgx.Connect(ctx, b.seedURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	customerRows, err := conn.Query(ctx, "SELECT customer_id::text, value FROM customer_identities WHERE kind = 'visitor' AND value = ANY ($1)", visitors)
	if err != nil {
		return nil, err
	}
	visitorOf := map[string]string{}
	for customerRows.Next() {
		var c, v string
		if err := customerRows.Scan(&c, &v); err != nil {
			return nil, err
		}
		visitorOf[c] = v
	}
	if err := customerRows.Err(); err != nil {
		return nil, err
	}
	var lat []time.Duration
	pushed := map[string]bool{}
	for _, d := range fake.Deliveries() {
		v, ok := visitorOf[d.Data["customer_id"]]
		if !ok || pushed[v] {
			continue // not this run's, or a second alert about the same view
		}
		pushed[v] = true
		lat = append(lat, d.At.Sub(sentAt[v]))
	}
	if len(lat) == 0 {
		return nil, errors.New("no push arrived")
	}
	slices.Sort(lat)
	return append([]row{
		{"protocol", protocol + "; pushes over HTTP/2 + TLS to a fake APNs in salesbench", ""},
		{"views sent", fmt.Sprintf("%s at %d/s, open loop (%s failed)", thousands(sent), apnsRate, thousands(failed)), ""},
		{"views pushed", thousands(int64(len(lat))), "all"},
		{"view → APNs receipt p50", millis(percentile(lat, 50)), ""},
		{"view → APNs receipt p99", millis(percentile(lat, 99)), "≤ 300 ms"},
		{"view → APNs receipt max", millis(lat[len(lat)-1]), ""},
	}, cpuRows...), nil
}

// pushBacklog is how many pushes push-throughput queues before salesd starts.
const pushBacklog = 40_000

// pushThroughput queues pushBacklog alerts with their push jobs (through the tracking ingest in this
// process, whose River client only inserts), then starts salesd and measures how fast its River workers
// drain them to the fake APNs: fetch, device and alert reads, the HTTP/2 request, the job's completion.
func pushThroughput(ctx context.Context, b *bench) (rows []row, err error) {
	db, cfg, done, err := b.withDevice(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, done()) }()
	if err := b.queueAlerts(ctx, cfg, db, pushBacklog); err != nil {
		return nil, fmt.Errorf("queue the backlog: %w", err)
	}
	// The alerts table grew from nothing in seconds: without statistics the planner finds an alert by
	// scanning all of them, which autovacuum would have fixed by the time such a backlog is real.
	if err := b.analyze(ctx); err != nil {
		return nil, err
	}
	fake, apnsEnv, err := b.fakeAPNs()
	if err != nil {
		return nil, err
	}
	defer fake.Close()
	s, err := b.startReady(ctx, "push-throughput", apnsEnv...)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	cpu, err := meterCPU(s)
	if err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(2 * time.Minute); fake.Count() < pushBacklog && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	got := fake.Deliveries()
	if len(got) < 2 {
		return nil, errors.New("no push arrived")
	}
	window := got[len(got)-1].At.Sub(got[0].At)
	cpuRows, err := cpu.rows(int64(len(got)), "push")
	if err != nil {
		return nil, err
	}
	return append([]row{
		{"backlog", thousands(pushBacklog) + " alerts to one background iPhone, one River job each", ""},
		{"pushes received", thousands(int64(len(got))), "all"},
		{"first → last receipt", fmt.Sprintf("%.2f s", window.Seconds()), ""},
		{"pushes/s", thousands(int64(float64(len(got)-1) / window.Seconds())), "≥ 4,000"},
	}, cpuRows...), nil
}

// queueAlerts ingests n card views by new visitors through an in-process server whose workers never
// start: each view commits a "new customer" alert and its push job, which wait for salesd.
func (b *bench) queueAlerts(ctx context.Context, cfg platform.Config, db *platform.DB, n int) error {
	ingest, err := server.Ingest(cfg, slog.New(slog.DiscardHandler), db)
	if err != nil {
		return err
	}
	defer ingest.Close()
	const batch, workers = 10, 8 // a request carries events of at most 10 visitors
	next := atomic.Int64{}
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				first := int(next.Add(batch)) - batch
				if first >= n {
					return
				}
				events := make([]tracking.Event, 0, batch)
				for i := first; i < min(first+batch, n); i++ {
					events = append(events, tracking.Event{ID: uuid.New(), Kind: event.CardView, ShareToken: b.shareToken,
						VisitorID: "push-bench-" + strconv.Itoa(i), OccurredAt: time.Now()})
				}
				if _, err := ingest.Ingest(ctx, events); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}
