package web_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/card"
	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/material"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/backend/tracking"
	"github.com/salesapp/scrm/backend/web"
	"github.com/salesapp/scrm/backend/wechat"
	"github.com/salesapp/scrm/backend/wechat/wechattest"
	"github.com/salesapp/scrm/media"
	"github.com/salesapp/scrm/media/miniotest"
	"github.com/salesapp/scrm/push/alert"
)

// noPushes drops the pushes of alerts: the customers' side records events, it does not deliver alerts.
type noPushes struct{}

func (noPushes) Push(context.Context, pgx.Tx, []alert.Push) error { return nil }
func (noPushes) Committed()                                       {}

type fixture struct {
	db     *pgtest.DB
	deps   web.Deps
	shares *share.Service
	a      pgtest.Tenant
	sales  authn.Principal
}

// setup builds what the customers' side stands on over a fresh database and a bucket of its own (a page
// carries the card, whose QR code is stored on first use). WeChat is left unconfigured.
func setup(t *testing.T) fixture {
	t.Helper()
	db := pgtest.New(t)
	store, err := media.New(context.Background(), miniotest.New(t))
	require.NoError(t, err)
	shares := share.NewService(db.App, "https://share.example.com")
	materials := material.NewService(db.App, store, nil, nil, shares)
	tr := tracking.NewService(db.App, shares, slog.New(slog.DiscardHandler), tracking.Config{Jobs: noPushes{}})
	t.Cleanup(tr.Close)
	a := db.NewTenant(t, "A")
	return fixture{db: db, shares: shares, a: a, sales: db.NewEmployee(t, a.ID, authn.RoleSales, uuid.Nil),
		deps: web.Deps{Shares: shares, Cards: card.NewService(db.App, store, materials, shares), Materials: materials,
			Customers: customer.NewService(db.App), Tracking: tr,
			Sessions: customer.NewSessions([][]byte{[]byte("a test key of thirty-two bytes!!")}, nil)}}
}

func (f fixture) pages(ttl time.Duration) *web.Service { return web.NewService(f.deps, ttl) }

// material writes a published library row of the tenant; the pages only read it.
func (f fixture) material(t *testing.T, tier string, owner uuid.UUID) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	_, err := f.db.Super.Exec(context.Background(), `
		INSERT INTO materials (id, tenant_id, tier, owner_id, kind, status, title, body_html, published_at)
		VALUES ($1, $2, $3, $4, 'article', 'published', 'Family plan', '<p>Cover your family</p>', now())`,
		id, f.a.ID, tier, uuid.NullUUID{UUID: owner, Valid: owner != uuid.Nil})
	require.NoError(t, err)
	return id
}

func (f fixture) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	_, err := f.db.Super.Exec(context.Background(), sql, args...)
	require.NoError(t, err)
}

func requireKind(t *testing.T, want platform.Kind, err error, msgAndArgs ...any) {
	t.Helper()
	require.Error(t, err, msgAndArgs...)
	require.Equal(t, want, platform.KindOf(err), append([]any{"error: %v"}, err)...)
}

