package material_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/material"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/media"
	"github.com/salesapp/scrm/media/miniotest"
	"github.com/salesapp/scrm/media/poster"
)

// deletions records the object deletions the library queues, and can refuse to queue them.
type deletions struct {
	mu   sync.Mutex
	keys [][]string
	fail error
}

func (d *deletions) DeleteObjects(_ context.Context, _ pgx.Tx, keys []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return d.fail
	}
	d.keys = append(d.keys, slices.Clone(keys))
	return nil
}

type fixture struct {
	db   *pgtest.DB
	svc  *material.Service
	jobs *deletions
	a    pgtest.Tenant
	// mgr and sales are in team; sales2 too.
	mgr, sales, sales2 authn.Principal
}

// setup builds the library on a fresh database and a bucket of its own (views carry presigned URLs, so
// the service needs a real store; nothing here uploads through it).
func setup(t *testing.T) fixture {
	t.Helper()
	db := pgtest.New(t)
	store, err := media.New(context.Background(), miniotest.New(t))
	require.NoError(t, err)
	jobs := &deletions{}
	svc := material.NewService(db.App, store, nil, jobs, share.NewService(db.App, "https://share.example.com"))
	a := db.NewTenant(t, "A")
	team := db.NewTeam(t, a.ID, "East")
	return fixture{db: db, svc: svc, jobs: jobs, a: a,
		mgr:    db.NewEmployee(t, a.ID, authn.RoleManager, team),
		sales:  db.NewEmployee(t, a.ID, authn.RoleSales, team),
		sales2: db.NewEmployee(t, a.ID, authn.RoleSales, team)}
}

func article(title string) material.Content {
	return material.Content{Title: title, BodyHTML: "<p>" + title + "</p>"}
}

func requireKind(t *testing.T, want platform.Kind, err error, msgAndArgs ...any) {
	t.Helper()
	require.Error(t, err, msgAndArgs...)
	require.Equal(t, want, platform.KindOf(err), append([]any{"error: %v"}, err)...)
}

// requireInvalid checks a refusal names the request field at fault.
func requireInvalid(t *testing.T, field string, err error) {
	t.Helper()
	requireKind(t, platform.KindInvalid, err)
	var de *platform.Error
	require.True(t, errors.As(err, &de))
	require.Equal(t, field, de.Field, "error: %v", err)
}

// uploaded records a finalized upload of the tenant, as the upload package would after checking it.
func (f fixture) uploaded(t *testing.T, tenantID uuid.UUID, kind media.Kind) string {
	t.Helper()
	ext := map[media.Kind]string{media.KindImage: "png", media.KindPDF: "pdf", media.KindVideo: "mp4"}[kind]
	ct := map[media.Kind]string{media.KindImage: "image/png", media.KindPDF: "application/pdf", media.KindVideo: "video/mp4"}[kind]
	key := media.TenantKey(tenantID, media.UploadPurpose, ext)
	_, err := f.db.Super.Exec(context.Background(),
		"INSERT INTO uploads (tenant_id, object_key, kind, content_type, size_bytes, uploaded_by) VALUES ($1, $2, $3, $4, 100, $5)",
		tenantID, key, string(kind), ct, uuid.New())
	require.NoError(t, err)
	return key
}

func (f fixture) create(t *testing.T, p authn.Principal, tier material.Tier, c material.Content) material.View {
	t.Helper()
	v, err := f.svc.Create(context.Background(), p, tier, material.KindArticle, c)
	require.NoError(t, err)
	return v
}

// published makes an enterprise article and takes it through review.
func (f fixture) published(t *testing.T, title string) material.View {
	t.Helper()
	ctx := context.Background()
	v := f.create(t, f.mgr, material.TierEnterprise, article(title))
	_, err := f.svc.Submit(ctx, f.mgr, v.ID)
	require.NoError(t, err)
	v, err = f.svc.Review(ctx, f.a.Admin, v.ID, true, "")
	require.NoError(t, err)
	return v
}

func ids(vs []material.View) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(vs))
	for _, v := range vs {
		out = append(out, v.ID)
	}
	return out
}

func (f fixture) list(t *testing.T, p authn.Principal, fl material.Filter) []uuid.UUID {
	t.Helper()
	vs, _, err := f.svc.List(context.Background(), p, fl)
	require.NoError(t, err)
	return ids(vs)
}

