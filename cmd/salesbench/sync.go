package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/sync/replica"
)

// Sizes of the sync scenarios (the numbers).
const (
	syncCustomers       = 10_000
	syncEntriesPerCust  = 10 // 100,000 timeline entries
	syncChangeRows      = 1_000_000
	syncIncrementalRuns = 300
	syncPushRuns        = 100
	syncPushBatch       = 100
)

// syncPerson is the salesperson the sync scenarios use, seeded once: their own customers and timelines,
// in a change table padded to a million rows by other salespeople's changes.
type syncPerson struct {
	id        uuid.UUID
	token     string
	customers []uuid.UUID
}

func (b *bench) syncSeed(ctx context.Context) (syncPerson, error) {
	if len(b.sync.customers) > 0 {
		return b.sync, nil
	}
	sp := b.sync
	pool, err := pgxpool.New(ctx, b.seedURL)
	if err != nil {
		return sp, err
	}
	defer pool.Close()
	// As the ingest would have left them; the sync triggers index them as they go in.
	rows, err := pool.Query(ctx, `
		INSERT INTO customers (id, tenant_id, owner_id, source_channel, views, dwell_ms, intent_score, display_name,
		                       first_seen_at, last_active_at, tags, stage)
		SELECT gen_random_uuid(), $1, $2, 'chat', g % 37, (g % 601) * 1000, g % 101, 'Customer ' || g,
		       now() - (g || ' minutes')::interval, now() - ((g * 7) % 43200 || ' minutes')::interval,
		       CASE WHEN g % 10 = 0 THEN ARRAY['vip'] ELSE ARRAY[]::text[] END,
		       (ARRAY['new', 'contacted', 'interested', 'negotiating', 'won', 'lost'])[1 + g % 6]
		FROM generate_series(1, $3) AS g RETURNING id`, b.tenantID, sp.id, syncCustomers)
	if err != nil {
		return sp, err
	}
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			return sp, err
		}
		sp.customers = append(sp.customers, id)
	}
	if err := rows.Err(); err != nil {
		return sp, err
	}
	_, err = pool.Exec(ctx, `
		INSERT INTO events (tenant_id, id, customer_id, employee_id, kind, occurred_at, dwell_ms)
		SELECT $1, gen_random_uuid(), c.id, $2,
		       (ARRAY['material_view', 'card_view', 'forward', 'call_click', 'wechat_click'])[1 + g % 5],
		       now() - (g || ' hours')::interval, CASE WHEN g % 5 = 0 THEN (g % 300) * 1000 ELSE 0 END
		FROM customers c, generate_series(1, $3) AS g WHERE c.tenant_id = $1 AND c.owner_id = $2`,
		b.tenantID, sp.id, syncEntriesPerCust)
	if err != nil {
		return sp, err
	}
	var have int64
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM sync_changes").Scan(&have); err != nil {
		return sp, err
	}
	// The rest of the million: other salespeople's changes (1,000 of them), interleaved in the order.
	if pad := syncChangeRows - have; pad > 0 {
		_, err = pool.Exec(ctx, `
			INSERT INTO sync_changes (scope, kind, entity_id, tenant_id, parent_id)
			SELECT s.scope, 'timeline', gen_random_uuid(), $1, gen_random_uuid()
			FROM (SELECT gen_random_uuid() AS scope FROM generate_series(1, 1000)) s, generate_series(1, ($2 + 999) / 1000)`,
			b.tenantID, pad)
		if err != nil {
			return sp, err
		}
	}
	b.sync = sp
	return sp, b.analyze(ctx)
}

