package contact_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/wecom/bridgetest"
	"github.com/salesapp/scrm/backend/wecom/contact"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
	"github.com/salesapp/scrm/backend/wecom/wecomtest"
)

// waitImport waits until the tenant's import finished and returns its status.
func (e *env) waitImport(t *testing.T) *contact.ImportStatus {
	t.Helper()
	var st *contact.ImportStatus
	require.Eventually(t, func() bool {
		var err error
		st, err = e.contacts.ImportState(context.Background(), e.tenant.Admin)
		require.NoError(t, err)
		return st != nil && !st.FinishedAt.IsZero()
	}, 30*time.Second, 20*time.Millisecond)
	return st
}

// The import of existing contacts reads every employee's customers a page at a time and ties each to a
// customer; WeCom failing in the middle stops it, and the job's retry resumes at the page after the last
// one applied: no page read twice, no customer or timeline entry doubled. Importing again adds nothing.
func TestImportResumesAfterAFailureAndDoublesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	lisi := e.employee(t, "lisi")
	channel := uuid.Must(uuid.NewV7())
	_, err := e.db.Super.Exec(ctx, `INSERT INTO wecom_channels (tenant_id, id, name, state, employee_ids, tags, welcome_text, created_by)
		VALUES ($1, $2, 'Seed fair', 'seed', $3, '{fair}', '', $4)`, e.tenant.ID, channel, []uuid.UUID{e.sales.EmployeeID}, e.tenant.Admin.EmployeeID)
	require.NoError(t, err)
	// 250 customers, half lisi's and half zhangsan's, through the channel; one followed by both; one whose
	// unionid a mini-program visitor proved already; one of a member who is no employee here.
	e.fake.SeedContacts(250, []string{"lisi", "zhangsan"})
	implant := e.fake.AddCorpTags("Interest", "种植牙意向").Tags[0].ID
	e.fake.AddContact(wecomapi.ExternalContact{ExternalUserID: "wmBoth", Name: "Both"},
		wecomapi.FollowUser{UserID: "zhangsan", Remark: "met at the fair", TagIDs: []string{implant}},
		wecomapi.FollowUser{UserID: "lisi", CreateTime: 1600000000})
	e.fake.AddContact(wecomapi.ExternalContact{ExternalUserID: "wmNobody", Name: "Nobody"}, wecomapi.FollowUser{UserID: "wangwu"})
	visitor, _, err := customer.NewService(e.db.App).Identify(ctx, e.tenant.ID, "visitor-7", customer.Source{},
		customer.Identity{Kind: customer.IdentityMiniProgram, Value: "openid-7"}, customer.Identity{Kind: customer.IdentityUnion, Value: "ou00000007"})
	require.NoError(t, err)

	// Two pages go through, the third fails; River retries the job, which reads the third and last.
	e.fake.FailAfter(wecomtest.ContactBatchGet, 2, wecomtest.CodeInvalidParameter)
	require.NoError(t, e.contacts.RequestImport(ctx, e.tenant.Admin))
	st := e.waitImport(t)
	require.Equal(t, contact.ImportStatus{StartedAt: st.StartedAt, FinishedAt: st.FinishedAt, Pages: 3, Contacts: 252, Created: 250, Existing: 2}, *st)
	require.Equal(t, 4, e.fake.Calls(wecomtest.ContactBatchGet), "three pages and the failed request: none read twice")
	require.Eventually(t, func() bool { // the job completes just after the import's last transaction
		return e.count(t, "SELECT count(*) FROM river_job WHERE kind = 'wecom_contact_import' AND attempt = 2 AND state = 'completed'") == 1
	}, 15*time.Second, 20*time.Millisecond, "the second attempt finished it")

	require.Equal(t, 251, e.count(t, "SELECT count(*) FROM customers WHERE merged_into IS NULL"), "250 seeded and wmBoth; the visitor joined")
	// Members are read in userid order: lisi's pair of wmBoth makes the customer, zhangsan's joins it.
	require.Equal(t, 126, e.count(t, "SELECT count(*) FROM customers WHERE owner_id = $1 AND merged_into IS NULL", lisi.EmployeeID))
	require.Equal(t, 125, e.count(t, "SELECT count(*) FROM customers WHERE owner_id = $1 AND merged_into IS NULL", e.sales.EmployeeID))
	require.Equal(t, visitor, e.customerOf(t, customer.IdentityExternalUserID, "wm00000007"), "the visitor became the WeCom contact")
	require.Zero(t, e.count(t, "SELECT count(*) FROM customer_identities WHERE value = 'wmNobody'"), "a member with no employee is not read")
	require.Equal(t, 252, e.count(t, "SELECT count(*) FROM events WHERE kind = 'wecom_added'"), "one timeline entry per (customer, member)")
	both := e.customerOf(t, customer.IdentityExternalUserID, "wmBoth")
	require.Equal(t, 1, e.count(t, "SELECT count(*) FROM events WHERE customer_id = $1 AND occurred_at = to_timestamp(1600000000)", both),
		"dated when the member added them")
	require.Equal(t, 1, e.count(t, "SELECT count(*) FROM customers WHERE id = $1 AND tags = '{种植牙意向}'", both), "the corp tag mirrored by name")
	require.Equal(t, 250, e.count(t, "SELECT count(*) FROM wecom_channel_adds WHERE channel_id = $1", channel))
	require.Equal(t, 250, e.count(t, "SELECT count(*) FROM customers WHERE tags = '{fair}'"), "the channel's auto-tag")
	require.Zero(t, e.count(t, "SELECT count(*) FROM alerts"), "no alert: these customers are not new to anyone")

	// Again: nothing doubles.
	require.NoError(t, e.contacts.RequestImport(ctx, e.tenant.Admin))
	require.Eventually(t, func() bool {
		return e.count(t, "SELECT count(*) FROM river_job WHERE kind = 'wecom_contact_import' AND state = 'completed'") == 2
	}, 30*time.Second, 20*time.Millisecond)
	st = e.waitImport(t)
	require.Equal(t, 252, st.Contacts)
	require.Zero(t, st.Created)
	require.Equal(t, 251, e.count(t, "SELECT count(*) FROM customers WHERE merged_into IS NULL"))
	require.Equal(t, 252, e.count(t, "SELECT count(*) FROM events WHERE kind = 'wecom_added'"))

	// Only an admin.
	err = e.contacts.RequestImport(ctx, e.sales)
	require.Equal(t, platform.KindPermissionDenied, platform.KindOf(err))
	_, err = e.contacts.ImportState(ctx, e.sales)
	require.Equal(t, platform.KindPermissionDenied, platform.KindOf(err))
}

