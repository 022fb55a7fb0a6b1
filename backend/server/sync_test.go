package server_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server/servertest"
	"github.com/salesapp/scrm/sync/delta"
)

// device is a minimal replica for the tests here: it applies pages in order and keeps the cursor.
type device struct {
	t      *testing.T
	client salesappv1connect.SyncServiceClient
	id     string
	cursor string
	last   uint32
	next   uint32
	items  map[string]*salesappv1.Change
	// arrived counts the changes received per entity (kind/id) over the device's life.
	arrived map[string]int
}

func newDevice(t *testing.T, e *servertest.Env, p servertest.Person) *device {
	return &device{t: t, client: salesappv1connect.NewSyncServiceClient(e.HTTP, e.URL, servertest.As(p.Token)),
		id: "dev-" + uuid.NewString()[:8], items: map[string]*salesappv1.Change{}, arrived: map[string]int{}}
}

func keyOf(c *salesappv1.Change) string { return fmt.Sprintf("%s/%s", c.Kind, c.Id) }

// pullPage pulls one page and applies it.
func (d *device) pullPage(size uint32) *salesappv1.PullResponse {
	d.t.Helper()
	res, err := d.client.Pull(context.Background(), connect.NewRequest(&salesappv1.PullRequest{DeviceId: d.id, SchemaVersion: 1, Cursor: d.cursor, PageSize: size}))
	require.NoError(d.t, err)
	if res.Msg.MustReset {
		d.items, d.cursor, d.last = map[string]*salesappv1.Change{}, "", 0
		return res.Msg
	}
	for _, c := range res.Msg.Changes {
		if d.arrived != nil {
			d.arrived[keyOf(c)]++
		}
		if c.Deleted {
			delete(d.items, keyOf(c))
		} else {
			d.items[keyOf(c)] = c
		}
	}
	d.cursor, d.last = res.Msg.NextCursor, res.Msg.LastMutationId
	return res.Msg
}

// pull pulls until nothing more is waiting.
func (d *device) pull() {
	d.t.Helper()
	for range 1000 {
		res := d.pullPage(0)
		if !res.HasMore && !res.MustReset {
			return
		}
	}
	d.t.Fatal("pull did not finish")
}

func (d *device) count(kind salesappv1.EntityKind) int {
	n := 0
	for _, c := range d.items {
		if c.Kind == kind {
			n++
		}
	}
	return n
}

// any returns the id of some entity of a kind in the replica.
func (d *device) any(kind salesappv1.EntityKind) string {
	for _, c := range d.items {
		if c.Kind == kind {
			return c.Id
		}
	}
	d.t.Fatalf("no %s in the replica", kind)
	return ""
}

func (d *device) get(kind salesappv1.EntityKind, id string) *salesappv1.Change {
	return d.items[fmt.Sprintf("%s/%s", kind, id)]
}

func (d *device) push(ms ...*salesappv1.Mutation) (*salesappv1.PushResponse, error) {
	res, err := d.client.Push(context.Background(), connect.NewRequest(&salesappv1.PushRequest{DeviceId: d.id, SchemaVersion: 1, Mutations: ms}))
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

// mutation numbers the next mutation of this device.
func (d *device) mutation(m *salesappv1.Mutation) *salesappv1.Mutation {
	d.next++
	m.Id = d.next
	return m
}

// customerOf brings a visitor in through sales's share and returns the customer's id (the test's only one).
func customerOf(t *testing.T, e *servertest.Env, sales servertest.Person, token, visitor string) string {
	t.Helper()
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, visitor))
	list, err := customers(e, sales.Token).ListCustomers(context.Background(), connect.NewRequest(&salesappv1.ListCustomersRequest{}))
	require.NoError(t, err)
	require.Len(t, list.Msg.Customers, 1)
	return list.Msg.Customers[0].Id
}

