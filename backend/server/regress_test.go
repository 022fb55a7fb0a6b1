package server_test

import (
	"context"
	"encoding/base64"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server/servertest"
	"github.com/salesapp/scrm/backend/share"
)

// A manager is a member of their own team: their customers must not come back twice.
func TestManagerSeesTheirOwnCustomersOnce(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "A", 0)
	east := e.NewTeam(t, a.ID, "East")
	mgr := e.NewPerson(t, a.ID, authn.RoleManager, east)
	admin := clientsOf(e, a.Admin.Token)
	m := createArticle(t, admin, salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, "Plan")
	publish(t, admin, m.Id)
	sh, err := clientsOf(e, mgr.Token).shares.ShareMaterial(ctx, connect.NewRequest(&salesappv1.ShareMaterialRequest{MaterialId: m.Id, Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT}))
	require.NoError(t, err)
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, sh.Msg.Share.Token, "visitor-mgr1"))
	resp, err := customers(e, mgr.Token).ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{}))
	require.NoError(t, err)
	t.Logf("manager list: %d rows", len(resp.Msg.Customers))
	require.Len(t, resp.Msg.Customers, 1)
}

// Two concurrent sign-ins of the same visitor: its customer is merged, and counted, once. (The sleeps
// only order the goroutines behind a held lock; nothing is timed.)
func TestConcurrentSignInsMergeOnce(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a, _, token, _ := sharedMaterial(t, e)
	// Known customer Y (unionid U), and the visitor's own customer X with 2 views.
	svc := customer.NewService(e.DB.App)
	sh, err := share.NewService(e.DB.App, e.Config.PublicBaseURL).Resolve(ctx, token)
	require.NoError(t, err)
	src := customer.Source{OwnerID: sh.EmployeeID, ShareID: sh.ID, Channel: "chat"}
	y, _, err := svc.Identify(ctx, a.ID, "visitor-known", src, customer.Identity{Kind: "unionid", Value: "U"})
	require.NoError(t, err)
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "visitor-xxxx"), ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "visitor-xxxx"))

	// Hold Y so that both sign-ins read the visitor's customer before either merges.
	tx, err := e.DB.Super.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "SELECT 1 FROM customers WHERE id = $1 FOR UPDATE", y)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			_, _, err := svc.Identify(ctx, a.ID, "visitor-xxxx", src, customer.Identity{Kind: "unionid", Value: "U"})
			require.NoError(t, err)
		})
	}
	time.Sleep(500 * time.Millisecond)
	require.NoError(t, tx.Commit(ctx))
	wg.Wait()
	var views int
	require.NoError(t, e.DB.Super.QueryRow(ctx, "SELECT views FROM customers WHERE id = $1", y).Scan(&views))
	var events int
	require.NoError(t, e.DB.Super.QueryRow(ctx, "SELECT count(*) FROM events WHERE customer_id = $1", y).Scan(&events))
	t.Logf("survivor views=%d, its view events=%d", views, events)
	require.Equal(t, events, views)
}

// A sign-in racing a new visitor's first (uncommitted) beacon ends with the visitor on the known customer.
func TestSignInRacingTheFirstBeaconKeepsOnePerson(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a, _, token, _ := sharedMaterial(t, e)
	svc := customer.NewService(e.DB.App)
	sh, err := share.NewService(e.DB.App, e.Config.PublicBaseURL).Resolve(ctx, token)
	require.NoError(t, err)
	src := customer.Source{OwnerID: sh.EmployeeID, ShareID: sh.ID, Channel: "chat"}
	y, _, err := svc.Identify(ctx, a.ID, "visitor-known", src, customer.Identity{Kind: "unionid", Value: "U"})
	require.NoError(t, err)

	// What the ingest transaction does for a new visitor (ClaimVisitors + InsertCustomers), not yet committed.
	x := uuid.Must(uuid.NewV7())
	tx, err := e.DB.Super.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "INSERT INTO customer_identities (tenant_id, kind, value, customer_id) VALUES ($1, 'visitor', 'visitor-new1', $2)", a.ID, x)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "INSERT INTO customers (id, tenant_id, owner_id) VALUES ($1, $2, $3)", x, a.ID, sh.EmployeeID)
	require.NoError(t, err)
	done := make(chan uuid.UUID)
	go func() {
		got, _, err := svc.Identify(ctx, a.ID, "visitor-new1", src, customer.Identity{Kind: "unionid", Value: "U"})
		require.NoError(t, err)
		done <- got
	}()
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, tx.Commit(ctx))
	got := <-done
	require.Equal(t, y, got)
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "visitor-new1"))
	var owner uuid.UUID
	require.NoError(t, e.DB.Super.QueryRow(ctx, "SELECT customer_id FROM events WHERE tenant_id = $1 ORDER BY received_at DESC LIMIT 1", a.ID).Scan(&owner))
	t.Logf("Identify said %s; the visitor's events land on %s (x=%s)", got, owner, x)
	require.Equal(t, y, owner)
}

// The pool is listed by last activity whatever sort is asked, and its page tokens follow.
func TestPoolPagesWhateverSortIsAsked(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a, _, token, _ := sharedMaterial(t, e)
	rule := "pool"
	_, err := salesappv1connect.NewTenantServiceClient(e.HTTP, e.URL, servertest.As(a.Admin.Token)).UpdateTenantSettings(ctx, connect.NewRequest(&salesappv1.UpdateTenantSettingsRequest{CustomerOwnerRule: &rule}))
	require.NoError(t, err)
	for _, v := range []string{"visitor-p001", "visitor-p002", "visitor-p003"} {
		track(t, e, ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, v))
	}
	for _, sort := range []salesappv1.CustomerSort{salesappv1.CustomerSort_CUSTOMER_SORT_INTENT, salesappv1.CustomerSort_CUSTOMER_SORT_NEWEST} {
		seen, tok := 0, ""
		for range 5 {
			resp, err := customers(e, a.Admin.Token).ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{Unassigned: true, Sort: sort, PageSize: 1, PageToken: tok}))
			require.NoError(t, err)
			seen += len(resp.Msg.Customers)
			tok = resp.Msg.NextPageToken
			if tok == "" {
				break
			}
		}
		t.Logf("sort %v: %d of 3 pool customers reached by paging", sort, seen)
		require.Equal(t, 3, seen)
	}
}

// A page token with an offset past any real list is InvalidArgument, not Internal.
func TestHugeMaterialPageTokenIsInvalid(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "A", 0)
	tok := base64.RawURLEncoding.EncodeToString([]byte("o:4294967295"))
	_, err := clientsOf(e, a.Admin.Token).materials.ListMaterials(ctx, connect.NewRequest(&salesappv1.ListMaterialsRequest{PageToken: tok}))
	t.Logf("err: %v", err)
	require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
}

func TestBlankFolderNameIsInvalid(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	a := e.NewTenant(t, "A", 0)
	_, err := clientsOf(e, a.Admin.Token).materials.CreateFolder(context.Background(), connect.NewRequest(&salesappv1.CreateFolderRequest{Tier: salesappv1.MaterialTier_MATERIAL_TIER_PERSONAL, Name: "   "}))
	t.Logf("err: %v", err)
	require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
}