func TestEachTierIsSeenByWhomItIsFor(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	plat, err := f.svc.CreatePlatform(ctx, f.db.Owner, material.KindArticle, article("Industry report"), nil, nil)
	require.NoError(t, err)
	// For chosen plans: the tenants here are on the standard plan.
	forThem, err := f.svc.CreatePlatform(ctx, f.db.Owner, material.KindArticle, article("For professionals"), nil, []string{"professional"})
	require.NoError(t, err)
	forUs, err := f.svc.CreatePlatform(ctx, f.db.Owner, material.KindArticle, article("For standard"), nil, []string{" standard", "trial", ""})
	require.NoError(t, err)
	_, err = f.svc.CreatePlatform(ctx, f.db.Owner, material.KindArticle, article("For nobody"), nil, []string{"gold"})
	requireInvalid(t, "plans", err)
	// A platform draft (the operator's tools never make one; the row rules must hide it anyway).
	platDraft := uuid.Must(uuid.NewV7())
	_, err = f.db.Super.Exec(ctx, "INSERT INTO materials (id, tier, kind, status, title) VALUES ($1, 'platform', 'article', 'draft', 'Unreleased')", platDraft)
	require.NoError(t, err)
	draft := f.create(t, f.mgr, material.TierEnterprise, article("Draft plan"))
	require.Equal(t, material.StatusDraft, draft.Status)
	pub := f.published(t, "Family plan")
	mine := f.create(t, f.sales, material.TierPersonal, article("My notes"))
	require.Equal(t, material.StatusPublished, mine.Status, "personal materials need no review")
	require.Equal(t, f.sales.EmployeeID, mine.OwnerID)

	require.ElementsMatch(t, []uuid.UUID{plat, forUs, pub.ID, mine.ID}, f.list(t, f.sales, material.Filter{}))
	require.ElementsMatch(t, []uuid.UUID{plat, forUs, pub.ID}, f.list(t, f.sales2, material.Filter{}))
	require.ElementsMatch(t, []uuid.UUID{plat, forUs, pub.ID, draft.ID}, f.list(t, f.mgr, material.Filter{}), "managers see enterprise drafts")
	require.ElementsMatch(t, []uuid.UUID{plat, forUs, pub.ID, draft.ID}, f.list(t, f.a.Admin, material.Filter{}), "nobody sees another's personal materials, admins neither")
	require.ElementsMatch(t, []uuid.UUID{draft.ID}, f.list(t, f.a.Admin, material.Filter{Status: material.StatusDraft}))
	require.ElementsMatch(t, []uuid.UUID{plat, forUs}, f.list(t, f.sales, material.Filter{Tier: material.TierPlatform}))
	_, err = f.svc.Get(ctx, f.sales, forThem)
	requireKind(t, platform.KindNotFound, err, "a platform material for other plans")
	require.ElementsMatch(t, []uuid.UUID{mine.ID}, f.list(t, f.sales, material.Filter{Tier: material.TierPersonal}))
	_, _, err = f.svc.List(ctx, f.sales, material.Filter{Status: material.StatusDraft})
	requireKind(t, platform.KindPermissionDenied, err)

	// One at a time, the same rule.
	for _, c := range []struct {
		who authn.Principal
		id  uuid.UUID
		ok  bool
	}{
		{f.sales, plat, true}, {f.sales, platDraft, false}, {f.a.Admin, platDraft, false},
		{f.sales, draft.ID, false}, {f.mgr, draft.ID, true}, {f.a.Admin, draft.ID, true},
		{f.sales, pub.ID, true}, {f.sales, mine.ID, true}, {f.sales2, mine.ID, false}, {f.a.Admin, mine.ID, false},
	} {
		_, err := f.svc.Get(ctx, c.who, c.id)
		if c.ok {
			require.NoError(t, err)
		} else {
			requireKind(t, platform.KindNotFound, err)
		}
	}

	// Another tenant sees the platform's material, and nothing of this one's.
	b := f.db.NewTenant(t, "B")
	require.ElementsMatch(t, []uuid.UUID{plat, forUs}, f.list(t, b.Admin, material.Filter{}))
}

