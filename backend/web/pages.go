package web

// The share pages (issue 14, point 1): GET /s/{token} shows what a share link points at, server-rendered
// with html/template so the first paint needs no script, and everything on it (reading, calling, saving
// the contact, leaving a number) works without JavaScript. The page script (assets/page.js) only adds
// tracking and the copy buttons. Beside the page: the contact as a vCard (GET /s/{token}/vcard), the
// leave-a-number form (POST /s/{token}/phone), the card's featured materials (GET /s/{token}/featured?m=ID)
// and the embedded assets (GET /s/assets/{version}/{name}).

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/material"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/ratelimit"
	"github.com/salesapp/scrm/backend/tracking"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// DefaultHeartbeat is how often the page script reports dwell while the page is visible. Tests shorten it
// through Deps.Heartbeat (it reaches the script as the body's data-heartbeat-ms).
const DefaultHeartbeat = 15 * time.Second

// maxPhoneForm bounds the leave-a-number form: one field.
const maxPhoneForm = 1 << 10

var pageTemplates = template.Must(template.New("pages").Funcs(template.FuncMap{
	"tel": telURL,
	"inc": func(i int) int { return i + 1 },
}).ParseFS(templateFS, "templates/*.html"))

// assets are the embedded page assets with their content versions: a URL names the version, so browsers
// keep an asset for a year and a new build's asset has a new URL.
type asset struct {
	body        []byte
	contentType string
	version     string
}

var assets = func() map[string]asset {
	out := map[string]asset{}
	entries, err := fs.ReadDir(assetFS, "assets")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := assetFS.ReadFile("assets/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		out[e.Name()] = asset{body: b, contentType: mime.TypeByExtension(path.Ext(e.Name())), version: hex.EncodeToString(sum[:6])}
	}
	return out
}()

// AssetURL is the path of an embedded page asset ("page.js", "page.css") at its current version.
func AssetURL(name string) string {
	return "/s/assets/" + assets[name].version + "/" + name
}

// pageData is what the templates show.
type pageData struct {
	Title string
	// Kind is "card" or the material's kind.
	Kind  string
	Token string
	Page  Page
	// Body is the article's HTML, sanitized when it was stored.
	Body template.HTML
	// PosterURL is the poster to show: the sharer's personalized one when they have it.
	PosterURL string
	// ViewKind is the event kind of the page's view (card_view or material_view).
	ViewKind    string
	HeartbeatMs int64
	CSS, JS     string
	// Phone and PhoneProblem refill the form after a refused number.
	Phone, PhoneProblem string
	// Message pages (not found, thanks, too many requests).
	Heading, Message, Back string
	// WX is the page's wx.config as JSON (the body's data-wx), set only in WeChat's browser when an official
	// account is configured; the page then loads WeChat's JS-SDK (WXScript) and sets the share data:
	// ShareDesc and ShareImage beside the title.
	WX, WXScript          string
	ShareDesc, ShareImage string
}

// wxScript is WeChat's JS-SDK, which pages load only when they have a wx.config to give it.
const wxScript = "https://res.wx.qq.com/open/js/jweixin-1.6.0.js"

// Routes are the share pages' routes.
func (s *Service) Routes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET /s/{token}":                 s.PageHandler,
		"GET /s/{token}/vcard":           s.VCardHandler,
		"POST /s/{token}/phone":          s.PhoneHandler,
		"GET /s/{token}/featured":        s.FeaturedHandler,
		"GET /s/assets/{version}/{name}": AssetHandler,
	}
}

// PageHandler serves GET /s/{token}.
func (s *Service) PageHandler(w http.ResponseWriter, r *http.Request) {
	if !s.pageAllowed(w, r) {
		return
	}
	p, ok := s.openPage(w, r)
	if !ok {
		return
	}
	vid := s.visitor(w, r)
	if s.SignInGate(w, r, p, vid) {
		return
	}
	d := s.dataFor(r.Context(), p)
	s.withWX(r, &d)
	s.render(w, r, http.StatusOK, d)
}