func TestAMaterialLinkShowsTheMaterialWithTheSharersCard(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	f.exec(t, "UPDATE employees SET name = 'Wang Fang', title = 'Advisor' WHERE id = $1", f.sales.EmployeeID)
	m := f.material(t, "enterprise", uuid.Nil)
	sh, err := f.shares.ShareMaterial(ctx, f.sales, m, event.ChannelChat)
	require.NoError(t, err)

	p, err := f.pages(0).Open(ctx, sh.Token)
	require.NoError(t, err)
	require.Equal(t, sh.ID, p.Share.ID)
	require.Equal(t, f.sales.EmployeeID, p.Card.EmployeeID)
	require.Equal(t, "Wang Fang", p.Card.DisplayName)
	require.Equal(t, "Advisor", p.Card.Title)
	require.NotEmpty(t, p.Card.QRCodeURL)
	require.NotNil(t, p.Material)
	require.Equal(t, m, p.Material.ID)
	require.Equal(t, "<p>Cover your family</p>", p.Material.BodyHTML)

	// A card link shows the card alone.
	cs, err := f.shares.ShareCard(ctx, f.sales, event.ChannelMoments)
	require.NoError(t, err)
	p, err = f.pages(0).Open(ctx, cs.Token)
	require.NoError(t, err)
	require.Nil(t, p.Material)
	require.Equal(t, "Wang Fang", p.Card.DisplayName)
	require.Equal(t, event.ChannelMoments, p.Share.Channel)

	// A salesperson's own personal material is shown through their link.
	mine := f.material(t, "personal", f.sales.EmployeeID)
	ps, err := f.shares.ShareMaterial(ctx, f.sales, mine, event.ChannelChat)
	require.NoError(t, err)
	p, err = f.pages(0).Open(ctx, ps.Token)
	require.NoError(t, err)
	require.Equal(t, mine, p.Material.ID)
}

func TestAForwardedLinkShowsTheRootSharersCard(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	pages := f.pages(0)
	m := f.material(t, "enterprise", uuid.Nil)
	root, err := f.shares.ShareMaterial(ctx, f.sales, m, event.ChannelChat)
	require.NoError(t, err)

	child, err := pages.Forward(ctx, root.Token, event.ChannelGroup, "visitor-0001")
	require.NoError(t, err)
	require.Equal(t, pages.URL(child.Token), f.shares.URL(child.Token))
	grandchild, err := pages.Forward(ctx, child.Token, event.ChannelMoments, "visitor-0002")
	require.NoError(t, err)
	p, err := pages.Open(ctx, grandchild.Token)
	require.NoError(t, err)
	require.Equal(t, 2, p.Share.Depth)
	require.Equal(t, f.sales.EmployeeID, p.Card.EmployeeID, "whoever forwards, the page shows the salesperson who shared")
	require.Equal(t, m, p.Material.ID)
	_, err = pages.Forward(ctx, "nope", event.ChannelGroup, "visitor-0001")
	requireKind(t, platform.KindNotFound, err)
}

func TestLinksToWithdrawnThingsAreNotFound(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	pages := f.pages(0)
	_, err := pages.Open(ctx, "no-such-token")
	requireKind(t, platform.KindNotFound, err)

	unpublished := f.material(t, "enterprise", uuid.Nil)
	deleted := f.material(t, "enterprise", uuid.Nil)
	other := f.db.NewEmployee(t, f.a.ID, authn.RoleSales, uuid.Nil)
	card, err := f.shares.ShareCard(ctx, other, event.ChannelChat)
	require.NoError(t, err)
	links := map[string]string{}
	for name, id := range map[string]uuid.UUID{"unpublished": unpublished, "deleted": deleted} {
		sh, err := f.shares.ShareMaterial(ctx, f.sales, id, event.ChannelChat)
		require.NoError(t, err)
		links[name] = sh.Token
		_, err = pages.Open(ctx, sh.Token)
		require.NoError(t, err)
	}
	f.exec(t, "UPDATE materials SET status = 'draft' WHERE id = $1", unpublished)
	f.exec(t, "UPDATE materials SET deleted_at = now() WHERE id = $1", deleted)
	f.exec(t, "UPDATE employees SET status = 'disabled' WHERE id = $1", other.EmployeeID)
	for name, tok := range map[string]string{"unpublished": links["unpublished"], "deleted": links["deleted"], "disabled sharer": card.Token} {
		_, err := pages.Open(ctx, tok)
		requireKind(t, platform.KindNotFound, err, name)
	}
}