func TestWhoMayAuthorAndEditWhat(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	_, err := f.svc.Create(ctx, f.sales, material.TierEnterprise, material.KindArticle, article("x"))
	requireKind(t, platform.KindPermissionDenied, err)
	_, err = f.svc.Create(ctx, f.a.Admin, material.TierPlatform, material.KindArticle, article("x"))
	requireInvalid(t, "tier", err)
	_, err = f.svc.Create(ctx, f.a.Admin, material.TierEnterprise, material.Kind("podcast"), article("x"))
	requireInvalid(t, "kind", err)

	draft := f.create(t, f.mgr, material.TierEnterprise, article("Draft"))
	pub := f.published(t, "Published")
	mine := f.create(t, f.sales, material.TierPersonal, article("Mine"))
	plat, err := f.svc.CreatePlatform(ctx, f.db.Owner, material.KindArticle, article("Platform"), nil, nil)
	require.NoError(t, err)

	// Salespeople: their own personal materials only; a published enterprise one is refused openly, a
	// draft is not theirs to know of.
	_, err = f.svc.Update(ctx, f.sales, pub.ID, article("hijack"))
	requireKind(t, platform.KindPermissionDenied, err)
	_, err = f.svc.Update(ctx, f.sales, draft.ID, article("hijack"))
	requireKind(t, platform.KindNotFound, err)
	_, err = f.svc.Update(ctx, f.sales2, mine.ID, article("hijack"))
	requireKind(t, platform.KindNotFound, err)
	requireKind(t, platform.KindNotFound, f.svc.Delete(ctx, f.sales2, mine.ID))
	_, err = f.svc.Update(ctx, f.a.Admin, mine.ID, article("hijack"))
	requireKind(t, platform.KindNotFound, err, "an admin does not edit someone's personal material")
	for _, p := range []authn.Principal{f.sales, f.a.Admin} {
		_, err = f.svc.Update(ctx, p, plat, article("hijack"))
		requireKind(t, platform.KindNotFound, err, "platform materials are the operator's")
		requireKind(t, platform.KindNotFound, f.svc.Delete(ctx, p, plat))
	}

	// Managers edit drafts; a published enterprise material is the admin's to change or delete.
	v, err := f.svc.Update(ctx, f.mgr, draft.ID, article("Draft v2"))
	require.NoError(t, err)
	require.Equal(t, "Draft v2", v.Title)
	require.EqualValues(t, 2, v.Version)
	_, err = f.svc.Update(ctx, f.mgr, pub.ID, article("Published v2"))
	requireKind(t, platform.KindPermissionDenied, err)
	requireKind(t, platform.KindPermissionDenied, f.svc.Delete(ctx, f.mgr, pub.ID))
	v, err = f.svc.Update(ctx, f.a.Admin, pub.ID, article("Published v2"))
	require.NoError(t, err)
	require.Equal(t, material.StatusPublished, v.Status, "an admin's edit keeps it published")
	require.EqualValues(t, 2, v.Version)
	v, err = f.svc.Update(ctx, f.sales, mine.ID, article("Mine v2"))
	require.NoError(t, err)
	require.Equal(t, "Mine v2", v.Title)

	// Nothing refused above was written.
	got, err := f.svc.Get(ctx, f.sales, mine.ID)
	require.NoError(t, err)
	require.Equal(t, "Mine v2", got.Title)
	got, err = f.svc.Get(ctx, f.sales, plat)
	require.NoError(t, err)
	require.Equal(t, "Platform", got.Title)
}