// withWX gives a page opened in WeChat's browser its wx.config (signed for the URL the visitor opened:
// the public base URL's origin and the request's path and query) and its share data, so that a forward
// carries the visitor's child link. Without an official account, outside WeChat, or when signing fails,
// the page is the same without them.
func (s *Service) withWX(r *http.Request, d *pageData) {
	if s.official == nil || s.signin.base == nil || !strings.Contains(r.UserAgent(), "MicroMessenger") {
		return
	}
	pageURL := strings.TrimRight(s.signin.base.String(), "/") + r.URL.RequestURI()
	c, err := s.WXConfig(r.Context(), d.Page.Share.TenantID, pageURL)
	if err != nil || c == nil {
		if err != nil {
			s.signin.logError(r.Context(), "wx.config not signed", err)
		}
		return
	}
	b, err := json.Marshal(c)
	if err != nil {
		return
	}
	d.WX, d.WXScript = string(b), wxScript
	card := d.Page.Card
	d.ShareDesc, d.ShareImage = strings.TrimSpace(card.Title+" "+card.Company.Name), cmp.Or(card.AvatarURL, card.Company.LogoURL)
	if m := d.Page.Material; m != nil {
		d.ShareDesc = cmp.Or(m.Summary, card.DisplayName+"分享给您")
		img := ""
		if len(m.ImageURLs) > 0 {
			img = m.ImageURLs[0]
		}
		d.ShareImage = cmp.Or(m.ThumbnailURL, m.CoverURL, img, d.PosterURL, d.ShareImage)
	}
}

// openPage opens the link, answering the neutral page itself when it cannot.
func (s *Service) openPage(w http.ResponseWriter, r *http.Request) (Page, bool) {
	p, err := s.Open(r.Context(), r.PathValue("token"))
	if err != nil {
		s.pageError(w, r, err)
		return Page{}, false
	}
	return p, true
}

func (s *Service) dataFor(ctx context.Context, p Page) pageData {
	d := pageData{Kind: "card", Token: p.Share.Token, Page: p, ViewKind: string(event.CardView),
		HeartbeatMs: s.heartbeat.Milliseconds(), Title: p.Card.DisplayName + "的名片"}
	if m := p.Material; m != nil {
		d.Kind, d.ViewKind, d.Title = string(m.Kind), string(event.MaterialView), m.Title
		switch m.Kind {
		case material.KindArticle:
			d.Body = template.HTML(m.BodyHTML) // sanitized by the library when stored
		case material.KindPoster:
			d.PosterURL = s.posterURL(ctx, p)
		}
	}
	return d
}

// posterURL is the sharer's personalized render of the poster when they have one, else the poster.
func (s *Service) posterURL(ctx context.Context, p Page) string {
	m := p.Material
	key := "p:" + p.Share.TenantID.String() + ":" + m.ID.String() + ":" + p.Share.EmployeeID.String()
	u, err := get(ctx, s.cache, key, func(ctx context.Context) (string, int64, error) {
		u, err := s.materials.SharerPosterURL(ctx, p.Share.TenantID, p.Share.EmployeeID, m.Material)
		return u, int64(entryOverhead + len(u)), err
	})
	if err != nil || u == "" {
		if err != nil {
			s.signin.logError(ctx, "personalized poster lookup failed", err)
		}
		return m.FileURL
	}
	return u
}

// renderBuffers keeps the buffers pages are rendered into: an article page is as large as its article
// (hundreds of KB), and allocating one a page makes a flood of opens mostly garbage collection.
var renderBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledRender is the largest buffer kept for reuse; a rarer larger page's buffer is left to the GC.
const maxPooledRender = 1 << 20

