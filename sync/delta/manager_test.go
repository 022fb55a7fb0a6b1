package delta

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform/authn"
)

// replicaOf is a device's copy, kept by applying pages in order.
type replicaOf struct {
	p      authn.Principal
	dev    Device
	cursor string
	items  map[Kind]map[uuid.UUID]Entity
}

func (f *fixture) device(p authn.Principal) *replicaOf {
	return &replicaOf{p: p, dev: Device{ID: "dev-" + uuid.NewString()[:8], SchemaVersion: 1}, items: map[Kind]map[uuid.UUID]Entity{}}
}

// sync pulls until nothing more is waiting.
func (f *fixture) sync(t *testing.T, r *replicaOf) {
	t.Helper()
	for range 100 {
		page, err := f.engine.Pull(context.Background(), r.p, r.dev, r.cursor, 3)
		require.NoError(t, err)
		require.False(t, page.MustReset)
		for _, c := range page.Changes {
			if r.items[c.Kind] == nil {
				r.items[c.Kind] = map[uuid.UUID]Entity{}
			}
			if c.Deleted {
				delete(r.items[c.Kind], c.ID)
			} else {
				r.items[c.Kind][c.ID] = c.Entity
			}
		}
		r.cursor = page.NextCursor
		if !page.HasMore {
			return
		}
	}
	t.Fatal("the pull did not finish")
}

func (r *replicaOf) customer(id uuid.UUID) *Customer {
	c, _ := r.items[KindCustomer][id].(*Customer)
	return c
}

// teamFixture is the fixture's salesperson in a team with a manager and a second salesperson, each
// owning a customer with a note and a timeline entry.
type teamFixture struct {
	*fixture
	team, other           uuid.UUID
	manager               authn.Principal
	mgrCustomer, otherCus uuid.UUID
	note, event           uuid.UUID
}

func newTeamFixture(t *testing.T) *teamFixture {
	f := &teamFixture{fixture: newFixture(t), team: uuid.New(), other: uuid.New(), mgrCustomer: uuid.New(), otherCus: uuid.New()}
	tid := f.p.TenantID
	f.manager = authn.Principal{TenantID: tid, EmployeeID: uuid.New(), Role: authn.RoleManager, TeamID: f.team, Leads: []uuid.UUID{f.team}}
	f.owner(t, `INSERT INTO teams (id, tenant_id, name) VALUES ($1, $2, 'North')`, f.team, tid)
	f.owner(t, `INSERT INTO employees (id, tenant_id, name, role, team_id) VALUES ($1, $2, 'Boss', 'manager', $3)`, f.manager.EmployeeID, tid, f.team)
	f.owner(t, `INSERT INTO employees (id, tenant_id, name, role, team_id) VALUES ($1, $2, 'Other', 'sales', $3)`, f.other, tid, f.team)
	f.owner(t, `INSERT INTO customers (id, tenant_id, owner_id, display_name) VALUES ($1, $2, $3, 'Mr Boss''s')`, f.mgrCustomer, tid, f.manager.EmployeeID)
	f.owner(t, `INSERT INTO customers (id, tenant_id, owner_id, display_name) VALUES ($1, $2, $3, 'Mr Wu')`, f.otherCus, tid, f.other)
	// The fixture's salesperson has a note and a timeline entry before joining the team: a backfill.
	f.note = f.addNote(t, "wants a demo")
	f.event = uuid.New()
	f.owner(t, `INSERT INTO events (tenant_id, id, customer_id, kind, occurred_at) VALUES ($1, $2, $3, 'card_view', now() - interval '1 day')`,
		tid, f.event, f.customer)
	f.owner(t, `UPDATE employees SET team_id = $1 WHERE id = $2`, f.team, f.p.EmployeeID)
	return f
}