func TestReviewGatesEnterpriseMaterials(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	m := f.create(t, f.mgr, material.TierEnterprise, article("Plan"))
	_, err := f.svc.Review(ctx, f.a.Admin, m.ID, true, "")
	requireKind(t, platform.KindFailedPrecondition, err, "only what is in review is reviewed")
	_, err = f.svc.Submit(ctx, f.sales, m.ID)
	requireKind(t, platform.KindNotFound, err)

	v, err := f.svc.Submit(ctx, f.mgr, m.ID)
	require.NoError(t, err)
	require.Equal(t, material.StatusInReview, v.Status)
	_, err = f.svc.Submit(ctx, f.mgr, m.ID)
	requireKind(t, platform.KindFailedPrecondition, err)
	_, err = f.svc.Update(ctx, f.mgr, m.ID, article("Sneaky edit"))
	requireKind(t, platform.KindFailedPrecondition, err, "no edits while in review")
	_, err = f.svc.Review(ctx, f.mgr, m.ID, true, "")
	requireKind(t, platform.KindPermissionDenied, err, "managers do not review")
	_, err = f.svc.Review(ctx, f.a.Admin, m.ID, false, "  ")
	requireInvalid(t, "reject_reason", err)

	v, err = f.svc.Review(ctx, f.a.Admin, m.ID, false, " Wrong price ")
	require.NoError(t, err)
	require.Equal(t, material.StatusRejected, v.Status)
	require.Equal(t, "Wrong price", v.RejectReason)
	require.Nil(t, v.PublishedAt)
	_, err = f.svc.Get(ctx, f.sales, m.ID)
	requireKind(t, platform.KindNotFound, err, "salespeople see published materials only")

	_, err = f.svc.Update(ctx, f.mgr, m.ID, article("Plan, fixed"))
	require.NoError(t, err)
	_, err = f.svc.Submit(ctx, f.mgr, m.ID)
	require.NoError(t, err)
	v, err = f.svc.Review(ctx, f.a.Admin, m.ID, true, "")
	require.NoError(t, err)
	require.Equal(t, material.StatusPublished, v.Status)
	require.Empty(t, v.RejectReason)
	require.NotNil(t, v.PublishedAt)
	got, err := f.svc.Get(ctx, f.sales, m.ID)
	require.NoError(t, err)
	require.Equal(t, "Plan, fixed", got.Title)

	// Personal materials never go through review.
	mine := f.create(t, f.sales, material.TierPersonal, article("Mine"))
	_, err = f.svc.Submit(ctx, f.sales, mine.ID)
	requireKind(t, platform.KindFailedPrecondition, err)
}

func TestContentIsCheckedAndSanitizedPerKind(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	image, pdf, video := f.uploaded(t, f.a.ID, media.KindImage), f.uploaded(t, f.a.ID, media.KindPDF), f.uploaded(t, f.a.ID, media.KindVideo)
	create := func(kind material.Kind, c material.Content) (material.View, error) {
		return f.svc.Create(ctx, f.a.Admin, material.TierEnterprise, kind, c)
	}

	v, err := create(material.KindArticle, material.Content{Title: "Safe",
		BodyHTML: `<p onclick="steal()">Hi</p><script>alert(1)</script><a href="https://example.com">more</a>`,
		Tags:     []string{" Insurance", "insurance", "", "FAMILY"}})
	require.NoError(t, err)
	require.NotContains(t, v.BodyHTML, "script")
	require.NotContains(t, v.BodyHTML, "onclick")
	require.Contains(t, v.BodyHTML, `rel="nofollow`)
	require.Contains(t, v.BodyHTML, `target="_blank"`)
	require.Equal(t, []string{"insurance", "family"}, v.Tags)
	// A filter by tag is tidied the same way: "Insurance " finds what was stored as "insurance".
	found, _, err := f.svc.List(ctx, f.a.Admin, material.Filter{Tag: " Insurance "})
	require.NoError(t, err)
	require.Len(t, found, 1)
	require.Equal(t, v.ID, found[0].ID)

	_, err = create(material.KindArticle, material.Content{Title: "Empty", BodyHTML: "<script>alert(1)</script>"})
	requireInvalid(t, "content.body_html", err)
	_, err = create(material.KindArticle, material.Content{Title: "With file", BodyHTML: "<p>x</p>", FileKey: pdf})
	requireInvalid(t, "content.file_key", err)
	_, err = create(material.KindMoments, material.Content{Title: "Nothing"})
	requireInvalid(t, "content.text_body", err)
	_, err = create(material.KindMoments, material.Content{Title: "Pictures", ImageKeys: []string{image, pdf}})
	requireInvalid(t, "content.image_keys[1]", err)
	_, err = create(material.KindPoster, material.Content{Title: "No file"})
	requireInvalid(t, "content.file_key", err)
	_, err = create(material.KindPoster, material.Content{Title: "A PDF", FileKey: pdf})
	requireInvalid(t, "content.file_key", err)
	_, err = create(material.KindBrochure, material.Content{Title: "An image", FileKey: image})
	requireInvalid(t, "content.file_key", err)
	_, err = create(material.KindVideo, material.Content{Title: "Not uploaded", FileKey: media.TenantKey(f.a.ID, media.UploadPurpose, "mp4")})
	requireInvalid(t, "content.file_key", err)
	_, err = create(material.KindArticle, material.Content{Title: "Cover", BodyHTML: "<p>x</p>", CoverKey: video})
	requireInvalid(t, "content.cover_key", err)
	_, err = create(material.KindArticle, material.Content{Title: "Layout", BodyHTML: "<p>x</p>", Layout: &poster.Layout{}})
	requireInvalid(t, "content.poster_layout", err)
	b := f.db.NewTenant(t, "B")
	_, err = create(material.KindPoster, material.Content{Title: "B's image", FileKey: f.uploaded(t, b.ID, media.KindImage)})
	requireInvalid(t, "content.file_key", err)

	for kind, key := range map[material.Kind]string{material.KindPoster: image, material.KindBrochure: pdf, material.KindVideo: video} {
		v, err := create(kind, material.Content{Title: string(kind), FileKey: key})
		require.NoError(t, err, kind)
		require.Contains(t, v.FileURL, key, "views carry a presigned URL of the object")
	}
	v, err = create(material.KindMoments, material.Content{Title: "Copy", TextBody: "Spring is here", ImageKeys: []string{image}})
	require.NoError(t, err)
	require.Len(t, v.ImageURLs, 1)

	// Updates are held to the same rules.
	_, err = f.svc.Update(ctx, f.a.Admin, v.ID, material.Content{Title: "Copy", ImageKeys: []string{pdf}})
	requireInvalid(t, "content.image_keys[0]", err)
}

