package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
)

// Loads of share-page (issue 14: "GET /s/{token} first byte p99 ≤ 20 ms at 2,000 opens/s from the cache;
// ≤ 50 ms uncached").
const (
	sharePageRate = 2000
	// shareColdRate opens links never opened before, one each: pages the node has not cached.
	shareColdRate  = 50
	shareColdLinks = 500
)

// sharePage opens share pages as a phone's browser does (GET /s/{token}, gzip, no cookie: a new visitor
// each time) and measures the time to the first byte of the answer: first one card link over and over at
// sharePageRate (its page parts in the node's cache after the first open), then shareColdLinks links
// never opened before at shareColdRate, each once.
func sharePage(ctx context.Context, b *bench) (rows []row, err error) {
	s, httpClient, protocol, err := startForLoad(ctx, b, "share-page")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	defer httpClient.CloseIdleConnections()
	base := "http://" + s.addr
	browser := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute}}
	defer browser.CloseIdleConnections()
	open := func(ctx context.Context, token string) (time.Duration, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/s/"+token, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148")
		req.Header.Set("Accept-Encoding", "gzip")
		t0 := time.Now()
		resp, err := browser.Do(req) // returns once the status line and headers are in: the first byte
		if err != nil {
			return 0, err
		}
		first := time.Since(t0)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET /s/{token} answered %s", resp.Status)
		}
		return first, nil
	}
	if _, err := open(ctx, b.shareToken); err != nil {
		return nil, fmt.Errorf("first open: %w", err)
	}
	warm, warmFailed := pacedTimed(ctx, sharePageRate, b.opts.duration, func(ctx context.Context) (time.Duration, error) {
		return open(ctx, b.shareToken)
	})
	if len(warm) == 0 {
		return nil, fmt.Errorf("share page at %d/s: all %d opens failed", sharePageRate, warmFailed)
	}

	// Links of the salesperson's card never opened.
	shares := salesappv1connect.NewShareServiceClient(httpClient, base)
	tokens := make([]string, shareColdLinks)
	for i := range tokens {
		req := connect.NewRequest(&salesappv1.ShareCardRequest{Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT})
		req.Header().Set("Authorization", "Bearer "+b.salesToken)
		res, err := shares.ShareCard(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("share link %d: %w", i, err)
		}
		tokens[i] = res.Msg.Share.Token
	}
	var next atomic.Int64
	cold, coldFailed := pacedTimed(ctx, shareColdRate, shareColdLinks*time.Second/shareColdRate, func(ctx context.Context) (time.Duration, error) {
		i := next.Add(1) - 1
		if i >= int64(len(tokens)) {
			return 0, errors.New("out of links")
		}
		return open(ctx, tokens[i])
	})
	if len(cold) == 0 {
		return nil, fmt.Errorf("uncached share pages: all %d opens failed", coldFailed)
	}
	return []row{
		{"protocol", "HTTP/1.1 keep-alive, gzip, a new visitor each open (no cookie); load client: " + protocol, ""},
		{fmt.Sprintf("cached: opens at %d/s, open loop", sharePageRate), fmt.Sprintf("%s answered, %s failed", thousands(int64(len(warm))), thousands(warmFailed)), ""},
		{"cached: first byte p50", millis(percentile(warm, 50)), ""},
		{"cached: first byte p99", millis(percentile(warm, 99)), "≤ 20 ms"},
		{fmt.Sprintf("uncached: links opened once each at %d/s", shareColdRate), fmt.Sprintf("%s answered, %s failed", thousands(int64(len(cold))), thousands(coldFailed)), ""},
		{"uncached: first byte p50", millis(percentile(cold, 50)), ""},
		{"uncached: first byte p99", millis(percentile(cold, 99)), "≤ 50 ms"},
	}, nil
}