// vmHWM is a process's peak resident memory, from /proc (Linux only).
func vmHWM(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

// syncFirst measures a device's first sync: the reference client, over HTTP, saving each page with its
// cursor (fsynced) in its log file. The server's peak memory is read before and after.
func syncFirst(ctx context.Context, b *bench) (rows []row, err error) {
	sp, err := b.syncSeed(ctx)
	if err != nil {
		return nil, err
	}
	s, httpClient, protocol, err := startForLoad(ctx, b, "sync-first")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	defer httpClient.CloseIdleConnections()
	dir, err := os.MkdirTemp("", "salesbench-sync-")
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
	for i := range 3 {
		store, err := replica.OpenFile(filepath.Join(dir, fmt.Sprintf("replica-%d.log", i)), replica.FileOptions{})
		if err != nil {
			return nil, err
		}
		c, err := replica.New(httpClient, "http://"+s.addr, func() string { return sp.token }, fmt.Sprintf("bench-first-%d", i), store)
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		report, err = c.Sync(ctx)
		times = append(times, time.Since(t0))
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
	footer := protocol + "; the reference client (sync/replica) with its fsynced log file, pages of up to " + thousands(replica.MaxPageSize) + " (each asked for while the one before is saved); 3 devices one after the other"
	return []row{
		{"entities synced", thousands(int64(report.Changes)), fmt.Sprintf("%s customers + %s timeline entries and the rest of the scopes", thousands(syncCustomers), thousands(syncCustomers*syncEntriesPerCust))},
		{"pages", strconv.Itoa(report.Pages), ""},
		{"first sync, best of 3", seconds(times[0]), "≤ 3 s"},
		{"first sync, worst of 3", seconds(times[2]), "≤ 3 s"},
		{"server peak memory growth", fmt.Sprintf("%d MB", (mem1-mem0)>>20), "≤ 100 MB"},
		{"", footer, ""},
	}, nil
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// syncIncremental measures a pull that brings 10 changes, with a million rows in the change table: 10
// customers are edited, then the device pulls.
func syncIncremental(ctx context.Context, b *bench) (rows []row, err error) {
	sp, err := b.syncSeed(ctx)
	if err != nil {
		return nil, err
	}
	s, httpClient, protocol, err := startForLoad(ctx, b, "sync-incremental")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	defer httpClient.CloseIdleConnections()
	client := salesappv1connect.NewSyncServiceClient(httpClient, "http://"+s.addr)
	pull := func(cursor string) (*salesappv1.PullResponse, error) {
		req := connect.NewRequest(&salesappv1.PullRequest{DeviceId: "bench-incremental", SchemaVersion: 1, Cursor: cursor, PageSize: 1000})
		req.Header().Set("Authorization", "Bearer "+sp.token)
		res, err := client.Pull(ctx, req)
		if err != nil {
			return nil, err
		}
		return res.Msg, nil
	}
	cursor := ""
	for {
		res, err := pull(cursor)
		if err != nil {
			return nil, err
		}
		cursor = res.NextCursor
		if !res.HasMore {
			break
		}
	}
	pool, err := pgxpool.New(ctx, b.seedURL)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	var count int64
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM sync_changes").Scan(&count); err != nil {
		return nil, err
	}
	var lat []time.Duration
	changes := 0
	for i := range syncIncrementalRuns {
		ids := sp.customers[(i*10)%len(sp.customers):][:10]
		if _, err := pool.Exec(ctx, "UPDATE customers SET remark = $1 WHERE tenant_id = $2 AND id = ANY ($3)", fmt.Sprint("run ", i), b.tenantID, ids); err != nil {
			return nil, err
		}
		t0 := time.Now()
		res, err := pull(cursor)
		if err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
		changes += len(res.Changes)
		cursor = res.NextCursor
	}
	slices.Sort(lat)
	return []row{
		{"change rows in the table", thousands(count), "≥ 1,000,000"},
		{"changes per pull (mean)", fmt.Sprintf("%.1f", float64(changes)/syncIncrementalRuns), "10"},
		{"pull p50", millis(percentile(lat, 50)), "≤ 5 ms"},
		{"pull p99", millis(percentile(lat, 99)), ""},
		{"", fmt.Sprintf("%s; %d pulls, one after each edit of 10 customers", protocol, syncIncrementalRuns), ""},
	}, nil
}

// syncPush measures a push of 100 mutations (stage, tag, note, remark in turn) by one device.
func syncPush(ctx context.Context, b *bench) (rows []row, err error) {
	sp, err := b.syncSeed(ctx)
	if err != nil {
		return nil, err
	}
	s, httpClient, protocol, err := startForLoad(ctx, b, "sync-push")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	defer httpClient.CloseIdleConnections()
	client := salesappv1connect.NewSyncServiceClient(httpClient, "http://"+s.addr)
	device := "bench-push-" + uuid.NewString()[:8]
	var next uint32
	stages := []salesappv1.CustomerStage{salesappv1.CustomerStage_CUSTOMER_STAGE_CONTACTED, salesappv1.CustomerStage_CUSTOMER_STAGE_INTERESTED, salesappv1.CustomerStage_CUSTOMER_STAGE_NEGOTIATING}
	var lat []time.Duration
	applied := 0
	for run := range syncPushRuns + 5 { // the first 5 warm up
		ms := make([]*salesappv1.Mutation, syncPushBatch)
		for i := range ms {
			next++
			cid := sp.customers[int(next)%len(sp.customers)].String()
			m := &salesappv1.Mutation{Id: next}
			switch i % 4 {
			case 0:
				m.Op = &salesappv1.Mutation_SetStage{SetStage: &salesappv1.SetStage{CustomerId: cid, Stage: stages[run%3]}}
			case 1:
				m.Op = &salesappv1.Mutation_TagCustomer{TagCustomer: &salesappv1.TagCustomer{CustomerId: cid, Tag: "bench"}}
			case 2:
				m.Op = &salesappv1.Mutation_AddNote{AddNote: &salesappv1.AddNote{NoteId: uuid.NewString(), CustomerId: cid, Kind: "note", Body: "called, call back on Monday"}}
			default:
				remark := fmt.Sprint("remark ", next)
				m.Op = &salesappv1.Mutation_EditCustomer{EditCustomer: &salesappv1.EditCustomer{CustomerId: cid, Remark: &remark}}
			}
			ms[i] = m
		}
		req := connect.NewRequest(&salesappv1.PushRequest{DeviceId: device, SchemaVersion: 1, Mutations: ms})
		req.Header().Set("Authorization", "Bearer "+sp.token)
		t0 := time.Now()
		res, err := client.Push(ctx, req)
		if err != nil {
			return nil, err
		}
		if run >= 5 {
			lat = append(lat, time.Since(t0))
		}
		for _, r := range res.Msg.Results {
			if r.Outcome == salesappv1.MutationResult_OUTCOME_APPLIED {
				applied++
			}
		}
	}
	slices.Sort(lat)
	return []row{
		{"mutations per push", strconv.Itoa(syncPushBatch), "100"},
		{"applied", fmt.Sprintf("%d of %d", applied, (syncPushRuns+5)*syncPushBatch), ""},
		{"push p50", millis(percentile(lat, 50)), "≤ 50 ms"},
		{"push p99", millis(percentile(lat, 99)), ""},
		{"", fmt.Sprintf("%s; %d pushes one after another, each one transaction (savepoints only when a mutation fails)", protocol, syncPushRuns), ""},
	}, nil
}

// syncBehindLongTx's transaction in another tenant stays open this long, while the device pulls.
const (
	syncLongTxHold  = 60 * time.Second
	syncLongTxEvery = 200 * time.Millisecond
)

// syncBehindLongTx is sync-incremental while another tenant's writing transaction stays open for a
// minute: before the cursor remembered its snapshot, every pull stopped at that transaction (the
// snapshot's xmin, cluster-wide) and sent everything above it again. Each run edits 10 customers and
// pulls; a change whose customer the device already has at that remark is a resend.
func syncBehindLongTx(ctx context.Context, b *bench) (rows []row, err error) {
	sp, err := b.syncSeed(ctx)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.New(ctx, b.seedURL)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	// The other tenant, with a salesperson whose new customer the open transaction writes (a row of the
	// change log it holds uncommitted).
	other, otherSales := uuid.New(), uuid.New()
	if _, err := pool.Exec(ctx, `INSERT INTO tenants (id, name, plan, seat_limit, expires_at) VALUES ($1, 'Long transaction', 'standard', 10, now() + interval '1 year')`, other); err != nil {
		return nil, err
	}
	if _, err := pool.Exec(ctx, `INSERT INTO employees (id, tenant_id, name, role) VALUES ($1, $2, 'Other sales', 'sales')`, otherSales, other); err != nil {
		return nil, err
	}

	s, httpClient, protocol, err := startForLoad(ctx, b, "sync-behind-long-tx")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	defer httpClient.CloseIdleConnections()
	client := salesappv1connect.NewSyncServiceClient(httpClient, "http://"+s.addr)
	pull := func(cursor string) (*salesappv1.PullResponse, error) {
		req := connect.NewRequest(&salesappv1.PullRequest{DeviceId: "bench-behind-long-tx", SchemaVersion: 1, Cursor: cursor, PageSize: 1000})
		req.Header().Set("Authorization", "Bearer "+sp.token)
		res, err := client.Pull(ctx, req)
		if err != nil {
			return nil, err
		}
		return res.Msg, nil
	}
	// What the device holds: each customer's remark as last received.
	remarks := map[string]string{}
	cursor := ""
	for {
		res, err := pull(cursor)
		if err != nil {
			return nil, err
		}
		for _, c := range res.Changes {
			if cu := c.GetCustomer(); cu != nil {
				remarks[c.Id] = cu.Remark
			}
		}
		cursor = res.NextCursor
		if !res.HasMore {
			break
		}
	}

	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // committed below; a no-op then
	if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_id', $1, true)`, other.String()); err != nil {
		return nil, err
	}
	// A busy transaction, not an idle one, as far as a timeout is concerned.
	if _, err := tx.Exec(ctx, `SET LOCAL idle_in_transaction_session_timeout = 0`); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO customers (id, tenant_id, owner_id, display_name) VALUES ($1, $2, $3, 'Held open')`, uuid.New(), other, otherSales); err != nil {
		return nil, err
	}
	opened := time.Now()
	var count int64
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM sync_changes").Scan(&count); err != nil {
		return nil, err
	}

	var lat []time.Duration
	changes, resends, missing, hinted := 0, 0, 0, 0
	for i := 0; time.Since(opened) < syncLongTxHold; i++ {
		next := opened.Add(time.Duration(i) * syncLongTxEvery)
		time.Sleep(time.Until(next))
		ids := sp.customers[(i*10)%len(sp.customers):][:10]
		remark := fmt.Sprint("behind ", i)
		if _, err := pool.Exec(ctx, "UPDATE customers SET remark = $1 WHERE tenant_id = $2 AND id = ANY ($3)", remark, b.tenantID, ids); err != nil {
			return nil, err
		}
		t0 := time.Now()
		res, err := pull(cursor)
		if err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
		if res.HasMore {
			return nil, fmt.Errorf("pull %d: more than a page after an edit of 10 customers", i)
		}
		if res.RetryAfterMs > 0 {
			hinted++
		}
		got := map[string]bool{}
		for _, c := range res.Changes {
			changes++
			cu := c.GetCustomer()
			if cu == nil {
				resends++ // nothing else changed in this scope
				continue
			}
			if old, ok := remarks[c.Id]; ok && old == cu.Remark {
				resends++
			}
			remarks[c.Id], got[c.Id] = cu.Remark, true
		}
		for _, id := range ids {
			if !got[id.String()] {
				missing++
			}
		}
		cursor = res.NextCursor
	}
	held := time.Since(opened)
	// Still open after all the pulls: committing it now says so (a transaction ended by the server
	// would fail here).
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("the long transaction did not stay open: %w", err)
	}
	slices.Sort(lat)
	n := len(lat)
	return []row{
		{"change rows in the table", thousands(count), "≥ 1,000,000"},
		{"other tenant's writing transaction held open", seconds(held), "60 s"},
		{"pulls", strconv.Itoa(n), ""},
		{"changes per pull (mean)", fmt.Sprintf("%.1f", float64(changes)/float64(n)), "10"},
		{"changes sent again", strconv.Itoa(resends), "0"},
		{"changes missing from the pull after them", strconv.Itoa(missing), "0"},
		{"pulls hinting retry_after", fmt.Sprintf("%d of %d", hinted, n), ""},
		{"pull p50", millis(percentile(lat, 50)), "≤ 5 ms"},
		{"pull p99", millis(percentile(lat, 99)), ""},
		{"", fmt.Sprintf("%s; a pull every %v, each after an edit of 10 customers, while another tenant's transaction holding an uncommitted change row stays open", protocol, syncLongTxEvery), ""},
	}, nil
}
