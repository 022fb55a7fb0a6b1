package share_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/share"
)

const base = "https://share.example.com"

type fixture struct {
	db  *pgtest.DB
	svc *share.Service
	a   pgtest.Tenant
}

func setup(t *testing.T) fixture {
	t.Helper()
	db := pgtest.New(t)
	return fixture{db: db, svc: share.NewService(db.App, base), a: db.NewTenant(t, "A")}
}

// material writes a material row as the owner: the share rules only read it (through the material
// package's ShareableTx), so the test does not need the library's authoring rules to make one.
// tenantID uuid.Nil makes a platform material.
func (f fixture) material(t *testing.T, tenantID uuid.UUID, tier, status string, owner uuid.UUID) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	_, err := f.db.Super.Exec(context.Background(), `
		INSERT INTO materials (id, tenant_id, tier, owner_id, kind, status, title, body_html, published_at)
		VALUES ($1, $2, $3, $4, 'article', $5, 'Plan', '<p>x</p>', CASE WHEN $6 THEN now() END)`,
		id, uuid.NullUUID{UUID: tenantID, Valid: tenantID != uuid.Nil}, tier, uuid.NullUUID{UUID: owner, Valid: owner != uuid.Nil},
		status, status == "published")
	require.NoError(t, err)
	return id
}

func requireKind(t *testing.T, want platform.Kind, err error, msgAndArgs ...any) {
	t.Helper()
	require.Error(t, err, msgAndArgs...)
	require.Equal(t, want, platform.KindOf(err), append([]any{"error: %v"}, err)...)
}

func (f fixture) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, f.db.Super.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

func TestOnlyPublishedMaterialsTheCallerSeesCanBeShared(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	sales := f.db.NewEmployee(t, f.a.ID, authn.RoleSales, uuid.Nil)
	colleague := f.db.NewEmployee(t, f.a.ID, authn.RoleSales, uuid.Nil)
	published := f.material(t, f.a.ID, "enterprise", "published", uuid.Nil)
	draft := f.material(t, f.a.ID, "enterprise", "draft", uuid.Nil)
	theirs := f.material(t, f.a.ID, "personal", "published", colleague.EmployeeID)
	mine := f.material(t, f.a.ID, "personal", "published", sales.EmployeeID)

	_, err := f.svc.ShareMaterial(ctx, sales, draft, event.ChannelChat)
	requireKind(t, platform.KindNotFound, err, "a salesperson does not see drafts")
	_, err = f.svc.ShareMaterial(ctx, f.a.Admin, draft, event.ChannelChat)
	requireKind(t, platform.KindFailedPrecondition, err, "an admin sees the draft, but it cannot be shared yet")
	_, err = f.svc.ShareMaterial(ctx, sales, theirs, event.ChannelChat)
	requireKind(t, platform.KindNotFound, err, "a colleague's personal material")
	_, err = f.svc.ShareMaterial(ctx, sales, uuid.New(), event.ChannelChat)
	requireKind(t, platform.KindNotFound, err)
	_, err = f.svc.ShareMaterial(ctx, sales, published, event.Channel("fax"))
	requireKind(t, platform.KindInvalid, err)
	require.Zero(t, f.count(t, "SELECT count(*) FROM shares"), "refusals write nothing")

	sh, err := f.svc.ShareMaterial(ctx, sales, published, event.ChannelMoments)
	require.NoError(t, err)
	require.Equal(t, sales.EmployeeID, sh.EmployeeID)
	require.Equal(t, published, sh.MaterialID)
	require.Equal(t, sh.ID, sh.RootID, "a salesperson's share is a root")
	require.Equal(t, uuid.Nil, sh.ParentID)
	require.Zero(t, sh.Depth)
	require.Equal(t, event.ChannelMoments, sh.Channel)
	require.Len(t, sh.Token, 16, "96 random bits, base64url")
	require.Equal(t, base+"/s/"+sh.Token, f.svc.URL(sh.Token))
	_, err = f.svc.ShareMaterial(ctx, sales, mine, event.ChannelChat)
	require.NoError(t, err)

	// Each share counts on the material (shares of personal materials too).
	require.Equal(t, 1, f.count(t, "SELECT share_count FROM materials WHERE id = $1", published))
	require.Equal(t, 1, f.count(t, "SELECT share_count FROM materials WHERE id = $1", mine))
	other, err := f.svc.ShareMaterial(ctx, sales, published, event.ChannelMoments)
	require.NoError(t, err)
	require.NotEqual(t, sh.Token, other.Token, "every share is a link of its own")
	require.Equal(t, 2, f.count(t, "SELECT share_count FROM materials WHERE id = $1", published))
}

