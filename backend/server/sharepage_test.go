package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server/servertest"
	"github.com/salesapp/scrm/backend/web"
)

// browser is a customer's phone: it keeps cookies (the visitor id) and does not follow redirects, so the
// test sees them.
type browser struct {
	t *testing.T
	e *servertest.Env
	c *http.Client
}

func newBrowser(t *testing.T, e *servertest.Env) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{t: t, e: e, c: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.URL+path, body)
	require.NoError(b.t, err)
	req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone) MicroMessenger/8.0.50")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return resp.StatusCode, string(out), resp.Header
}

func (b *browser) get(path string) (int, string, http.Header) { return b.do(http.MethodGet, path, nil) }

// sharePageWorld is a salesperson with a full card and one published material of every kind.
type sharePageWorld struct {
	e      *servertest.Env
	seller client
	sales  servertest.Person
	// materials by kind name
	materials map[string]string
}

func newSharePageWorld(t *testing.T, opts ...servertest.Option) sharePageWorld {
	t.Helper()
	ctx := context.Background()
	e := servertest.Start(t, opts...)
	a := e.NewTenant(t, "星河保险", 0)
	sales := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	admin, seller := clientsOf(e, a.Admin.Token), clientsOf(e, sales.Token)
	company, address := "星河保险有限公司", "上海市浦东新区世纪大道 100 号"
	_, err := admin.cards.UpdateCompanyProfile(ctx, connect.NewRequest(&salesappv1.UpdateCompanyProfileRequest{CompanyName: &company, Address: &address}))
	require.NoError(t, err)

	w := sharePageWorld{e: e, seller: seller, sales: sales, materials: map[string]string{}}
	create := func(kind salesappv1.MaterialKind, c *salesappv1.MaterialContent) string {
		resp, err := admin.materials.CreateMaterial(ctx, connect.NewRequest(&salesappv1.CreateMaterialRequest{
			Tier: salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, Kind: kind, Content: c}))
		require.NoError(t, err)
		publish(t, admin, resp.Msg.Material.Id)
		return resp.Msg.Material.Id
	}
	img := upload(t, admin, salesappv1.MediaKind_MEDIA_KIND_IMAGE, "image/png", pngOf(t, 1080, 1920))
	pdf := upload(t, admin, salesappv1.MediaKind_MEDIA_KIND_PDF, "application/pdf", append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), 100)...))
	mp4 := append([]byte{0, 0, 0, 24}, "ftypisom\x00\x00\x02\x00isomiso2"...)
	mp4 = append(append(mp4, 0, 0, 0, 16), "free01234567"...)
	video := upload(t, admin, salesappv1.MediaKind_MEDIA_KIND_VIDEO, "video/mp4", append(mp4, bytes.Repeat([]byte{0xAB}, 700)...))
	w.materials["article"] = create(salesappv1.MaterialKind_MATERIAL_KIND_ARTICLE, &salesappv1.MaterialContent{Title: "家庭保障指南",
		BodyHtml: `<p>为家人撑起<b>一把伞</b></p><script>alert(1)</script><img src="https://img.example.com/a.png" onerror="alert(2)">`})
	w.materials["poster"] = create(salesappv1.MaterialKind_MATERIAL_KIND_POSTER, &salesappv1.MaterialContent{Title: "春季特惠", FileKey: img,
		PosterLayout: &salesappv1.PosterLayout{QrX: 700, QrY: 1500, QrSize: 320, NameX: 60, NameY: 1600, NameFontSize: 48,
			NameColor: "#202020", NameAlign: "left", NameMaxWidth: 600}})
	w.materials["brochure"] = create(salesappv1.MaterialKind_MATERIAL_KIND_BROCHURE, &salesappv1.MaterialContent{Title: "产品手册", FileKey: pdf, ImageKeys: []string{img}})
	w.materials["video"] = create(salesappv1.MaterialKind_MATERIAL_KIND_VIDEO, &salesappv1.MaterialContent{Title: "理赔流程视频", FileKey: video})
	w.materials["moments"] = create(salesappv1.MaterialKind_MATERIAL_KIND_MOMENTS, &salesappv1.MaterialContent{Title: "朋友圈文案",
		TextBody: "春天来了，给家人一份保障。", ImageKeys: []string{img}})

	name, title, phone, wx, bio := "王芳", "高级理财顾问", "13800000011", "wangfang_88", "十年保险从业经验"
	_, err = seller.cards.UpdateMyCard(ctx, connect.NewRequest(&salesappv1.UpdateMyCardRequest{DisplayName: &name, Title: &title,
		Phone: &phone, WechatId: &wx, Bio: &bio, FeaturedMaterialIds: &salesappv1.StringList{Values: []string{w.materials["article"]}}}))
	require.NoError(t, err)
	return w
}

