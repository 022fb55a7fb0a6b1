package pool_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/pool"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/backend/tracking"
	"github.com/salesapp/scrm/push/alert"
)

type fixture struct {
	db     *pgtest.DB
	tenant pgtest.Tenant
	pools  *pool.Service
	// now is the pools' clock.
	now *time.Time
	mu  *sync.Mutex
}

func setup(t testing.TB) fixture {
	t.Helper()
	db := pgtest.New(t)
	now, mu := time.Now(), &sync.Mutex{}
	f := fixture{db: db, tenant: db.NewTenant(t, "Pools"), now: &now, mu: mu}
	f.pools = pool.NewService(db.App, nil, nil, func() time.Time { mu.Lock(); defer mu.Unlock(); return *f.now })
	return f
}

func (f fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.now
}

func (f fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	*f.now = f.now.Add(d)
}

func requireKind(t *testing.T, want platform.Kind, err error, msgAndArgs ...any) {
	t.Helper()
	require.Error(t, err, msgAndArgs...)
	require.Equal(t, want, platform.KindOf(err), append([]any{"error: %v"}, err)...)
}

// customer writes a customer straight into the database (owner uuid.Nil: nobody, a lead).
func (f fixture) customer(t *testing.T, owner uuid.UUID, name, phone string) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	_, err := f.db.Super.Exec(context.Background(),
		"INSERT INTO customers (id, tenant_id, owner_id, display_name, phone) VALUES ($1, $2, $3, $4, $5)",
		id, f.tenant.ID, uuid.NullUUID{UUID: owner, Valid: owner != uuid.Nil}, name, phone)
	require.NoError(t, err)
	return id
}

// synced reads the sync row of a customer in an employee's scope: present, and whether a tombstone.
func (f fixture) synced(t *testing.T, employee, customerID uuid.UUID) (bool, bool) {
	t.Helper()
	var tomb bool
	err := f.db.Super.QueryRow(context.Background(),
		"SELECT tombstone FROM sync_changes WHERE scope = $1 AND kind = 'customer' AND entity_id = $2", employee, customerID).Scan(&tomb)
	if err != nil {
		return false, false
	}
	return true, tomb
}

func (f fixture) owner(t *testing.T, customerID uuid.UUID) uuid.UUID {
	t.Helper()
	var o uuid.NullUUID
	require.NoError(t, f.db.Super.QueryRow(context.Background(), "SELECT owner_id FROM customers WHERE id = $1", customerID).Scan(&o))
	return o.UUID
}

func settings(name string) pool.Settings {
	return pool.Settings{Name: name, DailyClaimCap: 10, MaxHeld: 10}
}

func ids(leads []pool.Lead) []uuid.UUID {
	var out []uuid.UUID
	for _, l := range leads {
		out = append(out, l.CustomerID)
	}
	return out
}

// Admins make pools; the first is the default, making another the default moves it; salespeople see the
// pools open to everyone and to their team.
func TestAdminsSetUpPoolsByTeam(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	east, west := f.db.NewTeam(t, f.tenant.ID, "East"), f.db.NewTeam(t, f.tenant.ID, "West")
	eastSales := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, east)
	westSales := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, west)
	manager := f.db.NewEmployee(t, f.tenant.ID, authn.RoleManager, east)

	_, err := f.pools.Create(ctx, manager, settings("Mine"))
	requireKind(t, platform.KindPermissionDenied, err, "only admins")
	_, err = f.pools.Create(ctx, f.tenant.Admin, pool.Settings{Name: " ", DailyClaimCap: 1, MaxHeld: 1})
	requireKind(t, platform.KindInvalid, err)
	bad := settings("Bad")
	bad.TeamIDs = []uuid.UUID{uuid.New()}
	_, err = f.pools.Create(ctx, f.tenant.Admin, bad)
	requireKind(t, platform.KindInvalid, err, "a team of no one")

	all, err := f.pools.Create(ctx, f.tenant.Admin, settings("Everyone"))
	require.NoError(t, err)
	require.True(t, all.Default, "the first pool is the default")
	s := settings("East China")
	s.Region, s.TeamIDs = "East", []uuid.UUID{east}
	eastPool, err := f.pools.Create(ctx, f.tenant.Admin, s)
	require.NoError(t, err)
	require.False(t, eastPool.Default)
	_, err = f.pools.Create(ctx, f.tenant.Admin, settings("Everyone"))
	requireKind(t, platform.KindAlreadyExists, err)

	names := func(p authn.Principal) []string {
		list, err := f.pools.List(ctx, p)
		require.NoError(t, err)
		var out []string
		for _, pl := range list {
			out = append(out, pl.Name)
		}
		return out
	}
	require.Equal(t, []string{"Everyone", "East China"}, names(eastSales))
	require.Equal(t, []string{"Everyone"}, names(westSales))
	require.Equal(t, []string{"Everyone", "East China"}, names(f.tenant.Admin))
	_, _, err = f.pools.Leads(ctx, westSales, eastPool.ID, 10, "")
	requireKind(t, platform.KindNotFound, err, "another team's pool")

	s.Default = true
	_, err = f.pools.Update(ctx, f.tenant.Admin, eastPool.ID, s)
	require.NoError(t, err)
	list, err := f.pools.List(ctx, f.tenant.Admin)
	require.NoError(t, err)
	require.Equal(t, "East China", list[0].Name)
	require.True(t, list[0].Default)
	require.False(t, list[1].Default, "one default per tenant")
	s.Default = false
	_, err = f.pools.Update(ctx, f.tenant.Admin, eastPool.ID, s)
	requireKind(t, platform.KindFailedPrecondition, err, "the default stays until another takes over")

	var entries int
	require.NoError(t, f.db.Super.QueryRow(ctx, "SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action LIKE 'pool.%'", f.tenant.ID).Scan(&entries))
	require.Equal(t, 3, entries, "two creations and one update are audited")
}