func TestManagerDeviceHoldsTheTeamsCustomersReadOnly(t *testing.T) {
	t.Parallel()
	f := newTeamFixture(t)
	mgr := f.device(f.manager)
	f.sync(t, mgr)

	own := mgr.customer(f.mgrCustomer)
	require.NotNil(t, own)
	require.False(t, own.ReadOnly, "the manager's own customer is theirs to edit")
	for _, id := range []uuid.UUID{f.customer, f.otherCus} {
		c := mgr.customer(id)
		require.NotNil(t, c, "a team member's customer")
		require.True(t, c.ReadOnly)
	}
	require.Equal(t, f.p.EmployeeID, mgr.customer(f.customer).OwnerID)
	require.Contains(t, mgr.items[KindNote], f.note, "notes of the team's customers, backfilled when their owner joined")
	require.Contains(t, mgr.items[KindTimelineEntry], f.event, "and their timelines")

	// The salesperson's own device is unchanged: their customer, not read-only, and nobody else's.
	sales := f.device(f.p)
	f.sync(t, sales)
	require.Len(t, sales.items[KindCustomer], 1)
	require.False(t, sales.customer(f.customer).ReadOnly)

	// A new note on a team customer reaches the manager's device.
	note := f.addNote(t, "called back")
	f.sync(t, mgr)
	require.Contains(t, mgr.items[KindNote], note)
}

func TestTeamMovesTombstoneAndBackfillTheManagersDevice(t *testing.T) {
	t.Parallel()
	f := newTeamFixture(t)
	mgr := f.device(f.manager)
	f.sync(t, mgr)
	require.NotNil(t, mgr.customer(f.customer))

	// Out of the team: the salesperson's customer, its note and its timeline leave the manager's device.
	f.owner(t, `UPDATE employees SET team_id = NULL WHERE id = $1`, f.p.EmployeeID)
	f.sync(t, mgr)
	require.Nil(t, mgr.customer(f.customer))
	require.NotContains(t, mgr.items[KindNote], f.note)
	require.NotContains(t, mgr.items[KindTimelineEntry], f.event)
	require.NotNil(t, mgr.customer(f.otherCus), "the rest of the team stays")

	// A note written meanwhile is not the manager's.
	outside := f.addNote(t, "while away")
	f.sync(t, mgr)
	require.NotContains(t, mgr.items[KindNote], outside)

	// Back in: everything arrives again, though the cursor is past the rows' earlier changes.
	f.owner(t, `UPDATE employees SET team_id = $1 WHERE id = $2`, f.team, f.p.EmployeeID)
	f.sync(t, mgr)
	require.NotNil(t, mgr.customer(f.customer))
	require.Contains(t, mgr.items[KindNote], f.note)
	require.Contains(t, mgr.items[KindNote], outside)
	require.Contains(t, mgr.items[KindTimelineEntry], f.event)

	// The manager loses the team (moved to another one): only their own customer stays.
	other := uuid.New()
	f.owner(t, `INSERT INTO teams (id, tenant_id, name) VALUES ($1, $2, 'South')`, other, f.p.TenantID)
	f.owner(t, `UPDATE employees SET team_id = $1 WHERE id = $2`, other, f.manager.EmployeeID)
	f.sync(t, mgr)
	require.Len(t, mgr.items[KindCustomer], 1)
	require.NotNil(t, mgr.customer(f.mgrCustomer))
	require.Empty(t, mgr.items[KindNote])
	require.Empty(t, mgr.items[KindTimelineEntry])

	// And gets it back.
	f.owner(t, `UPDATE employees SET team_id = $1 WHERE id = $2`, f.team, f.manager.EmployeeID)
	f.sync(t, mgr)
	require.Len(t, mgr.items[KindCustomer], 3)
	require.Contains(t, mgr.items[KindNote], f.note)
}