func (w sharePageWorld) share(t *testing.T, kind string) string {
	t.Helper()
	sh, err := w.seller.shares.ShareMaterial(context.Background(), connect.NewRequest(&salesappv1.ShareMaterialRequest{
		MaterialId: w.materials[kind], Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT}))
	require.NoError(t, err)
	return sh.Msg.Share.Token
}

func (w sharePageWorld) cardToken(t *testing.T) string {
	t.Helper()
	sh, err := w.seller.shares.ShareCard(context.Background(), connect.NewRequest(&salesappv1.ShareCardRequest{Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT}))
	require.NoError(t, err)
	return sh.Msg.Share.Token
}

// requirePageHeaders checks what every share page answers with.
func requirePageHeaders(t *testing.T, h http.Header) {
	t.Helper()
	require.Equal(t, "text/html; charset=utf-8", h.Get("Content-Type"))
	csp := h.Get("Content-Security-Policy")
	require.Contains(t, csp, "default-src 'none'")
	require.Contains(t, csp, "script-src 'self'")
	require.Contains(t, csp, "frame-ancestors 'none'")
	require.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
	require.NotEmpty(t, h.Get("Cache-Control"))
}

// The card strip every material page carries: call, add WeChat, leave a number, the card.
func requireCardStrip(t *testing.T, body string) {
	t.Helper()
	require.Contains(t, body, `class="strip"`)
	require.Contains(t, body, `href="tel:13800000011"`)
	require.Contains(t, body, "加微信")
	require.Contains(t, body, `href="#leave-phone"`)
	require.Contains(t, body, `action="/s/`)
	require.Contains(t, body, "https://share.example.com/s/", "the link to the card")
	require.Contains(t, body, "王芳")
}