func TestSyncBringsTheScopesAndNothingElse(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	a, sales, token, materialID := sharedMaterial(t, e)
	cid := customerOf(t, e, sales, token, "visitor-sy01")

	_, err := clientsOf(e, sales.Token).cards.GetMyCard(context.Background(), connect.NewRequest(&salesappv1.GetMyCardRequest{}))
	require.NoError(t, err)
	d := newDevice(t, e, sales)
	d.pull()
	c := d.get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, cid)
	require.NotNil(t, c, "the salesperson's customer")
	require.EqualValues(t, 1, c.GetCustomer().Views)
	require.Equal(t, 1, d.count(salesappv1.EntityKind_ENTITY_KIND_TIMELINE_ENTRY), "the customer's view")
	require.NotNil(t, d.get(salesappv1.EntityKind_ENTITY_KIND_MATERIAL, materialID), "the tenant's published material")
	require.Equal(t, 1, d.count(salesappv1.EntityKind_ENTITY_KIND_ALERT), "the first-view alert")
	require.NotNil(t, d.get(salesappv1.EntityKind_ENTITY_KIND_CARD, sales.ID.String()), "their card")

	// Another salesperson of the tenant shares the material but sees none of the first one's customers.
	other := newDevice(t, e, e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil))
	other.pull()
	require.Zero(t, other.count(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER))
	require.NotNil(t, other.get(salesappv1.EntityKind_ENTITY_KIND_MATERIAL, materialID))
	// Another tenant sees nothing of this one.
	b := e.NewTenant(t, "B", 0)
	foreign := newDevice(t, e, e.NewPerson(t, b.ID, authn.RoleSales, uuid.Nil))
	foreign.pull()
	require.Empty(t, foreign.items)

	// Library changes reach every salesperson's copy: a new enterprise folder, a material deleted.
	admin := clientsOf(e, a.Admin.Token)
	folder, err := admin.materials.CreateFolder(context.Background(), connect.NewRequest(&salesappv1.CreateFolderRequest{
		Tier: salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, Name: "Brochures"}))
	require.NoError(t, err)
	gone := createArticle(t, admin, salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, "Old plan")
	publish(t, admin, gone.Id)
	other.pull()
	require.NotNil(t, other.get(salesappv1.EntityKind_ENTITY_KIND_FOLDER, folder.Msg.Folder.Id))
	require.NotNil(t, other.get(salesappv1.EntityKind_ENTITY_KIND_MATERIAL, gone.Id))
	_, err = admin.materials.DeleteMaterial(context.Background(), connect.NewRequest(&salesappv1.DeleteMaterialRequest{MaterialId: gone.Id}))
	require.NoError(t, err)
	other.pull()
	require.Nil(t, other.get(salesappv1.EntityKind_ENTITY_KIND_MATERIAL, gone.Id), "a tombstone removed it")
	d.pull()

	// Nothing changed: an incremental pull brings nothing, not even what other tests' transactions open in
	// the same cluster used to hold its cursor behind.
	before := len(d.items)
	require.Empty(t, d.pullPage(0).Changes)
	require.Len(t, d.items, before)

	// A cursor is no use to anyone else, nor from an older epoch: a reset, never a silent gap.
	res, err := other.client.Pull(context.Background(), connect.NewRequest(&salesappv1.PullRequest{DeviceId: other.id, SchemaVersion: 1, Cursor: d.cursor}))
	require.NoError(t, err)
	require.True(t, res.Msg.MustReset)
	res, err = d.client.Pull(context.Background(), connect.NewRequest(&salesappv1.PullRequest{DeviceId: d.id, SchemaVersion: 1, Cursor: "garbage"}))
	require.NoError(t, err)
	require.True(t, res.Msg.MustReset)
	_, err = e.DB.Super.Exec(context.Background(), "UPDATE tenants SET sync_epoch = sync_epoch + 1 WHERE id = $1", a.ID)
	require.NoError(t, err)
	require.True(t, d.pullPage(0).MustReset)
	d.pull()
	require.Len(t, d.items, before, "a full sync again after the reset")

	// Client schema versions outside the range are refused.
	_, err = d.client.Pull(context.Background(), connect.NewRequest(&salesappv1.PullRequest{DeviceId: d.id, SchemaVersion: 99}))
	requireCode(t, err, connect.CodeFailedPrecondition, "schema version 99")
	_, err = d.client.Push(context.Background(), connect.NewRequest(&salesappv1.PushRequest{DeviceId: d.id, SchemaVersion: 99,
		Mutations: []*salesappv1.Mutation{{Id: 1, Op: &salesappv1.Mutation_DeleteNote{DeleteNote: &salesappv1.DeleteNote{NoteId: uuid.NewString()}}}}}))
	requireCode(t, err, connect.CodeFailedPrecondition, "schema version 99")
}

