package delta

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/platform/rpcserver"
)

// fixture is one tenant with one salesperson, who owns one customer, on a database of its own. It is
// seeded through the owner pool: the engine knows no domain, and neither do its tests.
type fixture struct {
	db       *pgtest.DB
	engine   *Engine
	p        authn.Principal
	customer uuid.UUID
	dev      Device
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := pgtest.New(t)
	f := &fixture{db: db, engine: New(db.App, Config{MinSchema: 1, MaxSchema: 1}),
		p:        authn.Principal{TenantID: uuid.New(), EmployeeID: uuid.New(), Role: authn.RoleSales},
		customer: uuid.New(), dev: Device{ID: "dev-" + uuid.NewString()[:8], SchemaVersion: 1}}
	f.owner(t, `INSERT INTO tenants (id, name, plan, seat_limit, expires_at) VALUES ($1, 'T', 'standard', 10, now() + interval '1 year')`, f.p.TenantID)
	f.owner(t, `INSERT INTO employees (id, tenant_id, name, role) VALUES ($1, $2, 'Sales', 'sales')`, f.p.EmployeeID, f.p.TenantID)
	f.owner(t, `INSERT INTO customers (id, tenant_id, owner_id, display_name) VALUES ($1, $2, $3, 'Ms Li')`, f.customer, f.p.TenantID, f.p.EmployeeID)
	return f
}

// owner runs a statement as the table owner.
func (f *fixture) owner(t *testing.T, sql string, args ...any) {
	t.Helper()
	_, err := f.db.Super.Exec(context.Background(), sql, args...)
	require.NoError(t, err)
}

// addNote adds a note on the fixture's customer in a transaction of its own and returns its id.
func (f *fixture) addNote(t *testing.T, body string) uuid.UUID {
	t.Helper()
	id := uuid.New()
	f.owner(t, `INSERT INTO customer_notes (id, tenant_id, customer_id, author_id, kind, body) VALUES ($1, $2, $3, $4, 'note', $5)`,
		id, f.p.TenantID, f.customer, f.p.EmployeeID, body)
	return id
}

// openNote adds a note in a transaction it leaves open until commit is called.
func (f *fixture) openNote(t *testing.T, body string) (id uuid.UUID, commit func()) {
	t.Helper()
	ctx := context.Background()
	tx, err := f.db.Super.Begin(ctx)
	require.NoError(t, err)
	id = uuid.New()
	_, err = tx.Exec(ctx, `INSERT INTO customer_notes (id, tenant_id, customer_id, author_id, kind, body) VALUES ($1, $2, $3, $4, 'note', $5)`,
		id, f.p.TenantID, f.customer, f.p.EmployeeID, body)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	return id, func() { require.NoError(t, tx.Commit(ctx)) }
}

// position is where an entity's latest change sits in the change order.
func (f *fixture) position(t *testing.T, kind Kind, id uuid.UUID) Position {
	t.Helper()
	var pos Position
	require.NoError(t, f.db.Super.QueryRow(context.Background(),
		`SELECT xid::text::bigint, seq FROM sync_changes WHERE kind = $1 AND entity_id = $2`, string(kind), id).Scan(&pos.Xid, &pos.Seq))
	return pos
}

func (f *fixture) pull(t *testing.T, cursor string, size int) Page {
	t.Helper()
	page, err := f.engine.Pull(context.Background(), f.p, f.dev, cursor, size)
	require.NoError(t, err)
	require.False(t, page.MustReset)
	return page
}

// pullPast pulls from cursor until the cursor has the change at pos, and returns it.
func (f *fixture) pullPast(t *testing.T, cursor string, pos Position) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := DecodeCursor(cursor)
		require.NoError(t, err)
		if c.Has(pos) {
			return cursor
		}
		require.True(t, time.Now().Before(deadline), "the cursor did not pass %v", pos)
		time.Sleep(10 * time.Millisecond)
		cursor = f.pull(t, cursor, 0).NextCursor
	}
}

func find(changes []Change, kind Kind, id uuid.UUID) (Change, bool) {
	for _, c := range changes {
		if c.Kind == kind && c.ID == id {
			return c, true
		}
	}
	return Change{}, false
}

