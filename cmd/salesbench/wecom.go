package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/wecom/wecomtest"
)

// WeCom posts callbacks one connection per event, like any webhook sender, at a steady rate.
const (
	wecomRate   = 500
	wecomWindow = 20 * time.Second
)

// wecomCallbacks measures WeCom callbacks as WeCom sends them (signed, AES-encrypted XML over HTTP/1.1):
// the time to the "success" answer at wecomRate callbacks/s, open loop (the answer comes once the event
// and its job are committed, before any processing), then how long processing took to drain.
func wecomCallbacks(ctx context.Context, b *bench) (rows []row, err error) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	s, err := b.startReady(ctx, "wecom-callbacks", "SALESD_SECRET_KEYS=bench:"+base64.StdEncoding.EncodeToString(key),
		"SALESD_WECOM_CALLBACK_RATE=100000", "SALESD_WECOM_CALLBACK_BURST=100000")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	base := "http://" + s.addr
	const corpID, token, aesKey = "wwBench0001", "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	admin := salesappv1connect.NewWeComServiceClient(http.DefaultClient, base)
	req := connect.NewRequest(&salesappv1.SetWeComConfigRequest{CorpId: corpID, AgentId: 1000002,
		CallbackToken: token, EncodingAesKey: aesKey})
	req.Header().Set("Authorization", "Bearer "+b.token)
	if _, err := admin.SetWeComConfig(ctx, req); err != nil {
		return nil, fmt.Errorf("configure WeCom: %w", err)
	}
	t := &http.Transport{MaxIdleConnsPerHost: 256}
	defer t.CloseIdleConnections()
	sender := &wecomtest.CallbackSender{URL: base + "/wecom/" + b.tenantID.String() + "/callback", CorpID: corpID,
		Token: token, EncodingAESKey: aesKey, Client: &http.Client{Transport: t, Timeout: requestTimeout}}

	var (
		mu   sync.Mutex
		lat  []time.Duration
		next atomic.Int64
	)
	run := time.Now().UnixNano() / 1000 // message ids unique across runs
	send := func() error {
		i := next.Add(1)
		msg := wecomtest.TextMessage(corpID, "sales01", run+i, "hello")
		q, body, err := sender.Seal(msg)
		if err != nil {
			return err
		}
		start := time.Now()
		status, answer, err := sender.PostRaw(ctx, q, body)
		d := time.Since(start)
		if err != nil {
			return err
		}
		if status != http.StatusOK || answer != "success" {
			return fmt.Errorf("answered %d %q", status, answer)
		}
		mu.Lock()
		lat = append(lat, d)
		mu.Unlock()
		return nil
	}
	openLoop(ctx, 2*time.Second, wecomRate, send) // warm-up: connections, caches, the planner
	mu.Lock()
	lat = lat[:0]
	mu.Unlock()
	meter, err := meterCPU(s)
	if err != nil {
		return nil, err
	}
	sent, failed := openLoop(ctx, wecomWindow, wecomRate, send)
	drainStart := time.Now()
	cpu, err := meter.rows(sent, "callback")
	if err != nil {
		return nil, err
	}
	if len(lat) == 0 {
		return nil, errors.New("no callback was acknowledged")
	}
	slices.Sort(lat)

	// Processing: every stored event leaves pending (text messages to the app have no handler, so this is
	// the dispatcher's own cost).
	conn, err := pgx.Connect(ctx, b.seedURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	var pending int
	for {
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM wecom_events WHERE tenant_id = $1 AND status = 'pending'`, b.tenantID).Scan(&pending); err != nil {
			return nil, err
		}
		if pending == 0 || time.Since(drainStart) > 2*time.Minute {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	rows = []row{
		{"load", fmt.Sprintf("%d callbacks/s for %s, open loop, HTTP/1.1, each a fresh event", wecomRate, wecomWindow), ""},
		{"acknowledged", thousands(sent), ""},
		{"failed", thousands(failed), "0"},
		{"ack latency p50", millis(percentile(lat, 50)), ""},
		{"ack latency p99", millis(percentile(lat, 99)), "≤ 50 ms"},
		{"ack latency max", millis(lat[len(lat)-1]), ""},
		{"processing drained", fmt.Sprintf("%.1f s after the last callback (%d still pending)", time.Since(drainStart).Seconds(), pending), ""},
	}
	return append(rows, cpu...), nil
}
