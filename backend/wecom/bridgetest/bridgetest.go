// Package bridgetest builds, for the tests of the WeCom bridge's domains, a connected bridge over a fresh
// database: a tenant whose WeCom configuration points at a fake WeCom server (wecomtest), the dispatcher's
// job queue, and a callback sender that signs and encrypts as WeCom does.
package bridgetest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/platform/sealed"
	"github.com/salesapp/scrm/backend/wechat"
	"github.com/salesapp/scrm/backend/wecom"
	"github.com/salesapp/scrm/backend/wecom/wecomtest"
)

// The callback token and key the tenant is configured with.
const (
	Token  = "QDG6eK"
	AESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
)

// Bridge is a tenant connected to a fake WeCom.
type Bridge struct {
	DB     *pgtest.DB
	Tenant pgtest.Tenant
	Fake   *wecomtest.Server
	WeCom  *wecom.Service
	Queue  *jobs.Queue
	Sender *wecomtest.CallbackSender
}

// New builds the bridge for a new tenant, its fake WeCom filled by fill (nil: empty). register registers
// the domain's handlers and workers on the bridge before the tenant connects (so a job queued on connect
// finds its worker); the dispatcher's worker is added here. The queue runs when run is set (a benchmark may
// drive the work by itself).
func New(t testing.TB, fill func(*wecomtest.Server), register func(b *Bridge), run bool) *Bridge {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	b := &Bridge{DB: db, Tenant: db.NewTenant(t, "acme"), Fake: wecomtest.New(t)}
	// pgtest's tenants are on standard, which lacks WeCom: the dispatcher would keep their events unprocessed.
	_, err := db.Super.Exec(ctx, "UPDATE tenants SET plan = 'professional' WHERE id = $1", b.Tenant.ID)
	require.NoError(t, err)
	if fill != nil {
		fill(b.Fake)
	}
	queue, err := jobs.New(db.App.Pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	b.Queue = queue
	s, err := sealed.New([]sealed.Key{{ID: "k1", Secret: bytes.Repeat([]byte("k"), 32)}})
	require.NoError(t, err)
	b.WeCom = wecom.NewService(db.App, s, queue, "https://crm.example.com", nil,
		wecom.Options{APIBaseURL: b.Fake.URL, Shared: wechat.NewStore(db.App)})
	river.AddWorker(queue.Workers(), b.WeCom.DispatchWorker())
	if register != nil {
		register(b)
	}
	if run {
		require.NoError(t, queue.Start(ctx))
		t.Cleanup(func() { _ = queue.Stop(context.Background()) })
	}
	_, err = b.WeCom.SetConfig(ctx, b.Tenant.Admin, wecom.ConfigInput{CorpID: b.Fake.CorpID, AgentID: b.Fake.AgentID,
		AgentSecret: wecomtest.AppSecret, ContactSecret: wecomtest.ContactSecret, CallbackToken: Token, EncodingAESKey: AESKey})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle(wecom.CallbackPattern, b.WeCom.Callback())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	b.Sender = &wecomtest.CallbackSender{URL: srv.URL + "/wecom/" + b.Tenant.ID.String() + "/callback",
		CorpID: b.Fake.CorpID, Token: Token, EncodingAESKey: AESKey, Timeout: 5 * time.Second, RetryInterval: time.Millisecond}
	return b
}