func TestPullSendsAChangeAndNotAgainOnceTheCursorIsPast(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	first := f.pull(t, "", 0)
	c, ok := find(first.Changes, KindCustomer, f.customer)
	require.True(t, ok, "a first pull brings the salesperson's customer")
	require.False(t, c.Deleted)
	require.Equal(t, "Ms Li", c.Entity.(*Customer).DisplayName)

	note := f.addNote(t, "met at the fair")
	second := f.pull(t, first.NextCursor, 0)
	c, ok = find(second.Changes, KindNote, note)
	require.True(t, ok, "the pull after a change brings it")
	require.Equal(t, &Note{ID: note, CustomerID: f.customer, AuthorID: f.p.EmployeeID, Kind: "note", Body: "met at the fair",
		CreatedAt: c.Entity.(*Note).CreatedAt, UpdatedAt: c.Entity.(*Note).UpdatedAt}, c.Entity)

	cursor := f.pullPast(t, second.NextCursor, f.position(t, KindNote, note))
	third := f.pull(t, cursor, 0)
	_, ok = find(third.Changes, KindNote, note)
	require.False(t, ok, "a pull from a cursor past the change does not bring it again")
}

// notes counts how many times each note arrived.
type notes map[uuid.UUID]int

func (n notes) add(page Page) {
	for _, c := range page.Changes {
		if c.Kind == KindNote {
			n[c.ID]++
		}
	}
}

// pullAll pulls pages of size from cursor until nothing more is waiting, counting the notes, and returns
// the last cursor. Every page is full or the last one: a full page always moves the cursor.
func (f *fixture) pullAll(t *testing.T, cursor string, size int, seen notes) string {
	t.Helper()
	for range 1000 {
		page := f.pull(t, cursor, size)
		require.LessOrEqual(t, len(page.Changes), max(size, 1))
		seen.add(page)
		require.NotEqual(t, cursor, page.NextCursor, "a page moves the cursor")
		cursor = page.NextCursor
		if !page.HasMore {
			return cursor
		}
		require.Len(t, page.Changes, size, "a page followed by more is full")
	}
	t.Fatal("the pages did not end")
	return ""
}

// openNotes adds n notes in one transaction it leaves open until commit is called, and returns their ids.
func (f *fixture) openNotes(t *testing.T, n int, body string) (ids []uuid.UUID, commit func()) {
	t.Helper()
	ctx := context.Background()
	tx, err := f.db.Super.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	for range n {
		id := uuid.New()
		_, err = tx.Exec(ctx, `INSERT INTO customer_notes (id, tenant_id, customer_id, author_id, kind, body) VALUES ($1, $2, $3, $4, 'note', $5)`,
			id, f.p.TenantID, f.customer, f.p.EmployeeID, body)
		require.NoError(t, err)
		ids = append(ids, id)
	}
	return ids, func() { require.NoError(t, tx.Commit(ctx)) }
}

