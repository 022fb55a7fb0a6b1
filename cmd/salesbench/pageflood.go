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
// of that share (each a link of its own, as forwards by as many visitors make), then opens every one of
// them once as fast as pageFloodWorkers can, each request from an address of its own (salesd trusts this
// process as its proxy: a botnet's flood, past the per-address limits). salesd's resident memory is
// sampled throughout; the no-op RPC floor is measured alone first, then during the flood.
func publicFloodPages(ctx context.Context, b *bench) (rows []row, err error) {
	tokens, err := seedPageFlood(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("seed the forwards: %w", err)
	}
	s, err := b.startReady(ctx, "public-flood-pages", "SALESD_TRUSTED_PROXIES=127.0.0.1")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	pid := s.cmd.Process.Pid
	httpClient, protocol := loadClient(b.opts.concurrency, b.opts.http1)
	defer httpClient.CloseIdleConnections()
	ping := salesappv1connect.NewPingServiceClient(httpClient, "http://"+s.addr)
	noop := func(ctx context.Context) error {
		req := connect.NewRequest(&salesappv1.PingRequest{})
		req.Header().Set("Authorization", "Bearer "+b.token)
		_, err := ping.Ping(ctx, req)
		return err
	}
	if _, err := drive(ctx, noop, b.opts.concurrency, b.opts.warmup); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	idle, err := drive(ctx, noop, b.opts.concurrency, b.opts.duration)
	if err != nil {
		return nil, fmt.Errorf("idle floor: %w", err)
	}
	rss0, err := residentKB(pid)
	if err != nil {
		return nil, err
	}

	// The flood, and beside it the RSS sampler and, once it runs, the floor again.
	browser := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: pageFloodWorkers, IdleConnTimeout: time.Minute},
		Timeout: requestTimeout}
	defer browser.CloseIdleConnections()
	floodCtx, stopFlood := context.WithTimeout(ctx, pageFloodCap)
	defer stopFlood()
	var (
		next                       atomic.Int64
		opened, other, bytes, peak atomic.Int64
		firstErr                   error
		errOnce                    sync.Once
		wg                         sync.WaitGroup
	)
	peak.Store(rss0)
	samplerDone := make(chan struct{})
	go func() {
		defer close(samplerDone)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-floodCtx.Done():
				return
			case <-tick.C:
			}
			if kb, err := residentKB(pid); err == nil && kb > peak.Load() {
				peak.Store(kb)
			}
		}
	}()
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
	wg.Wait()
	took := time.Since(t0)
	stopFlood()
	<-samplerDone
	if firstErr != nil {
		return nil, fmt.Errorf("flood: %w", firstErr)
	}
	if floorErr != nil {
		return nil, fmt.Errorf("floor during the flood: %w", floorErr)
	}
	rss1, err := residentKB(pid)
	if err != nil {
		return nil, err
	}
	idleRPS := float64(len(idle)) / b.opts.duration.Seconds()
	duringRPS := float64(len(during)) / b.opts.duration.Seconds()
	return []row{
		{"flood", fmt.Sprintf("GET /s/{token} of %s forwards of one %d KB article, %d workers, an address each request, no gzip",
			thousands(pageFloodTokens), pageFloodArticle>>10, pageFloodWorkers), ""},
		{"opened (200) / other answers", fmt.Sprintf("%s / %s in %s (%s/s), %s MB sent", thousands(opened.Load()), thousands(other.Load()),
			took.Round(time.Millisecond), thousands(int64(float64(opened.Load()+other.Load())/took.Seconds())), thousands(bytes.Load()>>20)), ""},
		{"salesd resident memory: before / peak / after", fmt.Sprintf("%s / %s / %s MB", thousands(rss0>>10), thousands(peak.Load()>>10),
			thousands(rss1>>10)), "peak ≤ 500 MB"},
		{"no-op floor, " + protocol + ": alone / during", fmt.Sprintf("%s / %s requests/s (%.0f%%)", thousands(int64(idleRPS)),
			thousands(int64(duringRPS)), 100*duringRPS/idleRPS), "during ≥ 70% of alone"},
	}, nil
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