// A new visitor of a share under the `pool` owner rule lands in the default pool, masked; a claimed lead
// arrives on the claimer's device and leaves the pool.
func TestOwnerRuleLeadsLandInTheDefaultPoolMaskedUntilClaimed(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	sales := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, uuid.Nil)
	def, err := f.pools.Create(ctx, f.tenant.Admin, settings("Default"))
	require.NoError(t, err)
	other, err := f.pools.Create(ctx, f.tenant.Admin, settings("Other"))
	require.NoError(t, err)
	_, err = f.db.Super.Exec(ctx, "UPDATE tenants SET customer_owner_rule = 'pool' WHERE id = $1", f.tenant.ID)
	require.NoError(t, err)

	shares := share.NewService(f.db.App, "https://cards.example")
	ingest := tracking.NewService(f.db.App, shares, slog.New(slog.DiscardHandler), tracking.Config{})
	t.Cleanup(ingest.Close)
	sh, err := shares.ShareCard(ctx, sales, event.ChannelChat)
	require.NoError(t, err)
	_, err = ingest.Ingest(ctx, []tracking.Event{
		{ID: uuid.New(), Kind: event.CardView, ShareToken: sh.Token, VisitorID: "visitor-0001", OccurredAt: time.Now()},
		{ID: uuid.New(), Kind: event.PhoneLeft, ShareToken: sh.Token, VisitorID: "visitor-0001", OccurredAt: time.Now(), Phone: "13812341234"},
	})
	require.NoError(t, err)

	leads, next, err := f.pools.Leads(ctx, sales, def.ID, 10, "")
	require.NoError(t, err)
	require.Empty(t, next)
	require.Len(t, leads, 1)
	lead := leads[0]
	require.Equal(t, "138****1234", lead.MaskedPhone)
	require.Equal(t, pool.ReasonOwnerRule, lead.Reason)
	require.Equal(t, uuid.Nil, f.owner(t, lead.CustomerID))
	inOther, _, err := f.pools.Leads(ctx, sales, other.ID, 10, "")
	require.NoError(t, err)
	require.Empty(t, inOther)
	requireKind(t, platform.KindNotFound, f.pools.Claim(ctx, sales, other.ID, lead.CustomerID), "not a lead of that pool")

	require.NoError(t, f.pools.Claim(ctx, sales, def.ID, lead.CustomerID))
	require.Equal(t, sales.EmployeeID, f.owner(t, lead.CustomerID))
	present, tomb := f.synced(t, sales.EmployeeID, lead.CustomerID)
	require.True(t, present, "the claimed lead arrives on the claimer's device")
	require.False(t, tomb)
	leads, _, err = f.pools.Leads(ctx, sales, def.ID, 10, "")
	require.NoError(t, err)
	require.Empty(t, leads)
}