// render executes the page template with the headers every page carries.
func (s *Service) render(w http.ResponseWriter, r *http.Request, status int, d pageData) {
	d.CSS, d.JS = AssetURL("page.css"), AssetURL("page.js")
	buf := renderBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledRender {
			renderBuffers.Put(buf)
		}
	}()
	if err := pageTemplates.ExecuteTemplate(buf, "page", d); err != nil {
		s.signin.logError(r.Context(), "share page not rendered", err)
		buf.Reset()
		status = http.StatusInternalServerError
		d = pageData{Kind: "message", Title: "出错了", Heading: "页面暂时无法显示", Message: "请稍后再试。", CSS: d.CSS}
		if err := pageTemplates.ExecuteTemplate(buf, "page", d); err != nil {
			http.Error(w, "页面暂时无法显示", status)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", contentPolicy(d))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	if status == http.StatusOK && d.Kind != "message" {
		// Presigned media URLs in the page expire within the hour, and a page may change when its material
		// does: browsers revalidate, shared caches keep nothing (the page may set the visitor cookie).
		h.Set("Cache-Control", "private, no-cache")
	} else {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// contentPolicy allows the page's own script and style, and media from where the page's media URLs
// point (the object store's presigned URLs); articles may show images from other HTTPS sites.
func contentPolicy(d pageData) string {
	var origins []string
	add := func(raw string) {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return
		}
		o := u.Scheme + "://" + u.Host
		if !slices.Contains(origins, o) {
			origins = append(origins, o)
		}
	}
	c := d.Page.Card
	for _, u := range append([]string{c.AvatarURL, c.QRCodeURL, c.IntroVideoURL, c.Company.LogoURL, d.PosterURL}, c.PhotoURLs...) {
		add(u)
	}
	for _, f := range c.Featured {
		add(f.CoverURL)
		add(f.ThumbnailURL)
	}
	if m := d.Page.Material; m != nil {
		for _, u := range append([]string{m.FileURL, m.CoverURL, m.ThumbnailURL}, m.ImageURLs...) {
			add(u)
		}
	}
	media := strings.TrimSpace("'self' " + strings.Join(origins, " "))
	img := media + " data:"
	if d.Kind == string(material.KindArticle) {
		img += " https:"
	}
	script := "'self'"
	if d.WXScript != "" {
		script += " https://res.wx.qq.com"
	}
	return "default-src 'none'; script-src " + script + "; style-src 'self'; img-src " + img + "; media-src " + media +
		"; frame-src " + media + "; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
}

// pageError answers an open that failed: the neutral page for links that do not (or no longer) lead
// anywhere, a try-again page for the rest.
func (s *Service) pageError(w http.ResponseWriter, r *http.Request, err error) {
	if platform.KindOf(err) == platform.KindNotFound || errors.Is(err, errBadToken) {
		s.render(w, r, http.StatusNotFound, notFoundPage())
		return
	}
	retry := "5"
	if errors.Is(err, errLinksBusy) {
		retry = "1" // the node's budget of new links, not a failure: nothing to log
	} else {
		s.signin.logError(r.Context(), "share page not opened", err)
	}
	w.Header().Set("Retry-After", retry)
	s.render(w, r, http.StatusServiceUnavailable, pageData{Kind: "message", Title: "请稍后再试",
		Heading: "页面暂时无法打开", Message: "网络或服务繁忙，请稍后刷新重试。"})
}

var errBadToken = errors.New("not a share token")

func notFoundPage() pageData {
	return pageData{Kind: "message", Title: "链接已失效", Heading: "链接已失效",
		Message: "这个链接不存在、已被撤回或已过期。如需了解更多，请联系分享给您的顾问。"}
}

// pageAllowed rate limits the pages per client address: guessing tokens costs as much as opening pages.
func (s *Service) pageAllowed(w http.ResponseWriter, r *http.Request) bool {
	if s.signin.perIP == nil || s.signin.perIP.Allow(ratelimit.AddressKey(r.RemoteAddr)) {
		return true
	}
	w.Header().Set("Retry-After", "10")
	s.render(w, r, http.StatusTooManyRequests, pageData{Kind: "message", Title: "请稍后再试",
		Heading: "访问太频繁了", Message: "您所在网络的访问太频繁，请稍等片刻再打开链接。"})
	return false
}

// visitor returns the visitor id of the sa_vid cookie, setting a new one when absent: the forms work
// without the page script, and the script adopts the cookie's id (or sets it to its stored one).
func (s *Service) visitor(w http.ResponseWriter, r *http.Request) string {
	if v := visitorFromCookie(r); v != "" {
		return v
	}
	v := strings.ReplaceAll(uuid.NewString(), "-", "")
	http.SetCookie(w, &http.Cookie{Name: oauthVisitorCookie, Value: v, Path: "/", SameSite: http.SameSiteLaxMode,
		MaxAge: int(visitorCookieTTL / time.Second), Secure: r.TLS != nil || (s.signin.base != nil && s.signin.base.Scheme == "https")})
	return v
}

// telURL is a tel: link of a phone number, or "" when the number is not one (html/template refuses
// schemes it does not know, so the number is checked here and the link marked safe).
func telURL(phone string) template.URL {
	p := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '(' || r == ')' {
			return -1
		}
		return r
	}, phone)
	if !telPattern.MatchString(p) {
		return ""
	}
	return template.URL("tel:" + p)
}

