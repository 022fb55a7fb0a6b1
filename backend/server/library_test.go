package server_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	_ "image/jpeg" // thumbnails
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/stretchr/testify/require"

	"github.com/jackc/pgx/v5"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"

	"github.com/salesapp/scrm/backend/material"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server"
	"github.com/salesapp/scrm/backend/server/servertest"
)

type client struct {
	media     salesappv1connect.MediaServiceClient
	materials salesappv1connect.MaterialServiceClient
	shares    salesappv1connect.ShareServiceClient
	cards     salesappv1connect.CardServiceClient
}

func clientsOf(e *servertest.Env, token string) client {
	o := servertest.As(token)
	return client{
		media:     salesappv1connect.NewMediaServiceClient(e.HTTP, e.URL, o),
		materials: salesappv1connect.NewMaterialServiceClient(e.HTTP, e.URL, o),
		shares:    salesappv1connect.NewShareServiceClient(e.HTTP, e.URL, o),
		cards:     salesappv1connect.NewCardServiceClient(e.HTTP, e.URL, o),
	}
}

func public(e *servertest.Env) salesappv1connect.PublicServiceClient {
	return salesappv1connect.NewPublicServiceClient(e.HTTP, e.URL)
}

// upload puts body through the API's presigned PUT and finalizes it, returning the object key.
func upload(t *testing.T, c client, kind salesappv1.MediaKind, contentType string, body []byte) string {
	t.Helper()
	ctx := context.Background()
	tk, err := c.media.CreateUpload(ctx, connect.NewRequest(&salesappv1.CreateUploadRequest{Kind: kind, ContentType: contentType, SizeBytes: int32(len(body))}))
	require.NoError(t, err)
	put(t, tk.Msg.Ticket, body)
	f, err := c.media.FinalizeUpload(ctx, connect.NewRequest(&salesappv1.FinalizeUploadRequest{
		ObjectKey: tk.Msg.Ticket.ObjectKey, Kind: kind, ContentType: contentType, SizeBytes: int32(len(body))}))
	require.NoError(t, err)
	return f.Msg.ObjectKey
}

// put uploads body by a ticket's presigned PUT.
func put(t *testing.T, tk *salesappv1.UploadTicket, body []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, tk.PutUrl, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range tk.PutHeaders {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func download(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return b
}

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 180, 255})
		}
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

// decodeQR reads the QR code of an image, or of the part of it given. gozxing's detector misses about one
// code in 200 that decodes fine when it is told the image is just the code (PURE_BARCODE), so that is
// tried second, on the crop.
func decodeQR(t *testing.T, imgBytes []byte, crop ...image.Rectangle) string {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(imgBytes))
	require.NoError(t, err)
	read := func(img image.Image, hint gozxing.DecodeHintType) (string, error) {
		bmp, err := gozxing.NewBinaryBitmapFromImage(img)
		if err != nil {
			return "", err
		}
		res, err := gozxingqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{hint: true})
		if err != nil {
			return "", err
		}
		return res.GetText(), nil
	}
	if text, err := read(img, gozxing.DecodeHintType_TRY_HARDER); err == nil {
		return text
	}
	if len(crop) > 0 {
		img = img.(interface {
			SubImage(image.Rectangle) image.Image
		}).SubImage(crop[0])
	}
	text, err := read(img, gozxing.DecodeHintType_PURE_BARCODE)
	require.NoError(t, err)
	return text
}

func article(title, html string) *salesappv1.MaterialContent {
	return &salesappv1.MaterialContent{Title: title, BodyHtml: html, Tags: []string{"Insurance", "family"}}
}

func createArticle(t *testing.T, c client, tier salesappv1.MaterialTier, title string) *salesappv1.Material {
	t.Helper()
	resp, err := c.materials.CreateMaterial(context.Background(), connect.NewRequest(&salesappv1.CreateMaterialRequest{
		Tier: tier, Kind: salesappv1.MaterialKind_MATERIAL_KIND_ARTICLE, Content: article(title, "<p>Hello</p>")}))
	require.NoError(t, err)
	return resp.Msg.Material
}

func publish(t *testing.T, admin client, id string) {
	t.Helper()
	ctx := context.Background()
	_, err := admin.materials.SubmitMaterial(ctx, connect.NewRequest(&salesappv1.SubmitMaterialRequest{MaterialId: id}))
	require.NoError(t, err)
	_, err = admin.materials.ReviewMaterial(ctx, connect.NewRequest(&salesappv1.ReviewMaterialRequest{MaterialId: id, Approve: true}))
	require.NoError(t, err)
}

