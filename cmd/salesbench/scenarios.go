package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"

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
		// Reads before writes: the write scenarios add hundreds of thousands of rows, and autovacuum
		// catching up with them would be measured instead of the reads.
		{"timeline", timeline},
		{"my-customers", myCustomers},
		{"beacon-single", beaconSingle},
		{"view-to-websocket", viewToWebSocket},
		{"cross-node-websocket", crossNodeWebSocket},
		{"idle-websockets", idleWebSockets},
		{"view-to-apns", viewToAPNs},
		{"push-throughput", pushThroughput},
		{"ingest-batched", ingestBatched},
		{"sync-first", syncFirst},
		{"sync-incremental", syncIncremental},
		{"sync-behind-long-tx", syncBehindLongTx},
		{"sync-push", syncPush},
		{"sync-manager-first", syncManagerFirst},
		{"task-progress", taskProgress},
		{"share-page", sharePage},
		{"sign-in", signInScenario},
		{"public-flood", publicFlood},
		{"public-flood-pages", publicFloodPages},
		{"poster-storm", posterStorm},
		{"recycle-ingest", recycleIngest},
		{"wecom-callbacks", wecomCallbacks},
		{"dashboards", dashboards},
		// Last: it grows the tenant to 10,000 salespeople.
		{"ranking", ranking},
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
	st, err := measure(ctx, b, s, protocol, b.opts.concurrency, call)
	if err != nil {
		return nil, err
	}
	b.floorRPS = st.rps()
	return st.rows(row{"requests/s", thousands(int64(st.rps())), "≥ 10,000"}, "< 100 µs"), nil
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
	st, err := measure(ctx, b, s, protocol, b.opts.concurrency, call)
	if err != nil {
		return nil, err
	}
	return st.rows(row{"requests/s", thousands(int64(st.rps())), "≥ 5,000"}, ""), nil
}

// startForLoad starts salesd, waits until it is ready, and returns the load client and its protocol's name.
// The caller stops salesd.
func startForLoad(ctx context.Context, b *bench, label string) (*salesdProc, *http.Client, string, error) {
	s, err := b.startReady(ctx, label)
	if err != nil {
		return nil, nil, "", err
	}
	httpClient, protocol := loadClient(b.opts.concurrency, b.opts.http1)
	return s, httpClient, protocol, nil
}

// stats is one measured window.
type stats struct {
	protocol           string
	concurrency        int
	warmup, window     time.Duration
	lat                []time.Duration
	serverCPU, loadCPU time.Duration
}

func (st stats) rps() float64 { return float64(len(st.lat)) / st.window.Seconds() }

// rows is the table of a window; throughput is the scenario's own headline row.
func (st stats) rows(throughput row, cpuTarget string, p99Target ...string) []row {
	n := len(st.lat)
	perRequest := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) }
	cores := func(d time.Duration) float64 { return d.Seconds() / st.window.Seconds() }
	p99 := ""
	if len(p99Target) > 0 {
		p99 = p99Target[0]
	}
	return []row{
		{"protocol", st.protocol, ""},
		{"concurrency", fmt.Sprintf("%d workers", st.concurrency), ""},
		{"measured window", fmt.Sprintf("%.2f s, after %s warm-up", st.window.Seconds(), st.warmup), ""},
		{"requests", thousands(int64(n)), ""},
		throughput,
		{"latency p50", millis(percentile(st.lat, 50)), ""},
		{"latency p90", millis(percentile(st.lat, 90)), ""},
		{"latency p99", millis(percentile(st.lat, 99)), p99},
		{"latency max", millis(st.lat[n-1]), ""},
		{"errors", "0", ""},
		{"server CPU per request", fmt.Sprintf("%.1f µs", perRequest(st.serverCPU)), cpuTarget},
		{"server CPU", fmt.Sprintf("%.2f s (%.2f cores)", st.serverCPU.Seconds(), cores(st.serverCPU)), ""},
		{"load generator CPU", fmt.Sprintf("%.2f s (%.2f cores, %.1f µs/request)",
			st.loadCPU.Seconds(), cores(st.loadCPU), perRequest(st.loadCPU)), ""},
	}
}

