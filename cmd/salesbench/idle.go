package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/server"
	"github.com/salesapp/scrm/backend/tenant"
)

// idleConns is how many idle WebSockets idle-websockets holds open: the issue's 10,000.
const idleConns = 10_000

// idleWindow is how long idle-websockets watches the idle connections' CPU cost.
const idleWindow = 10 * time.Second

// idleWebSockets signs in idleConns salespeople of a tenant of their own, opens one WebSocket for each
// (the app in the foreground, nothing to deliver), and measures what holding them costs salesd: resident
// memory per connection, and the CPU salesd and PostgreSQL spend per second while nothing happens.
func idleWebSockets(ctx context.Context, b *bench) (rows []row, err error) {
	_, tokens, err := b.crowd(ctx, "Idle", idleConns)
	if err != nil {
		return nil, err
	}
	s, err := b.startReady(ctx, "idle-websockets")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	// Let the process settle (pools, caches) before its baseline.
	time.Sleep(time.Second)
	rss0, err := residentKB(s.cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	mem0, err := s.goMemory()
	if err != nil {
		return nil, err
	}

	conns := make([]*websocket.Conn, len(tokens))
	defer func() {
		for _, c := range conns {
			if c != nil {
				_ = c.Close()
			}
		}
	}()
	var (
		next   atomic.Int64
		wg     sync.WaitGroup
		mu     sync.Mutex
		dialEr error
	)
	dialer := &websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 512, WriteBufferSize: 512}
	start := time.Now()
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(tokens) {
					return
				}
				c, err := openIdle(ctx, dialer, s.addr, tokens[i], i)
				if err != nil {
					mu.Lock()
					dialEr = errors.Join(dialEr, fmt.Errorf("connection %d: %w", i, err))
					mu.Unlock()
					return
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	if dialEr != nil {
		return nil, dialEr
	}
	opened := time.Since(start)
	// The clients read nothing further, but answer pings (gorilla does when a read is pending), so a
	// reader runs per connection; what it receives is counted, and must be nothing but pings.
	var frames atomic.Int64
	for _, c := range conns {
		go func() {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
				frames.Add(1)
			}
		}()
	}
	time.Sleep(2 * time.Second) // the last connections' first reads and replies
	cpu, err := meterCPU(s)
	if err != nil {
		return nil, err
	}
	time.Sleep(idleWindow)
	salesdCPU, pgCPU, _, err := cpu.read()
	if err != nil {
		return nil, err
	}
	rss1, err := residentKB(s.cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	mem1, err := s.goMemory()
	if err != nil {
		return nil, err
	}
	if n := frames.Load(); n > 0 {
		return nil, fmt.Errorf("idle connections received %d messages", n)
	}
	n := float64(len(conns))
	share := func(d time.Duration) string {
		return fmt.Sprintf("%.1f%% of a core", 100*d.Seconds()/idleWindow.Seconds())
	}
	return []row{
		{"connections", fmt.Sprintf("%s, one per salesperson, opened in %.1f s (32 at a time)", thousands(int64(len(conns))), opened.Seconds()), ""},
		{"salesd resident memory", fmt.Sprintf("%s KB before, %s KB with them open", thousands(rss0), thousands(rss1)), ""},
		{"resident memory per connection", fmt.Sprintf("%.1f KB", float64(rss1-rss0)/n), "≤ 30 KB"},
		{"Go heap and stacks in use per connection (after a collection)", fmt.Sprintf("%.1f KB", float64(mem1-mem0)/1024/n), "≤ 30 KB"},
		{"salesd CPU while idle", share(salesdCPU - cpu.salesd), ""},
		{"PostgreSQL CPU while idle", share(pgCPU - cpu.pg), ""},
	}, nil
}

// openIdle opens one salesperson's WebSocket and resumes from nothing: the stream is empty, so the hub
// answers with a reset to seq 0 and then has nothing to say.
func openIdle(ctx context.Context, d *websocket.Dialer, addr, token string, i int) (*websocket.Conn, error) {
	c, resp, err := d.DialContext(ctx, "ws://"+addr+"/ws", http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if err := c.WriteJSON(map[string]any{"type": "resume", "epoch": "", "seq": 0, "device_id": "idle-" + strconv.Itoa(i)}); err != nil {
		c.Close()
		return nil, err
	}
	var reset struct{ Type string }
	if err := c.ReadJSON(&reset); err != nil {
		c.Close()
		return nil, err
	}
	if reset.Type != "reset" {
		c.Close()
		return nil, fmt.Errorf("first frame %q, want reset", reset.Type)
	}
	return c, nil
}

// crowd makes a tenant called name with an admin and n salespeople and signs each in, returning the
// admin's access token and the salespeople's.
func (b *bench) crowd(ctx context.Context, name string, n int) (admin string, tokens []string, err error) {
	cfg, err := platform.LoadConfig(func(k string) string { return b.env[k] })
	if err != nil {
		return "", nil, err
	}
	owner, err := pgxpool.New(ctx, b.ownerURL)
	if err != nil {
		return "", nil, err
	}
	defer owner.Close()
	t, err := tenant.CreateTenant(ctx, owner, tenant.NewTenant{Name: name, Plan: tenant.PlanEnterprise, SeatLimit: n + 1, ExpiresAt: time.Now().AddDate(1, 0, 0)})
	if err != nil {
		return "", nil, err
	}
	// In bulk, in a transaction scoped to the new tenant (row-level security binds the owner too).
	var ids []uuid.UUID
	err = pgx.BeginFunc(ctx, owner, func(tx pgx.Tx) error {
		if err := platform.SetTenant(ctx, tx, t.ID); err != nil {
			return err
		}
		// The admin goes first in ids.
		rows, err := tx.Query(ctx, `WITH made AS (
			INSERT INTO employees (id, tenant_id, name, role)
			SELECT gen_random_uuid(), $1, CASE WHEN g = 0 THEN 'Admin' ELSE $3 || ' ' || g END, CASE WHEN g = 0 THEN 'admin' ELSE 'sales' END
			FROM generate_series(0, $2) g RETURNING id, role)
			SELECT id FROM made ORDER BY role <> 'admin', id`, t.ID, n, name)
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		return err
	})
	if err != nil {
		return "", nil, err
	}
	db, err := platform.OpenDB(ctx, cfg.DatabaseURL, 16)
	if err != nil {
		return "", nil, err
	}
	defer db.Close()
	_, sessions, _, err := server.Accounts(cfg, db)
	if err != nil {
		return "", nil, err
	}
	all := make([]string, len(ids))
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		errs = make([]error, 16)
	)
	for w := range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) {
					return
				}
				pair, err := sessions.IssueSession(ctx, t.ID, ids[i], "idle-phone")
				if err != nil {
					errs[w] = err
					return
				}
				all[i] = pair.AccessToken
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return "", nil, err
	}
	return all[0], all[1:], nil
}

// rssSampler samples a process's resident set every interval until stopped, keeping the peak (KB).
type rssSampler struct {
	peak atomic.Int64
	stop context.CancelFunc
	done chan struct{}
}

// sampleRSS starts sampling pid, from a peak of from KB.
func sampleRSS(ctx context.Context, pid int, from int64, every time.Duration) *rssSampler {
	ctx, stop := context.WithCancel(ctx)
	s := &rssSampler{stop: stop, done: make(chan struct{})}
	s.peak.Store(from)
	go func() {
		defer close(s.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if kb, err := residentKB(pid); err == nil && kb > s.peak.Load() {
				s.peak.Store(kb)
			}
		}
	}()
	return s
}

// finish stops sampling and returns the peak in KB.
func (s *rssSampler) finish() int64 {
	s.stop()
	<-s.done
	return s.peak.Load()
}

// residentKB is a process's resident set (VmRSS) in KB.
func residentKB(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:")); ok {
			return strconv.ParseInt(string(bytes.Fields(v)[0]), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
