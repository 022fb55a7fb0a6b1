// Package wecom is the WeCom (企业微信) bridge's core: each tenant's configuration (its secrets sealed at
// rest, platform/sealed), the callback route WeCom posts events to (Callback), and the dispatcher that
// hands each stored event to the handler registered for its kind.
//
// A callback is checked (signature, decryption, receive id, XML), stored once per de-dup key together with
// its River job in one transaction, and only then answered "success"; it is processed by the job
// (DispatchWorker, queue jobs.QueueWeCom), so acknowledging stays fast however slow a handler is. WeCom
// resends a callback it got no "success" for up to three times: a resend finds its key stored and inserts
// nothing.
//
// Registering a handler is one entry in the Handlers given to NewService:
//
//	wecom.Handlers{
//		{MsgType: "event", Event: "change_external_contact", ChangeType: "add_external_contact"}: contacts.OnAdd,
//	}
//
// A handler runs inside a savepoint of the tenant's transaction that marks the event done: what it writes
// commits with that mark or not at all, and an error rolls both back and has River retry with backoff. The
// transaction may process other events of the tenant before and after (see DispatchArgs). A handler that
// calls WeCom's API does so inside that transaction (keep such calls short; a call that may take long, or
// that must not be repeated, is better a River job the handler inserts in tx).
package wecom

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/salesapp/scrm/backend/audit"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/batch"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/platform/ratelimit"
	"github.com/salesapp/scrm/backend/platform/sealed"
	"github.com/salesapp/scrm/backend/wechat"
	"github.com/salesapp/scrm/backend/wecom/internal/wecomdb"
)

// Kind is what a handler is registered for: the message's MsgType, and for events its Event and (for the
// events that have one) ChangeType. Fields a message does not have are "".
type Kind struct {
	MsgType, Event, ChangeType string
}

// Handler processes one stored event inside the tenant's transaction tx (see the package comment).
type Handler func(ctx context.Context, tx pgx.Tx, ev Event) error

// Handlers maps each kind to its handler. Events of kinds it lacks are marked ignored.
type Handlers map[Kind]Handler

// Event is one callback as stored.
type Event struct {
	TenantID   uuid.UUID
	ID         uuid.UUID
	DedupKey   string
	Kind       Kind
	ReceivedAt time.Time
	Status     Status
	Attempts   int
	LastError  string
	// ProcessedAt is when it was done, ignored or failed for good (zero while pending).
	ProcessedAt time.Time
	// XML is the decrypted message as WeCom sent it.
	XML string
	// Fields are the message's elements by name (ToUserName, CreateTime, UserID, ExternalUserID, State,
	// WelcomeCode...).
	Fields map[string]string
}

// Decode unmarshals the event's XML into v (a struct with xml tags), for handlers that want typed fields.
func (e Event) Decode(v any) error { return xml.Unmarshal([]byte(e.XML), v) }

// Status is where an event is in its processing.
type Status string

// The statuses.
const (
	StatusPending Status = "pending"
	StatusDone    Status = "done"
	StatusFailed  Status = "failed"
	StatusIgnored Status = "ignored"
)

// Config is a tenant's WeCom configuration as shown to admins: secrets are never returned, only whether
// each is set.
type Config struct {
	CorpID           string
	AgentID          int64
	AgentSecretSet   bool
	ContactSecretSet bool
	TokenSet         bool
	AESKeySet        bool
	// CallbackURL is what the admin pastes into WeCom's console (接收消息 → URL).
	CallbackURL string
	UpdatedAt   time.Time
	UpdatedBy   uuid.UUID
	// Configured is false when the tenant has never set one (the other fields but CallbackURL are zero).
	Configured bool
}

// ConfigInput sets a tenant's configuration. A blank secret keeps the one stored.
type ConfigInput struct {
	CorpID         string
	AgentID        int64
	AgentSecret    string
	ContactSecret  string
	CallbackToken  string
	EncodingAESKey string
}

// Secrets are a tenant's opened secrets, for the WeCom API client and the callback.
type Secrets struct {
	CorpID         string
	AgentID        int64
	AgentSecret    string
	ContactSecret  string
	CallbackToken  string
	EncodingAESKey string
}