func TestFoldersBelongToATierAndAnOwner(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	_, err := f.svc.CreateFolder(ctx, f.sales, material.TierEnterprise, "Products")
	requireKind(t, platform.KindPermissionDenied, err)
	_, err = f.svc.CreateFolder(ctx, f.mgr, material.TierPlatform, "Products")
	requireInvalid(t, "tier", err)
	_, err = f.svc.CreateFolder(ctx, f.mgr, material.TierEnterprise, "   ")
	requireInvalid(t, "name", err)
	products, err := f.svc.CreateFolder(ctx, f.mgr, material.TierEnterprise, " Products ")
	require.NoError(t, err)
	require.Equal(t, "Products", products.Name)
	_, err = f.svc.CreateFolder(ctx, f.a.Admin, material.TierEnterprise, "Products")
	requireKind(t, platform.KindAlreadyExists, err)
	mineF, err := f.svc.CreateFolder(ctx, f.sales, material.TierPersonal, "Products")
	require.NoError(t, err, "a personal folder may share an enterprise folder's name")
	theirsF, err := f.svc.CreateFolder(ctx, f.sales2, material.TierPersonal, "Products")
	require.NoError(t, err, "and another person's")

	folders, err := f.svc.ListFolders(ctx, f.sales)
	require.NoError(t, err)
	require.ElementsMatch(t, []material.Folder{products, mineF}, folders)

	// A material is filed only in a folder of its own tier, and a personal one only in its owner's.
	c := article("Filed")
	c.FolderID = products.ID
	_, err = f.svc.Create(ctx, f.sales, material.TierPersonal, material.KindArticle, c)
	requireInvalid(t, "content.folder_id", err)
	c.FolderID = theirsF.ID
	_, err = f.svc.Create(ctx, f.sales, material.TierPersonal, material.KindArticle, c)
	requireInvalid(t, "content.folder_id", err)
	c.FolderID = uuid.New()
	_, err = f.svc.Create(ctx, f.sales, material.TierPersonal, material.KindArticle, c)
	requireInvalid(t, "content.folder_id", err)
	c.FolderID = mineF.ID
	filed, err := f.svc.Create(ctx, f.sales, material.TierPersonal, material.KindArticle, c)
	require.NoError(t, err)
	require.Equal(t, mineF.ID, filed.FolderID)
	c.FolderID = products.ID
	entFiled, err := f.svc.Create(ctx, f.mgr, material.TierEnterprise, material.KindArticle, c)
	require.NoError(t, err)
	f.create(t, f.mgr, material.TierEnterprise, article("Unfiled"))

	require.Equal(t, []uuid.UUID{filed.ID}, f.list(t, f.sales, material.Filter{FolderID: mineF.ID}))
	require.Equal(t, []uuid.UUID{entFiled.ID}, f.list(t, f.mgr, material.Filter{FolderID: products.ID}))
	require.Empty(t, f.list(t, f.sales2, material.Filter{FolderID: mineF.ID}))
}