// noteTx inserts a note in a transaction of its own that it leaves open until the returned function runs.
func noteTx(t *testing.T, e *servertest.Env, sales servertest.Person, customerID, body string) func() {
	t.Helper()
	commit, err := openNoteTx(e, sales, customerID, body)
	require.NoError(t, err)
	return func() { require.NoError(t, commit()) }
}

// openNoteTx is noteTx for goroutines: it returns its errors.
func openNoteTx(e *servertest.Env, p servertest.Person, customerID, body string) (commit func() error, err error) {
	ctx := context.Background()
	tx, err := e.DB.App.Pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	if err := platform.SetTenant(ctx, tx, p.TenantID); err != nil {
		return nil, errors.Join(err, tx.Rollback(ctx))
	}
	if _, err := tx.Exec(ctx, `INSERT INTO customer_notes (id, tenant_id, customer_id, author_id, kind, body) VALUES ($1, $2, $3, $4, 'note', $5)`,
		uuid.New(), p.TenantID, customerID, p.ID, body); err != nil {
		return nil, errors.Join(err, tx.Rollback(ctx))
	}
	return func() error { return tx.Commit(ctx) }, nil
}

// openCustomerTx inserts a customer of p's in a transaction of p's tenant that it leaves open (a writer
// holding change rows) until the returned function commits it; the test's end rolls it back otherwise.
// It stands for a busy transaction, which the server's idle-in-transaction timeout does not end.
func openCustomerTx(t *testing.T, e *servertest.Env, p servertest.Person) (commit func() error) {
	t.Helper()
	ctx := context.Background()
	tx, err := e.DB.App.Pool.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	require.NoError(t, platform.SetTenant(ctx, tx, p.TenantID))
	_, err = tx.Exec(ctx, `SET LOCAL idle_in_transaction_session_timeout = 0`)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `INSERT INTO customers (id, tenant_id, owner_id, display_name) VALUES ($1, $2, $3, 'Held open')`, uuid.New(), p.TenantID, p.ID)
	require.NoError(t, err)
	return func() error { return tx.Commit(ctx) }
}

// has reports whether the device's cursor has the change row of a note: the row is at or before the
// cursor's position and not of a transaction it still waits for.
func (d *device) has(e *servertest.Env, noteID string) bool {
	d.t.Helper()
	var pos delta.Position
	require.NoError(d.t, e.DB.Super.QueryRow(context.Background(),
		`SELECT xid::text::bigint, seq FROM sync_changes WHERE kind = 'note' AND entity_id = $1`, noteID).Scan(&pos.Xid, &pos.Seq))
	c, err := delta.DecodeCursor(d.cursor)
	require.NoError(d.t, err)
	return c.Has(pos)
}