func TestPagesAreCachedPerMaterialAndCardForTheirTTL(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	m := f.material(t, "enterprise", uuid.Nil)
	sh, err := f.shares.ShareMaterial(ctx, f.sales, m, event.ChannelChat)
	require.NoError(t, err)
	other, err := f.shares.ShareMaterial(ctx, f.sales, m, event.ChannelGroup)
	require.NoError(t, err)
	cached, uncached := f.pages(time.Hour), f.pages(0)
	first, err := cached.Open(ctx, sh.Token)
	require.NoError(t, err)
	require.EqualValues(t, 3, web.CacheLoads(cached), "the link, the card, the material")

	// Opened again, through its link or another link of the same material and salesperson: nothing is
	// read again but the new link itself.
	for range 3 {
		again, err := cached.Open(ctx, sh.Token)
		require.NoError(t, err)
		require.Equal(t, first.Share.ID, again.Share.ID)
	}
	require.EqualValues(t, 3, web.CacheLoads(cached))
	p, err := cached.Open(ctx, other.Token)
	require.NoError(t, err)
	require.Equal(t, other.ID, p.Share.ID)
	require.EqualValues(t, 4, web.CacheLoads(cached), "only the new link")

	// A flood of forward links of one article costs the article once.
	for i := range 20 {
		child, err := cached.Forward(ctx, sh.Token, event.ChannelGroup, fmt.Sprintf("visitor-%04d", i))
		require.NoError(t, err)
		_, err = cached.Open(ctx, child.Token)
		require.NoError(t, err)
	}
	require.EqualValues(t, 24, web.CacheLoads(cached), "one load per new link, none per material or card")
	entries, bytes := web.CacheUsage(cached)
	require.Equal(t, 24, entries)
	require.Positive(t, bytes)

	// Withdrawn meanwhile: a busy group chat keeps getting the page for the TTL; without a cache it is gone
	// at once.
	f.exec(t, "UPDATE materials SET deleted_at = now() WHERE id = $1", m)
	again, err := cached.Open(ctx, sh.Token)
	require.NoError(t, err)
	require.Equal(t, m, again.Material.ID)
	_, err = uncached.Open(ctx, sh.Token)
	requireKind(t, platform.KindNotFound, err)
	// A failed lookup is not cached.
	fresh := f.pages(time.Hour)
	_, err = fresh.Open(ctx, other.Token)
	requireKind(t, platform.KindNotFound, err)
	f.exec(t, "UPDATE materials SET deleted_at = NULL WHERE id = $1", m)
	_, err = fresh.Open(ctx, other.Token)
	require.NoError(t, err)

	// Past its TTL, a cached page is looked up again.
	brief := f.pages(time.Millisecond)
	_, err = brief.Open(ctx, sh.Token)
	require.NoError(t, err)
	f.exec(t, "UPDATE materials SET deleted_at = now() WHERE id = $1", m)
	require.Eventually(t, func() bool {
		_, err := brief.Open(ctx, sh.Token)
		return platform.KindOf(err) == platform.KindNotFound
	}, 10*time.Second, 5*time.Millisecond)
}

// A flood of distinct links is looked up within the node's budget; links already cached are not counted
// against it, so a busy link keeps opening while new ones wait or are told to come back.
func TestLinksNotCachedAreLookedUpWithinTheNodesBudget(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	m := f.material(t, "enterprise", uuid.Nil)
	sh, err := f.shares.ShareMaterial(ctx, f.sales, m, event.ChannelChat)
	require.NoError(t, err)
	pages := f.pages(time.Hour)
	web.SetLookupRate(pages, 0.001) // one lookup, then the next turn is far beyond the longest wait
	_, err = pages.Open(ctx, sh.Token)
	require.NoError(t, err)
	loads := web.CacheLoads(pages)

	child, err := pages.Forward(ctx, sh.Token, event.ChannelGroup, "visitor-1")
	require.NoError(t, err)
	_, err = pages.Open(ctx, child.Token)
	requireKind(t, platform.KindResourceExhausted, err, "past the budget")
	var pe *platform.Error
	require.ErrorAs(t, err, &pe)
	require.Positive(t, pe.RetryAfter, "says when to come back")
	_, err = pages.Open(ctx, "no-such-token-guessed")
	requireKind(t, platform.KindResourceExhausted, err, "guesses spend the same budget")
	require.Equal(t, loads, web.CacheLoads(pages), "nothing past the budget reached the database")

	// The cached link still opens, and the page says busy, with when to retry, for the new one.
	_, err = pages.Open(ctx, sh.Token)
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/s/"+child.Token, nil)
	req.SetPathValue("token", child.Token)
	pages.PageHandler(rec, req)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, "1", rec.Header().Get("Retry-After"))
}

