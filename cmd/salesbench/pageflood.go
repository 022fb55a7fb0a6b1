package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
)

// Sizes of public-flood-pages (issue 13: "an anonymous client opens 100,000 distinct forward tokens of
// a 200 KB article: salesd's resident memory stays ≤ 500 MB and the no-op floor measured during it stays
// ≥ 70% of its idle figure").
const (
	pageFloodTokens  = 100_000
	pageFloodArticle = 200 << 10
	pageFloodWorkers = 8
	pageFloodCap     = 3 * time.Minute // the flood stops here if it has not opened every token
)

// publicFloodPages seeds a 200 KB article shared by the benchmark salesperson and pageFloodTokens forwards
// of that share (each a link of its own, as forwards by as many visitors make), then floods salesd with
// opens of them, as fast as pageFloodWorkers can, each request from an address of its own (salesd trusts
// this process as its proxy: a botnet's flood, past the per-address limits). Two runs, a fresh salesd
// each: the first with the node's budget of uncached link lookups lifted, opening every link once, for
// the memory bound at full speed (and the floor an unbudgeted node keeps); the second as deployed, for
// the floor, the flood stopping when the floor's measure does.
func publicFloodPages(ctx context.Context, b *bench) ([]row, error) {
	tokens, err := seedPageFlood(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("seed the forwards: %w", err)
	}
	rows := []row{{"flood", fmt.Sprintf("GET /s/{token} of %s forwards of one %d KB article, %d workers, an address each request, no gzip",
		thousands(pageFloodTokens), pageFloodArticle>>10, pageFloodWorkers), ""}}
	lifted, err := floodPages(ctx, b, tokens, true, "SALESD_PAGE_LOOKUP_RATE=1000000")
	if err != nil {
		return nil, fmt.Errorf("the flood without a lookup budget: %w", err)
	}
	budgeted, err := floodPages(ctx, b, tokens, false)
	if err != nil {
		return nil, fmt.Errorf("the flood as deployed: %w", err)
	}
	for _, r := range []struct {
		label string
		res   pageFloodResult
	}{{"budget lifted, every link", lifted}, {"as deployed (default budget), while the floor is measured", budgeted}} {
		rows = append(rows,
			row{r.label + ": opened (200) / other answers", fmt.Sprintf("%s / %s in %s (%s/s), %s MB sent", thousands(r.res.opened), thousands(r.res.other),
				r.res.took.Round(time.Millisecond), thousands(int64(float64(r.res.opened+r.res.other)/r.res.took.Seconds())), thousands(r.res.bytes>>20)), ""},
			row{r.label + ": salesd resident memory before / peak / after", fmt.Sprintf("%s / %s / %s MB", thousands(r.res.rss0>>10),
				thousands(r.res.peak>>10), thousands(r.res.rss1>>10)), "peak ≤ 500 MB"},
			row{r.label + ": no-op floor, " + r.res.protocol + ", alone / during", fmt.Sprintf("%s / %s requests/s (%.0f%%)", thousands(int64(r.res.idleRPS)),
				thousands(int64(r.res.duringRPS)), 100*r.res.duringRPS/r.res.idleRPS), "during ≥ 70% of alone"})
	}
	return rows, nil
}

// pageFloodResult is what one flood run measured.
type pageFloodResult struct {
	opened, other, bytes int64
	took                 time.Duration
	rss0, peak, rss1     int64 // KB
	idleRPS, duringRPS   float64
	protocol             string
}