func TestPlatformMaterialSharesCountPerTenant(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	b := f.db.NewTenant(t, "B")
	shared := f.material(t, uuid.Nil, "platform", "published", uuid.Nil)
	unpublished := f.material(t, uuid.Nil, "platform", "draft", uuid.Nil)

	_, err := f.svc.ShareMaterial(ctx, f.a.Admin, unpublished, event.ChannelChat)
	requireKind(t, platform.KindNotFound, err, "a platform draft is invisible to tenants")
	for range 2 {
		_, err := f.svc.ShareMaterial(ctx, f.a.Admin, shared, event.ChannelChat)
		require.NoError(t, err)
	}
	_, err = f.svc.ShareMaterial(ctx, b.Admin, shared, event.ChannelGroup)
	require.NoError(t, err)

	// A tenant must not learn another's activity: the platform row's own counter stays at zero.
	require.Zero(t, f.count(t, "SELECT share_count FROM materials WHERE id = $1", shared))
	require.Equal(t, 2, f.count(t, "SELECT share_count FROM platform_material_shares WHERE tenant_id = $1 AND material_id = $2", f.a.ID, shared))
	require.Equal(t, 1, f.count(t, "SELECT share_count FROM platform_material_shares WHERE tenant_id = $1 AND material_id = $2", b.ID, shared))
}

func TestForwardsFormATreeCreditedToTheRootSharer(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	sales := f.db.NewEmployee(t, f.a.ID, authn.RoleSales, uuid.Nil)
	m := f.material(t, f.a.ID, "enterprise", "published", uuid.Nil)
	root, err := f.svc.ShareMaterial(ctx, sales, m, event.ChannelChat)
	require.NoError(t, err)

	child, err := f.svc.Forward(ctx, root.Token, event.ChannelGroup, "visitor-1")
	require.NoError(t, err)
	grandchild, err := f.svc.Forward(ctx, child.Token, event.ChannelMoments, "visitor-2")
	require.NoError(t, err)
	for i, s := range []share.Share{child, grandchild} {
		require.Equal(t, sales.EmployeeID, s.EmployeeID, "every node is credited to the salesperson at the root")
		require.Equal(t, root.ID, s.RootID)
		require.Equal(t, m, s.MaterialID)
		require.Equal(t, f.a.ID, s.TenantID)
		require.Equal(t, i+1, s.Depth)
	}
	require.Equal(t, root.ID, child.ParentID)
	require.Equal(t, child.ID, grandchild.ParentID)
	require.Equal(t, "visitor-2", grandchild.Forwarder)

	// The same person forwarding the same link the same way gets the same child; another way, another one.
	again, err := f.svc.Forward(ctx, root.Token, event.ChannelGroup, "visitor-1")
	require.NoError(t, err)
	require.Equal(t, child.Token, again.Token)
	otherWay, err := f.svc.Forward(ctx, root.Token, event.ChannelChat, "visitor-1")
	require.NoError(t, err)
	require.NotEqual(t, child.Token, otherWay.Token)
	// An unknown forwarder cannot be told apart from another: each forward is a node.
	anon1, err := f.svc.Forward(ctx, root.Token, event.ChannelGroup, "")
	require.NoError(t, err)
	anon2, err := f.svc.Forward(ctx, root.Token, event.ChannelGroup, "")
	require.NoError(t, err)
	require.NotEqual(t, anon1.Token, anon2.Token)

	_, err = f.svc.Forward(ctx, root.Token, event.Channel("pigeon"), "visitor-1")
	requireKind(t, platform.KindInvalid, err)
	_, err = f.svc.Forward(ctx, "no-such-token", event.ChannelChat, "visitor-1")
	requireKind(t, platform.KindNotFound, err)

	// Forwards count as the root sharer's forwards, not as their shares, once someone opens them (a page
	// mints a link for its visitor to pass on, forwarded or not).
	shares, forwards, err := f.svc.Stats(ctx, sales, uuid.Nil)
	require.NoError(t, err)
	require.EqualValues(t, 1, shares)
	require.Zero(t, forwards)
	opened := func(ids ...uuid.UUID) {
		t.Helper()
		require.NoError(t, f.db.App.InTenantTx(ctx, f.a.ID, func(tx pgx.Tx) error {
			return share.MarkOpenedTx(ctx, tx, f.a.ID, ids, time.Now())
		}))
	}
	opened(child.ID, grandchild.ID, root.ID)
	opened(child.ID, anon1.ID)
	shares, forwards, err = f.svc.Stats(ctx, sales, uuid.Nil)
	require.NoError(t, err)
	require.EqualValues(t, 1, shares)
	require.EqualValues(t, 3, forwards, "three forwards opened (the root is no forward; a second open is one)")
}

