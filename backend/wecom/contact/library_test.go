package contact_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/wecom/contact"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
	"github.com/salesapp/scrm/backend/wecom/wecomtest"
)

// The corp tag library's changes in WeCom reach the customers who are WeCom contacts: a tag renamed there
// takes its new name here, a tag deleted there is taken off them. Customers who are not contacts keep their
// tags (the names are ours there), and nothing of this is sent back to WeCom.
func TestTheLibrarysRenamesAndDeletionsReachTheContacts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	lib := e.fake.AddCorpTags("Interest", "种植牙", "正畸", "美白")
	implant, braces, whitening := lib.Tags[0].ID, lib.Tags[1].ID, lib.Tags[2].ID
	e.fake.AddContact(wecomapi.ExternalContact{ExternalUserID: "wmLi", Name: "Li Lei"},
		wecomapi.FollowUser{UserID: "zhangsan", TagIDs: []string{implant, braces}})
	e.send(t, contact.ChangeAdd, "zhangsan", "wmLi", "", "", 1700000000)
	li := e.customerOf(t, "external_userid", "wmLi")
	tagsOf := func(id uuid.UUID) []string {
		t.Helper()
		var tags []string
		require.NoError(t, e.db.Super.QueryRow(ctx, "SELECT tags FROM customers WHERE id = $1", id).Scan(&tags))
		return tags
	}
	require.Equal(t, []string{"种植牙", "正畸"}, tagsOf(li), "mirrored from WeCom")
	_, err := e.db.Super.Exec(ctx, "UPDATE customers SET tags = tags || '{VIP}' WHERE id = $1", li)
	require.NoError(t, err)
	var walkIn uuid.UUID
	require.NoError(t, e.db.Super.QueryRow(ctx, `INSERT INTO customers (id, tenant_id, owner_id, tags)
		VALUES (gen_random_uuid(), $1, $2, '{正畸,种植牙}') RETURNING id`, e.tenant.ID, e.sales.EmployeeID).Scan(&walkIn))
	// An admin opens the library here: our copy of it starts.
	_, err = e.contacts.CorpTags(ctx, e.tenant.Admin)
	require.NoError(t, err)
	require.Equal(t, 3, e.count(t, "SELECT count(*) FROM wecom_corp_tags WHERE tenant_id = $1", e.tenant.ID))
	require.Eventually(t, func() bool { return e.count(t, "SELECT count(*) FROM wecom_tag_changes") == 0 },
		15*time.Second, 20*time.Millisecond, "the outbox drains")
	marks := e.fake.Calls(wecomtest.MarkTag)

	require.True(t, e.fake.RenameCorpTag(implant, "种植牙意向"))
	e.post(t, wecomtest.TagChangeEvent(e.fake.CorpID, contact.TagChangeUpdate, implant, "tag", 1700000100))
	require.Equal(t, []string{"种植牙意向", "正畸", "VIP"}, tagsOf(li))
	require.Equal(t, []string{"正畸", "种植牙"}, tagsOf(walkIn), "not a contact: the names are ours")

	e.fake.DeleteCorpTag(braces)
	e.post(t, wecomtest.TagChangeEvent(e.fake.CorpID, contact.TagChangeDelete, braces, "tag", 1700000200))
	require.Equal(t, []string{"种植牙意向", "VIP"}, tagsOf(li))
	require.Equal(t, []string{"正畸", "种植牙"}, tagsOf(walkIn))
	require.Equal(t, 2, e.count(t, "SELECT count(*) FROM wecom_corp_tags WHERE tenant_id = $1", e.tenant.ID))

	// None of that went back to WeCom: the next change marked is a salesperson's, alone.
	tags := []string{"种植牙意向", "VIP", "美白"}
	_, err = customer.NewService(e.db.App).Update(ctx, e.sales, li, customer.Change{Tags: &tags})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return slices.Contains(e.fake.Follows("wmLi")[0].TagIDs, whitening) },
		15*time.Second, 20*time.Millisecond)
	require.Equal(t, marks+1, e.fake.Calls(wecomtest.MarkTag))
	require.ElementsMatch(t, []string{implant, whitening}, e.fake.Follows("wmLi")[0].TagIDs)
	// WeCom has the mark before the job removes its outbox row: wait for that too, so the counts below
	// start from an empty outbox.
	require.Eventually(t, func() bool { return e.count(t, "SELECT count(*) FROM wecom_tag_changes") == 0 },
		15*time.Second, 20*time.Millisecond, "the outbox drains")

	// The outbox trigger skips what a transaction says came from WeCom, and only that.
	tx, err := e.db.Super.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	outbox := func() int {
		t.Helper()
		var n int
		require.NoError(t, tx.QueryRow(ctx, "SELECT count(*) FROM wecom_tag_changes WHERE customer_id = $1", li).Scan(&n))
		return n
	}
	_, err = tx.Exec(ctx, "SELECT set_config('app.wecom_tags_from_wecom', 'on', true)")
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "UPDATE customers SET tags = '{}' WHERE id = $1", li)
	require.NoError(t, err)
	require.Zero(t, outbox())
	_, err = tx.Exec(ctx, "SELECT set_config('app.wecom_tags_from_wecom', 'off', true)")
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "UPDATE customers SET tags = '{VIP}' WHERE id = $1", li)
	require.NoError(t, err)
	require.Equal(t, 1, outbox())
}