func TestUploadsAreCheckedAndScopedByTenant(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "A", 0)
	b := e.NewTenant(t, "B", 0)
	ca, cb := clientsOf(e, a.Admin.Token), clientsOf(e, b.Admin.Token)

	body := pngOf(t, 40, 20)
	key := upload(t, ca, salesappv1.MediaKind_MEDIA_KIND_IMAGE, "image/png", body)

	_, err := ca.media.CreateUpload(ctx, connect.NewRequest(&salesappv1.CreateUploadRequest{
		Kind: salesappv1.MediaKind_MEDIA_KIND_IMAGE, ContentType: "application/x-msdownload", SizeBytes: 10}))
	requireCode(t, err, connect.CodeInvalidArgument, "content_type")
	_, err = ca.media.CreateUpload(ctx, connect.NewRequest(&salesappv1.CreateUploadRequest{
		Kind: salesappv1.MediaKind_MEDIA_KIND_IMAGE, ContentType: "image/png", SizeBytes: 11 << 20}))
	requireCode(t, err, connect.CodeInvalidArgument, "size")

	// Tenant B can neither finalize nor use A's object.
	_, err = cb.media.FinalizeUpload(ctx, connect.NewRequest(&salesappv1.FinalizeUploadRequest{
		ObjectKey: key, Kind: salesappv1.MediaKind_MEDIA_KIND_IMAGE, ContentType: "image/png", SizeBytes: int32(len(body))}))
	requireCode(t, err, connect.CodePermissionDenied, "")
	_, err = cb.cards.UpdateMyCard(ctx, connect.NewRequest(&salesappv1.UpdateMyCardRequest{AvatarKey: &key}))
	requireCode(t, err, connect.CodeInvalidArgument, "avatar_key")
	_, err = e.Store.PresignGet(ctx, b.ID, key, time.Minute)
	require.Error(t, err)

	// A's card shows it.
	card, err := ca.cards.UpdateMyCard(ctx, connect.NewRequest(&salesappv1.UpdateMyCardRequest{AvatarKey: &key}))
	require.NoError(t, err)
	require.Equal(t, body, download(t, card.Msg.Card.AvatarUrl))

	// A PDF key is not an image.
	pdf := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), 100)...)
	pdfKey := upload(t, ca, salesappv1.MediaKind_MEDIA_KIND_PDF, "application/pdf", pdf)
	_, err = ca.cards.UpdateMyCard(ctx, connect.NewRequest(&salesappv1.UpdateMyCardRequest{AvatarKey: &pdfKey}))
	requireCode(t, err, connect.CodeInvalidArgument, "avatar_key")
}

