package wecom

import (
	"context"
	"fmt"
	"sync"

	"github.com/google/uuid"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/wecom/internal/wecomdb"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
)

// App names which of a tenant's secrets a client speaks with: WeCom gives each its own token and its own
// permissions.
type App int

// The apps.
const (
	// AppAgent is the self-built app (sign-in, directory reads, messages): AgentSecret.
	AppAgent App = iota
	// AppContact is customer contact (客户联系: external contacts, contact ways, welcome messages, tags,
	// transfers): ContactSecret.
	AppContact
)

func (a App) String() string {
	if a == AppContact {
		return "customer contact"
	}
	return "self-built app"
}

// maxClients bounds the clients kept: two per tenant with the bridge, each holding one token.
const maxClients = 10_000

// clients keeps one wecomapi.Client per (corp id, secret), so the process reuses the token in memory and
// asks wechat.Shared (PostgreSQL) only when it expires. A changed secret makes a new key: the old client is
// never used again and falls out of the cache.
type clients struct {
	mu    sync.Mutex
	cache *lru.Cache[string, *wecomapi.Client]
}

func newClients() *clients {
	c, err := lru.New[string, *wecomapi.Client](maxClients)
	if err != nil {
		panic(err) // only for a size ≤ 0
	}
	return &clients{cache: c}
}

// ClientTx returns the WeCom API client for the tenant's app, opening its secrets inside tx.
// FailedPrecondition when the bridge is off or the tenant has not set that secret; NotFound when the tenant
// has no WeCom configuration; ErrNotInPlan when the tenant's plan does not include the bridge.
func (s *Service) ClientTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, app App) (*wecomapi.Client, error) {
	// (The dispatcher runs handlers only for tenants whose plan has the bridge: it read that with the events.)
	if _, dispatched := ctx.Value(afterCommitKey{}).(*afterCommit); !dispatched {
		in, err := wecomdb.New(tx).PlanHasWeCom(ctx, tenantID)
		if err != nil {
			return nil, err
		}
		if !in {
			return nil, ErrNotInPlan
		}
	}
	sec, err := s.SecretsTx(ctx, tx, tenantID)
	if err != nil {
		return nil, err
	}
	return s.client(sec, app)
}

// Client is ClientTx in a transaction of its own.
func (s *Service) Client(ctx context.Context, tenantID uuid.UUID, app App) (*wecomapi.Client, error) {
	var c *wecomapi.Client
	err := s.db.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		c, err = s.ClientTx(ctx, tx, tenantID, app)
		return err
	})
	return c, err
}

func (s *Service) client(sec Secrets, app App) (*wecomapi.Client, error) {
	secret := sec.AgentSecret
	if app == AppContact {
		secret = sec.ContactSecret
	}
	if secret == "" {
		return nil, platform.FailedPrecondition(fmt.Sprintf("the %s secret is not set in the WeCom configuration", app))
	}
	key := wecomapi.TokenKey(sec.CorpID, secret)
	s.clients.mu.Lock()
	defer s.clients.mu.Unlock()
	if c, ok := s.clients.cache.Get(key); ok {
		return c, nil
	}
	c, err := wecomapi.New(wecomapi.Config{BaseURL: s.opts.APIBaseURL, CorpID: sec.CorpID, Secret: secret,
		HTTPClient: s.opts.APIHTTPClient, Now: s.opts.Now, Shared: s.opts.Shared}, s.log)
	if err != nil {
		return nil, err
	}
	s.clients.cache.Add(key, c)
	return c, nil
}