func TestTransactionsCommittingOutOfOrderAreNotSkipped(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	_, sales, token, _ := sharedMaterial(t, e)
	cid := customerOf(t, e, sales, token, "visitor-sy02")
	d := newDevice(t, e, sales)
	d.pull()

	commitT1 := noteTx(t, e, sales, cid, "T1: written first, committed last")
	noteTx(t, e, sales, cid, "T2: written second, committed first")()
	d.pull()
	require.Equal(t, 1, d.count(salesappv1.EntityKind_ENTITY_KIND_NOTE), "T2 only: T1 is still open")
	commitT1()
	d.pull()
	require.Equal(t, 2, d.count(salesappv1.EntityKind_ENTITY_KIND_NOTE), "T1 committed after the pull that read past it")

	// The same with small pages: a page boundary inside the open transaction's range loses nothing.
	commitT3 := noteTx(t, e, sales, cid, "T3")
	for i := range 5 {
		noteTx(t, e, sales, cid, fmt.Sprintf("T4.%d", i))()
	}
	for range 20 {
		if !d.pullPage(2).HasMore {
			break
		}
	}
	commitT3()
	d.pull()
	require.Equal(t, 8, d.count(salesappv1.EntityKind_ENTITY_KIND_NOTE))

	// A writer in another tenant holds its transaction open across many pulls while this tenant commits
	// a stream of changes, each followed by a pull, and then more than a page at once: every change
	// arrives with the pull after it and moves the cursor past it, the other transaction still open.
	b := e.NewTenant(t, "B", 0)
	commitB := openCustomerTx(t, e, e.NewPerson(t, b.ID, authn.RoleSales, uuid.Nil))
	for i := range 25 {
		noteTx(t, e, sales, cid, fmt.Sprintf("stream %d", i))()
		res := d.pullPage(0)
		require.False(t, res.HasMore)
		require.Len(t, res.Changes, 1, "the new note, and nothing again")
		require.True(t, d.has(e, res.Changes[0].Id), "the cursor is past stream note %d", i)
	}
	commitT5 := noteTx(t, e, sales, cid, "T5: open while the pages fill")
	for i := range 9 {
		noteTx(t, e, sales, cid, fmt.Sprintf("burst %d", i))()
	}
	for pages := 0; ; pages++ {
		require.Less(t, pages, 20, "pages of 2 above two open transactions move on")
		if res := d.pullPage(2); !res.HasMore {
			break
		} else {
			require.Len(t, res.Changes, 2)
		}
	}
	require.Empty(t, d.pullPage(0).Changes, "nothing new, nothing again")
	commitT5()
	d.pull()
	require.NoError(t, commitB(), "the other tenant's transaction was open all along")
	d.pull()

	rows, err := e.DB.Super.Query(context.Background(), `SELECT id::text FROM customer_notes WHERE customer_id = $1`, cid)
	require.NoError(t, err)
	notes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Len(t, notes, 8+25+1+9)
	require.Equal(t, len(notes), d.count(salesappv1.EntityKind_ENTITY_KIND_NOTE))
	resends := 0
	for _, id := range notes {
		require.NotNil(t, d.get(salesappv1.EntityKind_ENTITY_KIND_NOTE, id))
		resends += d.arrived[fmt.Sprintf("%s/%s", salesappv1.EntityKind_ENTITY_KIND_NOTE, id)] - 1
	}
	require.Zero(t, resends, "no note arrived twice")
}

func addNote(customerID, body string) *salesappv1.Mutation {
	return &salesappv1.Mutation{Op: &salesappv1.Mutation_AddNote{AddNote: &salesappv1.AddNote{NoteId: uuid.NewString(), CustomerId: customerID, Kind: "note", Body: body}}}
}

func setRemark(customerID, remark string) *salesappv1.Mutation {
	return &salesappv1.Mutation{Op: &salesappv1.Mutation_EditCustomer{EditCustomer: &salesappv1.EditCustomer{CustomerId: customerID, Remark: &remark}}}
}