func TestSharePagesShowEveryKindWithTheSharersCard(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newSharePageWorld(t)
	b := newBrowser(t, w.e)

	// The card.
	status, body, h := b.get("/s/" + w.cardToken(t))
	require.Equal(t, http.StatusOK, status, body)
	requirePageHeaders(t, h)
	require.Equal(t, "private, no-cache", h.Get("Cache-Control"))
	for _, want := range []string{"王芳的名片", "高级理财顾问", "星河保险有限公司", `href="tel:13800000011"`, "wangfang_88",
		"/vcard", "留下电话", "十年保险从业经验", "精选资料", "家庭保障指南", `data-view-kind="card_view"`, `lang="zh-CN"`,
		"世纪大道", web.AssetURL("page.js"), web.AssetURL("page.css")} {
		require.Contains(t, body, want)
	}
	require.Contains(t, h.Get("Set-Cookie"), "sa_vid=", "the forms need a visitor without the script")

	// A featured material opens through the salesperson's own standing link of it, made once.
	i := strings.Index(body, "/featured?m=")
	require.Positive(t, i)
	featured := body[strings.LastIndex(body[:i], `"`)+1 : i+len("/featured?m=")+36]
	status, _, h = b.get(featured)
	require.Equal(t, http.StatusSeeOther, status)
	first := h.Get("Location")
	require.True(t, strings.HasPrefix(first, "/s/"), first)
	status, _, h = b.get(featured)
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, first, h.Get("Location"), "one standing link, not one per tap")
	status, body, _ = b.get(first)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "家庭保障指南")
	status, _, _ = b.get(featured[:strings.Index(featured, "?")] + "?m=" + w.materials["video"])
	require.Equal(t, http.StatusNotFound, status, "only the card's featured materials")

	// An article: its sanitized HTML, no script from the author.
	status, body, h = b.get("/s/" + w.share(t, "article"))
	require.Equal(t, http.StatusOK, status)
	requirePageHeaders(t, h)
	requireCardStrip(t, body)
	require.Contains(t, body, "<p>为家人撑起<b>一把伞</b></p>")
	require.NotContains(t, body, "alert(")
	require.Contains(t, body, `data-view-kind="material_view"`)
	require.Contains(t, h.Get("Content-Security-Policy"), "https:", "articles show images from other sites")

	// A poster: the sharer's personalized render once they made it, else the poster itself.
	posterToken := w.share(t, "poster")
	status, body, _ = b.get("/s/" + posterToken)
	require.Equal(t, http.StatusOK, status)
	requireCardStrip(t, body)
	require.Contains(t, body, "长按图片保存")
	require.Contains(t, body, "/file/", "the poster itself (its finalized upload) before any render")
	pp, err := w.seller.materials.GetPersonalizedPoster(ctx, connect.NewRequest(&salesappv1.GetPersonalizedPosterRequest{MaterialId: w.materials["poster"]}))
	require.NoError(t, err)
	status, body, _ = b.get("/s/" + posterToken)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "/poster/", "the sharer's personalized poster")
	pu, err := url.Parse(pp.Msg.ImageUrl)
	require.NoError(t, err)
	require.Contains(t, body, pu.Path)

	// A brochure: the PDF, embedded and linked.
	status, body, h = b.get("/s/" + w.share(t, "brochure"))
	require.Equal(t, http.StatusOK, status)
	requireCardStrip(t, body)
	require.Contains(t, body, `<iframe class="pdf"`)
	require.Contains(t, body, "打开 PDF 手册")
	require.Contains(t, body, `data-page="1"`, "page images, when the brochure has them")
	require.Contains(t, h.Get("Content-Security-Policy"), "frame-src 'self' http://")

	// A video, with progress tracked by the script.
	status, body, h = b.get("/s/" + w.share(t, "video"))
	require.Equal(t, http.StatusOK, status)
	requireCardStrip(t, body)
	require.Contains(t, body, "<video")
	require.Contains(t, body, "data-video-progress")
	require.Contains(t, h.Get("Content-Security-Policy"), "media-src 'self' http://")

	// Moments copy: the text, a copy button, the images.
	status, body, _ = b.get("/s/" + w.share(t, "moments"))
	require.Equal(t, http.StatusOK, status)
	requireCardStrip(t, body)
	require.Contains(t, body, "春天来了，给家人一份保障。")
	require.Contains(t, body, `data-copy="moments-text"`)
	require.Contains(t, body, `class="grid"`)
}

func TestUnknownAndWithdrawnLinksGetTheNeutralPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newSharePageWorld(t)
	b := newBrowser(t, w.e)
	token := w.share(t, "article")
	for _, path := range []string{"/s/no-such-token", "/s/" + token + "x", "/s/%3Cscript%3E", "/s/no-such-token/vcard"} {
		status, body, h := b.get(path)
		require.Equal(t, http.StatusNotFound, status, path)
		require.Equal(t, "text/html; charset=utf-8", h.Get("Content-Type"), path)
		require.Equal(t, "no-store", h.Get("Cache-Control"), path)
		require.Contains(t, body, "链接已失效", path)
		require.NotContains(t, body, "<script", path)
	}
	status, _, _ := b.do(http.MethodPost, "/s/no-such-token/phone", url.Values{"phone": {"13800001234"}})
	require.Equal(t, http.StatusNotFound, status)

	_, err := w.e.DB.Super.Exec(ctx, "UPDATE materials SET deleted_at = now() WHERE id = $1", w.materials["article"])
	require.NoError(t, err)
	status, body, _ := b.get("/s/" + token)
	require.Equal(t, http.StatusNotFound, status)
	require.Contains(t, body, "链接已失效")
}