var telPattern = regexp.MustCompile(`^\+?[0-9]{3,20}$`)

// PhoneHandler serves POST /s/{token}/phone: the number a visitor leaves, recorded as their phone_left
// event (and so on their customer), answered by a thank-you page, or the form again saying what is wrong.
func (s *Service) PhoneHandler(w http.ResponseWriter, r *http.Request) {
	if !s.pageAllowed(w, r) {
		return
	}
	p, ok := s.openPage(w, r)
	if !ok {
		return
	}
	vid := s.visitor(w, r)
	if s.SignInGate(w, r, p, vid) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxPhoneForm)
	if err := r.ParseForm(); err != nil {
		d := s.dataFor(r.Context(), p)
		d.PhoneProblem = "提交的内容有误，请重新填写。"
		s.render(w, r, http.StatusBadRequest, d)
		return
	}
	raw := r.PostForm.Get("phone")
	phone, ok := NormalizePhone(raw)
	if !ok {
		d := s.dataFor(r.Context(), p)
		if utf8.RuneCountInString(raw) <= 32 {
			d.Phone = raw
		}
		d.PhoneProblem = "请输入正确的手机号码：11 位中国大陆手机号，或以 + 开头的国际号码。"
		s.render(w, r, http.StatusUnprocessableEntity, d)
		return
	}
	// Numbers that would be recorded are limited per address (refused ones cost only the page budget).
	if !s.phones.Allow(ratelimit.AddressKey(r.RemoteAddr)) {
		w.Header().Set("Retry-After", "60")
		s.render(w, r, http.StatusTooManyRequests, pageData{Kind: "message", Title: "请稍后再试",
			Heading: "提交太频繁了", Message: "请一分钟后再提交。", Back: pagePath(p.Share.Token)})
		return
	}
	_, err := s.tracking.Ingest(r.Context(), []tracking.Event{{ID: uuid.Must(uuid.NewV7()), Kind: event.PhoneLeft,
		ShareToken: p.Share.Token, VisitorID: vid, Phone: phone}})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	d := pageData{Kind: "message", Title: "提交成功", Heading: "感谢您留下电话",
		Message: p.Card.DisplayName + "会尽快与您联系。", Back: pagePath(p.Share.Token), Page: p}
	s.render(w, r, http.StatusOK, d)
}

var (
	mainlandMobile = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	intlPhone      = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// NormalizePhone checks a number typed into the form: a mainland mobile number (11 digits, with or
// without +86) or an international one in E.164 (+ and 7 to 15 digits). Spaces and dashes are dropped.
func NormalizePhone(raw string) (string, bool) {
	p := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '(', ')', '\u00a0', '\u3000':
			return -1
		case '＋':
			return '+'
		}
		if r >= '０' && r <= '９' {
			return '0' + (r - '０')
		}
		return r
	}, strings.TrimSpace(raw))
	if m, ok := strings.CutPrefix(p, "+86"); ok {
		p = m
	} else if m, ok := strings.CutPrefix(p, "0086"); ok {
		p = m
	}
	switch {
	case mainlandMobile.MatchString(p):
		return p, true
	case intlPhone.MatchString(p):
		return p, true
	}
	return "", false
}

// FeaturedHandler serves GET /s/{token}/featured?m=ID: a featured material of the card's salesperson,
// opened through the salesperson's standing link of it on the card link's channel (made once), so the
// customer's views of it are credited to them.
func (s *Service) FeaturedHandler(w http.ResponseWriter, r *http.Request) {
	if !s.pageAllowed(w, r) {
		return
	}
	p, ok := s.openPage(w, r)
	if !ok {
		return
	}
	id, err := uuid.Parse(r.URL.Query().Get("m"))
	if err != nil {
		s.pageError(w, r, errBadToken)
		return
	}
	token, err := s.Featured(r.Context(), p.Share.Token, id)
	if platform.KindOf(err) == platform.KindNotFound {
		err = errBadToken
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, pagePath(token), http.StatusSeeOther)
}

// AssetHandler serves GET /s/assets/{version}/{name}: the current version for a year, any other version
// (a page rendered before a deploy) with the current content but no long cache.
func AssetHandler(w http.ResponseWriter, r *http.Request) {
	a, ok := assets[r.PathValue("name")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	if r.PathValue("version") == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("ETag", strconv.Quote(a.version))
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