func TestPaginationNeverSkipsNorResendsAChange(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cursor := f.pull(t, "", 0).NextCursor
	want := notes{}
	// Two transactions write first and commit last, one of them several notes; the others commit
	// meanwhile, some of them several notes at once. Pages of 3 end inside the open transactions' ranges
	// and inside the others', before they commit and after.
	late, commitLate := f.openNote(t, "written first, committed last")
	want[late] = 1
	lateMany, commitLateMany := f.openNotes(t, 7, "written early, committed late")
	for _, id := range lateMany {
		want[id] = 1
	}
	for i := range 7 {
		want[f.addNote(t, fmt.Sprint("note ", i))] = 1
	}
	f.owner(t, `INSERT INTO customer_notes (id, tenant_id, customer_id, author_id, kind, body)
		SELECT gen_random_uuid(), $1, $2, $3, 'note', 'batch ' || n FROM generate_series(1, 5) n`, f.p.TenantID, f.customer, f.p.EmployeeID)
	rows, err := f.db.Super.Query(context.Background(), `SELECT id FROM customer_notes WHERE body LIKE 'batch %'`)
	require.NoError(t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	require.NoError(t, err)
	for _, id := range ids {
		want[id] = 1
	}

	// While the first transactions are open, the pages go on past them: everything committed arrives.
	seen := notes{}
	cursor = f.pullAll(t, cursor, 3, seen)
	require.Len(t, seen, 12, "every committed note")
	require.Zero(t, seen[late], "not committed yet")
	commitLateMany()
	cursor = f.pullAll(t, cursor, 3, seen) // pages end inside it: 7 rows of one transaction
	require.Len(t, seen, 19)
	commitLate()
	f.pullAll(t, cursor, 3, seen)
	require.Equal(t, want, seen, "every note once")
}

// A transaction held open in another tenant, which used to stop every device's cursor at it (the
// snapshot's xmin, cluster-wide), holds back nothing of this tenant's: a stream of changes arrives, each
// once, and the cursor moves past each while the other transaction is still open.
func TestALongTransactionElsewhereHoldsNothingBack(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	other := &fixture{db: f.db, p: authn.Principal{TenantID: uuid.New(), EmployeeID: uuid.New(), Role: authn.RoleSales}, customer: uuid.New()}
	other.owner(t, `INSERT INTO tenants (id, name, plan, seat_limit, expires_at) VALUES ($1, 'B', 'standard', 10, now() + interval '1 year')`, other.p.TenantID)
	other.owner(t, `INSERT INTO employees (id, tenant_id, name, role) VALUES ($1, $2, 'Sales B', 'sales')`, other.p.EmployeeID, other.p.TenantID)
	other.owner(t, `INSERT INTO customers (id, tenant_id, owner_id, display_name) VALUES ($1, $2, $3, 'Mr Wang')`, other.customer, other.p.TenantID, other.p.EmployeeID)
	_, commitOther := other.openNotes(t, 1, "held open")

	seen := notes{}
	cursor := f.pullAll(t, "", 0, seen)
	for i := range 30 {
		note := f.addNote(t, fmt.Sprint("note ", i))
		page := f.pull(t, cursor, 0)
		seen.add(page)
		require.False(t, page.HasMore)
		require.Equal(t, 1, seen[note], "note %d arrives with the pull after it", i)
		cursor = page.NextCursor
		c, err := DecodeCursor(cursor)
		require.NoError(t, err)
		require.True(t, c.Has(f.position(t, KindNote, note)), "the cursor is past note %d", i)
	}
	// A page that fills above the open transaction moves on too.
	for i := range 9 {
		f.addNote(t, fmt.Sprint("more ", i))
	}
	cursor = f.pullAll(t, cursor, 2, seen)
	require.Len(t, seen, 39)
	for id, n := range seen {
		require.Equal(t, 1, n, "note %s arrived %d times", id, n)
	}
	require.Empty(t, f.pull(t, cursor, 0).Changes, "nothing new, nothing again")
	commitOther()
	require.Empty(t, f.pull(t, cursor, 0).Changes, "the other tenant's note is not this scope's")
}

// A cursor of the first layout (a position fenced at the snapshot's xmin) goes on from where it was.
func TestACursorOfTheFirstLayoutGoesOn(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	first := f.addNote(t, "before")
	page := f.pull(t, "", 0)
	_, ok := find(page.Changes, KindNote, first)
	require.True(t, ok)
	now, err := DecodeCursor(page.NextCursor)
	require.NoError(t, err)
	old := now
	old.Pending, old.After = nil, f.position(t, KindNote, first)
	second := f.addNote(t, "after")
	page = f.pull(t, v1(old), 0)
	require.Len(t, page.Changes, 1, "the note after its position, not the one at it nor the customer before")
	require.Equal(t, second, page.Changes[0].ID)
	next, err := DecodeCursor(page.NextCursor)
	require.NoError(t, err)
	require.True(t, next.Has(f.position(t, KindNote, second)), "and a cursor of the new layout")
}

// A pull says when changes may be held back: a transaction open for a while (here: seen twice) that
// has written change rows. One that wrote nothing the change log records holds nothing back.
func TestAPullSaysWhenChangesAreHeldBack(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.engine.longTx, f.engine.recheck = 0, 0
	ctx := context.Background()
	cursor := f.pullAll(t, "", 0, notes{})

	idle, err := f.db.Super.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = idle.Rollback(ctx) }()
	_, err = idle.Exec(ctx, `SELECT pg_current_xact_id()`) // an id, and nothing written
	require.NoError(t, err)
	for range 3 {
		page := f.pull(t, cursor, 0)
		require.Zero(t, page.RetryAfter, "a transaction that wrote no change rows holds none back")
		cursor = page.NextCursor
	}

	ids, commit := f.openNotes(t, 1, "held")
	deadline := time.Now().Add(time.Minute)
	for {
		page := f.pull(t, cursor, 0)
		require.Empty(t, page.Changes)
		cursor = page.NextCursor
		if page.RetryAfter > 0 {
			require.GreaterOrEqual(t, page.RetryAfter, retryMin)
			require.LessOrEqual(t, page.RetryAfter, retryMax)
			break
		}
		require.True(t, time.Now().Before(deadline), "no hint while a writer is open")
	}
	commit()
	page := f.pull(t, cursor, 0)
	require.Zero(t, page.RetryAfter, "nothing held back once it committed")
	seen := notes{}
	seen.add(page)
	require.Equal(t, notes{ids[0]: 1}, seen)
}