// Many salespeople claim the same lead at once: exactly one wins, the others are told it is gone.
func TestConcurrentClaimsOfOneLeadHaveOneWinner(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	def, err := f.pools.Create(ctx, f.tenant.Admin, settings("Default"))
	require.NoError(t, err)
	lead := f.customer(t, uuid.Nil, "Lead", "13800001111")
	var claimers []authn.Principal
	for range 12 {
		claimers = append(claimers, f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, uuid.Nil))
	}
	errs := make([]error, len(claimers))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = f.pools.Claim(ctx, c, def.ID, lead)
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "a second winner")
			winner = i
			continue
		}
		requireKind(t, platform.KindFailedPrecondition, err)
		require.Contains(t, err.Error(), "claimed this lead first")
	}
	require.NotEqual(t, -1, winner, "nobody won")
	require.Equal(t, claimers[winner].EmployeeID, f.owner(t, lead))
	var claims int
	require.NoError(t, f.db.Super.QueryRow(ctx, "SELECT count(*) FROM pool_claims WHERE customer_id = $1", lead).Scan(&claims))
	require.Equal(t, 1, claims)
}

// The held cap counts leads still held from the pool; the daily cap counts claims since the tenant's
// midnight, and resets the next day.
func TestClaimCaps(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	sales := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, uuid.Nil)
	def, err := f.pools.Create(ctx, f.tenant.Admin, pool.Settings{Name: "Default", DailyClaimCap: 3, MaxHeld: 2})
	require.NoError(t, err)
	var leads []uuid.UUID
	for range 6 {
		leads = append(leads, f.customer(t, uuid.Nil, "Lead", ""))
	}
	require.NoError(t, f.pools.Claim(ctx, sales, def.ID, leads[0]))
	require.NoError(t, f.pools.Claim(ctx, sales, def.ID, leads[1]))
	err = f.pools.Claim(ctx, sales, def.ID, leads[2])
	requireKind(t, platform.KindResourceExhausted, err, "holding two")
	require.Contains(t, err.Error(), "release or close one")

	requireKind(t, platform.KindInvalid, f.pools.Release(ctx, sales, def.ID, leads[0], "  "), "a release needs a reason")
	require.NoError(t, f.pools.Release(ctx, sales, def.ID, leads[0], "wrong number"))
	require.NoError(t, f.pools.Claim(ctx, sales, def.ID, leads[2]))
	require.NoError(t, f.pools.Release(ctx, sales, def.ID, leads[2], "not interested"))
	err = f.pools.Claim(ctx, sales, def.ID, leads[3])
	requireKind(t, platform.KindResourceExhausted, err, "three claims today")
	var pe *platform.Error
	require.ErrorAs(t, err, &pe)
	require.Positive(t, pe.RetryAfter, "says when to try again")
	require.LessOrEqual(t, pe.RetryAfter, 24*time.Hour)

	f.advance(24 * time.Hour)
	require.NoError(t, f.pools.Claim(ctx, sales, def.ID, leads[3]), "a new day")
}

// Releasing needs the customer to be the caller's; it is a tombstone on the old owner's device, waits in
// the chosen pool with its reason, and the next claimer reads why it came back.
func TestReleaseSendsTheCustomerBackWithItsReason(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	owner := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, uuid.Nil)
	other := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, uuid.Nil)
	_, err := f.pools.Create(ctx, f.tenant.Admin, settings("Default"))
	require.NoError(t, err)
	cold, err := f.pools.Create(ctx, f.tenant.Admin, settings("Cold"))
	require.NoError(t, err)
	c := f.customer(t, owner.EmployeeID, "Mr Wang", "+8613912345678")
	_, err = f.db.Super.Exec(ctx, "UPDATE customers SET stage = 'contacted' WHERE id = $1", c) // a change: the owner's sync row
	require.NoError(t, err)

	requireKind(t, platform.KindNotFound, f.pools.Release(ctx, other, cold.ID, c, "mine now"), "not theirs")
	requireKind(t, platform.KindNotFound, f.pools.Release(ctx, owner, uuid.New(), c, "gone"), "no such pool")
	require.NoError(t, f.pools.Release(ctx, owner, cold.ID, c, "moved abroad"))
	require.Equal(t, uuid.Nil, f.owner(t, c))
	present, tomb := f.synced(t, owner.EmployeeID, c)
	require.True(t, present)
	require.True(t, tomb, "a released customer is a tombstone on the old owner's device")
	requireKind(t, platform.KindNotFound, f.pools.Release(ctx, owner, cold.ID, c, "again"), "not theirs any more")

	leads, _, err := f.pools.Leads(ctx, other, cold.ID, 10, "")
	require.NoError(t, err)
	require.Len(t, leads, 1)
	require.Equal(t, pool.ReasonReleased, leads[0].Reason)
	require.Equal(t, "moved abroad", leads[0].Note)
	require.Equal(t, "139****5678", leads[0].MaskedPhone)

	require.NoError(t, f.pools.Claim(ctx, other, cold.ID, c))
	var body string
	require.NoError(t, f.db.Super.QueryRow(ctx, "SELECT body FROM customer_notes WHERE customer_id = $1", c).Scan(&body))
	require.Equal(t, "Released to the pool: 《Cold》 moved abroad", body)
	var noteTomb bool
	require.NoError(t, f.db.Super.QueryRow(ctx, "SELECT tombstone FROM sync_changes WHERE scope = $1 AND kind = 'note' AND parent_id = $2",
		other.EmployeeID, c).Scan(&noteTomb))
	require.False(t, noteTomb, "the note travels with the customer to the claimer")
}

