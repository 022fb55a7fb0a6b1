package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/salesapp/scrm/backend/audit"
	"github.com/salesapp/scrm/backend/audit/auditrpc"
	"github.com/salesapp/scrm/backend/auth"
	"github.com/salesapp/scrm/backend/auth/authrpc"
	"github.com/salesapp/scrm/backend/card"
	"github.com/salesapp/scrm/backend/card/cardrpc"
	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/diag"
	"github.com/salesapp/scrm/backend/diag/diagrpc"
	"github.com/salesapp/scrm/backend/export"
	"github.com/salesapp/scrm/backend/export/exportrpc"
	"github.com/salesapp/scrm/backend/material"
	"github.com/salesapp/scrm/backend/material/materialrpc"
	"github.com/salesapp/scrm/backend/operator"
	"github.com/salesapp/scrm/backend/operator/operatorrpc"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/platform/module"
	"github.com/salesapp/scrm/backend/platform/ratelimit"
	"github.com/salesapp/scrm/backend/platform/sealed"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/backend/share/sharerpc"
	"github.com/salesapp/scrm/backend/stats"
	"github.com/salesapp/scrm/backend/stats/statsrpc"
	"github.com/salesapp/scrm/backend/tagrule"
	"github.com/salesapp/scrm/backend/tagrule/tagrulerpc"
	"github.com/salesapp/scrm/backend/tenant"
	"github.com/salesapp/scrm/backend/tenant/tenantrpc"
	"github.com/salesapp/scrm/backend/upload"
	"github.com/salesapp/scrm/backend/upload/uploadrpc"
	"github.com/salesapp/scrm/backend/usage"
	"github.com/salesapp/scrm/backend/web"
	"github.com/salesapp/scrm/backend/web/webrpc"
	"github.com/salesapp/scrm/backend/wechat"
	"github.com/salesapp/scrm/backend/wecom"
	"github.com/salesapp/scrm/backend/wecom/contact"
	"github.com/salesapp/scrm/backend/wecom/contact/contactrpc"
	"github.com/salesapp/scrm/backend/wecom/directory"
	"github.com/salesapp/scrm/backend/wecom/directory/directoryrpc"
	"github.com/salesapp/scrm/backend/wecom/transfer"
	"github.com/salesapp/scrm/backend/wecom/transfer/transferrpc"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
	"github.com/salesapp/scrm/backend/wecom/wecomrpc"
	"github.com/salesapp/scrm/media"
	"github.com/salesapp/scrm/media/poster"
	"github.com/salesapp/scrm/push/alert"
	"github.com/salesapp/scrm/push/pushjob"
	"github.com/salesapp/scrm/push/sender"
	"github.com/salesapp/scrm/sync/syncrpc"
)

// deps is what the modules are built from.
type deps struct {
	cfg     platform.Config
	log     *slog.Logger
	db      *platform.DB
	store   *media.Store
	queue   *jobs.Queue
	sender  sender.Sender
	tenants *tenant.Service
	auth    *auth.Service
	tokens  *authn.Tokens
	// perIP limits public entries per client address.
	perIP *ratelimit.Limiter
}