func TestPushAppliesEachMutationOnce(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	a, sales, token, _ := sharedMaterial(t, e)
	cid := customerOf(t, e, sales, token, "visitor-sy03")
	d := newDevice(t, e, sales)

	batch := []*salesappv1.Mutation{
		d.mutation(addNote(cid, "met at the fair")),
		d.mutation(&salesappv1.Mutation{Op: &salesappv1.Mutation_SetStage{SetStage: &salesappv1.SetStage{CustomerId: cid, Stage: salesappv1.CustomerStage_CUSTOMER_STAGE_INTERESTED}}}),
		d.mutation(&salesappv1.Mutation{Op: &salesappv1.Mutation_TagCustomer{TagCustomer: &salesappv1.TagCustomer{CustomerId: cid, Tag: "vip"}}}),
		d.mutation(addNote(uuid.NewString(), "about somebody unknown")),
		d.mutation(&salesappv1.Mutation{Op: &salesappv1.Mutation_UpdateMyCard{UpdateMyCard: &salesappv1.UpdateMyCard{Title: proto.String("Senior advisor")}}}),
	}
	first, err := d.push(batch...)
	require.NoError(t, err)
	require.EqualValues(t, 5, first.LastMutationId)
	outcomes := []salesappv1.MutationResult_Outcome{}
	for _, r := range first.Results {
		outcomes = append(outcomes, r.Outcome)
	}
	require.Equal(t, []salesappv1.MutationResult_Outcome{salesappv1.MutationResult_OUTCOME_APPLIED, salesappv1.MutationResult_OUTCOME_APPLIED,
		salesappv1.MutationResult_OUTCOME_APPLIED, salesappv1.MutationResult_OUTCOME_LOST, salesappv1.MutationResult_OUTCOME_APPLIED}, outcomes,
		"a note about a customer the caller cannot see is lost, and the ids still advance")

	// The reply was lost; the device sends the same push again: nothing is applied twice, the answer is the same.
	again, err := d.push(batch...)
	require.NoError(t, err)
	require.True(t, proto.Equal(first, again), "%v\n%v", first, again)
	d.pull()
	require.Equal(t, 1, d.count(salesappv1.EntityKind_ENTITY_KIND_NOTE))
	c := d.get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, cid).GetCustomer()
	require.Equal(t, salesappv1.CustomerStage_CUSTOMER_STAGE_INTERESTED, c.Stage, "the RPCs' enum, in sync too")
	require.Equal(t, salesappv1.ShareChannel_SHARE_CHANNEL_CHAT, c.SourceChannel, "brought by a chat share")
	require.Equal(t, []string{"vip"}, c.Tags)
	require.Equal(t, "Senior advisor", d.get(salesappv1.EntityKind_ENTITY_KIND_CARD, sales.ID.String()).GetCard().Title)
	require.EqualValues(t, 5, d.last)

	// A different change under an id already answered (another installation reusing the device id) is
	// refused, not answered "applied" from the record of the first.
	impostor := proto.Clone(batch[0]).(*salesappv1.Mutation)
	impostor.GetAddNote().Body = "written by another installation"
	_, err = d.push(impostor)
	requireCode(t, err, connect.CodeFailedPrecondition, "mutation 1 of this device id was a different change")

	// A gap is refused and applies nothing.
	d.next++ // mutation 6 is "lost" on the device
	_, err = d.push(d.mutation(addNote(cid, "after a gap")))
	requireCode(t, err, connect.CodeFailedPrecondition, "mutation 6 is next")
	// Invalid input is rejected for good (and the id advances); a bad id set is refused whole.
	d.next = 5
	bad, err := d.push(d.mutation(&salesappv1.Mutation{Op: &salesappv1.Mutation_AddNote{AddNote: &salesappv1.AddNote{NoteId: "not-a-uuid", CustomerId: cid, Kind: "note", Body: "x"}}}),
		d.mutation(setRemark(cid, "after the bad one")))
	require.NoError(t, err)
	require.Equal(t, salesappv1.MutationResult_OUTCOME_REJECTED, bad.Results[0].Outcome)
	require.Equal(t, "invalid_argument", bad.Results[0].Code)
	require.Equal(t, "add_note.note_id", bad.Results[0].Field)
	require.Equal(t, salesappv1.MutationResult_OUTCOME_APPLIED, bad.Results[1].Outcome, "the device is not stuck behind it")
	require.EqualValues(t, 7, bad.LastMutationId)
	// A mutation of a kind this server does not know (an app newer than the server) is rejected on its own.
	unknown, err := d.push(d.mutation(&salesappv1.Mutation{}))
	require.NoError(t, err)
	require.Equal(t, salesappv1.MutationResult_OUTCOME_REJECTED, unknown.Results[0].Outcome)
	require.Contains(t, unknown.Results[0].Message, "does not apply mutations of this kind")
	_, err = d.push(&salesappv1.Mutation{Id: 9, Op: setRemark(cid, "a").Op}, &salesappv1.Mutation{Id: 11, Op: setRemark(cid, "b").Op})
	requireCode(t, err, connect.CodeInvalidArgument, "mutations[1].id")

	// Two pushes of the same mutations at once from one device: each mutation is applied once.
	base := d.next
	var wg sync.WaitGroup
	ms := []*salesappv1.Mutation{d.mutation(addNote(cid, "concurrent 1")), d.mutation(addNote(cid, "concurrent 2"))}
	errs := make([]error, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = d.push(ms...)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	d.pull()
	require.Equal(t, 3, d.count(salesappv1.EntityKind_ENTITY_KIND_NOTE))
	require.EqualValues(t, base+2, d.last)

	// A delete beats an edit: the edit of a note deleted meanwhile is lost, and the device is told.
	noteID := d.any(salesappv1.EntityKind_ENTITY_KIND_NOTE)
	del, err := d.push(d.mutation(&salesappv1.Mutation{Op: &salesappv1.Mutation_DeleteNote{DeleteNote: &salesappv1.DeleteNote{NoteId: noteID}}}))
	require.NoError(t, err)
	require.Equal(t, salesappv1.MutationResult_OUTCOME_APPLIED, del.Results[0].Outcome)
	edit, err := d.push(d.mutation(&salesappv1.Mutation{Op: &salesappv1.Mutation_EditNote{EditNote: &salesappv1.EditNote{NoteId: noteID, Body: "edited offline"}}}))
	require.NoError(t, err)
	require.Equal(t, salesappv1.MutationResult_OUTCOME_LOST, edit.Results[0].Outcome)
	require.Equal(t, "not_found", edit.Results[0].Code)
	d.pull()
	require.Nil(t, d.get(salesappv1.EntityKind_ENTITY_KIND_NOTE, noteID), "the tombstone removed it")

	// Another tenant's device cannot touch this customer.
	b := e.NewTenant(t, "B", 0)
	foreign := newDevice(t, e, e.NewPerson(t, b.ID, authn.RoleSales, uuid.Nil))
	res, err := foreign.push(foreign.mutation(setRemark(cid, "hijack")))
	require.NoError(t, err)
	require.Equal(t, salesappv1.MutationResult_OUTCOME_LOST, res.Results[0].Outcome)
	_ = a
}