func TestReassignmentsMoveRowsOnTheManagersDevice(t *testing.T) {
	t.Parallel()
	f := newTeamFixture(t)
	mgr := f.device(f.manager)
	f.sync(t, mgr)

	// Within the team: it stays, with its new owner, and its note and timeline stay.
	f.owner(t, `UPDATE customers SET owner_id = $1 WHERE id = $2`, f.other, f.customer)
	f.sync(t, mgr)
	require.Equal(t, f.other, mgr.customer(f.customer).OwnerID)
	require.Contains(t, mgr.items[KindNote], f.note)
	require.Contains(t, mgr.items[KindTimelineEntry], f.event)

	// To the manager: theirs to edit now.
	f.owner(t, `UPDATE customers SET owner_id = $1 WHERE id = $2`, f.manager.EmployeeID, f.customer)
	f.sync(t, mgr)
	require.False(t, mgr.customer(f.customer).ReadOnly)
	require.Contains(t, mgr.items[KindNote], f.note)

	// From the manager to a member: read-only again, still there.
	f.owner(t, `UPDATE customers SET owner_id = $1 WHERE id = $2`, f.p.EmployeeID, f.customer)
	f.sync(t, mgr)
	require.True(t, mgr.customer(f.customer).ReadOnly)
	require.Contains(t, mgr.items[KindNote], f.note)
	require.Contains(t, mgr.items[KindTimelineEntry], f.event)

	// Outside the team: gone, with its note and timeline.
	outsider := uuid.New()
	f.owner(t, `INSERT INTO employees (id, tenant_id, name, role) VALUES ($1, $2, 'Elsewhere', 'sales')`, outsider, f.p.TenantID)
	f.owner(t, `UPDATE customers SET owner_id = $1 WHERE id = $2`, outsider, f.customer)
	f.sync(t, mgr)
	require.Nil(t, mgr.customer(f.customer))
	require.NotContains(t, mgr.items[KindNote], f.note)
	require.NotContains(t, mgr.items[KindTimelineEntry], f.event)
}

// southTeam adds a second team with a manager of its own.
func (f *teamFixture) southTeam(t *testing.T) (uuid.UUID, authn.Principal) {
	t.Helper()
	south := uuid.New()
	mgr := authn.Principal{TenantID: f.p.TenantID, EmployeeID: uuid.New(), Role: authn.RoleManager, TeamID: south, Leads: []uuid.UUID{south}}
	f.owner(t, `INSERT INTO teams (id, tenant_id, name) VALUES ($1, $2, 'South')`, south, f.p.TenantID)
	f.owner(t, `INSERT INTO employees (id, tenant_id, name, role, team_id) VALUES ($1, $2, 'Boss South', 'manager', $3)`, mgr.EmployeeID, f.p.TenantID, south)
	return south, mgr
}

// ingestView writes a view of the salesperson's customer and fans it out as the tracking ingest does.
func (f *teamFixture) ingestView(ctx context.Context, tx pgx.Tx) (uuid.UUID, error) {
	view := uuid.New()
	if _, err := tx.Exec(ctx, `INSERT INTO events (tenant_id, id, customer_id, kind, occurred_at) VALUES ($1, $2, $3, 'card_view', now())`,
		f.p.TenantID, view, f.customer); err != nil {
		return view, err
	}
	_, err := tx.Exec(ctx, `SELECT sync_ingested_rows($1, ARRAY[$2::uuid], ARRAY['timeline'], ARRAY[$3::uuid], ARRAY[$4::uuid], ARRAY[now()])`,
		f.p.TenantID, f.p.EmployeeID, view, f.customer)
	return view, err
}