func TestChainsStopGrowingAtMaxDepth(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	sales := f.db.NewEmployee(t, f.a.ID, authn.RoleSales, uuid.Nil)
	root, err := f.svc.ShareCard(ctx, sales, event.ChannelChat)
	require.NoError(t, err)
	tok := root.Token
	for range share.MaxDepth {
		s, err := f.svc.Forward(ctx, tok, event.ChannelGroup, "")
		require.NoError(t, err)
		tok = s.Token
	}
	deepest, err := f.svc.Resolve(ctx, tok)
	require.NoError(t, err)
	require.Equal(t, share.MaxDepth, deepest.Depth)

	// Deeper forwards are allowed and credited to the deepest node, which they reuse.
	past, err := f.svc.Forward(ctx, tok, event.ChannelGroup, "")
	require.NoError(t, err)
	require.Equal(t, deepest.ID, past.ID)
	require.Equal(t, share.MaxDepth+1, f.count(t, "SELECT count(*) FROM shares WHERE root_id = $1", root.ID))
}

func TestResolveFindsTheTokensOwnTenant(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	b := f.db.NewTenant(t, "B")
	bSales := f.db.NewEmployee(t, b.ID, authn.RoleSales, uuid.Nil)
	bShare, err := f.svc.ShareCard(ctx, bSales, event.ChannelQR)
	require.NoError(t, err)
	require.Equal(t, uuid.Nil, bShare.MaterialID, "a card share has no material")
	aShare, err := f.svc.ShareCard(ctx, f.a.Admin, event.ChannelChat)
	require.NoError(t, err)

	got, err := f.svc.Resolve(ctx, bShare.Token)
	require.NoError(t, err)
	require.Equal(t, b.ID, got.TenantID)
	require.Equal(t, bSales.EmployeeID, got.EmployeeID)
	require.Equal(t, bShare.ID, got.ID)
	got, err = f.svc.Resolve(ctx, aShare.Token)
	require.NoError(t, err)
	require.Equal(t, f.a.ID, got.TenantID)

	// A forward of B's link stays in B.
	fw, err := f.svc.Forward(ctx, bShare.Token, event.ChannelChat, "visitor")
	require.NoError(t, err)
	require.Equal(t, b.ID, fw.TenantID)
	require.Equal(t, bSales.EmployeeID, fw.EmployeeID)

	for _, tok := range []string{"", "AAAAAAAAAAAAAAAA", strings.ToUpper(bShare.Token) + "x"} {
		_, err := f.svc.Resolve(ctx, tok)
		requireKind(t, platform.KindNotFound, err, "token %q", tok)
	}
	_, err = f.svc.ShareCard(ctx, bSales, event.Channel(""))
	requireKind(t, platform.KindInvalid, err)
}