// Mutation k sets the remark to "k": whatever a pull reports as the last mutation, the replica must hold
// exactly that mutation's remark, never an older one (missing effects) nor a newer one (effects of a
// mutation it does not report).
func TestPullReportsTheLastMutationWhoseEffectsItHolds(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	_, sales, token, _ := sharedMaterial(t, e)
	cid := customerOf(t, e, sales, token, "visitor-sy04")
	pusher := newDevice(t, e, sales)
	reader := &device{t: t, client: pusher.client, id: pusher.id, items: map[string]*salesappv1.Change{}}
	reader.pull()

	done := make(chan struct{})
	go func() {
		defer close(done)
		for k := 1; k <= 40; k++ {
			_, err := pusher.push(pusher.mutation(setRemark(cid, fmt.Sprint(k))))
			if err != nil {
				t.Error(err)
				return
			}
		}
	}()
	checks := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		reader.pull()
		if reader.last > 0 {
			checks++
			require.Equal(t, fmt.Sprint(reader.last), reader.get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, cid).GetCustomer().Remark)
		}
	}
	reader.pull()
	require.EqualValues(t, 40, reader.last)
	require.Equal(t, "40", reader.get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, cid).GetCustomer().Remark)
	require.Positive(t, checks, "pulls ran while mutations landed")
	t.Logf("%d pulls checked", checks)
}