// waitForLockOrDone returns once a transaction waits for an advisory lock or done has a value: without
// the team lock nothing waits, and the test goes on to find the wrong result.
func (f *teamFixture) waitForLockOrDone(t *testing.T, done chan error) {
	t.Helper()
	for range 500 {
		var waiting bool
		require.NoError(t, f.db.Super.QueryRow(context.Background(),
			`SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND NOT granted)`).Scan(&waiting))
		if waiting || len(done) > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// requireOnlySouthHas checks that the view (and the customer) are on the new manager's device alone.
func (f *teamFixture) requireOnlySouthHas(t *testing.T, southMgr authn.Principal, view uuid.UUID) {
	t.Helper()
	north, south := f.device(f.manager), f.device(southMgr)
	f.sync(t, north)
	f.sync(t, south)
	require.Nil(t, north.customer(f.customer), "the customer left North")
	require.NotContains(t, north.items[KindTimelineEntry], view, "and so did the view written while it left")
	require.NotNil(t, south.customer(f.customer))
	require.Contains(t, south.items[KindTimelineEntry], view, "the view reached the new manager")
	require.Contains(t, south.items[KindTimelineEntry], f.event)
}

// An ingest that read the salesperson's old team while a move to another team ran: the change ends on
// the new manager's device, not the old one's (the move waits for the ingest and sees what it wrote).
func TestAnIngestRacingATeamMoveReachesTheNewManager(t *testing.T) {
	t.Parallel()
	f := newTeamFixture(t)
	south, southMgr := f.southTeam(t)
	view := f.besideAnIngest(t, `UPDATE employees SET team_id = $1 WHERE id = $2`, south, f.p.EmployeeID)
	f.requireOnlySouthHas(t, southMgr, view)
}

// besideAnIngest runs sql while an ingest of a view of the salesperson's customer is uncommitted,
// commits the ingest once sql waits for the team lock (or has finished), and returns the view.
func (f *teamFixture) besideAnIngest(t *testing.T, sql string, args ...any) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	ingest, err := f.db.Super.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ingest.Rollback(ctx) })
	view, err := f.ingestView(ctx, ingest)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := f.db.Super.Exec(ctx, sql, args...)
		done <- err
	}()
	f.waitForLockOrDone(t, done)
	require.NoError(t, ingest.Commit(ctx))
	require.NoError(t, <-done)
	return view
}

// The other order: an ingest that starts while a move is uncommitted waits for it and fans out to the
// new team.
func TestAnIngestDuringATeamMoveWaitsAndReachesTheNewManager(t *testing.T) {
	t.Parallel()
	f := newTeamFixture(t)
	ctx := context.Background()
	south, southMgr := f.southTeam(t)

	move, err := f.db.Super.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = move.Rollback(ctx) }()
	_, err = move.Exec(ctx, `UPDATE employees SET team_id = $1 WHERE id = $2`, south, f.p.EmployeeID)
	require.NoError(t, err)
	ingested := make(chan error, 1)
	var view uuid.UUID
	go func() {
		ingested <- pgx.BeginFunc(ctx, f.db.Super, func(tx pgx.Tx) error {
			var err error
			view, err = f.ingestView(ctx, tx)
			return err
		})
	}()
	f.waitForLockOrDone(t, ingested)
	require.NoError(t, move.Commit(ctx))
	require.NoError(t, <-ingested)
	f.requireOnlySouthHas(t, southMgr, view)
}

// lead gives a manager a team besides their own, as SetLedTeams does.
func (f *teamFixture) lead(t *testing.T, mgr, team uuid.UUID) {
	t.Helper()
	f.owner(t, `INSERT INTO team_leads (tenant_id, team_id, manager_id, granted) VALUES ($1, $2, $3, true)
		ON CONFLICT (tenant_id, team_id, manager_id) DO UPDATE SET granted = true`, f.p.TenantID, team, mgr)
}

// pulled pulls what is waiting and says which entities of a kind came (live or as tombstones).
func (f *teamFixture) pulled(t *testing.T, r *replicaOf, kind Kind) map[uuid.UUID]bool {
	t.Helper()
	got := map[uuid.UUID]bool{}
	for range 100 {
		page, err := f.engine.Pull(context.Background(), r.p, r.dev, r.cursor, 50)
		require.NoError(t, err)
		for _, c := range page.Changes {
			if c.Kind == kind {
				got[c.ID] = true
			}
			if r.items[c.Kind] == nil {
				r.items[c.Kind] = map[uuid.UUID]Entity{}
			}
			if c.Deleted {
				delete(r.items[c.Kind], c.ID)
			} else {
				r.items[c.Kind][c.ID] = c.Entity
			}
		}
		r.cursor = page.NextCursor
		if !page.HasMore {
			return got
		}
	}
	t.Fatal("the pull did not finish")
	return nil
}

