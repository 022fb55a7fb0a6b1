package customer_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
)

// world is one tenant with a team of a manager and two salespeople, and an admin.
type world struct {
	db                       *pgtest.DB
	tenant, team             uuid.UUID
	admin, manager, ann, bob authn.Principal
	other                    authn.Principal // a salesperson of another tenant
	svc                      *customer.Service
}

func newWorld(t *testing.T) *world {
	t.Helper()
	db := pgtest.New(t)
	w := &world{db: db, svc: customer.NewService(db.App)}
	tn := db.NewTenant(t, "Customers")
	w.tenant, w.admin = tn.ID, tn.Admin
	w.team = db.NewTeam(t, w.tenant, "East")
	w.manager = db.NewEmployee(t, w.tenant, authn.RoleManager, w.team)
	w.ann = db.NewEmployee(t, w.tenant, authn.RoleSales, w.team)
	w.bob = db.NewEmployee(t, w.tenant, authn.RoleSales, uuid.Nil)
	other := db.NewTenant(t, "Other")
	w.other = db.NewEmployee(t, other.ID, authn.RoleSales, uuid.Nil)
	return w
}

// ingest runs what the tracking transaction runs for a batch: identify, then record activity.
func (w *world) ingest(t *testing.T, visits []customer.Visit, acts func(b *customer.Batch) ([]customer.Activity, []customer.Entry)) *customer.Batch {
	t.Helper()
	var batch *customer.Batch
	err := w.db.App.InTenantTx(context.Background(), w.tenant, func(tx pgx.Tx) error {
		if _, err := tx.Exec(context.Background(), "SELECT set_config('app.sync_deferred', 'on', true)"); err != nil {
			return err
		}
		var err error
		if batch, err = customer.IdentifyVisitorsTx(context.Background(), tx, w.tenant, visits, nil); err != nil {
			return err
		}
		if acts == nil {
			return nil
		}
		a, e := acts(batch)
		return batch.RecordActivityTx(context.Background(), a, e)
	})
	require.NoError(t, err)
	return batch
}

func visit(visitor string, sharer uuid.UUID) customer.Visit {
	return customer.Visit{VisitorID: visitor, SharerID: sharer, ShareID: uuid.New(), Channel: event.ChannelChat, At: time.Now()}
}

func TestNewVisitorBelongsToTheSharerAndIsKnownNextTime(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := w.ingest(t, []customer.Visit{visit("visitor-one", w.ann.EmployeeID), visit("visitor-two", w.bob.EmployeeID)}, nil)
	one, two := b.Customer("visitor-one"), b.Customer("visitor-two")
	require.NotEqual(t, uuid.Nil, one)
	require.NotEqual(t, one, two)
	require.Equal(t, customer.Prior{OwnerID: w.ann.EmployeeID, New: true}, b.Prior(one))
	require.Equal(t, w.bob.EmployeeID, b.Prior(two).OwnerID)

	// Seen again (through a share of someone else): the same customer, still Ann's, no longer new.
	again := w.ingest(t, []customer.Visit{visit("visitor-one", w.bob.EmployeeID)}, nil)
	require.Equal(t, one, again.Customer("visitor-one"))
	require.False(t, again.Prior(one).New)
	require.Equal(t, w.ann.EmployeeID, again.Prior(one).OwnerID)

	c, err := w.svc.Get(context.Background(), w.ann, one)
	require.NoError(t, err)
	require.Equal(t, event.ChannelChat, c.SourceChannel)
	require.Equal(t, customer.StageNew, c.Stage)
}

func TestPoolRuleLeavesNewCustomersUnownedOnEveryPath(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	_, err := w.db.Super.Exec(context.Background(), `UPDATE tenants SET customer_owner_rule = $2 WHERE id = $1`, w.tenant, string(customer.OwnerPool))
	require.NoError(t, err)

	b := w.ingest(t, []customer.Visit{visit("pooled-visitor", w.ann.EmployeeID)}, nil)
	id := b.Customer("pooled-visitor")
	require.Equal(t, uuid.Nil, b.Prior(id).OwnerID)

	// A sign-in that makes a customer follows the same rule.
	signed, returning, err := w.svc.Identify(context.Background(), w.tenant, "signed-in-visitor",
		customer.Source{OwnerID: w.ann.EmployeeID, ShareID: uuid.New(), Channel: event.ChannelQR},
		customer.Identity{Kind: customer.IdentityUnion, Value: "union-1"})
	require.NoError(t, err)
	require.False(t, returning)

	pool, _, err := w.svc.List(context.Background(), w.manager, customer.Filter{Unassigned: true})
	require.NoError(t, err)
	ids := []uuid.UUID{}
	for _, c := range pool {
		require.False(t, c.OwnerID.Valid)
		ids = append(ids, c.ID)
	}
	require.ElementsMatch(t, []uuid.UUID{id, signed}, ids)

	// Salespeople do not see the pool.
	_, _, err = w.svc.List(context.Background(), w.ann, customer.Filter{Unassigned: true})
	require.Equal(t, platform.KindPermissionDenied, platform.KindOf(err))
}

