package delta

import (
	"context"
	"testing"

	"github.com/google/uuid"
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
	f.manager = authn.Principal{TenantID: tid, EmployeeID: uuid.New(), Role: authn.RoleManager, TeamID: f.team}
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