func TestTheSharePagesAreRateLimitedPerAddress(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t, func(c *platform.Config) { c.PublicRate, c.PublicBurst = 0.01, 3 })
	b := newBrowser(t, e)
	var status int
	var body string
	for range 5 {
		status, body, _ = b.get("/s/guess-a-token")
	}
	require.Equal(t, http.StatusTooManyRequests, status)
	require.Contains(t, body, "访问太频繁")
}

func TestLeavingANumberOnThePageRecordsItOnTheCustomer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newSharePageWorld(t)
	b := newBrowser(t, w.e)
	token := w.share(t, "article")
	status, _, _ := b.get("/s/" + token)
	require.Equal(t, http.StatusOK, status)

	for _, bad := range []string{"12345", "abc", "2800000123", "138000001234567890123"} {
		status, body, _ := b.do(http.MethodPost, "/s/"+token+"/phone", url.Values{"phone": {bad}})
		require.Equal(t, http.StatusUnprocessableEntity, status, bad)
		require.Contains(t, body, "请输入正确的手机号码", bad)
		require.Contains(t, body, "家庭保障指南", "the page again, with the form")
	}
	var n int
	require.NoError(t, w.e.DB.Super.QueryRow(ctx, "SELECT count(*) FROM events WHERE kind = 'phone_left'").Scan(&n))
	require.Zero(t, n, "a refused number records nothing")

	status, body, _ := b.do(http.MethodPost, "/s/"+token+"/phone", url.Values{"phone": {"+86 138-0013-8000"}})
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, "感谢您留下电话")
	var phone, owner string
	require.NoError(t, w.e.DB.Super.QueryRow(ctx, "SELECT phone, owner_id::text FROM customers").Scan(&phone, &owner))
	require.Equal(t, "13800138000", phone)
	require.Equal(t, w.sales.ID.String(), owner)
}

func TestTheNumberFormIsRateLimitedPerAddress(t *testing.T) {
	t.Parallel()
	w := newSharePageWorld(t)
	b := newBrowser(t, w.e)
	token := w.share(t, "moments")
	var status int
	var body string
	for range 4 {
		status, body, _ = b.do(http.MethodPost, "/s/"+token+"/phone", url.Values{"phone": {"13800138000"}})
	}
	require.Equal(t, http.StatusTooManyRequests, status)
	require.Contains(t, body, "提交太频繁")
}

func TestTheCardSavesAsAVCard(t *testing.T) {
	t.Parallel()
	w := newSharePageWorld(t)
	b := newBrowser(t, w.e)
	token := w.cardToken(t)
	status, body, h := b.get("/s/" + token + "/vcard")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "text/vcard; charset=utf-8", h.Get("Content-Type"))
	require.Contains(t, h.Get("Content-Disposition"), "attachment")
	require.Contains(t, h.Get("Content-Disposition"), "filename*=UTF-8''%E7%8E%8B%E8%8A%B3.vcf")
	require.True(t, strings.HasPrefix(body, "BEGIN:VCARD\r\nVERSION:3.0\r\n"), body)
	require.True(t, strings.HasSuffix(body, "END:VCARD\r\n"))
	for _, line := range []string{"FN:王芳", "N:王芳;;;;", "ORG:星河保险有限公司", "TITLE:高级理财顾问",
		"TEL;TYPE=CELL,VOICE:13800000011", "X-WECHAT:wangfang_88", "URL;TYPE=CARD:https://share.example.com/s/" + token} {
		require.Contains(t, body, "\r\n"+line+"\r\n")
	}
}