func TestReviewWorkflowGatesWhatSalespeopleAndCustomersSee(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "A", 0)
	sales := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	admin, seller := clientsOf(e, a.Admin.Token), clientsOf(e, sales.Token)

	resp, err := admin.materials.CreateMaterial(ctx, connect.NewRequest(&salesappv1.CreateMaterialRequest{
		Tier: salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, Kind: salesappv1.MaterialKind_MATERIAL_KIND_ARTICLE,
		Content: article("Family plan", `<p onclick="steal()">Cover <b>everyone</b></p><script>alert(1)</script><a href="javascript:evil()">x</a>`)}))
	require.NoError(t, err)
	m := resp.Msg.Material
	require.Equal(t, salesappv1.MaterialStatus_MATERIAL_STATUS_DRAFT, m.Status)
	require.NotContains(t, m.BodyHtml, "script")
	require.NotContains(t, m.BodyHtml, "onclick")
	require.NotContains(t, m.BodyHtml, "javascript")
	require.Contains(t, m.BodyHtml, "<b>everyone</b>")
	require.Equal(t, []string{"insurance", "family"}, m.Tags)

	hidden := func() {
		t.Helper()
		_, err := seller.materials.GetMaterial(ctx, connect.NewRequest(&salesappv1.GetMaterialRequest{MaterialId: m.Id}))
		requireCode(t, err, connect.CodeNotFound, "")
		list, err := seller.materials.ListMaterials(ctx, connect.NewRequest(&salesappv1.ListMaterialsRequest{}))
		require.NoError(t, err)
		require.Empty(t, list.Msg.Materials)
		_, err = seller.shares.ShareMaterial(ctx, connect.NewRequest(&salesappv1.ShareMaterialRequest{MaterialId: m.Id, Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT}))
		requireCode(t, err, connect.CodeNotFound, "")
	}
	hidden()
	_, err = admin.materials.SubmitMaterial(ctx, connect.NewRequest(&salesappv1.SubmitMaterialRequest{MaterialId: m.Id}))
	require.NoError(t, err)
	hidden()
	_, err = admin.materials.ReviewMaterial(ctx, connect.NewRequest(&salesappv1.ReviewMaterialRequest{MaterialId: m.Id}))
	requireCode(t, err, connect.CodeInvalidArgument, "reject_reason")
	rej, err := admin.materials.ReviewMaterial(ctx, connect.NewRequest(&salesappv1.ReviewMaterialRequest{MaterialId: m.Id, RejectReason: "needs the price table"}))
	require.NoError(t, err)
	require.Equal(t, salesappv1.MaterialStatus_MATERIAL_STATUS_REJECTED, rej.Msg.Material.Status)
	require.Equal(t, "needs the price table", rej.Msg.Material.RejectReason)
	hidden()
	_, err = seller.materials.ReviewMaterial(ctx, connect.NewRequest(&salesappv1.ReviewMaterialRequest{MaterialId: m.Id, Approve: true}))
	requireCode(t, err, connect.CodePermissionDenied, "")

	publish(t, admin, m.Id)
	got, err := seller.materials.GetMaterial(ctx, connect.NewRequest(&salesappv1.GetMaterialRequest{MaterialId: m.Id}))
	require.NoError(t, err)
	require.Equal(t, salesappv1.MaterialStatus_MATERIAL_STATUS_PUBLISHED, got.Msg.Material.Status)
	_, err = seller.materials.UpdateMaterial(ctx, connect.NewRequest(&salesappv1.UpdateMaterialRequest{MaterialId: m.Id, Content: article("Mine now", "<p>x</p>")}))
	requireCode(t, err, connect.CodePermissionDenied, "")

	sh, err := seller.shares.ShareMaterial(ctx, connect.NewRequest(&salesappv1.ShareMaterialRequest{MaterialId: m.Id, Channel: salesappv1.ShareChannel_SHARE_CHANNEL_MOMENTS}))
	require.NoError(t, err)
	require.Equal(t, "https://share.example.com/s/"+sh.Msg.Share.Token, sh.Msg.Share.Url)
	page, err := public(e).OpenShare(ctx, connect.NewRequest(&salesappv1.OpenShareRequest{Token: sh.Msg.Share.Token}))
	require.NoError(t, err)
	require.Equal(t, "Family plan", page.Msg.Material.Title)
	require.Equal(t, sales.ID.String(), page.Msg.Card.EmployeeId)

	// Editing a published material keeps it published and its links working.
	upd, err := admin.materials.UpdateMaterial(ctx, connect.NewRequest(&salesappv1.UpdateMaterialRequest{MaterialId: m.Id, Content: article("Family plan 2027", "<p>new</p>")}))
	require.NoError(t, err)
	require.EqualValues(t, 2, upd.Msg.Material.Version)
	require.Equal(t, salesappv1.MaterialStatus_MATERIAL_STATUS_PUBLISHED, upd.Msg.Material.Status)
	page, err = public(e).OpenShare(ctx, connect.NewRequest(&salesappv1.OpenShareRequest{Token: sh.Msg.Share.Token}))
	require.NoError(t, err)
	require.Equal(t, "Family plan 2027", page.Msg.Material.Title)
	require.EqualValues(t, 0, page.Msg.Material.ShareCount, "customers do not see bookkeeping")

	// Deleting it ends the link.
	_, err = admin.materials.DeleteMaterial(ctx, connect.NewRequest(&salesappv1.DeleteMaterialRequest{MaterialId: m.Id}))
	require.NoError(t, err)
	_, err = public(e).OpenShare(ctx, connect.NewRequest(&salesappv1.OpenShareRequest{Token: sh.Msg.Share.Token}))
	requireCode(t, err, connect.CodeNotFound, "")
}