func TestStatsAreSeenBySelfTheirManagerAndAdmins(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	east, west := f.db.NewTeam(t, f.a.ID, "East"), f.db.NewTeam(t, f.a.ID, "West")
	mgr := f.db.NewEmployee(t, f.a.ID, authn.RoleManager, east)
	eastSales := f.db.NewEmployee(t, f.a.ID, authn.RoleSales, east)
	westSales := f.db.NewEmployee(t, f.a.ID, authn.RoleSales, west)
	m := f.material(t, f.a.ID, "enterprise", "published", uuid.Nil)
	for range 3 {
		_, err := f.svc.ShareMaterial(ctx, eastSales, m, event.ChannelChat)
		require.NoError(t, err)
	}
	// The card's QR link is the system's: not a share the salesperson made, though its forwards count.
	var qr share.Share
	err := f.db.App.InTenantTx(ctx, f.a.ID, func(tx pgx.Tx) error {
		var err error
		qr, err = f.svc.CardQRShareTx(ctx, tx, f.a.ID, eastSales.EmployeeID)
		return err
	})
	require.NoError(t, err)
	require.Equal(t, event.ChannelQR, qr.Channel)
	fw, err := f.svc.Forward(ctx, qr.Token, event.ChannelChat, "visitor")
	require.NoError(t, err)
	require.NoError(t, f.db.App.InTenantTx(ctx, f.a.ID, func(tx pgx.Tx) error {
		return share.MarkOpenedTx(ctx, tx, f.a.ID, []uuid.UUID{fw.ID}, time.Now())
	}))

	for _, who := range []authn.Principal{eastSales, mgr, f.a.Admin} {
		shares, forwards, err := f.svc.Stats(ctx, who, eastSales.EmployeeID)
		require.NoError(t, err)
		require.EqualValues(t, 3, shares)
		require.EqualValues(t, 1, forwards)
	}
	shares, _, err := f.svc.Stats(ctx, eastSales, uuid.Nil)
	require.NoError(t, err)
	require.EqualValues(t, 3, shares, "no employee means the caller")

	_, _, err = f.svc.Stats(ctx, westSales, eastSales.EmployeeID)
	requireKind(t, platform.KindNotFound, err, "a colleague's stats")
	teammate := f.db.NewEmployee(t, f.a.ID, authn.RoleSales, east)
	_, _, err = f.svc.Stats(ctx, teammate, eastSales.EmployeeID)
	requireKind(t, platform.KindNotFound, err, "a teammate's stats: only managers see their team's")
	_, _, err = f.svc.Stats(ctx, mgr, westSales.EmployeeID)
	requireKind(t, platform.KindNotFound, err, "another team's stats")
	_, _, err = f.svc.Stats(ctx, mgr, uuid.New())
	requireKind(t, platform.KindNotFound, err)
	b := f.db.NewTenant(t, "B")
	bSales := f.db.NewEmployee(t, b.ID, authn.RoleSales, uuid.Nil)
	bMgr := f.db.NewEmployee(t, b.ID, authn.RoleManager, uuid.Nil)
	_, _, err = f.svc.Stats(ctx, bMgr, eastSales.EmployeeID)
	requireKind(t, platform.KindNotFound, err, "another tenant's salesperson")
	_, _, err = f.svc.Stats(ctx, bSales, eastSales.EmployeeID)
	requireKind(t, platform.KindNotFound, err)
}

func TestStandingShareIsReusedPerMaterialAndChannel(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	sales := f.db.NewEmployee(t, f.a.ID, authn.RoleSales, uuid.Nil)
	m := f.material(t, f.a.ID, "enterprise", "published", uuid.Nil)
	standing := func(p authn.Principal, ch event.Channel) (string, string, error) {
		var tok, url string
		err := f.db.App.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
			var err error
			tok, url, err = f.svc.StandingShareTx(ctx, tx, p, m, ch)
			return err
		})
		return tok, url, err
	}
	tok, url, err := standing(sales, "moments")
	require.NoError(t, err)
	require.Equal(t, f.svc.URL(tok), url)
	again, _, err := standing(sales, "moments")
	require.NoError(t, err)
	require.Equal(t, tok, again, "one link per material and channel, so a reprinted poster keeps its attribution")
	chat, _, err := standing(sales, "chat")
	require.NoError(t, err)
	require.NotEqual(t, tok, chat)
	admins, _, err := standing(f.a.Admin, "moments")
	require.NoError(t, err)
	require.NotEqual(t, tok, admins, "each salesperson has their own")
	// A forward of the link is a customer's, not the salesperson's own share: it is not reused.
	_, err = f.svc.Forward(ctx, tok, event.ChannelMoments, "visitor")
	require.NoError(t, err)
	again, _, err = standing(sales, "moments")
	require.NoError(t, err)
	require.Equal(t, tok, again)
	_, _, err = standing(sales, "carrier-pigeon")
	requireKind(t, platform.KindInvalid, err)
}

func TestAnotherTenantsMaterialCannotBeShared(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	b := f.db.NewTenant(t, "B")
	theirs := f.material(t, b.ID, "enterprise", "published", uuid.Nil)
	for _, role := range []authn.Role{authn.RoleAdmin, authn.RoleManager, authn.RoleSales} {
		p := f.db.NewEmployee(t, f.a.ID, role, uuid.Nil)
		_, err := f.svc.ShareMaterial(ctx, p, theirs, event.ChannelChat)
		requireKind(t, platform.KindNotFound, err, role)
	}
	require.Zero(t, f.count(t, "SELECT count(*) FROM shares"))
	require.Zero(t, f.count(t, "SELECT share_count FROM materials WHERE id = $1", theirs))
}
