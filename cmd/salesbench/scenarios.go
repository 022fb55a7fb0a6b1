package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
)

// scenario is one named measurement; it returns the rows of its table, or an error when it cannot run.
type scenario struct {
	name string
	run  func(ctx context.Context, b *bench) ([]row, error)
}

// scenarios lists every scenario in the order they run by default.
func scenarios() []scenario {
	return []scenario{
		{"startup", startup},
		{"noop-rpc", noopRPC},
		{"public-card", publicCard},
	}
}

func scenarioNames() []string {
	var names []string
	for _, s := range scenarios() {
		names = append(names, s.name)
	}
	return names
}

// selectScenarios resolves the -scenarios flag: empty means all.
func selectScenarios(list string) ([]scenario, error) {
	all := scenarios()
	if strings.TrimSpace(list) == "" {
		return all, nil
	}
	var picked []scenario
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(all, func(s scenario) bool { return s.name == name })
		if i < 0 {
			return nil, fmt.Errorf("-scenarios: unknown scenario %q (have %s)", name, strings.Join(scenarioNames(), ", "))
		}
		picked = append(picked, all[i])
	}
	return picked, nil
}

// startup measures how long salesd takes from process start to its first ready answer, against a migrated
// database: what a rolling deploy or an autoscaler waits for.
func startup(ctx context.Context, b *bench) ([]row, error) {
	times := make([]time.Duration, 0, b.opts.startupRuns)
	for i := range b.opts.startupRuns {
		d, err := startOnce(ctx, b, fmt.Sprintf("startup-%d", i+1))
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", i+1, err)
		}
		times = append(times, d)
	}
	slices.Sort(times)
	return []row{
		{"runs", fmt.Sprint(len(times)), ""},
		{"start → ready, min", millis(times[0]), ""},
		{"start → ready, median", millis(percentile(times, 50)), ""},
		{"start → ready, max", millis(times[len(times)-1]), "< 1,000 ms"},
	}, nil
}

func startOnce(ctx context.Context, b *bench, label string) (ready time.Duration, err error) {
	s, err := b.start(label)
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	return s.waitReady(ctx)
}

const (
	// maxRate is a request rate no single salesd reaches: it sizes the preallocated latency buffers, and a
	// worker that fills its buffer fails the scenario rather than growing it in the measured loop.
	maxRate = 500_000
	// requestTimeout bounds one RPC.
	requestTimeout = 10 * time.Second
)

// noopRPC drives the authenticated no-op Ping, the floor under every RPC: transport, Connect, the
// interceptors and token checks, with no database work (the session check is cached).
func noopRPC(ctx context.Context, b *bench) (rows []row, err error) {
	s, httpClient, protocol, err := startForLoad(ctx, b, "noop-rpc")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	defer httpClient.CloseIdleConnections()
	client := salesappv1connect.NewPingServiceClient(httpClient, "http://"+s.addr)
	authorization := "Bearer " + b.token
	call := func(ctx context.Context) error {
		req := connect.NewRequest(&salesappv1.PingRequest{})
		req.Header().Set("Authorization", authorization)
		_, err := client.Ping(ctx, req)
		return err
	}
	return measure(ctx, b, s, protocol, call, "≥ 10,000", "< 100 µs")
}

// publicCard drives PublicService/OpenShare for one card share link: what every customer opening a
// salesperson's card in WeChat costs (no login; the page is cached per node for SALESD_PUBLIC_PAGE_TTL).
func publicCard(ctx context.Context, b *bench) (rows []row, err error) {
	s, httpClient, protocol, err := startForLoad(ctx, b, "public-card")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	defer httpClient.CloseIdleConnections()
	base := "http://" + s.addr
	req := connect.NewRequest(&salesappv1.ShareCardRequest{Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT})
	req.Header().Set("Authorization", "Bearer "+b.token)
	shared, err := salesappv1connect.NewShareServiceClient(httpClient, base).ShareCard(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("share a card: %w", err)
	}
	client := salesappv1connect.NewPublicServiceClient(httpClient, base)
	token := shared.Msg.Share.Token
	call := func(ctx context.Context) error {
		_, err := client.OpenShare(ctx, connect.NewRequest(&salesappv1.OpenShareRequest{Token: token}))
		return err
	}
	return measure(ctx, b, s, protocol, call, "≥ 5,000", "")
}

// startForLoad starts salesd, waits until it is ready, and returns the load client and its protocol's name.
// The caller stops salesd.
func startForLoad(ctx context.Context, b *bench, label string) (*salesdProc, *http.Client, string, error) {
	s, err := b.start(label)
	if err != nil {
		return nil, nil, "", err
	}
	if _, err := s.waitReady(ctx); err != nil {
		return nil, nil, "", errors.Join(err, s.stop())
	}
	httpClient, protocol := loadClient(b.opts.concurrency, b.opts.http1)
	return s, httpClient, protocol, nil
}