func TestDeletingQueuesTheObjectsNothingElseUses(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	shared, own, onCard := f.uploaded(t, f.a.ID, media.KindImage), f.uploaded(t, f.a.ID, media.KindImage), f.uploaded(t, f.a.ID, media.KindImage)
	_, err := f.db.Super.Exec(ctx, "INSERT INTO cards (tenant_id, employee_id, display_name, avatar_key) VALUES ($1, $2, 'Sam', $3)",
		f.a.ID, f.sales.EmployeeID, onCard)
	require.NoError(t, err)
	first := f.create(t, f.sales, material.TierPersonal, material.Content{Title: "First", BodyHTML: "<p>x</p>", CoverKey: shared, ImageKeys: []string{own, onCard}})
	second := f.create(t, f.sales, material.TierPersonal, material.Content{Title: "Second", BodyHTML: "<p>x</p>", CoverKey: shared})
	renderKey := "t/" + f.a.ID.String() + "/poster/render.jpg"
	_, err = f.db.Super.Exec(ctx, `INSERT INTO poster_renders (tenant_id, cache_key, material_id, employee_id, channel, share_token, object_key)
		VALUES ($1, 'k', $2, $3, 'chat', 'tok', $4)`, f.a.ID, first.ID, f.sales.EmployeeID, renderKey)
	require.NoError(t, err)
	// The image only this material uses has a thumbnail: it goes with it.
	ownThumb := "t/" + f.a.ID.String() + "/thumb/own.jpg"
	_, err = f.db.Super.Exec(ctx, "UPDATE uploads SET thumb_key = $2 WHERE object_key = $1", own, ownThumb)
	require.NoError(t, err)
	uploads := func() []string {
		rows, err := f.db.Super.Query(ctx, "SELECT object_key FROM uploads WHERE tenant_id = $1", f.a.ID)
		require.NoError(t, err)
		keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return keys
	}

	// The queue refusing means no delete: the job is part of the same commit.
	f.jobs.fail = errors.New("queue down")
	require.ErrorIs(t, f.svc.Delete(ctx, f.sales, first.ID), f.jobs.fail)
	_, err = f.svc.Get(ctx, f.sales, first.ID)
	require.NoError(t, err)
	require.Len(t, uploads(), 3)
	f.jobs.fail = nil

	require.NoError(t, f.svc.Delete(ctx, f.sales, first.ID))
	require.Len(t, f.jobs.keys, 1)
	require.ElementsMatch(t, []string{own, ownThumb, renderKey}, f.jobs.keys[0], "the shared cover and the card's avatar stay")
	require.ElementsMatch(t, []string{shared, onCard}, uploads())
	_, err = f.svc.Get(ctx, f.sales, first.ID)
	requireKind(t, platform.KindNotFound, err)
	_, err = f.svc.Update(ctx, f.sales, first.ID, article("back"))
	requireKind(t, platform.KindNotFound, err)
	requireKind(t, platform.KindNotFound, f.svc.Delete(ctx, f.sales, first.ID))

	require.NoError(t, f.svc.Delete(ctx, f.sales, second.ID))
	require.Equal(t, []string{shared}, f.jobs.keys[1])
	require.Equal(t, []string{onCard}, uploads())

	// A material with no objects queues nothing.
	plain := f.create(t, f.sales, material.TierPersonal, article("Plain"))
	require.NoError(t, f.svc.Delete(ctx, f.sales, plain.ID))
	require.Len(t, f.jobs.keys, 2)
}