// Options tune the service; zero values take the defaults.
type Options struct {
	// MaxAttempts is how many times an event is tried before it is marked failed (default 10; River
	// backs off between tries).
	MaxAttempts int
	// CallbackRate and CallbackBurst limit callbacks per tenant (defaults 200/s, 1000).
	CallbackRate  float64
	CallbackBurst int
	// MaxBody bounds a callback's body (default 64 KiB; 413 beyond).
	MaxBody int64
	Log     *slog.Logger
	// APIBaseURL is WeCom's API host (wecomapi.DefaultBaseURL when empty; tests point it at wecomtest).
	APIBaseURL string
	// APIHTTPClient sends the API's requests (wecomapi's default when nil).
	APIHTTPClient *http.Client
	// Shared keeps access tokens where every node finds them (wechat.Store); nil keeps them per process.
	Shared wechat.Shared
	// Now tells the time for token expiry (time.Now when nil).
	Now func() time.Time
}

// Service is the WeCom bridge's core.
type Service struct {
	db       *platform.DB
	sealer   *sealed.Sealer
	jobs     jobs.Inserter
	baseURL  string
	handlers Handlers
	opts     Options
	limiter  *ratelimit.Limiter
	log      *slog.Logger
	clients  *clients
	// store commits callbacks in groups; keyCache holds tenants' opened callback keys (store.go).
	store    *batch.Batcher[event, struct{}]
	keyCache *expirable.LRU[uuid.UUID, callbackKeys]
	// configured run inside the transaction that sets a tenant's configuration.
	configured []func(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID) error
}

// ErrOff is returned when the server has no SALESD_SECRET_KEYS: nothing can be sealed.
var ErrOff = platform.FailedPrecondition("the WeCom bridge is off: the server has no SALESD_SECRET_KEYS")

// ErrNotInPlan is returned for a WeCom client of a tenant whose plan no longer includes the bridge: jobs
// queued before a downgrade (welcome messages, transfers, rotations, imports) end with it instead of
// calling WeCom (CancelIfNotInPlan). Employees' procedures are refused earlier, by the authenticator.
var ErrNotInPlan = platform.PermissionDenied("the enterprise's plan does not include the WeCom bridge")

// CancelIfNotInPlan turns ErrNotInPlan into River's cancellation (a retry would be refused the same way
// until an upgrade, and an upgrade does not bring back a welcome code's window); other errors are kept.
func CancelIfNotInPlan(err error) error {
	if errors.Is(err, ErrNotInPlan) {
		return river.JobCancel(err)
	}
	return err
}

// NewService builds the service. sealer nil turns the bridge off (SetConfig refuses, callbacks answer
// 404). baseURL is where WeCom reaches this server (SALESD_PUBLIC_BASE_URL).
func NewService(db *platform.DB, sealer *sealed.Sealer, q jobs.Inserter, baseURL string, handlers Handlers, opts Options) *Service {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 10
	}
	if opts.CallbackRate <= 0 {
		opts.CallbackRate = 200
	}
	if opts.CallbackBurst <= 0 {
		opts.CallbackBurst = 1000
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 64 << 10
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	s := &Service{db: db, sealer: sealer, jobs: q, baseURL: baseURL, handlers: handlers, opts: opts,
		limiter: ratelimit.New(opts.CallbackRate, opts.CallbackBurst, 100_000), log: opts.Log,
		clients: newClients(), keyCache: newKeyCache()}
	s.store = s.newStore()
	return s
}

// Handle registers h for events of kind, for domains built after the service (their handlers call its
// clients). Call it before the server starts; a kind registered twice panics (one owner per kind).
func (s *Service) Handle(kind Kind, h Handler) {
	if s.handlers == nil {
		s.handlers = Handlers{}
	}
	if _, dup := s.handlers[kind]; dup {
		panic(fmt.Sprintf("wecom: two handlers for %+v", kind))
	}
	s.handlers[kind] = h
}

// OnConfigured registers f to run inside the transaction that sets a tenant's configuration (the
// directory queues its first sync there, so a tenant that connects gets its people). Call it before the
// server starts.
func (s *Service) OnConfigured(f func(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID) error) {
	s.configured = append(s.configured, f)
}

// CallbackURL is the tenant's callback address.
func (s *Service) CallbackURL(tenantID uuid.UUID) string {
	return s.baseURL + "/wecom/" + tenantID.String() + "/callback"
}

// The columns' names, bound into each sealed value with the tenant.
const (
	colAgentSecret   = "agent_secret"
	colContactSecret = "contact_secret"
	colToken         = "callback_token"
	colAESKey        = "encoding_aes_key"
)

func ad(tenantID uuid.UUID, col string) []byte {
	return []byte("wecom_configs/" + tenantID.String() + "/" + col)
}

func (s *Service) seal(tenantID uuid.UUID, col, v string) string {
	if v == "" {
		return ""
	}
	return s.sealer.Seal([]byte(v), ad(tenantID, col))
}