func TestForwardTreeCreditsTheOriginalSharer(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "A", 0)
	sales := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	admin, seller := clientsOf(e, a.Admin.Token), clientsOf(e, sales.Token)
	m := createArticle(t, admin, salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, "Brochure")
	publish(t, admin, m.Id)

	sh, err := seller.shares.ShareMaterial(ctx, connect.NewRequest(&salesappv1.ShareMaterialRequest{MaterialId: m.Id, Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT}))
	require.NoError(t, err)
	token := sh.Msg.Share.Token
	tokens := []string{token}
	for depth := 1; depth <= 3; depth++ {
		fw, err := public(e).ForwardShare(ctx, connect.NewRequest(&salesappv1.ForwardShareRequest{
			Token: token, Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT, Forwarder: "visitor-" + string(rune('0'+depth))}))
		require.NoError(t, err)
		require.NotEqual(t, token, fw.Msg.Token)
		page, err := public(e).OpenShare(ctx, connect.NewRequest(&salesappv1.OpenShareRequest{Token: fw.Msg.Token}))
		require.NoError(t, err)
		require.EqualValues(t, depth, page.Msg.Depth)
		require.Equal(t, sales.ID.String(), page.Msg.Card.EmployeeId, "a forward shows the original salesperson")
		require.Equal(t, "Brochure", page.Msg.Material.Title)
		token = fw.Msg.Token
		tokens = append(tokens, token)
	}
	// The tree, as stored: each node's parent is the one before, all share one root.
	for i := 1; i < len(tokens); i++ {
		var parentToken string
		var root, first uuid.UUID
		require.NoError(t, e.DB.Super.QueryRow(ctx, `SELECT p.token, c.root_id, (SELECT id FROM shares WHERE token = $2)
			FROM shares c JOIN shares p ON p.id = c.parent_id WHERE c.token = $1`, tokens[i], tokens[0]).Scan(&parentToken, &root, &first))
		require.Equal(t, tokens[i-1], parentToken)
		require.Equal(t, first, root)
	}
	// A forward counts once someone opens it: two of the three links are opened (one twice).
	stats, err := seller.shares.GetShareStats(ctx, connect.NewRequest(&salesappv1.GetShareStatsRequest{}))
	require.NoError(t, err)
	require.EqualValues(t, 1, stats.Msg.Shares)
	require.Zero(t, stats.Msg.Forwards, "links minted for visitors, none opened yet")
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, tokens[1], "visitor-r001"))
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, tokens[1], "visitor-r002"))
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, tokens[3], "visitor-r003"))
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, tokens[0], "visitor-r004")) // the root: a view, not a forward
	stats, err = seller.shares.GetShareStats(ctx, connect.NewRequest(&salesappv1.GetShareStatsRequest{}))
	require.NoError(t, err)
	require.EqualValues(t, 2, stats.Msg.Forwards)
	other := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	_, err = clientsOf(e, other.Token).shares.GetShareStats(ctx, connect.NewRequest(&salesappv1.GetShareStatsRequest{EmployeeId: sales.ID.String()}))
	requireCode(t, err, connect.CodeNotFound, "")
	adminStats, err := admin.shares.GetShareStats(ctx, connect.NewRequest(&salesappv1.GetShareStatsRequest{EmployeeId: sales.ID.String()}))
	require.NoError(t, err)
	require.EqualValues(t, 1, adminStats.Msg.Shares)
	got, err := admin.materials.GetMaterial(ctx, connect.NewRequest(&salesappv1.GetMaterialRequest{MaterialId: m.Id}))
	require.NoError(t, err)
	require.EqualValues(t, 1, got.Msg.Material.ShareCount)

	_, err = public(e).OpenShare(ctx, connect.NewRequest(&salesappv1.OpenShareRequest{Token: "AAAAAAAAAAAAAAAAAAAAAA"}))
	requireCode(t, err, connect.CodeNotFound, "")
	_, err = public(e).OpenShare(ctx, connect.NewRequest(&salesappv1.OpenShareRequest{Token: "../../etc/passwd"}))
	requireCode(t, err, connect.CodeNotFound, "")
	_, err = public(e).OpenShare(ctx, connect.NewRequest(&salesappv1.OpenShareRequest{Token: strings.Repeat("x", 65)}))
	requireCode(t, err, connect.CodeInvalidArgument, "token")
	_, err = public(e).ForwardShare(ctx, connect.NewRequest(&salesappv1.ForwardShareRequest{Token: "AAAAAAAAAAAAAAAAAAAAAA", Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT}))
	requireCode(t, err, connect.CodeNotFound, "")
}