func TestReassignedCustomersMoveBetweenReplicas(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	a, sales, token, _ := sharedMaterial(t, e)
	cid := customerOf(t, e, sales, token, "visitor-sy05")
	newOwner := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	from, to := newDevice(t, e, sales), newDevice(t, e, newOwner)
	_, err := from.push(from.mutation(addNote(cid, "likes the family plan")))
	require.NoError(t, err)
	from.pull()
	to.pull()
	require.NotNil(t, from.get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, cid))
	require.Equal(t, 1, from.count(salesappv1.EntityKind_ENTITY_KIND_NOTE))
	require.Equal(t, 1, from.count(salesappv1.EntityKind_ENTITY_KIND_TIMELINE_ENTRY))

	_, err = customers(e, a.Admin.Token).AssignCustomer(context.Background(), connect.NewRequest(&salesappv1.AssignCustomerRequest{CustomerId: cid, OwnerId: newOwner.ID.String()}))
	require.NoError(t, err)
	from.pull()
	to.pull()
	require.Nil(t, from.get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, cid), "a delete for the old owner")
	require.Zero(t, from.count(salesappv1.EntityKind_ENTITY_KIND_NOTE))
	require.Zero(t, from.count(salesappv1.EntityKind_ENTITY_KIND_TIMELINE_ENTRY))
	require.NotNil(t, to.get(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, cid), "an upsert for the new one")
	require.Equal(t, 1, to.count(salesappv1.EntityKind_ENTITY_KIND_NOTE), "with its notes")
	require.Equal(t, 1, to.count(salesappv1.EntityKind_ENTITY_KIND_TIMELINE_ENTRY), "and its timeline")

	// The old owner's offline edit of the customer loses to the reassignment, and they are told.
	res, err := from.push(from.mutation(setRemark(cid, "offline edit")))
	require.NoError(t, err)
	require.Equal(t, salesappv1.MutationResult_OUTCOME_LOST, res.Results[0].Outcome)
}

// The app role may run the prune; tombstones older than the horizon make older cursors reset.
func TestPrunedTombstonesResetOlderCursors(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	_, sales, token, _ := sharedMaterial(t, e)
	cid := customerOf(t, e, sales, token, "visitor-sy06")
	d := newDevice(t, e, sales)
	d.pull()
	stale := d.cursor
	_, err := d.push(d.mutation(addNote(cid, "soon gone")))
	require.NoError(t, err)
	d.pull()
	noteID := d.any(salesappv1.EntityKind_ENTITY_KIND_NOTE)
	_, err = d.push(d.mutation(&salesappv1.Mutation{Op: &salesappv1.Mutation_DeleteNote{DeleteNote: &salesappv1.DeleteNote{NoteId: noteID}}}))
	require.NoError(t, err)
	ctx := context.Background()
	_, err = e.DB.Super.Exec(ctx, "UPDATE sync_changes SET changed_at = now() - interval '31 days' WHERE tombstone")
	require.NoError(t, err)
	require.NoError(t, pgx.BeginFunc(ctx, e.DB.App.Pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "SELECT sync_prune()")
		return err
	}))
	res, err := d.client.Pull(ctx, connect.NewRequest(&salesappv1.PullRequest{DeviceId: d.id, SchemaVersion: 1, Cursor: stale}))
	require.NoError(t, err)
	require.True(t, res.Msg.MustReset, "the delete it would need is gone")
}