func (s *Service) open(tenantID uuid.UUID, col, v string) (string, error) {
	if v == "" {
		return "", nil
	}
	b, err := s.sealer.Open(v, ad(tenantID, col))
	if err != nil {
		return "", fmt.Errorf("wecom: %s of tenant %s: %w", col, tenantID, err)
	}
	return string(b), nil
}

func adminOnly(p authn.Principal) error {
	if p.Role != authn.RoleAdmin {
		return platform.PermissionDenied("only an admin may configure WeCom")
	}
	return nil
}

// GetConfig returns the tenant's configuration, secrets masked.
func (s *Service) GetConfig(ctx context.Context, p authn.Principal) (Config, error) {
	if err := adminOnly(p); err != nil {
		return Config{}, err
	}
	out := Config{CallbackURL: s.CallbackURL(p.TenantID)}
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		row, err := wecomdb.New(tx).GetConfig(ctx, p.TenantID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		out.Configured = true
		out.CorpID, out.AgentID = row.CorpID, row.AgentID
		out.AgentSecretSet, out.ContactSecretSet = row.AgentSecret != "", row.ContactSecret != ""
		out.TokenSet, out.AESKeySet = row.CallbackToken != "", row.EncodingAesKey != ""
		out.UpdatedAt = row.UpdatedAt
		if row.UpdatedBy.Valid {
			out.UpdatedBy = row.UpdatedBy.UUID
		}
		return nil
	})
	return out, err
}

// SetConfig sets the tenant's configuration; blank secrets keep the stored ones. Every secret is sealed
// again under the current key.
func (s *Service) SetConfig(ctx context.Context, p authn.Principal, in ConfigInput) (Config, error) {
	if err := adminOnly(p); err != nil {
		return Config{}, err
	}
	if s.sealer == nil {
		return Config{}, ErrOff
	}
	if in.CorpID == "" {
		return Config{}, platform.Invalid("corp_id", "is required")
	}
	if in.AgentID <= 0 {
		return Config{}, platform.Invalid("agent_id", "must be positive")
	}
	if in.EncodingAESKey != "" {
		if err := checkAESKey(in.EncodingAESKey); err != nil {
			return Config{}, err
		}
	}
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := wecomdb.New(tx)
		cur, err := s.secretsTx(ctx, q, p.TenantID, true)
		if err != nil && !errors.Is(err, errNotConfigured) {
			return err
		}
		keep := func(v, old string) string {
			if v == "" {
				return old
			}
			return v
		}
		t := p.TenantID
		// The log names which secrets changed, never their values.
		type record struct {
			CorpID         string   `json:"corp_id,omitempty"`
			AgentID        int64    `json:"agent_id,omitempty"`
			SecretsChanged []string `json:"secrets_changed,omitempty"`
		}
		after := record{CorpID: in.CorpID, AgentID: in.AgentID}
		for _, f := range []struct{ col, v, old string }{
			{colAgentSecret, in.AgentSecret, cur.AgentSecret}, {colContactSecret, in.ContactSecret, cur.ContactSecret},
			{colToken, in.CallbackToken, cur.CallbackToken}, {colAESKey, in.EncodingAESKey, cur.EncodingAESKey},
		} {
			if f.v != "" && f.v != f.old {
				after.SecretsChanged = append(after.SecretsChanged, f.col)
			}
		}
		var before any
		if cur.CorpID != "" {
			before = record{CorpID: cur.CorpID, AgentID: cur.AgentID}
		}
		if err := audit.RecordTx(ctx, tx, t, audit.Entry{Action: audit.WeComConfigure, TargetKind: audit.TargetTenant,
			TargetID: t, Before: before, After: after}); err != nil {
			return err
		}
		if err := q.UpsertConfig(ctx, wecomdb.UpsertConfigParams{
			TenantID: t, CorpID: in.CorpID, AgentID: in.AgentID,
			AgentSecret:    s.seal(t, colAgentSecret, keep(in.AgentSecret, cur.AgentSecret)),
			ContactSecret:  s.seal(t, colContactSecret, keep(in.ContactSecret, cur.ContactSecret)),
			CallbackToken:  s.seal(t, colToken, keep(in.CallbackToken, cur.CallbackToken)),
			EncodingAesKey: s.seal(t, colAESKey, keep(in.EncodingAESKey, cur.EncodingAESKey)),
			SealKey:        s.sealer.CurrentKey(),
			UpdatedBy:      uuid.NullUUID{UUID: p.EmployeeID, Valid: p.EmployeeID != uuid.Nil},
		}); err != nil {
			return err
		}
		for _, f := range s.configured {
			if err := f(ctx, tx, t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Config{}, err
	}
	s.keyCache.Remove(p.TenantID) // this node's callbacks use the new keys at once; others after a refusal
	return s.GetConfig(ctx, p)
}

var errNotConfigured = errors.New("wecom: tenant has no configuration")

// secretsTx opens the tenant's secrets inside tx.
func (s *Service) secretsTx(ctx context.Context, q *wecomdb.Queries, tenantID uuid.UUID, lock bool) (Secrets, error) {
	get := q.GetConfig
	if lock {
		get = q.GetConfigForUpdate
	}
	row, err := get(ctx, tenantID)
	if errors.Is(err, pgx.ErrNoRows) {
		return Secrets{}, errNotConfigured
	}
	if err != nil {
		return Secrets{}, err
	}
	out := Secrets{CorpID: row.CorpID, AgentID: row.AgentID}
	for _, f := range []struct {
		col, sealed string
		dst         *string
	}{
		{colAgentSecret, row.AgentSecret, &out.AgentSecret},
		{colContactSecret, row.ContactSecret, &out.ContactSecret},
		{colToken, row.CallbackToken, &out.CallbackToken},
		{colAESKey, row.EncodingAesKey, &out.EncodingAESKey},
	} {
		if *f.dst, err = s.open(tenantID, f.col, f.sealed); err != nil {
			return Secrets{}, err
		}
	}
	return out, nil
}

// SecretsTx returns the tenant's opened secrets inside tx (for the WeCom API client); NotFound when the
// tenant has not configured WeCom.
func (s *Service) SecretsTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID) (Secrets, error) {
	if s.sealer == nil {
		return Secrets{}, ErrOff
	}
	sec, err := s.secretsTx(ctx, wecomdb.New(tx), tenantID, false)
	if errors.Is(err, errNotConfigured) {
		return Secrets{}, platform.NotFound("WeCom configuration")
	}
	return sec, err
}