func TestADeletedRowIsSentAsATombstone(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	note := f.addNote(t, "soon gone")
	page := f.pull(t, "", 0)
	_, ok := find(page.Changes, KindNote, note)
	require.True(t, ok)
	cursor := f.pullPast(t, page.NextCursor, f.position(t, KindNote, note))

	f.owner(t, `DELETE FROM customer_notes WHERE id = $1`, note)
	page = f.pull(t, cursor, 0)
	c, ok := find(page.Changes, KindNote, note)
	require.True(t, ok, "the delete is sent")
	require.Equal(t, Change{Kind: KindNote, ID: note, Deleted: true}, c)

	// A customer reassigned to someone else leaves this salesperson's copy the same way.
	other := uuid.New()
	f.owner(t, `INSERT INTO employees (id, tenant_id, name, role) VALUES ($1, $2, 'Other', 'sales')`, other, f.p.TenantID)
	f.owner(t, `UPDATE customers SET owner_id = $1 WHERE id = $2`, other, f.customer)
	page = f.pull(t, page.NextCursor, 0)
	c, ok = find(page.Changes, KindCustomer, f.customer)
	require.True(t, ok)
	require.True(t, c.Deleted)
	require.Nil(t, c.Entity)
}

func TestPullResetsACursorItCannotContinue(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cursor := f.pull(t, "", 0).NextCursor
	ctx := context.Background()
	for name, tc := range map[string]struct {
		dev    Device
		cursor string
	}{
		"garbage":        {f.dev, "garbage"},
		"another device": {Device{ID: "another", SchemaVersion: 1}, cursor},
	} {
		page, err := f.engine.Pull(ctx, f.p, tc.dev, tc.cursor, 0)
		require.NoError(t, err, name)
		require.Equal(t, Page{MustReset: true}, page, name)
	}
	f.owner(t, `UPDATE tenants SET sync_epoch = sync_epoch + 1 WHERE id = $1`, f.p.TenantID)
	page, err := f.engine.Pull(ctx, f.p, f.dev, cursor, 0)
	require.NoError(t, err)
	require.Equal(t, Page{MustReset: true}, page, "an earlier epoch")
}

func TestSchemaVersionOutOfRangeIsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	e := New(f.db.App, Config{MinSchema: 2, MaxSchema: 3})
	ctx := context.Background()
	for _, v := range []uint32{0, 1, 4} {
		dev := Device{ID: f.dev.ID, SchemaVersion: v}
		_, err := e.Pull(ctx, f.p, dev, "", 0)
		var se *SchemaError
		require.ErrorAs(t, err, &se)
		require.Equal(t, SchemaError{Version: v, Min: 2, Max: 3}, *se)
		require.Equal(t, fmt.Sprintf("schema version %d is not supported: this server accepts 2 to 3", v), err.Error())
		_, err = e.Push(ctx, f.p, dev, []Mutation{{ID: 1, Op: "x"}})
		require.ErrorAs(t, err, &se)
	}
	for _, v := range []uint32{2, 3} {
		_, err := e.Pull(ctx, f.p, Device{ID: f.dev.ID, SchemaVersion: v}, "", 0)
		require.NoError(t, err)
	}
}

// tagOp is the test's one kind of mutation: it adds a tag to the fixture's customer. A tag starting with
// "!" is refused as the domain would refuse it.
const tagOp = "tag_customer"