func TestPersonalizedPosterCarriesTheSharersQRCode(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "A", 0)
	sales := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	admin, seller := clientsOf(e, a.Admin.Token), clientsOf(e, sales.Token)

	key := upload(t, admin, salesappv1.MediaKind_MEDIA_KIND_IMAGE, "image/png", pngOf(t, 1080, 1920))
	layout := &salesappv1.PosterLayout{QrX: 700, QrY: 1500, QrSize: 320, NameX: 60, NameY: 1600, NameFontSize: 48,
		NameColor: "#202020", NameAlign: "left", NameMaxWidth: 600}
	bad := &salesappv1.PosterLayout{QrX: 900, QrY: 1800, QrSize: 320, NameX: 60, NameY: 1600, NameFontSize: 48, NameColor: "#202020", NameAlign: "left", NameMaxWidth: 600}
	_, err := admin.materials.CreateMaterial(ctx, connect.NewRequest(&salesappv1.CreateMaterialRequest{
		Tier: salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, Kind: salesappv1.MaterialKind_MATERIAL_KIND_POSTER,
		Content: &salesappv1.MaterialContent{Title: "Spring offer", FileKey: key, PosterLayout: bad}}))
	requireCode(t, err, connect.CodeInvalidArgument, "poster_layout")
	resp, err := admin.materials.CreateMaterial(ctx, connect.NewRequest(&salesappv1.CreateMaterialRequest{
		Tier: salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, Kind: salesappv1.MaterialKind_MATERIAL_KIND_POSTER,
		Content: &salesappv1.MaterialContent{Title: "Spring offer", FileKey: key, PosterLayout: layout}}))
	require.NoError(t, err)
	m := resp.Msg.Material
	_, err = seller.materials.GetPersonalizedPoster(ctx, connect.NewRequest(&salesappv1.GetPersonalizedPosterRequest{MaterialId: m.Id}))
	requireCode(t, err, connect.CodeNotFound, "")
	publish(t, admin, m.Id)

	pp, err := seller.materials.GetPersonalizedPoster(ctx, connect.NewRequest(&salesappv1.GetPersonalizedPosterRequest{MaterialId: m.Id}))
	require.NoError(t, err)
	require.Equal(t, pp.Msg.ShareUrl, decodeQR(t, download(t, pp.Msg.ImageUrl), image.Rect(700, 1500, 1020, 1820)))
	page, err := public(e).OpenShare(ctx, connect.NewRequest(&salesappv1.OpenShareRequest{Token: pp.Msg.ShareToken}))
	require.NoError(t, err)
	require.Equal(t, sales.ID.String(), page.Msg.Card.EmployeeId)

	// Asked again: the same link and the same rendered object, not a new render.
	again, err := seller.materials.GetPersonalizedPoster(ctx, connect.NewRequest(&salesappv1.GetPersonalizedPosterRequest{MaterialId: m.Id}))
	require.NoError(t, err)
	require.Equal(t, pp.Msg.ShareToken, again.Msg.ShareToken)
	var renders int
	require.NoError(t, e.DB.Super.QueryRow(ctx, "SELECT count(*) FROM poster_renders WHERE material_id = $1", m.Id).Scan(&renders))
	require.Equal(t, 1, renders)

	// A new version (or a renamed salesperson) renders anew, keeping the link.
	_, err = admin.materials.UpdateMaterial(ctx, connect.NewRequest(&salesappv1.UpdateMaterialRequest{MaterialId: m.Id,
		Content: &salesappv1.MaterialContent{Title: "Spring offer v2", FileKey: key, PosterLayout: layout}}))
	require.NoError(t, err)
	v2, err := seller.materials.GetPersonalizedPoster(ctx, connect.NewRequest(&salesappv1.GetPersonalizedPosterRequest{MaterialId: m.Id}))
	require.NoError(t, err)
	require.Equal(t, pp.Msg.ShareToken, v2.Msg.ShareToken)
	name := "Wang Fang"
	_, err = seller.cards.UpdateMyCard(ctx, connect.NewRequest(&salesappv1.UpdateMyCardRequest{DisplayName: &name}))
	require.NoError(t, err)
	_, err = seller.materials.GetPersonalizedPoster(ctx, connect.NewRequest(&salesappv1.GetPersonalizedPosterRequest{MaterialId: m.Id}))
	require.NoError(t, err)
	require.NoError(t, e.DB.Super.QueryRow(ctx, "SELECT count(*) FROM poster_renders WHERE material_id = $1", m.Id).Scan(&renders))
	require.Equal(t, 3, renders)

	// Deleting the poster deletes its renders and its image (nothing else uses it) in the background.
	var renderKey string
	require.NoError(t, e.DB.Super.QueryRow(ctx, "SELECT object_key FROM poster_renders WHERE material_id = $1 LIMIT 1", m.Id).Scan(&renderKey))
	_, err = admin.materials.DeleteMaterial(ctx, connect.NewRequest(&salesappv1.DeleteMaterialRequest{MaterialId: m.Id}))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err1 := e.Store.Stat(ctx, key)
		_, err2 := e.Store.Stat(ctx, renderKey)
		return err1 != nil && err2 != nil
	}, 20*time.Second, 100*time.Millisecond)
}