// Paging a pool returns every lead once.
func TestLeadsPage(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	def, err := f.pools.Create(ctx, f.tenant.Admin, settings("Default"))
	require.NoError(t, err)
	owner := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, uuid.Nil)
	want := map[uuid.UUID]bool{}
	for i := range 7 {
		if i%2 == 0 {
			want[f.customer(t, uuid.Nil, "Lead", "")] = true
			continue
		}
		c := f.customer(t, owner.EmployeeID, "Released", "")
		require.NoError(t, f.pools.Release(ctx, owner, def.ID, c, "no answer"))
		want[c] = true
	}
	got := map[uuid.UUID]bool{}
	token := ""
	for range 10 {
		page, next, err := f.pools.Leads(ctx, owner, def.ID, 3, token)
		require.NoError(t, err)
		for _, id := range ids(page) {
			require.False(t, got[id], "sent twice")
			got[id] = true
		}
		if next == "" {
			break
		}
		token = next
	}
	require.Equal(t, want, got)
}

func (f fixture) alertsOf(t *testing.T, p authn.Principal, kind alert.Kind) []alert.Entry {
	t.Helper()
	entries, err := alert.NewService(f.db.App).Since(context.Background(), alert.Key{TenantID: p.TenantID, EmployeeID: p.EmployeeID}, 0, 1000)
	require.NoError(t, err)
	var out []alert.Entry
	for _, e := range entries {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// A held lead with no follow-up for the pool's N days: a follow-up moves the due time on; the holder is
// warned once a day before; then it goes back to the pool (a tombstone on their device), and they may
// claim it again only after the cool-down.
func TestRecycleWarnsThenTakesBackANeglectedLead(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	sales := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, uuid.Nil)
	s := settings("Default")
	s.Recycle = pool.Recycle{NoFollowUpDays: 3, NoProgressDays: 30, CooldownDays: 2}
	def, err := f.pools.Create(ctx, f.tenant.Admin, s)
	require.NoError(t, err)
	require.Equal(t, s.Recycle, def.Recycle)
	lead := f.customer(t, uuid.Nil, "Ms Li", "13800002222")
	t0 := f.clock()
	require.NoError(t, f.pools.Claim(ctx, sales, def.ID, lead))

	res, err := f.pools.Recycle(ctx)
	require.NoError(t, err)
	require.Equal(t, pool.RecycleResult{}, res, "nothing is due on the day of the claim")

	// A follow-up on day 1: due on day 4 now, not day 3.
	_, err = f.db.Super.Exec(ctx, "INSERT INTO customer_notes (id, tenant_id, customer_id, author_id, kind, body, created_at) VALUES ($1, $2, $3, $4, 'follow_up', 'called', $5)",
		uuid.New(), f.tenant.ID, lead, sales.EmployeeID, t0.Add(24*time.Hour))
	require.NoError(t, err)
	f.advance(2*24*time.Hour + time.Minute)
	res, err = f.pools.Recycle(ctx)
	require.NoError(t, err)
	require.Equal(t, pool.RecycleResult{Rescheduled: 1}, res, "the follow-up moved the check on")
	require.Empty(t, f.alertsOf(t, sales, alert.KindLeadRecycleWarning))

	f.advance(24 * time.Hour) // day 3: due tomorrow
	res, err = f.pools.Recycle(ctx)
	require.NoError(t, err)
	require.Equal(t, pool.RecycleResult{Warned: 1}, res)
	res, err = f.pools.Recycle(ctx)
	require.NoError(t, err)
	require.Equal(t, pool.RecycleResult{}, res, "warned once")
	warnings := f.alertsOf(t, sales, alert.KindLeadRecycleWarning)
	require.Len(t, warnings, 1)
	require.Contains(t, warnings[0].Body, "Ms Li goes back to the pool 《Default》 tomorrow")
	require.Equal(t, sales.EmployeeID, f.owner(t, lead), "still theirs until due")

	f.advance(24 * time.Hour) // day 4: due
	res, err = f.pools.Recycle(ctx)
	require.NoError(t, err)
	require.Equal(t, pool.RecycleResult{Recycled: 1}, res)
	require.Equal(t, uuid.Nil, f.owner(t, lead))
	present, tomb := f.synced(t, sales.EmployeeID, lead)
	require.True(t, present)
	require.True(t, tomb, "a recycled lead is a tombstone on the holder's device")
	require.Len(t, f.alertsOf(t, sales, alert.KindLeadRecycled), 1)
	leads, _, err := f.pools.Leads(ctx, sales, def.ID, 10, "")
	require.NoError(t, err)
	require.Len(t, leads, 1)
	require.Equal(t, pool.ReasonRecycled, leads[0].Reason)
	require.Equal(t, "no follow-up in 3 days", leads[0].Note)

	err = f.pools.Claim(ctx, sales, def.ID, lead)
	requireKind(t, platform.KindFailedPrecondition, err, "cooling down")
	require.Contains(t, err.Error(), "you may claim it again from")
	f.advance(2*24*time.Hour + time.Minute)
	require.NoError(t, f.pools.Claim(ctx, sales, def.ID, lead), "after the cool-down")
}

// Turning the rules off stops the checks of the claims already held.
func TestRecycleRulesTurnedOffStopChecking(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	sales := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, uuid.Nil)
	s := settings("Default")
	s.Recycle = pool.Recycle{NoFollowUpDays: 2}
	def, err := f.pools.Create(ctx, f.tenant.Admin, s)
	require.NoError(t, err)
	lead := f.customer(t, uuid.Nil, "Lead", "")
	require.NoError(t, f.pools.Claim(ctx, sales, def.ID, lead))
	s.Recycle = pool.Recycle{}
	s.Default = true
	_, err = f.pools.Update(ctx, f.tenant.Admin, def.ID, s)
	require.NoError(t, err)
	res, err := f.pools.Recycle(ctx)
	require.NoError(t, err)
	require.Equal(t, pool.RecycleResult{Rescheduled: 1}, res)
	f.advance(10 * 24 * time.Hour)
	res, err = f.pools.Recycle(ctx)
	require.NoError(t, err)
	require.Equal(t, pool.RecycleResult{}, res)
	require.Equal(t, sales.EmployeeID, f.owner(t, lead))
}

