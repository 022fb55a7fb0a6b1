package card_test

import (
	"context"
	"errors"
	"image"
	_ "image/png" // QR codes
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/card"
	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/material"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/media"
	"github.com/salesapp/scrm/media/miniotest"
)

const base = "https://share.example.com"

type fixture struct {
	db     *pgtest.DB
	svc    *card.Service
	shares *share.Service
	a      pgtest.Tenant
	sales  authn.Principal
}

// setup builds the card rules on a fresh database and a bucket of their own: a card's QR code is an
// object the service stores on first use.
func setup(t *testing.T) fixture {
	t.Helper()
	db := pgtest.New(t)
	store, err := media.New(context.Background(), miniotest.New(t))
	require.NoError(t, err)
	shares := share.NewService(db.App, base)
	materials := material.NewService(db.App, store, nil, nil, shares)
	a := db.NewTenant(t, "A")
	return fixture{db: db, svc: card.NewService(db.App, store, materials, shares), shares: shares, a: a,
		sales: db.NewEmployee(t, a.ID, authn.RoleSales, uuid.Nil)}
}

func requireInvalid(t *testing.T, field string, err error) {
	t.Helper()
	require.Error(t, err)
	var de *platform.Error
	require.True(t, errors.As(err, &de), "error: %v", err)
	require.Equal(t, platform.KindInvalid, de.Kind, "error: %v", err)
	require.Equal(t, field, de.Field, "error: %v", err)
}

func requireKind(t *testing.T, want platform.Kind, err error, msgAndArgs ...any) {
	t.Helper()
	require.Error(t, err, msgAndArgs...)
	require.Equal(t, want, platform.KindOf(err), append([]any{"error: %v"}, err)...)
}

func ptr[T any](v T) *T { return &v }

// uploaded records a finalized upload of the tenant, as the upload package does after checking one.
func (f fixture) uploaded(t *testing.T, tenantID uuid.UUID, kind media.Kind) string {
	t.Helper()
	ext := map[media.Kind]string{media.KindImage: "png", media.KindPDF: "pdf", media.KindVideo: "mp4"}[kind]
	key := media.TenantKey(tenantID, media.UploadPurpose, ext)
	_, err := f.db.Super.Exec(context.Background(),
		"INSERT INTO uploads (tenant_id, object_key, kind, content_type, size_bytes, uploaded_by) VALUES ($1, $2, $3, 'x/x', 100, $4)",
		tenantID, key, string(kind), uuid.New())
	require.NoError(t, err)
	return key
}

// material writes a library row (uuid.Nil tenant: a platform one); the card only reads it.
func (f fixture) material(t *testing.T, tenantID uuid.UUID, tier, status string, owner uuid.UUID) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	_, err := f.db.Super.Exec(context.Background(), `
		INSERT INTO materials (id, tenant_id, tier, owner_id, kind, status, title, published_at)
		VALUES ($1, $2, $3, $4, 'article', $5, $6, CASE WHEN $7 THEN now() END)`,
		id, uuid.NullUUID{UUID: tenantID, Valid: tenantID != uuid.Nil}, tier, uuid.NullUUID{UUID: owner, Valid: owner != uuid.Nil},
		status, tier+" "+status, status == "published")
	require.NoError(t, err)
	return id
}

func decodeQR(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	img, _, err := image.Decode(resp.Body)
	require.NoError(t, err)
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	require.NoError(t, err)
	res, err := gozxingqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	require.NoError(t, err)
	return res.GetText()
}