func TestRecordActivityAddsCountersScoreAndTellsTheOwnersCopy(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	entry := uuid.New()
	at := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	first := visit("active-visitor", w.ann.EmployeeID)
	first.At = at.Add(-time.Second)
	b := w.ingest(t, []customer.Visit{first}, func(b *customer.Batch) ([]customer.Activity, []customer.Entry) {
		id := b.Customer("active-visitor")
		return []customer.Activity{{CustomerID: id, Views: 2, DwellMs: 90_000, Calls: 1, Phone: "+8613800000000", Active: at}},
			[]customer.Entry{{ID: entry, CustomerID: id, At: at}}
	})
	id := b.Customer("active-visitor")
	// Again: counters add up; a batch without a phone keeps the one left.
	w.ingest(t, []customer.Visit{visit("active-visitor", w.ann.EmployeeID)}, func(b *customer.Batch) ([]customer.Activity, []customer.Entry) {
		return []customer.Activity{{CustomerID: id, Views: 1, Forwards: 1, Active: at.Add(-time.Hour)}}, nil
	})

	p, err := w.svc.Get(context.Background(), w.ann, id)
	require.NoError(t, err)
	require.EqualValues(t, 3, p.Views)
	require.EqualValues(t, 90_000, p.DwellMs)
	require.EqualValues(t, 1, p.Forwards)
	require.EqualValues(t, 1, p.CallClicks)
	require.Equal(t, "+8613800000000", p.Phone)
	require.WithinDuration(t, at, p.LastActiveAt, time.Millisecond, "an older event does not move last activity back")
	// customer_intent: 3 views*3 + 1 min*3 + 1 forward*4 + 1 call*10 + phone 15.
	require.EqualValues(t, 9+3+4+10+15, p.IntentScore)

	// The owner's offline copy hears of the customer and the timeline entry, in the owner's scope.
	rows, err := w.db.Super.Query(context.Background(), `SELECT kind, entity_id, coalesce(parent_id, '00000000-0000-0000-0000-000000000000') FROM sync_changes WHERE scope = $1 ORDER BY kind`, w.ann.EmployeeID)
	require.NoError(t, err)
	type change struct {
		Kind           string
		Entity, Parent uuid.UUID
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[change])
	require.NoError(t, err)
	require.Equal(t, []change{{"customer", id, uuid.Nil}, {"timeline", entry, id}}, got)
}

func TestPooledCustomersActivityReachesNoOfflineCopy(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	_, err := w.db.Super.Exec(context.Background(), `UPDATE tenants SET customer_owner_rule = 'pool' WHERE id = $1`, w.tenant)
	require.NoError(t, err)
	w.ingest(t, []customer.Visit{visit("pool-visitor", w.ann.EmployeeID)}, func(b *customer.Batch) ([]customer.Activity, []customer.Entry) {
		id := b.Customer("pool-visitor")
		return []customer.Activity{{CustomerID: id, Views: 1, Active: time.Now()}}, []customer.Entry{{ID: uuid.New(), CustomerID: id, At: time.Now()}}
	})
	var n int
	// (The tenant's other rows, its manager's roster, are not the customer's.)
	require.NoError(t, w.db.Super.QueryRow(context.Background(), `SELECT count(*) FROM sync_changes WHERE tenant_id = $1
		AND kind IN ('customer', 'timeline', 'note')`, w.tenant).Scan(&n))
	require.Zero(t, n)
}