func TestCardIsReadPubliclyByShareToken(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "Acme Clinic", 0)
	sales := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	admin, seller := clientsOf(e, a.Admin.Token), clientsOf(e, sales.Token)

	mine, err := seller.cards.GetMyCard(ctx, connect.NewRequest(&salesappv1.GetMyCardRequest{}))
	require.NoError(t, err)
	card := mine.Msg.Card
	require.NotEmpty(t, card.DisplayName)
	require.Equal(t, card.ShareUrl, decodeQR(t, download(t, card.QrCodeUrl)))

	name, website := "Acme Clinic Ltd", "https://acme.example.com"
	_, err = seller.cards.UpdateCompanyProfile(ctx, connect.NewRequest(&salesappv1.UpdateCompanyProfileRequest{CompanyName: &name}))
	requireCode(t, err, connect.CodePermissionDenied, "")
	_, err = admin.cards.UpdateCompanyProfile(ctx, connect.NewRequest(&salesappv1.UpdateCompanyProfileRequest{CompanyName: &name, Website: &website}))
	require.NoError(t, err)

	draft := createArticle(t, admin, salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, "Draft")
	_, err = seller.cards.UpdateMyCard(ctx, connect.NewRequest(&salesappv1.UpdateMyCardRequest{FeaturedMaterialIds: &salesappv1.StringList{Values: []string{draft.Id}}}))
	requireCode(t, err, connect.CodeInvalidArgument, "featured_material_ids[0]")
	published := createArticle(t, admin, salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, "Published")
	publish(t, admin, published.Id)
	bio, wechat := "Ten years helping families.", "wang_fang_88"
	_, err = seller.cards.UpdateMyCard(ctx, connect.NewRequest(&salesappv1.UpdateMyCardRequest{Bio: &bio, WechatId: &wechat,
		FeaturedMaterialIds: &salesappv1.StringList{Values: []string{published.Id}}}))
	require.NoError(t, err)

	shared, err := seller.shares.ShareCard(ctx, connect.NewRequest(&salesappv1.ShareCardRequest{Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT}))
	require.NoError(t, err)
	page, err := public(e).OpenShare(ctx, connect.NewRequest(&salesappv1.OpenShareRequest{Token: shared.Msg.Share.Token}))
	require.NoError(t, err)
	require.Nil(t, page.Msg.Material)
	require.Equal(t, bio, page.Msg.Card.Bio)
	require.Equal(t, wechat, page.Msg.Card.WechatId)
	require.Equal(t, name, page.Msg.Card.Company.CompanyName)
	require.Len(t, page.Msg.Card.FeaturedMaterials, 1)
	require.Equal(t, "Published", page.Msg.Card.FeaturedMaterials[0].Title)

	// A disabled salesperson's card is no longer shown.
	_, err = employees(e, a.Admin.Token).SetEmployeeStatus(ctx, connect.NewRequest(&salesappv1.SetEmployeeStatusRequest{
		EmployeeId: sales.ID.String(), Status: salesappv1.EmployeeStatus_EMPLOYEE_STATUS_DISABLED}))
	require.NoError(t, err)
	_, err = public(e).OpenShare(ctx, connect.NewRequest(&salesappv1.OpenShareRequest{Token: shared.Msg.Share.Token}))
	requireCode(t, err, connect.CodeNotFound, "")
}