func TestTheCardIsMadeOnceFromTheEmployeeWithItsOwnQRLink(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	_, err := f.db.Super.Exec(ctx, "UPDATE employees SET name = 'Wang Fang', title = 'Advisor', phone = '+8613800138000', email = 'wf@example.com' WHERE id = $1", f.sales.EmployeeID)
	require.NoError(t, err)

	v, err := f.svc.Mine(ctx, f.sales)
	require.NoError(t, err)
	require.Equal(t, f.sales.EmployeeID, v.EmployeeID)
	require.Equal(t, "Wang Fang", v.DisplayName)
	require.Equal(t, "Advisor", v.Title)
	require.Equal(t, "+8613800138000", v.Phone)
	require.Equal(t, "wf@example.com", v.Email)
	require.EqualValues(t, 1, v.Version)
	require.True(t, strings.HasPrefix(v.ShareURL, base+"/s/"), v.ShareURL)
	require.Equal(t, v.ShareURL, decodeQR(t, v.QRCodeURL), "the QR code encodes the card's own link")

	// The link is a card share of the salesperson, and the system's: it is not counted as their share.
	sh, err := f.shares.Resolve(ctx, strings.TrimPrefix(v.ShareURL, base+"/s/"))
	require.NoError(t, err)
	require.Equal(t, f.sales.EmployeeID, sh.EmployeeID)
	require.Equal(t, uuid.Nil, sh.MaterialID)
	require.Equal(t, event.ChannelQR, sh.Channel)
	shares, _, err := f.shares.Stats(ctx, f.sales, uuid.Nil)
	require.NoError(t, err)
	require.Zero(t, shares)

	// Read again, nothing is made again; the card is the salesperson's own from now on.
	again, err := f.svc.Mine(ctx, f.sales)
	require.NoError(t, err)
	require.Equal(t, v.ShareURL, again.ShareURL)
	var n int
	require.NoError(t, f.db.Super.QueryRow(ctx, "SELECT count(*) FROM shares").Scan(&n))
	require.Equal(t, 1, n)
	_, err = f.db.Super.Exec(ctx, "UPDATE employees SET title = 'Director' WHERE id = $1", f.sales.EmployeeID)
	require.NoError(t, err)
	again, err = f.svc.Mine(ctx, f.sales)
	require.NoError(t, err)
	require.Equal(t, "Advisor", again.Title)
}

func TestUpdateWritesOnlyTheFieldsGiven(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	photo := f.uploaded(t, f.a.ID, media.KindImage)
	v, err := f.svc.Update(ctx, f.sales, card.Change{Title: ptr("Advisor"), PhotoKeys: &[]string{photo}})
	require.NoError(t, err, "the first update makes the card too")
	require.Equal(t, "Advisor", v.Title)
	require.Len(t, v.PhotoURLs, 1)
	require.EqualValues(t, 2, v.Version)
	require.NotEmpty(t, v.QRCodeURL)

	v, err = f.svc.Update(ctx, f.sales, card.Change{Phone: ptr("+8613900000000"), WeChatID: ptr("wf-88"), Bio: ptr("Ten years in insurance")})
	require.NoError(t, err)
	require.Equal(t, "Advisor", v.Title)
	require.Equal(t, "+8613900000000", v.Phone)
	require.Equal(t, "wf-88", v.WeChatID)
	require.Len(t, v.PhotoURLs, 1, "photos not given are kept")
	require.EqualValues(t, 3, v.Version)

	_, err = f.svc.Update(ctx, f.sales, card.Change{Phone: ptr("call me")})
	requireInvalid(t, "phone", err)

	v, err = f.svc.Update(ctx, f.sales, card.Change{PhotoKeys: &[]string{}, Title: ptr("")})
	require.NoError(t, err)
	require.Empty(t, v.PhotoURLs, "an empty list clears the photos")
	require.Empty(t, v.Title, "an empty string clears a field")
	require.Equal(t, "wf-88", v.WeChatID)

	// Someone else's card is not touched.
	other := f.db.NewEmployee(t, f.a.ID, authn.RoleSales, uuid.Nil)
	ov, err := f.svc.Mine(ctx, other)
	require.NoError(t, err)
	require.EqualValues(t, 1, ov.Version)
	require.Empty(t, ov.Phone)
}

