package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/sync/replica"
)

// Sizes of sync-manager-first (issue 18): a manager of 10 teams of 50 salespeople and 100,000 customers,
// their own team and nine an admin added (team_leads, migration 055).
const (
	mgrTeams       = 10
	mgrTeamSize    = 50
	mgrSalespeople = mgrTeams * mgrTeamSize
	mgrCustomers   = 100_000
	mgrNoteEvery   = 10 // a note on every 10th customer: 10,000 notes
)

// managerOf is the manager sync-manager-first syncs, with their team.
type managerOf struct {
	id, team uuid.UUID
	token    string
}

// syncManagerSeed gives the manager nine more teams, the ten teams their salespeople and those their
// customers, each with one recent timeline entry, and every 10th with a note. The sync triggers index
// them in the owners' scopes and, as they go in, in the manager's.
func (b *bench) syncManagerSeed(ctx context.Context) error {
	pool, err := pgxpool.New(ctx, b.seedURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	m := b.manager
	steps := []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO teams (id, tenant_id, name) SELECT gen_random_uuid(), $1, 'Region team ' || g FROM generate_series(2, $2) AS g`,
			[]any{b.tenantID, mgrTeams}},
		{`INSERT INTO team_leads (tenant_id, team_id, manager_id, granted)
		  SELECT $1, id, $2, true FROM teams WHERE tenant_id = $1 AND name LIKE 'Region team %'`,
			[]any{b.tenantID, m.id}},
		{`INSERT INTO employees (id, tenant_id, name, role, team_id)
		  SELECT gen_random_uuid(), $1, 'Team sales ' || l.team_id || ' ' || g, 'sales', l.team_id
		    FROM team_leads l, generate_series(1, $3) AS g WHERE l.tenant_id = $1 AND l.manager_id = $2`,
			[]any{b.tenantID, m.id, mgrTeamSize}},
		{`INSERT INTO customers (id, tenant_id, owner_id, source_channel, views, dwell_ms, intent_score, display_name,
		                         first_seen_at, last_active_at, tags, stage)
		  SELECT gen_random_uuid(), $1, e.ids[1 + g % array_length(e.ids, 1)], 'chat', g % 37, (g % 601) * 1000, g % 101,
		         'Team customer ' || g, now() - (g || ' minutes')::interval, now() - ((g * 7) % 43200 || ' minutes')::interval,
		         CASE WHEN g % 10 = 0 THEN ARRAY['vip'] ELSE ARRAY[]::text[] END,
		         (ARRAY['new', 'contacted', 'interested', 'negotiating', 'won', 'lost'])[1 + g % 6]
		    FROM (SELECT array_agg(id) AS ids FROM employees WHERE tenant_id = $1 AND role = 'sales'
		             AND team_id IN (SELECT team_id FROM team_leads WHERE tenant_id = $1 AND manager_id = $2)) e,
		         generate_series(1, $3) AS g`,
			[]any{b.tenantID, m.id, mgrCustomers}},
		{`INSERT INTO events (tenant_id, id, customer_id, employee_id, kind, occurred_at)
		  SELECT $1, gen_random_uuid(), c.id, c.owner_id, 'material_view', c.last_active_at
		    FROM customers c JOIN employees e ON e.tenant_id = c.tenant_id AND e.id = c.owner_id
		   WHERE c.tenant_id = $1 AND e.team_id IN (SELECT team_id FROM team_leads WHERE tenant_id = $1 AND manager_id = $2)`,
			[]any{b.tenantID, m.id}},
		{`INSERT INTO customer_notes (id, tenant_id, customer_id, author_id, kind, body)
		  SELECT gen_random_uuid(), $1, c.id, c.owner_id, 'note', 'Called; wants a demo of ' || c.display_name
		    FROM customers c JOIN employees e ON e.tenant_id = c.tenant_id AND e.id = c.owner_id
		   WHERE c.tenant_id = $1 AND e.team_id IN (SELECT team_id FROM team_leads WHERE tenant_id = $1 AND manager_id = $2)
		     AND c.intent_score % $3 = 0`,
			[]any{b.tenantID, m.id, mgrNoteEvery}},
	}
	for _, s := range steps {
		if _, err := pool.Exec(ctx, s.sql, s.args...); err != nil {
			return err
		}
	}
	return b.analyze(ctx)
}

// syncManagerFirst measures a manager device's first sync of their ten teams (the reference client, as
// sync-first), and the server's peak memory growth.
func syncManagerFirst(ctx context.Context, b *bench) (rows []row, err error) {
	t0 := time.Now()
	if err := b.syncManagerSeed(ctx); err != nil {
		return nil, err
	}
	seeded := time.Since(t0)
	s, httpClient, protocol, err := startForLoad(ctx, b, "sync-manager-first")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	defer httpClient.CloseIdleConnections()
	dir, err := os.MkdirTemp("", "salesbench-sync-manager-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	pid := s.cmd.Process.Pid
	mem0, err := vmHWM(pid)
	if err != nil {
		return nil, err
	}
	var times []time.Duration
	var report replica.SyncReport
	var customers, readOnly int
	for i := range 3 {
		store, err := replica.OpenFile(filepath.Join(dir, fmt.Sprintf("replica-%d.log", i)), replica.FileOptions{})
		if err != nil {
			return nil, err
		}
		c, err := replica.New(httpClient, "http://"+s.addr, func() string { return b.manager.token }, fmt.Sprintf("bench-manager-%d", i), store)
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		report, err = c.Sync(ctx)
		times = append(times, time.Since(t0))
		if err == nil && i == 0 {
			customers, readOnly = 0, 0
			for _, v := range c.Entities() {
				if cu, ok := v.(*salesappv1.SyncCustomer); ok {
					customers++
					if cu.ReadOnly {
						readOnly++
					}
				}
			}
		}
		if cerr := c.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
	}
	mem1, err := vmHWM(pid)
	if err != nil {
		return nil, err
	}
	slices.Sort(times)
	footer := fmt.Sprintf("%s; the reference client (sync/replica) with its fsynced log file, pages of up to %s (each asked for while the one before is saved); 3 devices one after the other; seeding (triggers fanning out to the manager's scope) took %s",
		protocol, thousands(replica.MaxPageSize), seconds(seeded))
	return []row{
		{"entities synced", thousands(int64(report.Changes)), fmt.Sprintf("%s customers of %d salespeople in %d teams (%s read-only) + one timeline entry each + a note on every %dth + the members",
			thousands(int64(customers)), mgrSalespeople, mgrTeams, thousands(int64(readOnly)), mgrNoteEvery)},
		{"pages", strconv.Itoa(report.Pages), ""},
		{"first sync, best of 3", seconds(times[0]), "≤ 5 s"},
		{"first sync, worst of 3", seconds(times[2]), "≤ 5 s"},
		{"server peak memory growth", fmt.Sprintf("%d MB", (mem1-mem0)>>20), "≤ 100 MB"},
		{"", footer, ""},
	}, nil
}