// The recycle job reads due rows through their indexes, not by scanning claims or customers: with many
// claims held and few due, the plans of DueClaims (the same statement as in queries.sql) and of
// pool_due_tenants walk pool_claims_due_idx and pool_claims_due_tenants_idx.
func TestRecycleReadsDueRowsThroughTheIndex(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	def, err := f.pools.Create(ctx, f.tenant.Admin, settings("Default"))
	require.NoError(t, err)
	_, err = f.db.Super.Exec(ctx, `INSERT INTO pool_claims (tenant_id, id, pool_id, customer_id, employee_id, claimed_at, next_check_at, released_at)
		SELECT $1, gen_random_uuid(), $2, gen_random_uuid(), gen_random_uuid(), now(),
		       CASE WHEN i % 1000 = 0 THEN now() - interval '1 hour' ELSE now() + (i || ' minutes')::interval END,
		       CASE WHEN i % 3 = 0 THEN now() END
		FROM generate_series(1, 20000) AS i`, f.tenant.ID, def.ID)
	require.NoError(t, err)
	_, err = f.db.Super.Exec(ctx, "ANALYZE pool_claims")
	require.NoError(t, err)
	plan := func(sql string, args ...any) string {
		rows, err := f.db.Super.Query(ctx, "EXPLAIN "+sql, args...)
		require.NoError(t, err)
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return strings.Join(lines, "\n")
	}
	due := plan(`SELECT pc.id, pc.pool_id, pc.customer_id, pc.employee_id, pc.claimed_at, pc.warned_for,
	       p.name AS pool_name, p.recycle_follow_up_days, p.recycle_progress_days, p.cooldown_days
		FROM pool_claims pc
		JOIN pools p ON p.tenant_id = pc.tenant_id AND p.id = pc.pool_id
		WHERE pc.tenant_id = $1 AND pc.released_at IS NULL AND pc.next_check_at IS NOT NULL AND pc.next_check_at <= $2::timestamptz
		ORDER BY pc.next_check_at LIMIT 500 FOR UPDATE OF pc SKIP LOCKED`, f.tenant.ID, time.Now())
	require.Contains(t, due, "Index Scan using pool_claims_due_", due) // either due index: both hold only the due rows
	require.NotContains(t, due, "Seq Scan on pool_claims", due)
	tenants := plan(`SELECT DISTINCT tenant_id FROM pool_claims WHERE released_at IS NULL AND next_check_at IS NOT NULL AND next_check_at <= now()`)
	require.Contains(t, tenants, "pool_claims_due_tenants_idx", tenants)
}