// A manager who leads a second team (issue 18): its members, their customers, notes and timelines and
// the tasks aimed at it come to the manager's device when the team is added and leave when it is taken
// away; a member moving between two teams the manager leads is not resent; a manager who stops being one
// keeps only their own.
func TestAManagerOfSeveralTeamsHoldsEachOfThem(t *testing.T) {
	t.Parallel()
	f := newTeamFixture(t)
	tid := f.p.TenantID
	south, southMgr := f.southTeam(t)
	southSeller, southCus := uuid.New(), uuid.New()
	f.owner(t, `INSERT INTO employees (id, tenant_id, name, role, team_id) VALUES ($1, $2, 'South seller', 'sales', $3)`, southSeller, tid, south)
	f.owner(t, `INSERT INTO customers (id, tenant_id, owner_id, display_name) VALUES ($1, $2, $3, 'Ms Li')`, southCus, tid, southSeller)
	southNote := uuid.New()
	f.owner(t, `INSERT INTO customer_notes (id, tenant_id, customer_id, author_id, kind, body) VALUES ($1, $2, $3, $4, 'note', 'south')`,
		southNote, tid, southCus, southSeller)
	task := uuid.New()
	f.owner(t, `INSERT INTO tasks (tenant_id, id, created_by, title, target_shares, starts_at, ends_at, audience, team_ids, claim_required)
		VALUES ($1, $2, $3, 'South push', 3, now() - interval '1 day', now() + interval '6 days', 'teams', ARRAY[$4::uuid], false)`,
		tid, task, southMgr.EmployeeID, south)

	mgr := f.device(f.manager)
	f.sync(t, mgr)
	require.Nil(t, mgr.customer(southCus), "South is not theirs yet")
	require.NotContains(t, mgr.items[KindTask], task)

	f.lead(t, f.manager.EmployeeID, south)
	f.sync(t, mgr)
	require.NotNil(t, mgr.customer(southCus), "South's customers arrive")
	require.True(t, mgr.customer(southCus).ReadOnly)
	require.Contains(t, mgr.items[KindNote], southNote)
	require.Contains(t, mgr.items[KindMember], southSeller, "and its members")
	require.Contains(t, mgr.items[KindMember], southMgr.EmployeeID, "South's own manager is a member of South")
	require.Contains(t, mgr.items[KindTask], task, "and the tasks aimed at it")
	require.NotNil(t, mgr.customer(f.customer), "North stays")

	// New changes in South reach them.
	later := uuid.New()
	f.owner(t, `INSERT INTO customer_notes (id, tenant_id, customer_id, author_id, kind, body) VALUES ($1, $2, $3, $4, 'note', 'later')`,
		later, tid, southCus, southSeller)
	f.sync(t, mgr)
	require.Contains(t, mgr.items[KindNote], later)

	// A member moving from North to South stays on the device and is not resent.
	f.owner(t, `UPDATE employees SET team_id = $1 WHERE id = $2`, south, f.p.EmployeeID)
	got := f.pulled(t, mgr, KindCustomer)
	require.False(t, got[f.customer], "the moved member's customer is not resent to a manager of both teams")
	require.NotNil(t, mgr.customer(f.customer))
	require.Contains(t, mgr.items[KindNote], f.note)
	// South's other manager gains them.
	southDev := f.device(southMgr)
	f.sync(t, southDev)
	require.NotNil(t, southDev.customer(f.customer))

	// South taken away: South's customers (now with the moved member's), notes, members and task leave.
	f.owner(t, `DELETE FROM team_leads WHERE tenant_id = $1 AND team_id = $2 AND manager_id = $3`, tid, south, f.manager.EmployeeID)
	f.sync(t, mgr)
	require.Nil(t, mgr.customer(southCus))
	require.Nil(t, mgr.customer(f.customer))
	require.NotContains(t, mgr.items[KindNote], southNote)
	require.NotContains(t, mgr.items[KindNote], f.note)
	require.NotContains(t, mgr.items[KindMember], southSeller)
	require.NotContains(t, mgr.items[KindTask], task)
	require.NotNil(t, mgr.customer(f.otherCus), "North stays")
	require.Contains(t, mgr.items[KindMember], f.other)

	// Given South again, then no longer a manager: everything but their own customer leaves.
	f.lead(t, f.manager.EmployeeID, south)
	f.sync(t, mgr)
	require.NotNil(t, mgr.customer(southCus))
	var rows int
	require.NoError(t, f.db.Super.QueryRow(context.Background(),
		`SELECT count(*) FROM team_leads WHERE tenant_id = $1 AND manager_id = $2`, tid, f.manager.EmployeeID).Scan(&rows))
	require.Equal(t, 2, rows)
	f.owner(t, `UPDATE employees SET role = 'sales' WHERE id = $1`, f.manager.EmployeeID)
	f.sync(t, mgr)
	require.Len(t, mgr.items[KindCustomer], 1)
	require.NotNil(t, mgr.customer(f.mgrCustomer))
	require.Empty(t, mgr.items[KindNote])
	require.Empty(t, mgr.items[KindMember])
	require.NotContains(t, mgr.items[KindTask], task)
	require.NoError(t, f.db.Super.QueryRow(context.Background(),
		`SELECT count(*) FROM team_leads WHERE tenant_id = $1 AND manager_id = $2`, tid, f.manager.EmployeeID).Scan(&rows))
	require.Zero(t, rows, "a salesperson leads nothing, granted teams included")
}