// modules builds each domain's service once and returns what each contributes: the one list salesd
// serves. A new domain is one more entry here (docs/architecture.md, "Adding a domain").
func modules(d deps) ([]module.Module, error) {
	renderer, err := posterRenderer(d.cfg.PosterFont)
	if err != nil {
		return nil, err
	}
	info, err := diag.NewInfo(d.cfg.MinAppVersion, d.cfg.MaxAppVersion)
	if err != nil {
		return nil, err
	}
	shares := share.NewService(d.db, d.cfg.PublicBaseURL)
	materials := material.NewService(d.db, d.store, renderer, media.Deleter{Jobs: d.queue}, shares)
	cards := card.NewService(d.db, d.store, materials, shares)
	uploads := upload.NewService(d.db, d.store, d.queue, upload.Config{Quota: int64(d.cfg.StorageQuotaMiB) * media.MiB})
	live, wake, err := newLive(d, shares, cards, materials)
	if err != nil {
		return nil, err
	}
	wecoms, err := wecomService(d, nil)
	if err != nil {
		return nil, err
	}
	handlerMods := wecomHandlers(wecoms, d, shares, wake)
	mods := []module.Module{
		diagrpc.Module(info),
		authrpc.Module(d.auth, func(ctx context.Context, tenantID uuid.UUID, key string) (string, error) {
			return d.store.PresignGet(ctx, tenantID, key, time.Hour)
		}, wecoms.MemberByCode, authrpc.InvitePage(d.auth, d.perIP, d.log)),
		tenantrpc.Module(d.tenants),
		auditrpc.Module(audit.NewService(d.db)),
		exportrpc.Module(export.NewService(d.db, d.store, customer.NewService(d.db), d.queue)),
		uploadrpc.Module(uploads),
		media.Module(d.store),
		materialrpc.Module(materials),
		sharerpc.Module(shares),
		cardrpc.Module(cards),
		statsrpc.Module(stats.NewService(d.db, nil)),
		tagrulerpc.Module(tagrule.NewService(d.db, d.queue)),
		wecomrpc.Module(wecoms),
		operatorModule(d, materials),
	}
	mods = append(mods, live...)
	mods = append(mods, handlerMods...)
	return append(mods, syncrpc.Module(d.db, mods)), nil
}

// wecomHandlers registers the handlers of WeCom callbacks, by kind: one line per kind a domain processes
// (w.Handle(wecom.Kind{MsgType: "event", Event: "change_external_contact", ChangeType: "add_external_contact"},
// contacts.OnAdd)). Kinds not registered are stored and marked ignored. Handlers reach WeCom's API through
// w.ClientTx. It returns the modules of the domains whose handlers it registered (their workers).
func wecomHandlers(w *wecom.Service, d deps, shares *share.Service, wake func([]alert.Key)) []module.Module {
	// External contacts: customers, timeline, alerts (pushed and woken after the dispatcher's commit),
	// channel credit, welcome messages.
	contacts := contact.NewService(contact.Config{DB: d.db, WeCom: w, Queue: d.queue,
		Pushes: pushjob.Jobs{Inserter: d.queue, Nudge: d.queue.Nudge, NewCustomerWindow: d.cfg.NewCustomerPushWindow},
		Wake:   wake, Shares: shares, Log: d.log,
		// A link card's picture stays fetchable for as long as a presigned URL may last.
		Picture: func(ctx context.Context, tenantID uuid.UUID, key string) (string, error) {
			return d.store.PresignGet(ctx, tenantID, key, 7*24*time.Hour)
		},
		// Mini-program cards of the platform's mini-program, their covers read from storage.
		MiniProgram: contact.MiniProgram{AppID: d.cfg.WeChat.AppID, Page: d.cfg.WeChat.SharePage},
		Image: func(ctx context.Context, tenantID uuid.UUID, key string) ([]byte, string, error) {
			return d.store.ReadOf(ctx, tenantID, key, wecomapi.MaxImageBytes)
		}})
	contacts.Register(w)
	// Directory: teams and employees from departments and members (full sync on connect, change_contact).
	dir := directory.NewService(directory.Config{DB: d.db, WeCom: w, Queue: d.queue, EmployeeChanged: d.auth.EmployeeChanged,
		Synced: contacts.ImportOnceTx, Log: d.log})
	dir.Register(w)
	// Transfers: the WeCom side of handovers (handovers record them through transfer.Record).
	transfers := transfer.NewService(transfer.Config{DB: d.db, WeCom: w, Log: d.log})
	return []module.Module{contactrpc.Module(contacts), directoryrpc.Module(dir), transferrpc.Module(transfers)}
}