func (f *fixture) handleTags() {
	f.engine.Handle(tagOp, func(ctx context.Context, tx pgx.Tx, p authn.Principal, op proto.Message) error {
		tag := op.(*wrapperspb.StringValue).GetValue()
		switch tag {
		case "!gone":
			return platform.NotFound("customer")
		case "!bad":
			return platform.Invalid("tag", "not a tag")
		case "!stage":
			// PostgreSQL refuses the data (a check constraint): rejected too.
			_, err := tx.Exec(ctx, `UPDATE customers SET stage = 'no such stage' WHERE id = $1`, f.customer)
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE customers SET tags = array_append(tags, $1) WHERE id = $2`, tag, f.customer)
		return err
	})
}

func tag(id uint64, t string) Mutation {
	return Mutation{ID: id, Op: tagOp, Payload: wrapperspb.String(t), Content: []byte(fmt.Sprint(id, t))}
}

func (f *fixture) tags(t *testing.T) []string {
	t.Helper()
	var tags []string
	require.NoError(t, f.db.Super.QueryRow(context.Background(), `SELECT tags FROM customers WHERE id = $1`, f.customer).Scan(&tags))
	return tags
}

func TestPushAppliesAMutationOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.handleTags()
	ctx := context.Background()
	batch := []Mutation{tag(1, "vip"), tag(2, "!gone"), tag(3, "!bad"), tag(4, "!stage"), tag(5, "fair")}

	first, err := f.engine.Push(ctx, f.p, f.dev, batch)
	require.NoError(t, err)
	require.EqualValues(t, 5, first.LastMutationID)
	require.Equal(t, []Result{
		{ID: 1, Outcome: Applied},
		{ID: 2, Outcome: Lost, Reason: &Reason{Kind: platform.KindNotFound, Message: "customer not found"}},
		{ID: 3, Outcome: Rejected, Reason: &Reason{Kind: platform.KindInvalid, Field: "tag_customer.tag", Message: "not a tag"}},
		{ID: 4, Outcome: Rejected, Reason: &Reason{Kind: platform.KindInvalid, Message: "a value is not one this field accepts"}},
		{ID: 5, Outcome: Applied},
	}, first.Results)
	require.Equal(t, []string{"vip", "fair"}, f.tags(t), "what failed left nothing behind")

	// The reply was lost and the device sends the same push again: the same answers, from the record,
	// and nothing applied twice.
	again, err := f.engine.Push(ctx, f.p, f.dev, batch)
	require.NoError(t, err)
	require.EqualValues(t, 5, again.LastMutationID)
	for i, r := range again.Results {
		require.True(t, r.Replayed, "mutation %d", r.ID)
		r.Replayed = false
		require.Equal(t, first.Results[i], r)
	}
	require.Equal(t, []string{"vip", "fair"}, f.tags(t))

	// Resent with new ones: the old are answered from the record, the new applied.
	more, err := f.engine.Push(ctx, f.p, f.dev, []Mutation{tag(5, "fair"), tag(6, "won")})
	require.NoError(t, err)
	require.Equal(t, []Result{{ID: 5, Outcome: Applied, Replayed: true}, {ID: 6, Outcome: Applied}}, more.Results)
	require.Equal(t, []string{"vip", "fair", "won"}, f.tags(t))

	// The same id with a different change is refused whole.
	impostor := tag(1, "vip")
	impostor.Content = []byte("another change")
	_, err = f.engine.Push(ctx, f.p, f.dev, []Mutation{impostor})
	require.ErrorIs(t, err, ErrReusedID)
	var me *MismatchError
	require.ErrorAs(t, err, &me)
	require.EqualValues(t, 1, me.ID)
	require.Contains(t, err.Error(), "mutation 1 of this device id was a different change")

	// So is a gap.
	_, err = f.engine.Push(ctx, f.p, f.dev, []Mutation{tag(8, "late")})
	require.ErrorIs(t, err, ErrGap)
	require.ErrorAs(t, err, &me)
	require.Equal(t, MismatchError{Err: ErrGap, ID: 8, Next: 7}, *me)
	require.Equal(t, []string{"vip", "fair", "won"}, f.tags(t), "nothing of a refused push is applied")

	// The pull that holds the effects says which mutation they end with.
	page := f.pull(t, "", 0)
	require.EqualValues(t, 6, page.LastMutationID)
}

func TestPushRejectsWhatItCannotApply(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.handleTags()
	ctx := context.Background()
	invalid := &Reason{Kind: platform.KindInvalid, Field: "tag_customer.value", Message: "too long"}
	bad := tag(3, "x")
	bad.Invalid = invalid
	out, err := f.engine.Push(ctx, f.p, f.dev, []Mutation{
		{ID: 1, Op: "no_such_op", Payload: wrapperspb.String("?"), Content: []byte("1")},
		{ID: 2, Content: []byte("2")}, // an op the adapter could not read
		bad,
		tag(4, "after"),
	})
	require.NoError(t, err)
	unknown := "this server does not apply mutations of this kind (an app newer than the server?): it will never be applied"
	require.Equal(t, []Result{
		{ID: 1, Outcome: Rejected, Reason: &Reason{Kind: platform.KindInvalid, Message: unknown}},
		{ID: 2, Outcome: Rejected, Reason: &Reason{Kind: platform.KindInvalid, Message: unknown}},
		{ID: 3, Outcome: Rejected, Reason: invalid},
		{ID: 4, Outcome: Applied},
	}, out.Results, "the device is not stuck behind them")
	require.EqualValues(t, 4, out.LastMutationID)
	require.Equal(t, []string{"after"}, f.tags(t))
}

func TestPushRefusesABadNumbering(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.handleTags()
	ctx := context.Background()
	many := make([]Mutation, MaxPushMutations+1)
	for i := range many {
		many[i] = tag(uint64(i+1), "t")
	}
	for name, tc := range map[string]struct {
		ms   []Mutation
		want BatchError
	}{
		"none":            {nil, BatchError{Index: -1, Reason: "1 to 500 mutations"}},
		"too many":        {many, BatchError{Index: -1, Reason: "1 to 500 mutations"}},
		"id 0":            {[]Mutation{tag(0, "a")}, BatchError{Index: 0, Reason: "ids start at 1"}},
		"not consecutive": {[]Mutation{tag(1, "a"), tag(2, "b"), tag(4, "c")}, BatchError{Index: 2, Reason: "ids must be consecutive"}},
	} {
		_, err := f.engine.Push(ctx, f.p, f.dev, tc.ms)
		var be *BatchError
		require.ErrorAs(t, err, &be, name)
		require.Equal(t, tc.want, *be, name)
	}
	require.Empty(t, f.tags(t))
}

// The codes stored with outcomes are the Connect codes the app is sent for them, by name: a resend is
// answered from the record with the code it was first answered with, also for outcomes stored before
// this engine stopped computing Connect codes itself.
func TestStoredCodesAreTheCodesTheAppIsSent(t *testing.T) {
	t.Parallel()
	for k := platform.Kind(0); k < 32; k++ {
		sent := connect.CodeOf(rpcserver.ToConnect(&platform.Error{Kind: k})).String()
		require.Equal(t, sent, codeName(k), "kind %d", k)
		if _, ok := codeNames[k]; ok {
			require.Equal(t, k, codeKinds[codeName(k)], "kind %d reads back", k)
		}
	}
	require.Len(t, codeKinds, len(codeNames), "one name per kind")
}

// Outcomes recorded before keep answering resends: their digest is sha256 of the mutation's content,
// first 16 bytes (the adapter's golden test pins the content's encoding), and outcomes recorded before
// digests were kept match any content.
func TestResendsMatchOutcomesRecordedBefore(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.handleTags()
	ctx := context.Background()
	sum := sha256.Sum256([]byte("the change"))
	f.owner(t, `INSERT INTO sync_devices (tenant_id, employee_id, device_id, last_mutation_id, schema_version) VALUES ($1, $2, $3, 2, 1)`,
		f.p.TenantID, f.p.EmployeeID, f.dev.ID)
	f.owner(t, `INSERT INTO sync_mutations (tenant_id, employee_id, device_id, mutation_id, outcome, code, field, message, op_digest)
		VALUES ($1, $2, $3, 1, 'lost', 'not_found', '', 'customer not found', $4), ($1, $2, $3, 2, 'rejected', 'invalid_argument', 'tag_customer.tag', 'not a tag', NULL)`,
		f.p.TenantID, f.p.EmployeeID, f.dev.ID, sum[:16])

	resend := tag(1, "x")
	resend.Content = []byte("the change")
	out, err := f.engine.Push(ctx, f.p, f.dev, []Mutation{resend, tag(2, "anything"), tag(3, "new")})
	require.NoError(t, err)
	require.Equal(t, []Result{
		{ID: 1, Outcome: Lost, Replayed: true, Reason: &Reason{Kind: platform.KindNotFound, Message: "customer not found"}},
		{ID: 2, Outcome: Rejected, Replayed: true, Reason: &Reason{Kind: platform.KindInvalid, Field: "tag_customer.tag", Message: "not a tag"}},
		{ID: 3, Outcome: Applied},
	}, out.Results)

	resend.Content = []byte("another change")
	_, err = f.engine.Push(ctx, f.p, f.dev, []Mutation{resend})
	require.ErrorIs(t, err, ErrReusedID)
}