func TestCustomersAndCardsSeePublishedMaterialsOnly(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	draft := f.create(t, f.mgr, material.TierEnterprise, article("Draft"))
	pub := f.published(t, "Published")
	mine := f.create(t, f.sales, material.TierPersonal, article("Mine"))
	plat, err := f.svc.CreatePlatform(ctx, f.db.Owner, material.KindArticle, article("Platform"), nil, nil)
	require.NoError(t, err)

	_, err = f.svc.Public(ctx, f.a.ID, f.sales.EmployeeID, draft.ID)
	requireKind(t, platform.KindNotFound, err)
	for _, id := range []uuid.UUID{pub.ID, mine.ID, plat} {
		v, err := f.svc.Public(ctx, f.a.ID, f.sales.EmployeeID, id)
		require.NoError(t, err)
		require.Equal(t, id, v.ID)
	}
	_, err = f.svc.Public(ctx, f.a.ID, f.sales2.EmployeeID, mine.ID)
	requireKind(t, platform.KindNotFound, err, "a personal material is shown through its owner's links only")
	b := f.db.NewTenant(t, "B")
	_, err = f.svc.Public(ctx, b.ID, b.Admin.EmployeeID, pub.ID)
	requireKind(t, platform.KindNotFound, err)

	// Cards list what is published and visible to the card's owner, in the order given.
	var sums []material.Summary
	err = f.db.App.InTenantTx(ctx, f.a.ID, func(tx pgx.Tx) error {
		var err error
		sums, err = f.svc.Summaries(ctx, tx, f.a.ID, f.sales.EmployeeID, []uuid.UUID{mine.ID, draft.ID, uuid.New(), plat, pub.ID})
		return err
	})
	require.NoError(t, err)
	var got []uuid.UUID
	for _, s := range sums {
		got = append(got, s.ID)
	}
	require.Equal(t, []uuid.UUID{mine.ID, plat, pub.ID}, got)
	require.NoError(t, f.svc.Delete(ctx, f.a.Admin, pub.ID))
	_, err = f.svc.Public(ctx, f.a.ID, f.sales.EmployeeID, pub.ID)
	requireKind(t, platform.KindNotFound, err, "a deleted material's links stop showing it")
}

func TestSearchAndPaging(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	for _, title := range []string{"Growth 100% guaranteed", "Growth 1000 tips", "Retirement_plan", "Retirement plan"} {
		f.create(t, f.sales, material.TierPersonal, article(title))
	}
	titles := func(q string) []string {
		vs, _, err := f.svc.List(ctx, f.sales, material.Filter{Query: q})
		require.NoError(t, err)
		var out []string
		for _, v := range vs {
			out = append(out, v.Title)
		}
		return out
	}
	require.Equal(t, []string{"Growth 100% guaranteed"}, titles("100%"), "%% is a character, not a wildcard")
	require.Equal(t, []string{"Retirement_plan"}, titles("t_p"), "so is _")
	require.Len(t, titles("growth"), 2, "case does not matter")
	require.Len(t, titles("  "), 4, "a blank query is no filter")

	var seen []uuid.UUID
	tok := ""
	for range 10 {
		page, next, err := f.svc.List(ctx, f.sales, material.Filter{PageSize: 3, PageToken: tok})
		require.NoError(t, err)
		seen = append(seen, ids(page)...)
		if tok = next; tok == "" {
			break
		}
	}
	require.Len(t, seen, 4)
	for _, bad := range []string{"garbage!", "eDox", "bzotMQ", "bzphYmM", "bzoyMDAwMDAw"} { // not base64, "x:1", "o:-1", "o:abc", "o:2000000"
		_, _, err := f.svc.List(ctx, f.sales, material.Filter{PageToken: bad})
		requireInvalid(t, "page_token", err)
	}
}