// An import de-duplicates by phone and unionid against known customers and within the file, reports each
// rejected row with its line and reason (never the number), and puts new leads in the pool.
func TestImportMergesRejectsAndImports(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	sales := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, uuid.Nil)
	def, err := f.pools.Create(ctx, f.tenant.Admin, settings("Default"))
	require.NoError(t, err)
	byPhone := f.customer(t, sales.EmployeeID, "Mr Wang", "13800001111")
	byUnion := f.customer(t, uuid.Nil, "", "")
	_, err = f.db.Super.Exec(ctx, "INSERT INTO customer_identities (tenant_id, kind, value, customer_id) VALUES ($1, 'unionid', 'union-1', $2)", f.tenant.ID, byUnion)
	require.NoError(t, err)

	file := "\ufeffname,phone,source,tags,unionid\n" +
		"Zhang,138 0000 2222,Expo,vip;expo,\n" + // 2: new
		"Wang,+86 13800001111,Web,hot,\n" + // 3: known by phone
		"Li,,Expo,,union-1\n" + // 4: known by unionid
		"Bad,12345,Expo,,\n" + // 5: not a phone
		"Nobody,,,,\n" + // 6: nothing to know them by
		"Dup,13800002222,,,\n" + // 7: same as line 2
		"\"Zhao, Jr\",13900003333,,a|b,union-9\n" // 8: new
	_, err = f.pools.Import(ctx, sales, def.ID, strings.NewReader(file))
	requireKind(t, platform.KindPermissionDenied, err)
	rep, err := f.pools.Import(ctx, f.tenant.Admin, def.ID, strings.NewReader(file))
	require.NoError(t, err)
	require.Equal(t, 2, rep.Imported)
	require.Equal(t, 2, rep.Merged)
	require.Equal(t, []pool.Rejection{
		{Line: 5, Reason: "phone: not a phone number (11-digit mobile, or + and 7 to 15 digits)"},
		{Line: 6, Reason: "no phone number or unionid"},
		{Line: 7, Reason: "the same phone number as line 2"},
	}, rep.Rejected)

	require.Equal(t, sales.EmployeeID, f.owner(t, byPhone), "a merged customer keeps their owner")
	var tags []string
	require.NoError(t, f.db.Super.QueryRow(ctx, "SELECT tags FROM customers WHERE id = $1", byPhone).Scan(&tags))
	require.Equal(t, []string{"hot"}, tags)
	var name string
	require.NoError(t, f.db.Super.QueryRow(ctx, "SELECT display_name FROM customers WHERE id = $1", byUnion).Scan(&name))
	require.Equal(t, "Li", name, "an empty name is filled")

	leads, _, err := f.pools.Leads(ctx, f.tenant.Admin, def.ID, 10, "")
	require.NoError(t, err)
	got := map[string]pool.Lead{}
	for _, l := range leads {
		got[l.DisplayName] = l
	}
	require.Len(t, got, 3, "two imported, and the pooled customer known by unionid")
	require.Equal(t, pool.ReasonImported, got["Zhang"].Reason)
	require.Equal(t, "138****2222", got["Zhang"].MaskedPhone)
	require.ElementsMatch(t, []string{"vip", "expo"}, got["Zhang"].Tags)
	require.Equal(t, pool.ReasonImported, got["Zhao, Jr"].Reason)
	require.ElementsMatch(t, []string{"a", "b"}, got["Zhao, Jr"].Tags)

	// Imported again: everything is known now.
	rep, err = f.pools.Import(ctx, f.tenant.Admin, def.ID, strings.NewReader(file))
	require.NoError(t, err)
	require.Equal(t, 0, rep.Imported)
	require.Equal(t, 4, rep.Merged)
}

func TestImportRefusesBadFiles(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	def, err := f.pools.Create(ctx, f.tenant.Admin, settings("Default"))
	require.NoError(t, err)
	for name, file := range map[string]string{
		"empty":          "",
		"unknown column": "name,mobile\nA,13800000000\n",
		"no phone":       "name,tags\nA,x\n",
		"bad quoting":    "name,phone\n\"A,13800000000\n",
		"too many rows":  "phone\n" + strings.Repeat("13800000000\n", pool.MaxImportRows+1),
	} {
		_, err := f.pools.Import(ctx, f.tenant.Admin, def.ID, strings.NewReader(file))
		requireKind(t, platform.KindInvalid, err, name)
		require.NotContains(t, err.Error(), "13800000000", "%s: no phone number in the message", name)
	}
	_, err = f.pools.Import(ctx, f.tenant.Admin, uuid.New(), strings.NewReader("phone\n13800000000\n"))
	requireKind(t, platform.KindNotFound, err)
}