func TestSignInMergesTheVisitorsCustomerIntoTheKnownPerson(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	// The person signed in once on another device: a customer with a unionid.
	known, _, err := w.svc.Identify(ctx, w.tenant, "first-device", customer.Source{OwnerID: w.ann.EmployeeID, Channel: event.ChannelChat},
		customer.Identity{Kind: customer.IdentityUnion, Value: "union-42"})
	require.NoError(t, err)
	// Now they browse anonymously on a second device, through Bob's share, and do things.
	b := w.ingest(t, []customer.Visit{visit("second-device", w.bob.EmployeeID)}, func(b *customer.Batch) ([]customer.Activity, []customer.Entry) {
		return []customer.Activity{{CustomerID: b.Customer("second-device"), Views: 4, Active: time.Now()}}, nil
	})
	anon := b.Customer("second-device")
	require.NotEqual(t, known, anon)

	// Signing in on the second device merges the anonymous customer into the known one.
	got, returning, err := w.svc.Identify(ctx, w.tenant, "second-device", customer.Source{},
		customer.Identity{Kind: customer.IdentityUnion, Value: "union-42"})
	require.NoError(t, err)
	require.True(t, returning)
	require.Equal(t, known, got)
	p, err := w.svc.Get(ctx, w.ann, known)
	require.NoError(t, err)
	require.EqualValues(t, 4, p.Views, "the merged customer's activity counts once, on the survivor")
	survivor, err := func() (uuid.UUID, error) {
		var s uuid.UUID
		err := w.db.App.InTenantTx(ctx, w.tenant, func(tx pgx.Tx) error {
			var err error
			s, err = customer.Survivor(ctx, tx, w.tenant, anon)
			return err
		})
		return s, err
	}()
	require.NoError(t, err)
	require.Equal(t, known, survivor)
	// The second device's visitor now names the survivor, and so its salesperson (Ann, who brought them
	// first), for the signed-in customer's home; an unknown visitor, or one of another tenant, is no one.
	now, owner, err := w.svc.VisitorCustomer(ctx, w.tenant, "second-device")
	require.NoError(t, err)
	require.Equal(t, known, now)
	require.Equal(t, w.ann.EmployeeID, owner)
	_, _, err = w.svc.VisitorCustomer(ctx, w.tenant, "never-seen")
	require.Equal(t, platform.KindNotFound, platform.KindOf(err))
	_, _, err = w.svc.VisitorCustomer(ctx, w.other.TenantID, "second-device")
	require.Equal(t, platform.KindNotFound, platform.KindOf(err))

	// Later events of the second device land on the survivor.
	again := w.ingest(t, []customer.Visit{visit("second-device", w.bob.EmployeeID)}, nil)
	require.Equal(t, known, again.Customer("second-device"))
}

func TestWhoSeesWhichCustomer(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	b := w.ingest(t, []customer.Visit{visit("anns-visitor", w.ann.EmployeeID), visit("bobs-visitor", w.bob.EmployeeID)}, nil)
	anns, bobs := b.Customer("anns-visitor"), b.Customer("bobs-visitor")
	// Bob's team, led by the manager besides their own (issue 18): a regional manager.
	west := w.db.NewTeam(t, w.tenant, "West")
	_, err := w.db.Super.Exec(ctx, `UPDATE employees SET team_id = $1 WHERE id = $2`, west, w.bob.EmployeeID)
	require.NoError(t, err)
	regional := w.manager
	regional.Leads = append(slices.Clone(w.manager.Leads), west)
	cases := []struct {
		name string
		p    authn.Principal
		id   uuid.UUID
		sees bool
	}{
		{"a salesperson sees their own", w.ann, anns, true},
		{"a salesperson does not see a colleague's", w.ann, bobs, false},
		{"a manager sees their team's", w.manager, anns, true},
		{"a manager does not see outside their team", w.manager, bobs, false},
		{"a manager sees the customers of every team they lead", regional, bobs, true},
		{"and of their own", regional, anns, true},
		{"an admin sees everyone's", w.admin, bobs, true},
		{"another tenant sees nothing", w.other, anns, false},
	}
	for _, c := range cases {
		_, err := w.svc.Get(ctx, c.p, c.id)
		if c.sees {
			require.NoError(t, err, c.name)
			continue
		}
		require.Equal(t, platform.KindNotFound, platform.KindOf(err), c.name)
		// Nor can they change it.
		name := "Renamed"
		_, err = w.svc.Update(ctx, c.p, c.id, customer.Change{DisplayName: &name})
		require.Equal(t, platform.KindNotFound, platform.KindOf(err), c.name)
	}
}