func TestLibraryTiersFoldersSearchAndSort(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "A", 0)
	b := e.NewTenant(t, "B", 0)
	s1 := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	s2 := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	bSales := e.NewPerson(t, b.ID, authn.RoleSales, uuid.Nil)
	admin, c1, c2, cb := clientsOf(e, a.Admin.Token), clientsOf(e, s1.Token), clientsOf(e, s2.Token), clientsOf(e, bSales.Token)

	// A platform material, as the operator publishes it with salesctl (as the owner: the app role may not).
	materials, err := server.Materials(e.Config, slog.New(slog.DiscardHandler), e.DB.App, e.Store)
	require.NoError(t, err)
	platformID, err := materials.CreatePlatform(ctx, e.DB.Owner, material.KindArticle,
		material.Content{Title: "Industry report", BodyHTML: "<p>r</p><script>x()</script>", Tags: []string{"Report"}}, nil, nil)
	require.NoError(t, err)
	err = e.DB.App.InTenantTx(ctx, a.ID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO materials (id, tier, kind, status, title) VALUES ($1, 'platform', 'article', 'published', 'forged')`, uuid.New())
		return err
	})
	require.Error(t, err, "the app role cannot write platform materials")

	folder, err := admin.materials.CreateFolder(ctx, connect.NewRequest(&salesappv1.CreateFolderRequest{Tier: salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, Name: "Q1"}))
	require.NoError(t, err)
	_, err = c1.materials.CreateFolder(ctx, connect.NewRequest(&salesappv1.CreateFolderRequest{Tier: salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, Name: "Mine"}))
	requireCode(t, err, connect.CodePermissionDenied, "")
	inFolder, err := admin.materials.CreateMaterial(ctx, connect.NewRequest(&salesappv1.CreateMaterialRequest{
		Tier: salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, Kind: salesappv1.MaterialKind_MATERIAL_KIND_ARTICLE,
		Content: &salesappv1.MaterialContent{Title: "Child education 100% guide", BodyHtml: "<p>x</p>", Tags: []string{"education"}, FolderId: folder.Msg.Folder.Id}}))
	require.NoError(t, err)
	publish(t, admin, inFolder.Msg.Material.Id)
	other := createArticle(t, admin, salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, "Retirement")
	publish(t, admin, other.Id)

	personal, err := c1.materials.CreateMaterial(ctx, connect.NewRequest(&salesappv1.CreateMaterialRequest{
		Tier: salesappv1.MaterialTier_MATERIAL_TIER_PERSONAL, Kind: salesappv1.MaterialKind_MATERIAL_KIND_MOMENTS,
		Content: &salesappv1.MaterialContent{Title: "Morning post", TextBody: "Good morning! Ask me about plans."}}))
	require.NoError(t, err)
	require.Equal(t, salesappv1.MaterialStatus_MATERIAL_STATUS_PUBLISHED, personal.Msg.Material.Status)

	titles := func(c client, req *salesappv1.ListMaterialsRequest) []string {
		t.Helper()
		resp, err := c.materials.ListMaterials(ctx, connect.NewRequest(req))
		require.NoError(t, err)
		var out []string
		for _, m := range resp.Msg.Materials {
			out = append(out, m.Title)
		}
		return out
	}
	require.ElementsMatch(t, []string{"Industry report", "Child education 100% guide", "Retirement", "Morning post"}, titles(c1, &salesappv1.ListMaterialsRequest{}))
	require.ElementsMatch(t, []string{"Industry report", "Child education 100% guide", "Retirement"}, titles(c2, &salesappv1.ListMaterialsRequest{}))
	require.ElementsMatch(t, []string{"Industry report", "Child education 100% guide", "Retirement"}, titles(admin, &salesappv1.ListMaterialsRequest{}))
	require.ElementsMatch(t, []string{"Industry report"}, titles(cb, &salesappv1.ListMaterialsRequest{}))
	require.Equal(t, []string{"Child education 100% guide"}, titles(c2, &salesappv1.ListMaterialsRequest{Tag: "education"}))
	require.Equal(t, []string{"Child education 100% guide"}, titles(c2, &salesappv1.ListMaterialsRequest{Query: "100%"}))
	require.Empty(t, titles(c2, &salesappv1.ListMaterialsRequest{Query: "1_0"}), "LIKE wildcards in a query are literal")
	require.Equal(t, []string{"Child education 100% guide"}, titles(c2, &salesappv1.ListMaterialsRequest{FolderId: folder.Msg.Folder.Id}))
	require.Equal(t, []string{"Industry report"}, titles(c2, &salesappv1.ListMaterialsRequest{Tier: salesappv1.MaterialTier_MATERIAL_TIER_PLATFORM}))
	_, err = c2.materials.GetMaterial(ctx, connect.NewRequest(&salesappv1.GetMaterialRequest{MaterialId: personal.Msg.Material.Id}))
	requireCode(t, err, connect.CodeNotFound, "")
	_, err = cb.materials.GetMaterial(ctx, connect.NewRequest(&salesappv1.GetMaterialRequest{MaterialId: other.Id}))
	requireCode(t, err, connect.CodeNotFound, "")
	_, err = cb.shares.ShareMaterial(ctx, connect.NewRequest(&salesappv1.ShareMaterialRequest{MaterialId: other.Id, Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT}))
	requireCode(t, err, connect.CodeNotFound, "")

	// Most shared first; platform share counts are per tenant.
	for range 2 {
		_, err = c2.shares.ShareMaterial(ctx, connect.NewRequest(&salesappv1.ShareMaterialRequest{MaterialId: other.Id, Channel: salesappv1.ShareChannel_SHARE_CHANNEL_GROUP}))
		require.NoError(t, err)
	}
	_, err = c2.shares.ShareMaterial(ctx, connect.NewRequest(&salesappv1.ShareMaterialRequest{MaterialId: platformID.String(), Channel: salesappv1.ShareChannel_SHARE_CHANNEL_GROUP}))
	require.NoError(t, err)
	sorted := titles(c2, &salesappv1.ListMaterialsRequest{Sort: salesappv1.MaterialSort_MATERIAL_SORT_MOST_SHARED})
	require.Equal(t, []string{"Retirement", "Industry report", "Child education 100% guide"}, sorted)
	bView, err := cb.materials.GetMaterial(ctx, connect.NewRequest(&salesappv1.GetMaterialRequest{MaterialId: platformID.String()}))
	require.NoError(t, err)
	require.Zero(t, bView.Msg.Material.ShareCount, "tenant B does not see tenant A's shares of a platform material")

	// Paging.
	page1, err := c1.materials.ListMaterials(ctx, connect.NewRequest(&salesappv1.ListMaterialsRequest{PageSize: 3}))
	require.NoError(t, err)
	require.Len(t, page1.Msg.Materials, 3)
	page2, err := c1.materials.ListMaterials(ctx, connect.NewRequest(&salesappv1.ListMaterialsRequest{PageSize: 3, PageToken: page1.Msg.NextPageToken}))
	require.NoError(t, err)
	require.Len(t, page2.Msg.Materials, 1)
	require.Empty(t, page2.Msg.NextPageToken)
}

func TestImageUploadsGetThumbnails(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "A", 0)
	admin := clientsOf(e, a.Admin.Token)
	key := upload(t, admin, salesappv1.MediaKind_MEDIA_KIND_IMAGE, "image/png", pngOf(t, 1080, 1920))
	resp, err := admin.materials.CreateMaterial(ctx, connect.NewRequest(&salesappv1.CreateMaterialRequest{
		Tier: salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, Kind: salesappv1.MaterialKind_MATERIAL_KIND_POSTER,
		Content: &salesappv1.MaterialContent{Title: "Poster", FileKey: key}}))
	require.NoError(t, err)
	var thumb string
	require.Eventually(t, func() bool {
		got, err := admin.materials.GetMaterial(ctx, connect.NewRequest(&salesappv1.GetMaterialRequest{MaterialId: resp.Msg.Material.Id}))
		require.NoError(t, err)
		thumb = got.Msg.Material.ThumbnailUrl
		return thumb != ""
	}, 90*time.Second, 100*time.Millisecond, "the thumbnail job runs behind the whole suite's jobs on a loaded machine")
	cfg, format, err := image.DecodeConfig(bytes.NewReader(download(t, thumb)))
	require.NoError(t, err)
	require.Equal(t, "jpeg", format)
	require.Equal(t, 480, cfg.Height)
	require.Equal(t, 270, cfg.Width)
}
