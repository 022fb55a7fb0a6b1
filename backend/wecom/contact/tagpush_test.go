package contact_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/wecom/contact"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
)

// Tags put on or taken off a WeCom contact here, by staff or any other way, are marked on WeCom as the
// customer's owner, for the tags the corp library has by name; the others stay ours.
func TestOurTagChangesAreMarkedOnWeCom(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	lib := e.fake.AddCorpTags("Interest", "种植牙意向", "VIP")
	implant, vip := lib.Tags[0].ID, lib.Tags[1].ID
	e.fake.AddContact(wecomapi.ExternalContact{ExternalUserID: "wmLi", Name: "Li Lei"}, wecomapi.FollowUser{UserID: "zhangsan"})
	e.send(t, contact.ChangeAdd, "zhangsan", "wmLi", "", "", 1700000000)
	id := e.customerOf(t, "external_userid", "wmLi")
	marked := func() []string { return e.fake.Follows("wmLi")[0].TagIDs }
	waitFor := func(want ...string) {
		t.Helper()
		require.Eventually(t, func() bool {
			got := slices.Clone(marked())
			slices.Sort(got)
			slices.Sort(want)
			return slices.Equal(got, want)
		}, 15*time.Second, 20*time.Millisecond, "WeCom's tags: want %v, have %v", want, marked())
	}

	customers := customer.NewService(e.db.App)
	set := func(tags ...string) {
		t.Helper()
		_, err := customers.Update(ctx, e.sales, id, customer.Change{Tags: &tags})
		require.NoError(t, err)
	}
	set("VIP", "local only")
	waitFor(vip)
	set("local only")
	waitFor()
	// Another way tags change (a reading rule's statement, say): the trigger sees it too.
	_, err := e.db.Super.Exec(ctx, "UPDATE customers SET tags = tags || '{种植牙意向}' WHERE id = $1", id)
	require.NoError(t, err)
	waitFor(implant)
	require.Eventually(t, func() bool { return e.count(t, "SELECT count(*) FROM wecom_tag_changes") == 0 },
		15*time.Second, 20*time.Millisecond, "the outbox drains")

	// A customer who is not a WeCom contact records no change.
	var other uuid.UUID
	require.NoError(t, e.db.Super.QueryRow(ctx, `INSERT INTO customers (id, tenant_id, owner_id) VALUES (gen_random_uuid(), $1, $2) RETURNING id`,
		e.tenant.ID, e.sales.EmployeeID).Scan(&other))
	_, err = e.db.Super.Exec(ctx, "UPDATE customers SET tags = '{VIP}' WHERE id = $1", other)
	require.NoError(t, err)
	require.Zero(t, e.count(t, "SELECT count(*) FROM wecom_tag_changes WHERE customer_id = $1", other))
	// A contact's change is recorded in the outbox by the transaction that made it (seen inside it, before
	// any worker can take it).
	require.NoError(t, pgx.BeginFunc(ctx, e.db.Super, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "UPDATE customers SET tags = '{}' WHERE id = $1", id); err != nil {
			return err
		}
		var added, removed []string
		require.NoError(t, tx.QueryRow(ctx, "SELECT added, removed FROM wecom_tag_changes WHERE customer_id = $1", id).Scan(&added, &removed))
		require.Empty(t, added)
		require.ElementsMatch(t, []string{"local only", "种植牙意向"}, removed)
		return nil
	}))
	waitFor()
}

// An admin puts one of our tags into the WeCom library from here; from then on it is marked on WeCom.
func TestAnAdminAddsOurTagToTheWeComLibrary(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	_, err := e.contacts.AddCorpTags(ctx, e.sales, "Ours", []string{"Hot"})
	require.Equal(t, platform.KindPermissionDenied, platform.KindOf(err))
	g, err := e.contacts.AddCorpTags(ctx, e.tenant.Admin, "Ours", []string{"Hot"})
	require.NoError(t, err)
	require.Equal(t, "Ours", g.GroupName)
	require.Len(t, g.Tags, 1)
	_, err = e.contacts.AddCorpTags(ctx, e.tenant.Admin, "Ours", []string{"Hot"})
	require.Equal(t, platform.KindAlreadyExists, platform.KindOf(err))
	groups, err := e.contacts.CorpTags(ctx, e.tenant.Admin)
	require.NoError(t, err)
	require.Len(t, groups, 1)
	require.Equal(t, "Hot", groups[0].Tags[0].Name)

	e.fake.AddContact(wecomapi.ExternalContact{ExternalUserID: "wmHan", Name: "Han Mei"}, wecomapi.FollowUser{UserID: "zhangsan"})
	e.send(t, contact.ChangeAdd, "zhangsan", "wmHan", "", "", 1700000000)
	id := e.customerOf(t, "external_userid", "wmHan")
	_, err = customer.NewService(e.db.App).Update(ctx, e.sales, id, customer.Change{Tags: &[]string{"Hot"}})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return slices.Equal(e.fake.Follows("wmHan")[0].TagIDs, []string{g.Tags[0].ID})
	}, 15*time.Second, 20*time.Millisecond)
}

// A change left in the outbox when the tenant has no WeCom configuration any more is dropped, not retried
// for ever.
func TestTagChangesWithoutAConfigurationAreDropped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	e.fake.AddCorpTags("Level", "VIP")
	e.fake.AddContact(wecomapi.ExternalContact{ExternalUserID: "wmGone", Name: "Gone"}, wecomapi.FollowUser{UserID: "zhangsan"})
	e.send(t, contact.ChangeAdd, "zhangsan", "wmGone", "", "", 1700000000)
	id := e.customerOf(t, "external_userid", "wmGone")
	_, err := e.db.Super.Exec(ctx, "DELETE FROM wecom_configs WHERE tenant_id = $1", e.tenant.ID)
	require.NoError(t, err)
	_, err = e.db.Super.Exec(ctx, "INSERT INTO wecom_tag_changes (tenant_id, customer_id, added, removed) VALUES ($1, $2, '{VIP}', '{}')", e.tenant.ID, id)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return e.count(t, "SELECT count(*) FROM wecom_tag_changes") == 0 }, 15*time.Second, 20*time.Millisecond)
	require.Empty(t, e.fake.Follows("wmGone")[0].TagIDs)
}