// A lead waiting in a pool that opens a material again after days of silence alerts the pool's managers:
// a team pool's managers, an open pool's admins; a lead read within the silence does not.
func TestALeadReadingAgainAlertsItsPoolsManagers(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	east, west := f.db.NewTeam(t, f.tenant.ID, "East"), f.db.NewTeam(t, f.tenant.ID, "West")
	eastManager := f.db.NewEmployee(t, f.tenant.ID, authn.RoleManager, east)
	westManager := f.db.NewEmployee(t, f.tenant.ID, authn.RoleManager, west)
	sales := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, east)
	_, err := f.pools.Create(ctx, f.tenant.Admin, settings("Default"))
	require.NoError(t, err)
	s := settings("East")
	s.TeamIDs = []uuid.UUID{east}
	s.OfferHotLeads = true
	eastPool, err := f.pools.Create(ctx, f.tenant.Admin, s)
	require.NoError(t, err)
	require.True(t, eastPool.OfferHotLeads)
	eastSales, cooling := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, east), f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, east)
	westSales := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, west)
	_, err = f.db.Super.Exec(ctx, "UPDATE tenants SET customer_owner_rule = 'pool' WHERE id = $1", f.tenant.ID)
	require.NoError(t, err)
	material := uuid.Must(uuid.NewV7())
	_, err = f.db.Super.Exec(ctx, `INSERT INTO materials (id, tenant_id, tier, kind, status, title) VALUES ($1, $2, 'enterprise', 'article', 'published', 'Price list')`,
		material, f.tenant.ID)
	require.NoError(t, err)

	shares := share.NewService(f.db.App, "https://cards.example")
	ingest := tracking.NewService(f.db.App, shares, slog.New(slog.DiscardHandler), tracking.Config{})
	t.Cleanup(ingest.Close)
	sh, err := shares.ShareMaterial(ctx, sales, material, event.ChannelChat)
	require.NoError(t, err)
	view := func(visitor string) {
		t.Helper()
		_, err := ingest.Ingest(ctx, []tracking.Event{{ID: uuid.New(), Kind: event.MaterialView, ShareToken: sh.Token, VisitorID: visitor, OccurredAt: time.Now()}})
		require.NoError(t, err)
	}
	view("visitor-0001")
	view("visitor-0002")
	var second uuid.UUID
	require.NoError(t, f.db.Super.QueryRow(ctx, "SELECT customer_id FROM customer_identities WHERE tenant_id = $1 AND value = 'visitor-0002'", f.tenant.ID).Scan(&second))
	_, err = f.db.Super.Exec(ctx, "INSERT INTO pool_leads (tenant_id, customer_id, pool_id, reason) VALUES ($1, $2, $3, 'imported')", f.tenant.ID, second, eastPool.ID)
	require.NoError(t, err)
	_, err = f.db.Super.Exec(ctx, "INSERT INTO pool_cooldowns (tenant_id, customer_id, employee_id, until) VALUES ($1, $2, $3, now() + interval '1 day')",
		f.tenant.ID, second, cooling.EmployeeID)
	require.NoError(t, err)
	require.Empty(t, f.alertsOf(t, f.tenant.Admin, alert.KindPoolLeadActive), "a new customer is not back to life")

	view("visitor-0001") // within the silence: nothing
	require.Empty(t, f.alertsOf(t, f.tenant.Admin, alert.KindPoolLeadActive))

	_, err = f.db.Super.Exec(ctx, "UPDATE customers SET last_active_at = now() - interval '5 days' WHERE tenant_id = $1", f.tenant.ID)
	require.NoError(t, err)
	view("visitor-0001") // waiting in the default pool, open to everyone: the admins hear
	view("visitor-0002") // waiting in the East pool: its team's managers hear
	admin := f.alertsOf(t, f.tenant.Admin, alert.KindPoolLeadActive)
	require.Len(t, admin, 1)
	require.Contains(t, admin[0].Body, "waiting in the pool 《Default》, is reading a material again")
	mgr := f.alertsOf(t, eastManager, alert.KindPoolLeadActive)
	require.Len(t, mgr, 1)
	require.Equal(t, second, mgr[0].CustomerID)
	require.Contains(t, mgr[0].Body, "《East》")
	require.Empty(t, f.alertsOf(t, westManager, alert.KindPoolLeadActive))
	require.Empty(t, f.alertsOf(t, sales, alert.KindPoolLeadActive))

	// The East pool offers its hot leads: its salespeople hear too (not one cooling down from this lead,
	// not another team's); the default pool offers nothing.
	for _, who := range []authn.Principal{sales, eastSales} {
		offers := f.alertsOf(t, who, alert.KindPoolLeadOffer)
		require.Len(t, offers, 1)
		require.Equal(t, second, offers[0].CustomerID)
		require.Contains(t, offers[0].Body, "A hot lead is waiting in 《East》")
	}
	require.Empty(t, f.alertsOf(t, cooling, alert.KindPoolLeadOffer))
	require.Empty(t, f.alertsOf(t, westSales, alert.KindPoolLeadOffer))
	require.Empty(t, f.alertsOf(t, eastManager, alert.KindPoolLeadOffer))
}