func checkAESKey(k string) error {
	if len(k) != 43 {
		return platform.Invalid("encoding_aes_key", "must be exactly 43 characters")
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '/') {
			return platform.Invalid("encoding_aes_key", "must be letters, digits, + and / only")
		}
	}
	return nil
}

// RewrapArgs is the hourly job sealing again, under the current key, the secrets an older key sealed.
type RewrapArgs struct{}

// Kind implements river.JobArgs.
func (RewrapArgs) Kind() string { return "wecom_rewrap" }

// RewrapWorker runs RewrapArgs.
type RewrapWorker struct {
	river.WorkerDefaults[RewrapArgs]
	s *Service
}

// RewrapWorker returns the rewrap's worker.
func (s *Service) RewrapWorker() *RewrapWorker { return &RewrapWorker{s: s} }

// Work implements river.Worker.
func (w *RewrapWorker) Work(ctx context.Context, _ *river.Job[RewrapArgs]) error {
	_, err := w.s.Rewrap(ctx)
	return err
}

// Rewrap seals again under the current key every tenant's secrets sealed under an older one, and returns
// how many tenants it changed. Once it has run, keys other than the first can be dropped from
// SALESD_SECRET_KEYS.
func (s *Service) Rewrap(ctx context.Context) (int, error) {
	if s.sealer == nil {
		return 0, nil
	}
	n := 0
	for {
		stale, err := wecomdb.New(s.db.Pool).StaleSeals(ctx, s.sealer.CurrentKey())
		if err != nil {
			return n, err
		}
		if len(stale) == 0 {
			return n, nil
		}
		for _, t := range stale {
			err := s.db.InTenantTx(ctx, t, func(tx pgx.Tx) error {
				q := wecomdb.New(tx)
				sec, err := s.secretsTx(ctx, q, t, true)
				if err != nil {
					return err
				}
				return q.UpdateSeals(ctx, wecomdb.UpdateSealsParams{TenantID: t,
					AgentSecret:    s.seal(t, colAgentSecret, sec.AgentSecret),
					ContactSecret:  s.seal(t, colContactSecret, sec.ContactSecret),
					CallbackToken:  s.seal(t, colToken, sec.CallbackToken),
					EncodingAesKey: s.seal(t, colAESKey, sec.EncodingAESKey),
					SealKey:        s.sealer.CurrentKey()})
			})
			if err != nil {
				// A value no configured key opens cannot be rewrapped; the next run tries again, the
				// others go on.
				return n, fmt.Errorf("wecom: rewrap tenant %s: %w", t, err)
			}
			n++
		}
	}
}