// measure warms up, then drives call from the configured number of workers for the window, and reports
// throughput, latency and the CPU both processes spent.
func measure(ctx context.Context, b *bench, s *salesdProc, protocol string, call func(context.Context) error, rpsTarget, cpuTarget string) ([]row, error) {
	c := b.opts.concurrency
	// Warm-up opens the connections, fills the caches and lets both runtimes size their heaps.
	if b.opts.warmup > 0 {
		if _, err := drive(ctx, call, c, b.opts.warmup); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	pid := s.cmd.Process.Pid
	server0, err := processCPU(pid)
	if err != nil {
		return nil, err
	}
	self0, err := selfCPU()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	lat, err := drive(ctx, call, c, b.opts.duration)
	if err != nil {
		return nil, err
	}
	window := time.Since(t0)
	server1, err := processCPU(pid)
	if err != nil {
		return nil, err
	}
	self1, err := selfCPU()
	if err != nil {
		return nil, err
	}

	n := len(lat)
	if n == 0 {
		return nil, errors.New("no request completed in the window")
	}
	serverCPU, loadCPU := server1-server0, self1-self0
	perRequest := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) }
	cores := func(d time.Duration) float64 { return d.Seconds() / window.Seconds() }
	return []row{
		{"protocol", protocol, ""},
		{"concurrency", fmt.Sprintf("%d workers", c), ""},
		{"measured window", fmt.Sprintf("%.2f s, after %s warm-up", window.Seconds(), b.opts.warmup), ""},
		{"requests", thousands(int64(n)), ""},
		{"requests/s", thousands(int64(float64(n) / window.Seconds())), rpsTarget},
		{"latency p50", millis(percentile(lat, 50)), ""},
		{"latency p90", millis(percentile(lat, 90)), ""},
		{"latency p99", millis(percentile(lat, 99)), ""},
		{"latency max", millis(lat[n-1]), ""},
		{"errors", "0", ""},
		{"server CPU per request", fmt.Sprintf("%.1f µs", perRequest(serverCPU)), cpuTarget},
		{"server CPU", fmt.Sprintf("%.2f s (%.2f cores)", serverCPU.Seconds(), cores(serverCPU)), ""},
		{"load generator CPU", fmt.Sprintf("%.2f s (%.2f cores, %.1f µs/request)",
			loadCPU.Seconds(), cores(loadCPU), perRequest(loadCPU)), ""},
	}, nil
}

// loadClient is the HTTP client the workers share, and a name for its protocol (the Connect client's
// defaults included: it asks for gzipped responses, as the app's clients do). Its transport has no proxy,
// so requests go straight to 127.0.0.1 whatever HTTP_PROXY says.
func loadClient(concurrency int, http1 bool) (*http.Client, string) {
	var p http.Protocols
	t := &http.Transport{Protocols: &p}
	name := "h2c (cleartext HTTP/2), Connect, binary protobuf, gzip accepted"
	if http1 {
		p.SetHTTP1(true)
		// Without this the transport keeps 2 idle connections and redials for the other workers.
		t.MaxIdleConnsPerHost = concurrency
		name = "HTTP/1.1, Connect, binary protobuf, gzip accepted"
	} else {
		p.SetUnencryptedHTTP2(true)
	}
	return &http.Client{Transport: t, Timeout: requestTimeout}, name
}

// drive runs workers that make calls back to back for d and returns every latency, sorted. Any failed
// call fails the run, reported with the first error.
func drive(ctx context.Context, call func(context.Context) error, workers int, d time.Duration) ([]time.Duration, error) {
	// The extra requestTimeout lets the last requests finish; it also bounds one that hangs.
	runCtx, cancel := context.WithTimeout(ctx, d+requestTimeout)
	defer cancel()
	capacity := int(d.Seconds()*maxRate/float64(workers)) + 1
	results := make([]workerResult, workers)
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = work(runCtx, call, end, capacity) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err // interrupted: the numbers would be partial
	}

	var total, failed int
	var first error
	for _, r := range results {
		total += len(r.latencies)
		failed += r.errors
		if first == nil {
			first = r.firstErr
		}
	}
	if failed > 0 {
		return nil, fmt.Errorf("%s of %s requests failed; first: %w", thousands(int64(failed)), thousands(int64(total+failed)), first)
	}
	lat := make([]time.Duration, 0, total)
	for _, r := range results {
		if len(r.latencies) == capacity {
			return nil, fmt.Errorf("a worker filled its %d-entry latency buffer: raise maxRate", capacity)
		}
		lat = append(lat, r.latencies...)
	}
	slices.Sort(lat)
	return lat, nil
}

type workerResult struct {
	latencies []time.Duration
	errors    int
	firstErr  error
}

// work is one worker: it calls until end, or until its buffer is full.
func work(ctx context.Context, call func(context.Context) error, end time.Time, capacity int) workerResult {
	r := workerResult{latencies: make([]time.Duration, 0, capacity)}
	for len(r.latencies)+r.errors < capacity && ctx.Err() == nil {
		start := time.Now()
		if !start.Before(end) {
			break
		}
		if err := call(ctx); err != nil {
			r.errors++
			if r.firstErr == nil {
				r.firstErr = err
			}
			continue
		}
		r.latencies = append(r.latencies, time.Since(start))
	}
	return r
}