// measure warms up, then drives call from the given number of workers for the window, and records
// latencies and the CPU both processes spent.
func measure(ctx context.Context, b *bench, s *salesdProc, protocol string, workers int, call func(context.Context) error) (stats, error) {
	st := stats{protocol: protocol, concurrency: workers, warmup: b.opts.warmup}
	// Warm-up opens the connections, fills the caches and lets both runtimes size their heaps.
	if b.opts.warmup > 0 {
		if _, err := drive(ctx, call, workers, b.opts.warmup); err != nil {
			return st, fmt.Errorf("warm-up: %w", err)
		}
	}
	// What autovacuum does on a server that has been running: the warm-up grew tables from nothing, and
	// plans made from empty-table statistics are not what a steady state runs; earlier scenarios' dead
	// rows are cleaned up rather than left to a vacuum that would run during this one.
	if err := b.analyze(ctx); err != nil {
		return st, err
	}
	pid := s.cmd.Process.Pid
	server0, err := processCPU(pid)
	if err != nil {
		return st, err
	}
	self0, err := selfCPU()
	if err != nil {
		return st, err
	}
	t0 := time.Now()
	if st.lat, err = drive(ctx, call, workers, b.opts.duration); err != nil {
		return st, err
	}
	st.window = time.Since(t0)
	server1, err := processCPU(pid)
	if err != nil {
		return st, err
	}
	self1, err := selfCPU()
	if err != nil {
		return st, err
	}
	if len(st.lat) == 0 {
		return st, errors.New("no request completed in the window")
	}
	st.serverCPU, st.loadCPU = server1-server0, self1-self0
	return st, nil
}

// ingestBatchSize is how many events one request carries in the batched scenario (the most allowed), and
// ingestPerVisitor how many of them come from each visitor: a page buffers a handful of events (a view,
// heartbeats, clicks) before it sends them, so a full request is a few pages' worth.
const (
	ingestBatchSize  = 100
	ingestPerVisitor = 10
)

// ingestVisitors is how many distinct visitors the ingest scenarios' events come from.
const ingestVisitors = 5000

// ingestBatched drives TrackingService/Track with full batches: sustained events/s, acknowledged after
// commit (group commit puts many requests in one transaction).
func ingestBatched(ctx context.Context, b *bench) ([]row, error) {
	st, _, err := ingestWindow(ctx, b, "ingest-batched")
	if err != nil {
		return nil, err
	}
	return st.rows(row{"events/s", thousands(int64(st.rps() * ingestBatchSize)), "≥ 20,000"}, ""), nil
}

// ingestWindow starts salesd (label names its log), measures a window of full batches on it and stops it.
func ingestWindow(ctx context.Context, b *bench, label string) (st stats, protocol string, err error) {
	s, err := b.startReady(ctx, label)
	if err != nil {
		return st, "", err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	return ingestOn(ctx, b, s)
}

// ingestOn measures a window of full batches on a running salesd.
func ingestOn(ctx context.Context, b *bench, s *salesdProc) (st stats, protocol string, err error) {
	httpClient, protocol := loadClient(b.opts.concurrency, b.opts.http1)
	defer httpClient.CloseIdleConnections()
	client := salesappv1connect.NewTrackingServiceClient(httpClient, "http://"+s.addr)
	var seq atomic.Int64
	call := func(ctx context.Context) error {
		events := make([]*salesappv1.TrackEvent, ingestBatchSize)
		var visitor string
		for i := range events {
			if i%ingestPerVisitor == 0 {
				visitor = fmt.Sprintf("bench-visitor-%d", seq.Add(1)%ingestVisitors)
			}
			events[i] = &salesappv1.TrackEvent{EventId: uuid.NewString(), Kind: salesappv1.EventKind_EVENT_KIND_CARD_VIEW,
				ShareToken: b.shareToken, VisitorId: visitor}
		}
		_, err := client.Track(ctx, connect.NewRequest(&salesappv1.TrackRequest{Events: events}))
		return err
	}
	st, err = measure(ctx, b, s, protocol+fmt.Sprintf(", %d events per request from %d visitors", ingestBatchSize, ingestBatchSize/ingestPerVisitor), b.opts.concurrency, call)
	return st, protocol, err
}

// beaconSingle posts one event per request to the beacon endpoint, as navigator.sendBeacon does, and
// compares the rate with the no-op RPC floor measured in the same run.
func beaconSingle(ctx context.Context, b *bench) (rows []row, err error) {
	s, httpClient, protocol, err := startForLoad(ctx, b, "beacon-single")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	defer httpClient.CloseIdleConnections()
	url := "http://" + s.addr + "/t"
	var seq atomic.Int64
	call := func(ctx context.Context) error {
		n := seq.Add(1)
		body := fmt.Sprintf(`{"events":[{"eventId":%q,"kind":"EVENT_KIND_CARD_VIEW","shareToken":%q,"visitorId":"bench-beacon-%d"}]}`,
			uuid.NewString(), b.shareToken, n%ingestVisitors)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		resp, err := httpClient.Do(req)
		if err != nil {
			return err
		}
		// (The answer says what was accepted: 200 with a BeaconAnswer since 4f03eb4; read, so the connection
		// is reused.)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("beacon answered %s", resp.Status)
		}
		return nil
	}
	st, err := measure(ctx, b, s, "POST /t, text/plain JSON, one event per request; "+protocol, b.opts.concurrency, call)
	if err != nil {
		return nil, err
	}
	target := "≥ 50% of the no-op floor (run noop-rpc in the same run)"
	if b.floorRPS > 0 {
		target = fmt.Sprintf("≥ %s (50%% of the no-op floor %s measured in this run)", thousands(int64(b.floorRPS/2)), thousands(int64(b.floorRPS)))
	}
	return st.rows(row{"requests/s (= events/s)", thousands(int64(st.rps())), target}, ""), nil
}