func TestAPersonalMaterialCachedForItsOwnerIsNotShownThroughAnotherSharersLink(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	pages := f.pages(time.Hour)
	mine := f.material(t, "personal", f.sales.EmployeeID)
	sh, err := f.shares.ShareMaterial(ctx, f.sales, mine, event.ChannelChat)
	require.NoError(t, err)
	_, err = pages.Open(ctx, sh.Token)
	require.NoError(t, err)
	// A share row naming another salesperson (never made by the app, which refuses to share another's
	// personal material) must not get the cached material.
	other := f.db.NewEmployee(t, f.a.ID, authn.RoleSales, uuid.Nil)
	f.exec(t, `INSERT INTO shares (id, tenant_id, token, employee_id, target_kind, material_id, channel, root_id, depth, forwarder, standing)
		VALUES ($1, $2, 'forgedShareToken', $3, 'material', $4, 'chat', $1, 0, '', false)`, uuid.New(), f.a.ID, other.EmployeeID, mine)
	_, err = pages.Open(ctx, "forgedShareToken")
	requireKind(t, platform.KindNotFound, err)
}

func TestSignInWithoutWeChatIsRefusedClearly(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	sh, err := f.shares.ShareCard(ctx, f.sales, event.ChannelChat)
	require.NoError(t, err)
	pages := f.pages(0)
	_, _, _, err = pages.LoginMiniProgram(ctx, sh.Token, "visitor-0001", "code")
	requireKind(t, platform.KindFailedPrecondition, err)
	_, err = pages.LoginH5(ctx, sh.Token, "visitor-0001", "code")
	requireKind(t, platform.KindFailedPrecondition, err)
	requireKind(t, platform.KindFailedPrecondition, pages.LeavePhoneNumber(ctx, sh.Token, "visitor-0001", "code", uuid.New()))
	var n int
	require.NoError(t, f.db.Super.QueryRow(ctx, "SELECT count(*) FROM customers").Scan(&n))
	require.Zero(t, n)
}