// BenchmarkImport50k is the onboarding import of 50,000 existing contacts of 10,000 members who are all
// employees (issue 16: at most 5 minutes), from the fake WeCom over HTTP into PostgreSQL: 100 chunks of 100
// members, 500 pages of 100 contacts, one transaction each; each iteration a new tenant.
func BenchmarkImport50k(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		var svc *contact.Service
		var users []string
		bridge := bridgetest.New(b, func(f *wecomtest.Server) {
			users = f.SeedDirectory(50, 10_000)
			f.SeedContacts(50_000, users)
		}, func(br *bridgetest.Bridge) {
			svc = contact.NewService(contact.Config{DB: br.DB.App, WeCom: br.WeCom, Queue: br.Queue})
			svc.Register(br.WeCom)
		}, false)
		_, err := bridge.DB.Super.Exec(ctx, "UPDATE tenants SET seat_limit = 20000 WHERE id = $1", bridge.Tenant.ID)
		require.NoError(b, err)
		_, err = bridge.DB.Super.Exec(ctx, `INSERT INTO employees (id, tenant_id, name, role, wecom_userid)
			SELECT gen_random_uuid(), $1, 'Sales ' || u, 'sales', u FROM unnest($2::text[]) AS u`, bridge.Tenant.ID, users)
		require.NoError(b, err)
		require.NoError(b, bridge.DB.App.InTenantTx(ctx, bridge.Tenant.ID, func(tx pgx.Tx) error {
			return svc.ImportOnceTx(ctx, tx, bridge.Tenant.ID)
		}))
		b.StartTimer()
		require.NoError(b, svc.Import(ctx, bridge.Tenant.ID))
		st, err := svc.ImportState(ctx, bridge.Tenant.Admin)
		require.NoError(b, err)
		require.Equal(b, 50_000, st.Created)
		require.Equal(b, 500, st.Pages)
	}
}