// floodPages starts salesd (with extra settings), measures the no-op floor alone, then floods it with
// opens of tokens while sampling its resident memory and measuring the floor again. With toTheEnd the flood
// opens every token (up to pageFloodCap); without, it stops when the floor's measure does.
func floodPages(ctx context.Context, b *bench, tokens []string, toTheEnd bool, extra ...string) (res pageFloodResult, err error) {
	s, err := b.startReady(ctx, "public-flood-pages", append([]string{"SALESD_TRUSTED_PROXIES=127.0.0.1"}, extra...)...)
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	pid := s.cmd.Process.Pid
	httpClient, protocol := loadClient(b.opts.concurrency, b.opts.http1)
	defer httpClient.CloseIdleConnections()
	res.protocol = protocol
	ping := salesappv1connect.NewPingServiceClient(httpClient, "http://"+s.addr)
	noop := func(ctx context.Context) error {
		req := connect.NewRequest(&salesappv1.PingRequest{})
		req.Header().Set("Authorization", "Bearer "+b.token)
		_, err := ping.Ping(ctx, req)
		return err
	}
	if _, err := drive(ctx, noop, b.opts.concurrency, b.opts.warmup); err != nil {
		return res, fmt.Errorf("warm-up: %w", err)
	}
	idle, err := drive(ctx, noop, b.opts.concurrency, b.opts.duration)
	if err != nil {
		return res, fmt.Errorf("idle floor: %w", err)
	}
	if res.rss0, err = residentKB(pid); err != nil {
		return res, err
	}

	// The flood, and beside it the RSS sampler and, once it runs, the floor again.
	browser := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: pageFloodWorkers, IdleConnTimeout: time.Minute},
		Timeout: requestTimeout}
	defer browser.CloseIdleConnections()
	floodCtx, stopFlood := context.WithTimeout(ctx, pageFloodCap)
	defer stopFlood()
	var (
		next                 atomic.Int64
		opened, other, bytes atomic.Int64
		firstErr             error
		errOnce              sync.Once
		wg                   sync.WaitGroup
	)
	rss := sampleRSS(floodCtx, pid, res.rss0, 50*time.Millisecond)
	t0 := time.Now()
	for w := range pageFloodWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(tokens)) || floodCtx.Err() != nil {
					return
				}
				req, err := http.NewRequestWithContext(floodCtx, http.MethodGet, "http://"+s.addr+"/s/"+tokens[i], nil)
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.49")
				req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", w, (i>>8)&255, i&255))
				resp, err := browser.Do(req)
				if err != nil {
					if floodCtx.Err() == nil {
						errOnce.Do(func() { firstErr = err })
					}
					return
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				bytes.Add(n)
				if resp.StatusCode == http.StatusOK {
					opened.Add(1)
				} else {
					other.Add(1)
				}
			}
		}()
	}
	during, floorErr := drive(floodCtx, noop, b.opts.concurrency, b.opts.duration)
	if !toTheEnd {
		stopFlood()
	}
	wg.Wait()
	res.took = time.Since(t0)
	stopFlood()
	res.peak = rss.finish()
	if firstErr != nil {
		return res, fmt.Errorf("flood: %w", firstErr)
	}
	if floorErr != nil {
		return res, fmt.Errorf("floor during the flood: %w", floorErr)
	}
	if res.rss1, err = residentKB(pid); err != nil {
		return res, err
	}
	res.opened, res.other, res.bytes = opened.Load(), other.Load(), bytes.Load()
	res.idleRPS = float64(len(idle)) / b.opts.duration.Seconds()
	res.duringRPS = float64(len(during)) / b.opts.duration.Seconds()
	return res, nil
}

// seedPageFlood writes the article, its share and the forwards, and returns the forwards' tokens.
func seedPageFlood(ctx context.Context, b *bench) ([]string, error) {
	pool, err := pgxpool.New(ctx, b.seedURL)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	material, root := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	paragraph := "<p>" + strings.Repeat("A paragraph of the article, long enough to read for a while. ", 16) + "</p>\n"
	body := strings.Repeat(paragraph, pageFloodArticle/len(paragraph)+1)[:pageFloodArticle]
	if _, err := pool.Exec(ctx, `
		INSERT INTO materials (id, tenant_id, tier, kind, status, title, body_html, text_body, published_at)
		VALUES ($1, $2, 'enterprise', 'article', 'published', 'A long article', $3, $3, now())`, material, b.tenantID, body); err != nil {
		return nil, err
	}
	if _, err := pool.Exec(ctx, `
		INSERT INTO shares (id, tenant_id, token, employee_id, target_kind, material_id, channel, root_id)
		VALUES ($1, $2, $3, $4, 'material', $5, 'chat', $1)`, root, b.tenantID, "pf"+strings.ReplaceAll(root.String(), "-", "")[18:], b.salesID, material); err != nil {
		return nil, err
	}
	rs, err := pool.Query(ctx, `
		INSERT INTO shares (id, tenant_id, token, employee_id, target_kind, material_id, channel, parent_id, root_id, depth, forwarder)
		SELECT gen_random_uuid(), $1, 'f' || lpad(g::text, 15, '0'), $2, 'material', $3, 'chat', $4, $4, 1, 'visitor-' || g
		FROM generate_series(1, $5) g
		RETURNING token`, b.tenantID, b.salesID, material, root, pageFloodTokens)
	if err != nil {
		return nil, err
	}
	var tokens []string
	for rs.Next() {
		var t string
		if err := rs.Scan(&t); err != nil {
			rs.Close()
			return nil, err
		}
		tokens = append(tokens, t)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, err
	}
	_, err = pool.Exec(ctx, "ANALYZE shares; ANALYZE materials")
	return tokens, err
}
