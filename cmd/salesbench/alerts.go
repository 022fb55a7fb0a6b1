package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
)

// alertRate is the view rate of the view-to-WebSocket scenario (the load).
const alertRate = 1000

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

	ws, resp, err := websocket.DefaultDialer.DialContext(ctx, "ws://"+s.addr+"/ws", http.Header{"Authorization": {"Bearer " + b.salesToken}})
	if err != nil {
		return nil, fmt.Errorf("websocket: %w", err)
	}
	resp.Body.Close()
	defer ws.Close()
	if err := ws.WriteJSON(map[string]any{"type": "resume", "epoch": "", "seq": 0}); err != nil {
		return nil, err
	}
	var (
		mu   sync.Mutex
		lat  []time.Duration
		seen int
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
			seen++
			mu.Unlock()
		}
	}()

	client := salesappv1connect.NewTrackingServiceClient(httpClient, "http://"+s.addr)
	var sent, failed atomic.Int64
	send := func() {
		req := connect.NewRequest(&salesappv1.TrackRequest{Events: []*salesappv1.TrackEvent{{
			EventId: uuid.NewString(), Kind: salesappv1.EventKind_EVENT_KIND_CARD_VIEW, ShareToken: b.shareToken,
			VisitorId: "ws-bench-" + uuid.NewString()[:12], OccurredAt: timestamppb.Now(),
		}}})
		if _, err := client.Track(ctx, req); err != nil {
			failed.Add(1)
			return
		}
		sent.Add(1)
	}
	// Open loop: every 5 ms, start as many sends as are due by then at alertRate, however long earlier
	// ones take (a 1 ms ticker drops ticks under load and would send less than it claims).
	var wg sync.WaitGroup
	tick := time.NewTicker(5 * time.Millisecond)
	start := time.Now()
	end := start.Add(b.opts.duration)
	started := int64(0)
	for now := range tick.C {
		if now.After(end) || ctx.Err() != nil {
			break
		}
		due := int64(now.Sub(start).Seconds() * alertRate)
		for ; started < due; started++ {
			wg.Go(send)
		}
	}
	tick.Stop()
	wg.Wait()
	// Let the last frames arrive (bounded).
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		done := int64(seen) >= sent.Load()
		mu.Unlock()
		if done {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-readDone:
		return nil, fmt.Errorf("websocket closed: %w", err)
	default:
	}
	// What the stream holds, to tell an alert never made from one never delivered.
	head := connect.NewRequest(&salesappv1.ListAlertsRequest{PageSize: 1})
	head.Header().Set("Authorization", "Bearer "+b.salesToken)
	h, err := salesappv1connect.NewAlertServiceClient(httpClient, "http://"+s.addr).ListAlerts(ctx, head)
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
		{"protocol", protocol + "; alerts over /ws", ""},
		{"views sent", fmt.Sprintf("%s at %d/s, open loop (%s failed)", thousands(sent.Load()), alertRate, thousands(failed.Load())), ""},
		{"alerts in the stream", thousands(h.Msg.Head), ""},
		{"alerts received", thousands(int64(len(lat))), "all"},
		{"view → frame p50", millis(percentile(lat, 50)), ""},
		{"view → frame p99", millis(percentile(lat, 99)), "≤ 100 ms"},
		{"view → frame max", millis(lat[len(lat)-1]), ""},
	}, nil
}
