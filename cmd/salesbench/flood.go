package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Public flood: the figures of issue 13's finding 3.
const (
	// floodNormalVisitors browse the card while the flood runs, each from an address of its own, one
	// beacon every floodNormalEvery (within the per-visitor limit).
	floodNormalVisitors = 40
	floodNormalEvery    = 500 * time.Millisecond
	// floodWorkers per flooding client (one IPv4 address, one IPv6 /64) send back to back.
	floodWorkers = 4
)

// floodCount is what the beacon endpoint answered one client.
type floodCount struct {
	requests, limited, accepted, rejected atomic.Int64
}

// publicFlood: one IPv4 address and one IPv6 /64 (a fresh address of it per request) hammer POST /t with
// card views of fresh visitor ids, ten visitors a request, while normal visitors (known already) browse.
// salesd runs with its production limits (per address, per visitor, new visitors per link and tenant,
// the push window) behind a trusted proxy (this process, naming each client in X-Forwarded-For). Reported:
// what the flood got stored and refused, customers made, pushes queued, and the normal visitors' beacon
// latency.
func publicFlood(ctx context.Context, b *bench) (rows []row, err error) {
	_, _, done, err := b.withDevice(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, done()) }()
	s, err := b.startReady(ctx, "public-flood", "SALESD_TRUSTED_PROXIES=127.0.0.1",
		"SALESD_PUBLIC_RATE=10", "SALESD_PUBLIC_BURST=20",
		"SALESD_NEW_VISITORS_PER_SHARE=120", "SALESD_NEW_VISITORS_PER_TENANT=1200", "SALESD_NEW_CUSTOMER_PUSH_WINDOW=1m")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	httpClient, protocol := loadClient(b.opts.concurrency, b.opts.http1)
	defer httpClient.CloseIdleConnections()
	url := "http://" + s.addr + "/t"

	post := func(ctx context.Context, from string, visitors []string) (int, BeaconAnswer, error) {
		var sb strings.Builder
		sb.WriteString(`{"events":[`)
		for i, v := range visitors {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `{"eventId":%q,"kind":"EVENT_KIND_CARD_VIEW","shareToken":%q,"visitorId":%q}`, uuid.NewString(), b.shareToken, v)
		}
		sb.WriteString(`]}`)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(sb.String()))
		if err != nil {
			return 0, BeaconAnswer{}, err
		}
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		req.Header.Set("X-Forwarded-For", from)
		resp, err := httpClient.Do(req)
		if err != nil {
			return 0, BeaconAnswer{}, err
		}
		defer resp.Body.Close()
		var ans BeaconAnswer
		if resp.StatusCode == http.StatusOK {
			err = json.NewDecoder(resp.Body).Decode(&ans)
		}
		return resp.StatusCode, ans, err
	}

	conn, err := pgx.Connect(ctx, b.seedURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	counts := func() (customers, pushes int64, err error) {
		err = conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM customers WHERE tenant_id = $1),
			(SELECT count(*) FROM river_job WHERE kind IN ('push_alert', 'push_new_visitors') AND args->>'tenant_id' = $1::text)`,
			b.tenantID).Scan(&customers, &pushes)
		return customers, pushes, err
	}
	customers0, pushes0, err := counts()
	if err != nil {
		return nil, err
	}

	// The normal visitors are known before the flood (their first visit made them customers).
	normal := make([]string, floodNormalVisitors)
	for i := range normal {
		normal[i] = fmt.Sprintf("flood-normal-%04d", i)
		if code, _, err := post(ctx, fmt.Sprintf("198.51.100.%d", i+1), normal[i:i+1]); err != nil || code != http.StatusOK {
			return nil, fmt.Errorf("a normal visitor's first beacon: %d %v", code, err)
		}
	}
	// The normal visitors alone first, for the latency the flood is compared with.
	quiet, err := browse(ctx, b.opts.duration/2, normal, post)
	if err != nil {
		return nil, err
	}

	fctx, cancel := context.WithTimeout(ctx, b.opts.duration)
	defer cancel()
	var (
		wg          sync.WaitGroup
		v4, v6      floodCount
		seq         atomic.Int64
		floodFailed atomic.Int64
		t0          = time.Now()
	)
	flood := func(c *floodCount, from func() string) {
		for fctx.Err() == nil {
			visitors := make([]string, 10)
			for i := range visitors {
				visitors[i] = fmt.Sprintf("flood-%d", seq.Add(1))
			}
			code, ans, err := post(fctx, from(), visitors)
			if err != nil {
				if fctx.Err() == nil {
					floodFailed.Add(1)
				}
				continue
			}
			c.requests.Add(1)
			if code == http.StatusTooManyRequests {
				c.limited.Add(1)
				continue
			}
			c.accepted.Add(int64(ans.Accepted))
			c.rejected.Add(int64(len(ans.Rejected)))
		}
	}
	for range floodWorkers {
		wg.Go(func() { flood(&v4, func() string { return "203.0.113.9" }) })
		wg.Go(func() {
			flood(&v6, func() string {
				return fmt.Sprintf("2001:db8:f00d:1:%x:%x:%x:%x", rand.Uint32N(1<<16), rand.Uint32N(1<<16), rand.Uint32N(1<<16), rand.Uint32N(1<<16))
			})
		})
	}
	var during browsed
	wg.Go(func() { during, err = browse(fctx, b.opts.duration, normal, post) })
	wg.Wait()
	window := time.Since(t0)
	if err != nil {
		return nil, err
	}
	customers1, pushes1, err := counts()
	if err != nil {
		return nil, err
	}
	client := func(name string, c *floodCount) row {
		return row{name, fmt.Sprintf("%s requests: %s answered 429; events %s accepted, %s rejected",
			thousands(c.requests.Load()), thousands(c.limited.Load()), thousands(c.accepted.Load()), thousands(c.rejected.Load())), ""}
	}
	return []row{
		{"protocol", protocol + ", POST /t through a trusted proxy (X-Forwarded-For)", ""},
		{"window", fmt.Sprintf("%.1f s; %d flood workers per client, 10 fresh visitors a request", window.Seconds(), floodWorkers), ""},
		{"limits", "10 req/s burst 20 per address (IPv6 per /64); 120 new visitors/min per link, 1,200 per tenant; push window 1 min", ""},
		client("flood, one IPv4 address", &v4),
		client("flood, one IPv6 /64 (fresh address each request)", &v6),
		{"flood transport errors", thousands(floodFailed.Load()), ""},
		{"customers created, the 40 normal visitors' included", thousands(customers1 - customers0), "≤ 120 + 2/s of the link's budget"},
		{"pushes queued (jobs), the normal visitors' first visits included", thousands(pushes1 - pushes0), "≤ 2 per device per minute"},
		{"normal visitors", fmt.Sprintf("%d, one beacon per %s each, known before the flood", floodNormalVisitors, floodNormalEvery), ""},
		{"normal beacons during the flood", during.String(), "0 rejected, 0 limited"},
		{"normal beacon p50 / p99, no flood (" + (b.opts.duration / 2).String() + " before)", millis(percentile(quiet.lat, 50)) + " / " + millis(percentile(quiet.lat, 99)), ""},
		{"normal beacon p50 / p99, during the flood", millis(percentile(during.lat, 50)) + " / " + millis(percentile(during.lat, 99)), ""},
	}, nil
}

// browsed is what the normal visitors' beacons met.
type browsed struct {
	lat                       []time.Duration
	rejected, limited, failed int64
}

func (r browsed) String() string {
	return fmt.Sprintf("%s answered; %s events rejected, %s answered 429, %s failed",
		thousands(int64(len(r.lat))), thousands(r.rejected), thousands(r.limited), thousands(r.failed))
}

// browse has each visitor send a card view every floodNormalEvery from an address of its own, for d, and
// returns the latencies (sorted) of the answered beacons.
func browse(ctx context.Context, d time.Duration, visitors []string,
	post func(ctx context.Context, from string, visitors []string) (int, BeaconAnswer, error)) (browsed, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		out browsed
	)
	for i, v := range visitors {
		wg.Go(func() {
			tick := time.NewTicker(floodNormalEvery)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				at := time.Now()
				code, ans, err := post(ctx, fmt.Sprintf("198.51.100.%d", i+1), []string{v})
				took := time.Since(at)
				if err != nil && ctx.Err() != nil {
					return
				}
				mu.Lock()
				switch {
				case err != nil || (code != http.StatusOK && code != http.StatusTooManyRequests):
					out.failed++
				case code == http.StatusTooManyRequests:
					out.limited++
				default:
					out.rejected += int64(len(ans.Rejected))
					out.lat = append(out.lat, took)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(out.lat) == 0 {
		return out, errors.New("no normal beacon was answered")
	}
	slices.Sort(out.lat)
	return out, nil
}

// BeaconAnswer is the beacon endpoint's answer (trackingrpc.BeaconAnswer), as a page reads it.
type BeaconAnswer struct {
	Accepted   int               `json:"accepted"`
	Duplicates int               `json:"duplicates"`
	Rejected   []json.RawMessage `json:"rejected"`
}