func TestCardObjectsAreTheTenantsFinalizedUploadsOfTheRightKind(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	img, pdf, video := f.uploaded(t, f.a.ID, media.KindImage), f.uploaded(t, f.a.ID, media.KindPDF), f.uploaded(t, f.a.ID, media.KindVideo)
	b := f.db.NewTenant(t, "B")
	theirs := f.uploaded(t, b.ID, media.KindImage)

	_, err := f.svc.Update(ctx, f.sales, card.Change{AvatarKey: ptr(media.TenantKey(f.a.ID, media.UploadPurpose, "png"))})
	requireInvalid(t, "avatar_key", err)
	_, err = f.svc.Update(ctx, f.sales, card.Change{AvatarKey: &pdf})
	requireInvalid(t, "avatar_key", err)
	_, err = f.svc.Update(ctx, f.sales, card.Change{AvatarKey: &theirs})
	requireInvalid(t, "avatar_key", err)
	_, err = f.svc.Update(ctx, f.sales, card.Change{PhotoKeys: &[]string{img, video}})
	requireInvalid(t, "photo_keys[1]", err)
	_, err = f.svc.Update(ctx, f.sales, card.Change{IntroVideoKey: &img})
	requireInvalid(t, "intro_video_key", err)
	// A refused update changes nothing, not even the fields that were fine.
	_, err = f.svc.Update(ctx, f.sales, card.Change{Title: ptr("Advisor"), AvatarKey: &pdf})
	requireInvalid(t, "avatar_key", err)
	v, err := f.svc.Mine(ctx, f.sales)
	require.NoError(t, err)
	require.Empty(t, v.Title)
	require.EqualValues(t, 1, v.Version)

	v, err = f.svc.Update(ctx, f.sales, card.Change{AvatarKey: &img, IntroVideoKey: &video})
	require.NoError(t, err)
	require.Contains(t, v.AvatarURL, img)
	require.Contains(t, v.IntroVideoURL, video)
	v, err = f.svc.Update(ctx, f.sales, card.Change{AvatarKey: ptr("")})
	require.NoError(t, err)
	require.Empty(t, v.AvatarURL, "an empty key removes the avatar")
	require.NotEmpty(t, v.IntroVideoURL)
}

func TestFeaturedMaterialsAreOnesTheOwnerMayShare(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	colleague := f.db.NewEmployee(t, f.a.ID, authn.RoleSales, uuid.Nil)
	published := f.material(t, f.a.ID, "enterprise", "published", uuid.Nil)
	draft := f.material(t, f.a.ID, "enterprise", "draft", uuid.Nil)
	mine := f.material(t, f.a.ID, "personal", "published", f.sales.EmployeeID)
	theirs := f.material(t, f.a.ID, "personal", "published", colleague.EmployeeID)
	plat := f.material(t, uuid.Nil, "platform", "published", uuid.Nil)

	_, err := f.svc.Update(ctx, f.sales, card.Change{FeaturedMaterialIDs: &[]uuid.UUID{published, draft}})
	requireInvalid(t, "featured_material_ids[1]", err)
	_, err = f.svc.Update(ctx, f.sales, card.Change{FeaturedMaterialIDs: &[]uuid.UUID{theirs}})
	requireInvalid(t, "featured_material_ids[0]", err)
	_, err = f.svc.Update(ctx, f.sales, card.Change{FeaturedMaterialIDs: &[]uuid.UUID{uuid.New()}})
	requireInvalid(t, "featured_material_ids[0]", err)
	many := make([]uuid.UUID, card.MaxFeatured+1)
	for i := range many {
		many[i] = published
	}
	_, err = f.svc.Update(ctx, f.sales, card.Change{FeaturedMaterialIDs: &many})
	requireInvalid(t, "featured_material_ids", err)
	// An admin sees drafts, but a draft is not shareable, so not featured either.
	_, err = f.svc.Update(ctx, f.a.Admin, card.Change{FeaturedMaterialIDs: &[]uuid.UUID{draft}})
	requireInvalid(t, "featured_material_ids[0]", err)

	v, err := f.svc.Update(ctx, f.sales, card.Change{FeaturedMaterialIDs: &[]uuid.UUID{mine, plat, published}})
	require.NoError(t, err)
	var got []uuid.UUID
	for _, s := range v.Featured {
		got = append(got, s.ID)
	}
	require.Equal(t, []uuid.UUID{mine, plat, published}, got, "in the salesperson's order")

	// A featured material that is deleted or unpublished simply leaves the card.
	_, err = f.db.Super.Exec(ctx, "UPDATE materials SET deleted_at = now() WHERE id = $1", mine)
	require.NoError(t, err)
	_, err = f.db.Super.Exec(ctx, "UPDATE materials SET status = 'draft' WHERE id = $1", published)
	require.NoError(t, err)
	v, err = f.svc.Mine(ctx, f.sales)
	require.NoError(t, err)
	require.Len(t, v.Featured, 1)
	require.Equal(t, plat, v.Featured[0].ID)
}