// wecomService builds the WeCom bridge; without SALESD_SECRET_KEYS it is off (nothing can be sealed).
func wecomService(d deps, handlers wecom.Handlers) (*wecom.Service, error) {
	var s *sealed.Sealer
	if len(d.cfg.SecretKeys) > 0 {
		var err error
		if s, err = sealed.New(d.cfg.SecretKeys); err != nil {
			return nil, fmt.Errorf("SALESD_SECRET_KEYS: %w", err)
		}
	}
	return wecom.NewService(d.db, s, d.queue, d.cfg.PublicBaseURL, handlers, wecom.Options{
		CallbackRate: d.cfg.WeComCallbackRate, CallbackBurst: d.cfg.WeComCallbackBurst, Log: d.log,
		APIBaseURL: d.cfg.WeComAPIURL, Shared: wechat.NewStore(d.db)}), nil
}

// posterRenderer loads the configured poster font (or the built-in one).
func posterRenderer(fontPath string) (*poster.Renderer, error) {
	var font []byte
	if fontPath != "" {
		var err error
		if font, err = os.ReadFile(fontPath); err != nil {
			return nil, fmt.Errorf("SALESD_POSTER_FONT: %w", err)
		}
	}
	r, err := poster.NewRenderer(font)
	if err != nil {
		return nil, fmt.Errorf("SALESD_POSTER_FONT: %w", err)
	}
	return r, nil
}

// wechatClients builds the WeChat clients the configuration names (nil when not configured). Their access
// tokens and the JS-SDK ticket are kept in PostgreSQL, shared by every node: a node fetching its own would
// invalidate the others'.
func wechatClients(cfg platform.Config, log *slog.Logger, db *platform.DB) (mini, official *wechat.Client) {
	shared := wechat.NewStore(db)
	if cfg.WeChat.AppID != "" {
		mini = wechat.New(wechat.Config{BaseURL: cfg.WeChat.BaseURL, AppID: cfg.WeChat.AppID, AppSecret: cfg.WeChat.AppSecret, Shared: shared}, log)
	}
	if cfg.WeChat.OfficialAppID != "" {
		official = wechat.New(wechat.Config{BaseURL: cfg.WeChat.BaseURL, AppID: cfg.WeChat.OfficialAppID, AppSecret: cfg.WeChat.OfficialSecret, Shared: shared}, log)
	}
	return mini, official
}

// webModule is the customer-facing pages' module.
func webModule(d deps, pages web.Deps) module.Module {
	pages.WeChat, pages.Official = wechatClients(d.cfg, d.log, d.db)
	pages.SignIn = web.SignInConfig{BaseURL: d.cfg.PublicBaseURL, Keys: d.cfg.TokenKeys, AuthorizeURL: d.cfg.WeChat.AuthorizeURL,
		Tenants: d.tenants, PerIP: d.perIP, Log: d.log}
	pages.Heartbeat, pages.CacheBytes, pages.LookupRate = d.cfg.PageHeartbeat, int64(d.cfg.PageCacheMiB)<<20, d.cfg.PageLookupRate
	return webrpc.Module(web.NewService(pages, d.cfg.PublicPageTTL))
}

// Materials builds the material library alone, for tools that add platform materials (salesctl).
func Materials(cfg platform.Config, log *slog.Logger, db *platform.DB, store *media.Store) (*material.Service, error) {
	renderer, err := posterRenderer(cfg.PosterFont)
	if err != nil {
		return nil, err
	}
	queue, err := jobs.New(db.Pool, log)
	if err != nil {
		return nil, err
	}
	return material.NewService(db, store, renderer, media.Deleter{Jobs: queue}, share.NewService(db, cfg.PublicBaseURL)), nil
}

// operatorModule builds the operator service (the platform's staff), its tenant operations and platform materials.
func operatorModule(d deps, materials *material.Service) module.Module {
	ops := operator.NewService(d.db, d.auth, d.tokens)
	return operatorrpc.Module(ops, ops.Tenants(d.tenants, usage.NewService(d.db, d.tenants.TenantIDs), nil), d.tokens, materials)
}