func TestChangesAreCheckedAgainstTheVocabulary(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	id := w.ingest(t, []customer.Visit{visit("vocab-visitor", w.ann.EmployeeID)}, nil).Customer("vocab-visitor")

	bad := customer.Stage("maybe")
	_, err := w.svc.Update(ctx, w.ann, id, customer.Change{Stage: &bad})
	var de *platform.Error
	require.ErrorAs(t, err, &de)
	require.Equal(t, platform.KindInvalid, de.Kind)
	require.Equal(t, "stage", de.Field)

	_, err = w.svc.AddNote(ctx, w.ann, id, customer.NoteKind("memo"), "hi", nil)
	require.ErrorAs(t, err, &de)
	require.Equal(t, "kind", de.Field)

	won := customer.StageWon
	c, err := w.svc.Update(ctx, w.ann, id, customer.Change{Stage: &won})
	require.NoError(t, err)
	require.Equal(t, customer.StageWon, c.Stage)
	n, err := w.svc.AddNote(ctx, w.ann, id, customer.NoteFollowUp, "call back", nil)
	require.NoError(t, err)
	require.Equal(t, customer.NoteFollowUp, n.Kind)
	require.Equal(t, id, n.CustomerID)

	// Filtering by an unknown stage is refused, not silently empty.
	_, _, err = w.svc.List(ctx, w.ann, customer.Filter{Stage: "someday"})
	require.Equal(t, platform.KindInvalid, platform.KindOf(err))
}

func TestACustomerHasAtMostTwentyTagsWhateverTheRoute(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	id := w.ingest(t, []customer.Visit{visit("tags-visitor", w.ann.EmployeeID)}, nil).Customer("tags-visitor")

	tags := make([]string, customer.MaxTags+1)
	for i := range tags {
		tags[i] = fmt.Sprintf("tag-%d", i)
	}
	_, err := w.svc.Update(ctx, w.ann, id, customer.Change{Tags: &tags})
	var de *platform.Error
	require.ErrorAs(t, err, &de)
	require.Equal(t, platform.KindInvalid, de.Kind)
	require.Equal(t, "tags", de.Field)

	full := tags[:customer.MaxTags]
	_, err = w.svc.Update(ctx, w.ann, id, customer.Change{Tags: &full})
	require.NoError(t, err)
	// One at a time, as a sync push does: a tag already there and removing one are fine, a 21st is refused
	// and leaves the tags as they were.
	tagTx := func(tag string, add bool) error {
		return w.db.App.InTenantTx(ctx, w.tenant, func(tx pgx.Tx) error { return customer.TagTx(ctx, tx, w.ann, id, tag, add) })
	}
	require.NoError(t, tagTx("tag-0", true))
	err = tagTx("one-too-many", true)
	require.ErrorAs(t, err, &de)
	require.Equal(t, "tag", de.Field)
	c, err := w.svc.Get(ctx, w.ann, id)
	require.NoError(t, err)
	require.Equal(t, full, c.Tags)
	require.NoError(t, tagTx("tag-0", false))
	require.NoError(t, tagTx("one-more", true))
}

func TestNoteIdsAreUniquePerTenantOnly(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	mine := w.ingest(t, []customer.Visit{visit("notes-visitor", w.ann.EmployeeID)}, nil).Customer("notes-visitor")
	var theirs uuid.UUID
	require.NoError(t, w.db.App.InTenantTx(ctx, w.other.TenantID, func(tx pgx.Tx) error {
		b, err := customer.IdentifyVisitorsTx(ctx, tx, w.other.TenantID, []customer.Visit{visit("their-visitor", w.other.EmployeeID)}, nil)
		theirs = b.Customer("their-visitor")
		return err
	}))
	addNote := func(p authn.Principal, noteID, customerID uuid.UUID) error {
		return w.db.App.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
			_, err := customer.AddNoteTx(ctx, tx, p, noteID, customerID, customer.NotePlain, "hello", nil)
			return err
		})
	}
	id := uuid.New()
	require.NoError(t, addNote(w.other, id, theirs))
	require.NoError(t, addNote(w.ann, id, mine), "another tenant's note id tells this tenant nothing")
	require.Equal(t, platform.KindAlreadyExists, platform.KindOf(addNote(w.ann, id, mine)), "within a tenant the id is taken")
}