func TestCompanyFieldsAreTheAdminsAndOnEveryCard(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	mgr := f.db.NewEmployee(t, f.a.ID, authn.RoleManager, uuid.Nil)
	for _, p := range []authn.Principal{f.sales, mgr} {
		_, err := f.svc.UpdateCompany(ctx, p, card.CompanyChange{Name: ptr("Mine now")})
		requireKind(t, platform.KindPermissionDenied, err)
	}
	_, err := f.svc.UpdateCompany(ctx, f.a.Admin, card.CompanyChange{Name: ptr("Acme"), LogoKey: ptr(f.uploaded(t, f.a.ID, media.KindPDF))})
	requireInvalid(t, "logo_key", err)

	logo := f.uploaded(t, f.a.ID, media.KindImage)
	c, err := f.svc.UpdateCompany(ctx, f.a.Admin, card.CompanyChange{Name: ptr("Acme Insurance"), Website: ptr("https://acme.example"), LogoKey: &logo})
	require.NoError(t, err)
	require.Equal(t, "Acme Insurance", c.Name)
	require.Contains(t, c.LogoURL, logo)
	c, err = f.svc.UpdateCompany(ctx, f.a.Admin, card.CompanyChange{Address: ptr("1 Bund Road")})
	require.NoError(t, err)
	require.Equal(t, "Acme Insurance", c.Name, "fields not given are kept")
	require.Equal(t, "https://acme.example", c.Website)

	for _, p := range []authn.Principal{f.sales, mgr} {
		v, err := f.svc.Mine(ctx, p)
		require.NoError(t, err)
		require.Equal(t, "Acme Insurance", v.Company.Name)
		require.Equal(t, "1 Bund Road", v.Company.Address)
		require.Contains(t, v.Company.LogoURL, logo)
	}
	b := f.db.NewTenant(t, "B")
	v, err := f.svc.Mine(ctx, b.Admin)
	require.NoError(t, err)
	require.Empty(t, v.Company.Name, "another tenant's cards show their own company")
}

func TestCustomersSeeCardsOfActiveEmployeesOfTheLinksTenant(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	_, err := f.svc.Update(ctx, f.sales, card.Change{Title: ptr("Advisor")})
	require.NoError(t, err)
	v, err := f.svc.Public(ctx, f.a.ID, f.sales.EmployeeID)
	require.NoError(t, err)
	require.Equal(t, "Advisor", v.Title)

	// Another tenant's id for the same person finds nothing, and makes nothing.
	b := f.db.NewTenant(t, "B")
	_, err = f.svc.Public(ctx, b.ID, f.sales.EmployeeID)
	requireKind(t, platform.KindNotFound, err)
	_, err = f.svc.Public(ctx, f.a.ID, uuid.New())
	requireKind(t, platform.KindNotFound, err)
	var n int
	require.NoError(t, f.db.Super.QueryRow(ctx, "SELECT count(*) FROM cards").Scan(&n))
	require.Equal(t, 1, n)

	// A disabled salesperson's card is no longer shown; they still see it themselves.
	_, err = f.db.Super.Exec(ctx, "UPDATE employees SET status = 'disabled' WHERE id = $1", f.sales.EmployeeID)
	require.NoError(t, err)
	_, err = f.svc.Public(ctx, f.a.ID, f.sales.EmployeeID)
	requireKind(t, platform.KindNotFound, err)
	_, err = f.svc.Mine(ctx, f.sales)
	require.NoError(t, err)
}

func TestAnotherTenantsMaterialsAndUploadsCannotBeOnACard(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	b := f.db.NewTenant(t, "B")
	theirMaterial := f.material(t, b.ID, "enterprise", "published", uuid.Nil)
	theirLogo := f.uploaded(t, b.ID, media.KindImage)
	for _, role := range []authn.Role{authn.RoleAdmin, authn.RoleManager, authn.RoleSales} {
		p := f.db.NewEmployee(t, f.a.ID, role, uuid.Nil)
		_, err := f.svc.Update(ctx, p, card.Change{FeaturedMaterialIDs: &[]uuid.UUID{theirMaterial}})
		requireInvalid(t, "featured_material_ids[0]", err)
		_, err = f.svc.Update(ctx, p, card.Change{PhotoKeys: &[]string{theirLogo}})
		requireInvalid(t, "photo_keys[0]", err)
	}
	_, err := f.svc.UpdateCompany(ctx, f.a.Admin, card.CompanyChange{LogoKey: &theirLogo})
	requireInvalid(t, "logo_key", err)
	var n int
	require.NoError(t, f.db.Super.QueryRow(ctx, "SELECT count(*) FROM company_profiles").Scan(&n))
	require.Zero(t, n)
}
