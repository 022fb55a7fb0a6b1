package authrpc

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/salesapp/scrm/backend/auth"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/ratelimit"
)

// InvitePath is where invitation links point: PublicBaseURL/invite/CODE.
const InvitePath = "/invite/{code}"

//go:embed templates/invite.html
var inviteFS embed.FS

var inviteTemplate = template.Must(template.ParseFS(inviteFS, "templates/invite.html"))

// maxInviteForm bounds the form a browser posts: two passwords of at most 128 characters.
const maxInviteForm = 4 << 10

// invitePage serves the invitation link for a person without the app at hand (or on a computer): it says
// whose invitation it is and sets their password with it; they then sign in on the app. Nothing is signed
// in here. Rate limited per address; the code in the URL is the only credential, so the page sends no
// Referer and is never cached or framed.
type invitePage struct {
	svc   *auth.Service
	perIP *ratelimit.Limiter
	log   *slog.Logger
}

// InvitePage builds the invitation page's handler.
func InvitePage(svc *auth.Service, perIP *ratelimit.Limiter, log *slog.Logger) http.Handler {
	return &invitePage{svc: svc, perIP: perIP, log: log}
}

type invitePageData struct {
	// State is "form", "done" or "problem".
	State   string
	Title   string
	Problem string
	Invitee auth.Invitee
}

func (h *invitePage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	hdr.Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		hdr.Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !h.perIP.Allow(ratelimit.AddressKey(r.RemoteAddr)) {
		hdr.Set("Retry-After", "10")
		h.render(w, http.StatusTooManyRequests, invitePageData{State: "problem", Title: "请稍后再试",
			Problem: "这个地址的请求太频繁了，请稍等片刻再打开链接。"})
		return
	}
	code := r.PathValue("code")
	ctx := r.Context()
	if r.Method == http.MethodGet {
		inv, err := h.svc.PeekInvitation(ctx, code)
		if err != nil {
			h.problem(ctx, w, err)
			return
		}
		h.render(w, http.StatusOK, invitePageData{State: "form", Title: "设置登录密码", Invitee: inv})
		return
	}

	r.Body = http.MaxBytesReader(w, r.Body, maxInviteForm)
	if err := r.ParseForm(); err != nil {
		h.render(w, http.StatusRequestEntityTooLarge, invitePageData{State: "problem", Title: "提交的内容有误", Problem: "请返回重新填写。"})
		return
	}
	password, confirm := r.PostForm.Get("password"), r.PostForm.Get("confirm")
	again := func(problem string) {
		inv, err := h.svc.PeekInvitation(ctx, code)
		if err != nil {
			h.problem(ctx, w, err)
			return
		}
		h.render(w, http.StatusUnprocessableEntity, invitePageData{State: "form", Title: "设置登录密码", Invitee: inv, Problem: problem})
	}
	switch n := utf8.RuneCountInString(password); {
	case n < 8 || n > 128:
		again("密码需为 8 到 128 个字符。")
		return
	case password != confirm:
		again("两次输入的密码不一致。")
		return
	}
	inv, err := h.svc.SetPasswordWithInvitation(ctx, code, password)
	if platform.KindOf(err) == platform.KindInvalid {
		again("密码不能与您的手机号或邮箱相同。")
		return
	}
	if err != nil {
		h.problem(ctx, w, err)
		return
	}
	h.render(w, http.StatusOK, invitePageData{State: "done", Title: "密码已设置", Invitee: inv})
}

// problem explains, in the page's words, why the invitation cannot be used.
func (h *invitePage) problem(ctx context.Context, w http.ResponseWriter, err error) {
	d := invitePageData{State: "problem", Title: "邀请链接无法使用"}
	status := http.StatusGone
	switch auth.InvitationProblem(err) {
	case "invalid":
		d.Problem, status = "这个邀请链接无效。请向您的管理员索取新的邀请。", http.StatusNotFound
	case "used":
		d.Title, d.Problem = "邀请已使用", "这个邀请已经用过了。请用您的密码在 App 中登录；忘记密码请联系管理员重置。"
	case "replaced":
		d.Problem = "这个邀请已被更新的邀请取代，请使用管理员最近发给您的链接。"
	case "expired":
		d.Title, d.Problem = "邀请已过期", "这个邀请已过期（有效期 7 天）。请联系管理员重新发送。"
	default:
		var pe *platform.Error
		switch {
		case platform.KindOf(err) == platform.KindPermissionDenied:
			d.Problem, status = "您的账号已停用，或企业的订阅已到期。请联系您的管理员。", http.StatusForbidden
		case errors.As(err, &pe) && pe.Kind == platform.KindResourceExhausted:
			d.Title, d.Problem, status = "请稍后再试", "服务器正忙，请稍后再提交。", http.StatusServiceUnavailable
			retry := pe.RetryAfter
			if retry < time.Second {
				retry = time.Second
			}
			w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds())))
		default:
			h.log.ErrorContext(ctx, "invitation page", "err", err)
			d.Title, d.Problem, status = "出错了", "服务暂时出现问题，请稍后再试。", http.StatusInternalServerError
		}
	}
	h.render(w, status, d)
}

func (h *invitePage) render(w http.ResponseWriter, status int, d invitePageData) {
	var buf bytes.Buffer
	if err := inviteTemplate.Execute(&buf, d); err != nil {
		h.log.Error("invitation page: template", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