// Deleting a pool moves its waiting leads, and the claims made from it, to the default pool (or one named):
// held leads stay with their holders. The default pool is not deleted; only admins delete; it is audited.
func TestDeletingAPoolMovesItsLeads(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	sales := f.db.NewEmployee(t, f.tenant.ID, authn.RoleSales, uuid.Nil)
	def, err := f.pools.Create(ctx, f.tenant.Admin, settings("Default"))
	require.NoError(t, err)
	east, err := f.pools.Create(ctx, f.tenant.Admin, settings("East"))
	require.NoError(t, err)
	west, err := f.pools.Create(ctx, f.tenant.Admin, settings("West"))
	require.NoError(t, err)
	waiting, held := f.customer(t, uuid.Nil, "Waiting", ""), f.customer(t, uuid.Nil, "Held", "")
	for _, c := range []uuid.UUID{waiting, held} {
		_, err := f.db.Super.Exec(ctx, "INSERT INTO pool_leads (tenant_id, customer_id, pool_id, reason) VALUES ($1, $2, $3, 'imported')",
			f.tenant.ID, c, east.ID)
		require.NoError(t, err)
	}
	require.NoError(t, f.pools.Claim(ctx, sales, east.ID, held))

	_, err = f.pools.Delete(ctx, sales, east.ID, uuid.Nil)
	requireKind(t, platform.KindPermissionDenied, err)
	_, err = f.pools.Delete(ctx, f.tenant.Admin, def.ID, uuid.Nil)
	requireKind(t, platform.KindFailedPrecondition, err, "the default pool")
	_, err = f.pools.Delete(ctx, f.tenant.Admin, east.ID, east.ID)
	requireKind(t, platform.KindInvalid, err)
	_, err = f.pools.Delete(ctx, f.tenant.Admin, east.ID, uuid.New())
	requireKind(t, platform.KindNotFound, err)

	d, err := f.pools.Delete(ctx, f.tenant.Admin, east.ID, uuid.Nil)
	require.NoError(t, err)
	require.Equal(t, pool.Deleted{MovedLeads: 1, MovedTo: def.ID}, d)
	leads, _, err := f.pools.Leads(ctx, f.tenant.Admin, def.ID, 100, "")
	require.NoError(t, err)
	require.Contains(t, ids(leads), waiting)
	require.Equal(t, sales.EmployeeID, f.owner(t, held), "a held lead stays with its holder")
	var claimPool uuid.UUID
	require.NoError(t, f.db.Super.QueryRow(ctx, "SELECT pool_id FROM pool_claims WHERE customer_id = $1", held).Scan(&claimPool))
	require.Equal(t, def.ID, claimPool)
	_, _, err = f.pools.Leads(ctx, f.tenant.Admin, east.ID, 100, "")
	requireKind(t, platform.KindNotFound, err)
	var audited int
	require.NoError(t, f.db.Super.QueryRow(ctx, "SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'pool.delete' AND target_id = $2",
		f.tenant.ID, east.ID).Scan(&audited))
	require.Equal(t, 1, audited)

	// Into a pool named.
	_, err = f.db.Super.Exec(ctx, "INSERT INTO pool_leads (tenant_id, customer_id, pool_id, reason) VALUES ($1, $2, $3, 'imported')",
		f.tenant.ID, f.customer(t, uuid.Nil, "Late", ""), west.ID)
	require.NoError(t, err)
	north, err := f.pools.Create(ctx, f.tenant.Admin, settings("North"))
	require.NoError(t, err)
	d, err = f.pools.Delete(ctx, f.tenant.Admin, west.ID, north.ID)
	require.NoError(t, err)
	require.Equal(t, pool.Deleted{MovedLeads: 1, MovedTo: north.ID}, d)
}