func TestAnotherTenantsLibraryIsOutOfReach(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	b := f.db.NewTenant(t, "B")
	theirs := f.published(t, "A's plan")
	draft := f.create(t, f.mgr, material.TierEnterprise, article("A's draft"))
	folder, err := f.svc.CreateFolder(ctx, f.a.Admin, material.TierEnterprise, "A's folder")
	require.NoError(t, err)
	cover := f.uploaded(t, f.a.ID, media.KindImage)

	for _, role := range []authn.Role{authn.RoleAdmin, authn.RoleManager, authn.RoleSales} {
		p := b.Admin
		if role != authn.RoleAdmin {
			p = f.db.NewEmployee(t, b.ID, role, uuid.Nil)
		}
		for _, id := range []uuid.UUID{theirs.ID, draft.ID} {
			_, err := f.svc.Get(ctx, p, id)
			requireKind(t, platform.KindNotFound, err, role)
			_, err = f.svc.Update(ctx, p, id, article("hijack"))
			requireKind(t, platform.KindNotFound, err, role)
			requireKind(t, platform.KindNotFound, f.svc.Delete(ctx, p, id), role)
			_, err = f.svc.Submit(ctx, p, id)
			requireKind(t, platform.KindNotFound, err, role)
			_, err = f.svc.PersonalizedPoster(ctx, p, id, "chat")
			requireKind(t, platform.KindNotFound, err, role)
		}
		require.Empty(t, f.list(t, p, material.Filter{FolderID: folder.ID}))
		folders, err := f.svc.ListFolders(ctx, p)
		require.NoError(t, err)
		require.Empty(t, folders)
	}
	_, err = f.svc.Review(ctx, b.Admin, draft.ID, true, "")
	requireKind(t, platform.KindNotFound, err)
	c := article("Mole")
	c.FolderID = folder.ID
	_, err = f.svc.Create(ctx, b.Admin, material.TierEnterprise, material.KindArticle, c)
	requireInvalid(t, "content.folder_id", err)
	_, err = f.svc.Create(ctx, b.Admin, material.TierEnterprise, material.KindArticle, material.Content{Title: "Mole", BodyHTML: "<p>x</p>", CoverKey: cover})
	requireInvalid(t, "content.cover_key", err)

	// A's library is as it was.
	got, err := f.svc.Get(ctx, f.a.Admin, theirs.ID)
	require.NoError(t, err)
	require.Equal(t, "A's plan", got.Title)
	require.EqualValues(t, 1, got.Version)
	got, err = f.svc.Get(ctx, f.a.Admin, draft.ID)
	require.NoError(t, err)
	require.Equal(t, material.StatusDraft, got.Status)
	require.Empty(t, f.jobs.keys)
}

func TestPersonalizedPostersAreForPublishedPostersWithALayout(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	pub := f.published(t, "An article")
	_, err := f.svc.PersonalizedPoster(ctx, f.sales, pub.ID, "chat")
	requireKind(t, platform.KindFailedPrecondition, err)
	img := f.uploaded(t, f.a.ID, media.KindImage)
	plain, err := f.svc.Create(ctx, f.mgr, material.TierEnterprise, material.KindPoster, material.Content{Title: "No layout", FileKey: img})
	require.NoError(t, err)
	_, err = f.svc.PersonalizedPoster(ctx, f.mgr, plain.ID, "chat")
	requireKind(t, platform.KindFailedPrecondition, err, "a draft cannot be shared")
	_, err = f.svc.PersonalizedPoster(ctx, f.sales, plain.ID, "chat")
	requireKind(t, platform.KindNotFound, err)
	var n int
	require.NoError(t, f.db.Super.QueryRow(ctx, "SELECT count(*) FROM shares").Scan(&n))
	require.Zero(t, n, "no share link was made for a refused poster")
}

// GetMaterial names the tenant in its SQL: deployed on a connection row-level security does not bind (here
// the superuser), a tenant still cannot read another tenant's material by id.
func TestGetHasATenantConditionOfItsOwn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	unbound, err := platform.OpenDB(ctx, f.db.SuperURL, 2)
	require.NoError(t, err)
	t.Cleanup(unbound.Close)
	store, err := media.New(ctx, miniotest.New(t))
	require.NoError(t, err)
	svc := material.NewService(unbound, store, nil, f.jobs, share.NewService(unbound, "https://share.example.com"))
	v, err := svc.Create(ctx, f.a.Admin, material.TierEnterprise, material.KindArticle, article("A's plan"))
	require.NoError(t, err)
	_, err = svc.Get(ctx, f.a.Admin, v.ID)
	require.NoError(t, err)
	b := f.db.NewTenant(t, "B")
	_, err = svc.Get(ctx, b.Admin, v.ID)
	requireKind(t, platform.KindNotFound, err)
}