// readWorkers is the concurrency of the read scenarios: a few salespeople's apps at once, which is what
// their latency targets are about (at 64 workers on 2 cores the queueing would be measured instead).
const readWorkers = 8

// timeline pages the first page of a customer with seedTimelineEvents events.
func timeline(ctx context.Context, b *bench) (rows []row, err error) {
	s, httpClient, protocol, err := startForLoad(ctx, b, "timeline")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	defer httpClient.CloseIdleConnections()
	client := salesappv1connect.NewCustomerServiceClient(httpClient, "http://"+s.addr)
	id := b.seed.busyCustomer.String()
	call := func(ctx context.Context) error {
		req := connect.NewRequest(&salesappv1.GetTimelineRequest{CustomerId: id, PageSize: 30})
		req.Header().Set("Authorization", "Bearer "+b.salesToken)
		_, err := client.GetTimeline(ctx, req)
		return err
	}
	st, err := measure(ctx, b, s, protocol+fmt.Sprintf(", page of 30 of a customer with %s events", thousands(seedTimelineEvents)), readWorkers, call)
	if err != nil {
		return nil, err
	}
	rows = st.rows(row{"requests/s", thousands(int64(st.rps())), ""}, "", "≤ 10 ms (at saturation)")
	// The same page at a stated load below saturation, open loop: what a salesperson sees on a busy day.
	lat, failed := paced(ctx, timelineRate, b.opts.duration, call)
	if failed > 0 || len(lat) == 0 {
		return nil, fmt.Errorf("timeline at %d/s: %d calls failed of %d", timelineRate, failed, int64(len(lat))+failed)
	}
	at := fmt.Sprintf(" at %d requests/s (open loop)", timelineRate)
	return append(rows,
		row{"latency p50" + at, millis(percentile(lat, 50)), ""},
		row{"latency p99" + at, millis(percentile(lat, 99)), "≤ 10 ms"}), nil
}

// timelineRate is the stated load of the timeline scenario's second measure: about half of what two cores
// serve closed loop.
const timelineRate = 500

// paced calls call at rate per second for d, open loop (openLoop), and returns the latencies of the calls
// that succeeded, sorted, and how many failed.
func paced(ctx context.Context, rate int, d time.Duration, call func(context.Context) error) ([]time.Duration, int64) {
	return pacedTimed(ctx, rate, d, func(ctx context.Context) (time.Duration, error) {
		t0 := time.Now()
		err := call(ctx)
		return time.Since(t0), err
	})
}

// pacedTimed is paced where each call says what it took (a part of itself: the time to the first byte).
func pacedTimed(ctx context.Context, rate int, d time.Duration, call func(context.Context) (time.Duration, error)) ([]time.Duration, int64) {
	var mu sync.Mutex
	var lat []time.Duration
	_, failed := openLoop(ctx, d, float64(rate), func() error {
		took, err := call(ctx)
		if err != nil {
			return err
		}
		mu.Lock()
		lat = append(lat, took)
		mu.Unlock()
		return nil
	})
	slices.Sort(lat)
	return lat, failed
}

// myCustomers pages the first page of a salesperson with seedCustomers customers, most recently active
// first.
func myCustomers(ctx context.Context, b *bench) (rows []row, err error) {
	s, httpClient, protocol, err := startForLoad(ctx, b, "my-customers")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	defer httpClient.CloseIdleConnections()
	client := salesappv1connect.NewCustomerServiceClient(httpClient, "http://"+s.addr)
	var seq atomic.Int64
	sorts := []salesappv1.CustomerSort{salesappv1.CustomerSort_CUSTOMER_SORT_LAST_ACTIVE, salesappv1.CustomerSort_CUSTOMER_SORT_INTENT, salesappv1.CustomerSort_CUSTOMER_SORT_NEWEST}
	call := func(ctx context.Context) error {
		req := connect.NewRequest(&salesappv1.ListCustomersRequest{PageSize: 30, Sort: sorts[seq.Add(1)%3]})
		req.Header().Set("Authorization", "Bearer "+b.salesToken)
		_, err := client.ListCustomers(ctx, req)
		return err
	}
	st, err := measure(ctx, b, s, protocol+fmt.Sprintf(", page of 30 of %s customers, the three orders in turn", thousands(seedCustomers)), readWorkers, call)
	if err != nil {
		return nil, err
	}
	return st.rows(row{"requests/s", thousands(int64(st.rps())), ""}, "", "≤ 20 ms"), nil
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