// A manager whose own team is also granted keeps it when they move away, and the home row follows them.
func TestAManagersOwnTeamFollowsThemAndAGrantOutlivesTheMove(t *testing.T) {
	t.Parallel()
	f := newTeamFixture(t)
	south, _ := f.southTeam(t)
	f.lead(t, f.manager.EmployeeID, f.team) // North, granted as well as home
	mgr := f.device(f.manager)
	f.sync(t, mgr)
	f.owner(t, `UPDATE employees SET team_id = $1 WHERE id = $2`, south, f.manager.EmployeeID)
	f.sync(t, mgr)
	require.NotNil(t, mgr.customer(f.customer), "North was granted: it stays")
	var leads []string
	rows, err := f.db.Super.Query(context.Background(), `SELECT CASE team_id WHEN $3 THEN 'north' ELSE 'south' END || ':' || home || ':' || granted
		FROM team_leads WHERE tenant_id = $1 AND manager_id = $2 ORDER BY 1`, f.p.TenantID, f.manager.EmployeeID, f.team)
	require.NoError(t, err)
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		leads = append(leads, s)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"north:false:true", "south:true:false"}, leads)
}

// A team given to a manager while an ingest of that team is running: the grant waits for the ingest (the
// team lock of 051) and its backfill carries the ingest's change to the manager.
func TestAGrantRacingAnIngestCarriesItsChange(t *testing.T) {
	t.Parallel()
	f := newTeamFixture(t)
	_, southMgr := f.southTeam(t)
	view := f.besideAnIngest(t, `INSERT INTO team_leads (tenant_id, team_id, manager_id, granted) VALUES ($1, $2, $3, true)`,
		f.p.TenantID, f.team, southMgr.EmployeeID)
	south := f.device(southMgr)
	f.sync(t, south)
	require.NotNil(t, south.customer(f.customer), "North's customers reached South's manager")
	require.Contains(t, south.items[KindTimelineEntry], view, "with the view written while the grant ran")
}