// The page script's payloads (assets/page.js builds them: a view on load, heartbeats naming the view,
// taps, video progress), as JSON, are what /t accepts.
func TestThePageScriptsBeaconsAreAccepted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newSharePageWorld(t)
	b := newBrowser(t, w.e)
	token := w.share(t, "video")

	status, js, h := b.get(web.AssetURL("page.js"))
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, h.Get("Content-Type"), "javascript")
	require.Equal(t, "public, max-age=31536000, immutable", h.Get("Cache-Control"))
	require.Less(t, len(js), 10<<10, "the script stays under 10 KB")
	for _, kind := range []string{"EVENT_KIND_CARD_VIEW", "EVENT_KIND_MATERIAL_VIEW", "EVENT_KIND_DWELL", "EVENT_KIND_CALL_CLICK",
		"EVENT_KIND_WECHAT_CLICK", "EVENT_KIND_VIDEO_PROGRESS", "EVENT_KIND_BROCHURE_PAGE", "sendBeacon", "visibilitychange", "pagehide", "localStorage"} {
		require.Contains(t, js, kind)
	}
	status, _, h = b.get("/s/assets/old-version/page.js")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "no-cache", h.Get("Cache-Control"))

	vid := strings.ReplaceAll(uuid.NewString(), "-", "")
	now := time.Now().UTC().Format(time.RFC3339Nano)
	viewID := uuid.NewString()
	ev := func(kind string, extra map[string]any) map[string]any {
		e := map[string]any{"eventId": uuid.NewString(), "kind": kind, "shareToken": token, "visitorId": vid, "occurredAt": now}
		for k, v := range extra {
			e[k] = v
		}
		return e
	}
	view := ev("EVENT_KIND_MATERIAL_VIEW", nil)
	view["eventId"] = viewID
	batches := [][]map[string]any{
		{view},
		{ev("EVENT_KIND_DWELL", map[string]any{"viewId": viewID, "dwellMs": 1500})},
		{ev("EVENT_KIND_VIDEO_PROGRESS", map[string]any{"value": 25})},
		{ev("EVENT_KIND_CALL_CLICK", nil)},
		{ev("EVENT_KIND_WECHAT_CLICK", nil)},
		{ev("EVENT_KIND_BROCHURE_PAGE", map[string]any{"value": 2})},
	}
	for _, events := range batches {
		payload, err := json.Marshal(map[string]any{"events": events})
		require.NoError(t, err)
		resp, err := http.Post(w.e.URL+"/t", "application/json", bytes.NewReader(payload))
		require.NoError(t, err)
		answer, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(payload))
		require.JSONEq(t, `{"accepted":1,"duplicates":0}`, string(answer), "every event the script builds is accepted")
	}
	var kinds []string
	rows, err := w.e.DB.Super.Query(ctx, "SELECT kind FROM events ORDER BY kind")
	require.NoError(t, err)
	for rows.Next() {
		var k string
		require.NoError(t, rows.Scan(&k))
		kinds = append(kinds, k)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"brochure_page", "call_click", "dwell", "material_view", "video_progress", "wechat_click"}, kinds)
}

// An article page's weight (issue 14: HTML, CSS and script, gzipped, images excluded, ≤ 60 KB; the script
// ≤ 25 KB gzipped), as a phone downloads it the first time.
func TestAnArticlePageWeighsWithinItsBudget(t *testing.T) {
	t.Parallel()
	w := newSharePageWorld(t)
	b := newBrowser(t, w.e)
	gzipped := func(path string) int {
		status, body, _ := b.get(path)
		require.Equal(t, http.StatusOK, status, path)
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, err := zw.Write([]byte(body))
		require.NoError(t, err)
		require.NoError(t, zw.Close())
		return buf.Len()
	}
	html, css, js := gzipped("/s/"+w.share(t, "article")), gzipped(web.AssetURL("page.css")), gzipped(web.AssetURL("page.js"))
	t.Logf("article page, gzipped: HTML %d B, CSS %d B, script %d B, %d B in all", html, css, js, html+css+js)
	require.LessOrEqual(t, js, 25<<10)
	require.LessOrEqual(t, html+css+js, 60<<10)
}