func TestSignInMakesACustomerOfTheLinksTenantOwnedByTheSharer(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	wx := wechattest.New(t)
	f.deps.WeChat = wechat.New(wx.Config(), nil)
	f.deps.Official = wechat.New(wx.Config(), nil)
	pages := f.pages(0)
	b := f.db.NewTenant(t, "B")
	bSales := f.db.NewEmployee(t, b.ID, authn.RoleSales, uuid.Nil)
	sh, err := f.shares.ShareCard(ctx, bSales, event.ChannelChat)
	require.NoError(t, err)

	// An unknown link costs no WeChat call and makes nobody.
	wx.AddSession("code-0", wechat.Session{OpenID: "openid-0", UnionID: "union-0", SessionKey: "k"})
	_, _, _, err = pages.LoginMiniProgram(ctx, "no-such-token", "visitor-0001", "code-0")
	requireKind(t, platform.KindNotFound, err)
	require.Zero(t, wx.Calls(wechattest.Code2Session))

	wx.AddSession("code-1", wechat.Session{OpenID: "openid-1", UnionID: "union-1", SessionKey: "k1"})
	returning, session, sess, err := pages.LoginMiniProgram(ctx, sh.Token, "visitor-0001", "code-1")
	require.NoError(t, err)
	require.False(t, returning)
	require.Equal(t, b.ID, sess.TenantID, "the session is of the link's tenant")
	again, err := pages.Session(session)
	require.NoError(t, err)
	require.Equal(t, sess.CustomerID, again.CustomerID)
	type row struct {
		Tenant, Owner uuid.UUID
		Channel       string
	}
	var got []row
	rows, err := f.db.Super.Query(ctx, "SELECT tenant_id, owner_id, source_channel FROM customers")
	require.NoError(t, err)
	got, err = pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	require.NoError(t, err)
	require.Equal(t, []row{{b.ID, bSales.EmployeeID, "chat"}}, got, "in B, the link's tenant, owned by its sharer")

	// The same person again, from the H5 page on another device: the same customer.
	wx.AddSession("code-2", wechat.Session{OpenID: "h5-openid-1", UnionID: "union-1"})
	returning, err = pages.LoginH5(ctx, sh.Token, "visitor-0002", "code-2")
	require.NoError(t, err)
	require.True(t, returning)
	var n int
	require.NoError(t, f.db.Super.QueryRow(ctx, "SELECT count(*) FROM customers WHERE merged_into IS NULL").Scan(&n))
	require.Equal(t, 1, n)

	// A number left on the page is an event and an identity of that customer, in the same tenant.
	wx.AddPhone("phone-1", wechattest.PhoneInfo{PurePhoneNumber: "13800138000", CountryCode: "86"})
	require.NoError(t, pages.LeavePhoneNumber(ctx, sh.Token, "visitor-0002", "phone-1", uuid.New()))
	var tenantID uuid.UUID
	require.NoError(t, f.db.Super.QueryRow(ctx, "SELECT tenant_id FROM customer_identities WHERE kind = 'phone'").Scan(&tenantID))
	require.Equal(t, b.ID, tenantID)
	require.NoError(t, f.db.Super.QueryRow(ctx, "SELECT count(*) FROM events WHERE tenant_id = $1 AND kind = 'phone_left'", b.ID).Scan(&n))
	require.Equal(t, 1, n)
	require.NoError(t, f.db.Super.QueryRow(ctx, "SELECT count(*) FROM customers WHERE tenant_id = $1", f.a.ID).Scan(&n))
	require.Zero(t, n, "nothing landed in A")
}

// After the tenant's subscription ends, its customers' pages keep working for share.PageGrace, then show
// the neutral page and mint no forwards; the visits are still tracked, so a renewal shows everything.
func TestPagesOfAnExpiredTenantEndAfterTheGrace(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	sh, err := f.shares.ShareCard(ctx, f.sales, event.ChannelChat)
	require.NoError(t, err)
	pages := f.pages(0)

	f.exec(t, "UPDATE tenants SET expires_at = now() - interval '6 days' WHERE id = $1", f.a.ID)
	_, err = pages.Open(ctx, sh.Token)
	require.NoError(t, err, "within the grace")
	_, err = pages.Forward(ctx, sh.Token, event.ChannelChat, "friend-1")
	require.NoError(t, err)

	f.exec(t, "UPDATE tenants SET expires_at = now() - interval '8 days' WHERE id = $1", f.a.ID)
	_, err = pages.Open(ctx, sh.Token)
	requireKind(t, platform.KindNotFound, err, "past the grace")
	_, err = pages.Forward(ctx, sh.Token, event.ChannelChat, "friend-2")
	requireKind(t, platform.KindNotFound, err)
	res, err := f.deps.Tracking.Ingest(ctx, []tracking.Event{{ID: uuid.New(), Kind: event.CardView, ShareToken: sh.Token,
		VisitorID: "visitor-after-grace", OccurredAt: time.Now()}})
	require.NoError(t, err)
	require.Equal(t, 1, res.Accepted, "the visit is stored")
}
