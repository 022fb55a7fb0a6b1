package wecomapi_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/wechat"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
	"github.com/salesapp/scrm/backend/wecom/wecomtest"
)

// logBuffer collects a client's log lines, so tests can check that nothing secret was logged.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newClient(t *testing.T, cfg wecomapi.Config) (*wecomapi.Client, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	c, err := wecomapi.New(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	require.NoError(t, err)
	return c, logs
}

// platformErr asserts err is a *platform.Error of kind and returns it.
func platformErr(t *testing.T, err error, kind platform.Kind) *platform.Error {
	t.Helper()
	var pe *platform.Error
	require.ErrorAs(t, err, &pe)
	require.Equal(t, kind, pe.Kind, "%v", err)
	return pe
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	_, err := wecomapi.New(wecomapi.Config{CorpID: "ww bad", Secret: "s"}, nil)
	assert.Equal(t, "corp_id", platformErr(t, err, platform.KindInvalid).Field)
	_, err = wecomapi.New(wecomapi.Config{CorpID: "ww01", Secret: ""}, nil)
	assert.Equal(t, "secret", platformErr(t, err, platform.KindInvalid).Field)
}

func TestTokenKeyFitsTheStoreAndSeparatesSecrets(t *testing.T) {
	t.Parallel()
	a := wecomapi.TokenKey(wecomtest.DefaultCorpID, wecomtest.AppSecret)
	b := wecomapi.TokenKey(wecomtest.DefaultCorpID, wecomtest.ContactSecret)
	assert.NotEqual(t, a, b)
	assert.True(t, strings.HasPrefix(a, "wecom:"+wecomtest.DefaultCorpID+":"))
	assert.LessOrEqual(t, len(wecomapi.TokenKey(strings.Repeat("w", 40), "x")), 64, "wechat_credentials.app_id holds 64")
	assert.NotContains(t, a, wecomtest.AppSecret)
}

// Two nodes (two clients on one database) share the token: WeCom sees one fetch.
func TestNodesShareOneTokenThroughPostgreSQL(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	srv := wecomtest.New(t)
	srv.SeedDirectory(2, 3)
	srv.SetTokenLatency(50 * time.Millisecond)
	var nodes []*wecomapi.Client
	for range 2 {
		cfg := srv.Config(wecomtest.AppSecret)
		cfg.Shared = wechat.NewStore(db.App)
		c, _ := newClient(t, cfg)
		nodes = append(nodes, c)
	}
	var wg sync.WaitGroup
	for _, c := range nodes {
		for range 3 {
			wg.Go(func() {
				_, err := c.User(t.Context(), "u00001")
				assert.NoError(t, err)
			})
		}
	}
	wg.Wait()
	assert.Equal(t, 1, srv.Calls(wecomtest.GetToken))
	assert.Equal(t, 1, srv.TokensIssued())

	// The other secret of the corp has a token of its own.
	cfg := srv.Config(wecomtest.ContactSecret)
	cfg.Shared = wechat.NewStore(db.App)
	cc, _ := newClient(t, cfg)
	_, err := cc.ExternalContactIDs(t.Context(), "u00001")
	require.NoError(t, err)
	assert.Equal(t, 2, srv.TokensIssued())
}

// An expired token (42001) is refreshed once and the call retried; both nodes then use the new one.
func TestExpiredTokenIsRefreshedOnceAndRetried(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	srv := wecomtest.New(t)
	srv.SeedDirectory(1, 1)
	node := func() *wecomapi.Client {
		cfg := srv.Config(wecomtest.AppSecret)
		cfg.Shared = wechat.NewStore(db.App)
		c, _ := newClient(t, cfg)
		return c
	}
	a, b := node(), node()
	_, err := a.User(t.Context(), "u00001")
	require.NoError(t, err)
	srv.ExpireTokens()

	_, err = a.User(t.Context(), "u00001")
	require.NoError(t, err)
	assert.Equal(t, 2, srv.Calls(wecomtest.GetToken))
	assert.Equal(t, 3, srv.Calls(wecomtest.UserGet), "one call, one refused, one retried")

	// b reads the refreshed token from the store: no fetch, no refusal.
	_, err = b.User(t.Context(), "u00001")
	require.NoError(t, err)
	assert.Equal(t, 2, srv.Calls(wecomtest.GetToken))
	assert.Equal(t, 4, srv.Calls(wecomtest.UserGet))
}

func TestStaleTokenCodesRefreshOnceWithoutLooping(t *testing.T) {
	t.Parallel()
	for _, code := range []int{wecomapi.CodeInvalidAccessToken, wecomapi.CodeAccessTokenExpired, wecomapi.CodeInvalidCredential} {
		srv := wecomtest.New(t)
		srv.SeedDirectory(1, 1)
		c, _ := newClient(t, srv.Config(wecomtest.AppSecret))
		srv.FailNext(wecomtest.UserGet, 1, code)
		_, err := c.User(t.Context(), "u00001")
		require.NoError(t, err, "errcode %d", code)
		assert.Equal(t, 2, srv.Calls(wecomtest.UserGet))

		// Refused twice: returned, not looped on.
		srv.FailNext(wecomtest.UserGet, 2, code)
		_, err = c.User(t.Context(), "u00001")
		assert.True(t, wecomapi.HasCode(err, code), "errcode %d: %v", code, err)
		assert.Equal(t, 4, srv.Calls(wecomtest.UserGet))
	}
}

func TestGetTokenErrorsSayWhatIsWrong(t *testing.T) {
	t.Parallel()
	srv := wecomtest.New(t)
	cfg := srv.Config(wecomtest.AppSecret)
	cfg.CorpID = "wwnotthiscorp"
	c, _ := newClient(t, cfg)
	err := c.CheckToken(t.Context())
	assert.Contains(t, platformErr(t, err, platform.KindFailedPrecondition).Msg, "corp ID")
	assert.True(t, wecomapi.HasCode(err, wecomapi.CodeInvalidCorpID))

	c, _ = newClient(t, srv.Config("not-the-secret"))
	err = c.CheckToken(t.Context())
	assert.Contains(t, platformErr(t, err, platform.KindFailedPrecondition).Msg, "secret")
	assert.NotContains(t, err.Error(), "not-the-secret")

	srv.FailNext(wecomtest.GetToken, 1, wecomapi.CodeInvalidSecret)
	c, _ = newClient(t, srv.Config(wecomtest.AppSecret))
	err = c.CheckToken(t.Context())
	assert.Contains(t, platformErr(t, err, platform.KindFailedPrecondition).Msg, "secret")
	require.NoError(t, c.CheckToken(t.Context()), "a failed fetch is not cached")
}

// 45009 on a read is retried once after a pause, then surfaces as ResourceExhausted with a retry time; on a
// write it is not retried.
func TestRateLimitIsResourceExhausted(t *testing.T) {
	t.Parallel()
	srv := wecomtest.New(t)
	srv.SeedDirectory(1, 1)
	srv.AddContact(wecomapi.ExternalContact{ExternalUserID: "wmA"}, wecomapi.FollowUser{UserID: "u00001"})
	c, _ := newClient(t, srv.Config(wecomtest.ContactSecret))

	srv.FailNext(wecomtest.ContactGet, 1, wecomapi.CodeFreqLimit)
	_, err := c.ExternalContact(t.Context(), "wmA", "")
	require.NoError(t, err)
	assert.Equal(t, 2, srv.Calls(wecomtest.ContactGet))

	srv.FailNext(wecomtest.ContactGet, 2, wecomapi.CodeFreqLimit)
	_, err = c.ExternalContact(t.Context(), "wmA", "")
	pe := platformErr(t, err, platform.KindResourceExhausted)
	assert.Equal(t, time.Minute, pe.RetryAfter)
	assert.True(t, wecomapi.IsRateLimited(err))
	assert.Equal(t, 4, srv.Calls(wecomtest.ContactGet), "retried at most once")

	srv.FailNext(wecomtest.AddContactWay, 1, wecomapi.CodeConcurrencyLimit)
	_, err = c.AddContactWay(t.Context(), wecomapi.ContactWay{Type: wecomapi.WaySingle, Scene: wecomapi.SceneQRCode, UserIDs: []string{"u00001"}})
	assert.Positive(t, platformErr(t, err, platform.KindResourceExhausted).RetryAfter)
	assert.Equal(t, 1, srv.Calls(wecomtest.AddContactWay), "a write is not retried")
}

// Permission refusals are never retried and say what to grant.
func TestPermissionRefusalsNameWhatToGrant(t *testing.T) {
	t.Parallel()
	srv := wecomtest.New(t)
	users := srv.SeedDirectory(1, 2)
	c, logs := newClient(t, srv.Config(wecomtest.ContactSecret))

	srv.FailNext(wecomtest.ContactBatchGet, 1, wecomapi.CodeNoPrivilege)
	_, err := c.ExternalContactsByUser(t.Context(), wecomapi.BatchRequest{UserIDs: users})
	assert.Contains(t, platformErr(t, err, platform.KindPermissionDenied).Msg, "客户联系")
	assert.True(t, wecomapi.IsPermission(err))
	assert.Equal(t, 1, srv.Calls(wecomtest.ContactBatchGet), "never retried")

	// The app lost the customer-contact permission: 48002.
	srv.SetPermissions(wecomtest.ContactSecret, 0)
	_, err = c.ExternalContactIDs(t.Context(), users[0])
	assert.Contains(t, platformErr(t, err, platform.KindPermissionDenied).Msg, "grant the app the 客户联系")
	assert.Equal(t, 1, srv.Calls(wecomtest.ContactList))

	// The customer-contact secret reading the directory: outside the visible range.
	_, err = c.Departments(t.Context(), 0)
	assert.Contains(t, platformErr(t, err, platform.KindPermissionDenied).Msg, "visible range")

	// An untrusted IP: the message names the IP to add.
	srv.SetIPTrusted(false)
	a, _ := newClient(t, srv.Config(wecomtest.AppSecret))
	_, err = a.User(t.Context(), users[0])
	pe := platformErr(t, err, platform.KindPermissionDenied)
	assert.Contains(t, pe.Msg, wecomtest.CallerIP)
	assert.Contains(t, pe.Msg, "trusted IPs")
	assert.Equal(t, 1, srv.Calls(wecomtest.UserGet))
	assert.NotContains(t, logs.String(), "fake-wecom-token")
}

func TestBusyIsRetriedOnReadsOnly(t *testing.T) {
	t.Parallel()
	srv := wecomtest.New(t)
	srv.SeedDirectory(1, 1)
	c, _ := newClient(t, srv.Config(wecomtest.AppSecret))
	srv.FailNext(wecomtest.DepartmentList, 1, wecomapi.CodeSystemBusy)
	srv.FailNextHTTP(wecomtest.DepartmentList, 1, 502)
	depts, err := c.Departments(t.Context(), 0)
	require.NoError(t, err)
	assert.Len(t, depts, 2)
	assert.Equal(t, 3, srv.Calls(wecomtest.DepartmentList))

	srv.FailNext(wecomtest.DepartmentList, 3, wecomapi.CodeSystemBusy)
	_, err = c.Departments(t.Context(), 0)
	assert.True(t, wecomapi.HasCode(err, wecomapi.CodeSystemBusy))
	assert.Equal(t, 6, srv.Calls(wecomtest.DepartmentList), "three attempts in all")

	cc, _ := newClient(t, srv.Config(wecomtest.ContactSecret))
	srv.FailNext(wecomtest.SendWelcomeMsg, 1, wecomapi.CodeSystemBusy)
	err = cc.SendWelcomeMsg(t.Context(), wecomapi.WelcomeMsg{WelcomeCode: srv.NewWelcomeCode("u00001", "wm"), Text: "hi"})
	assert.True(t, wecomapi.HasCode(err, wecomapi.CodeSystemBusy))
	assert.Equal(t, 1, srv.Calls(wecomtest.SendWelcomeMsg), "WeCom may have sent it")
}

func TestResponseSizeIsBounded(t *testing.T) {
	t.Parallel()
	srv := wecomtest.New(t)
	srv.SeedDirectory(1, 1)
	cfg := srv.Config(wecomtest.AppSecret)
	cfg.MaxResponseBytes = 64 << 10
	c, _ := newClient(t, cfg)
	srv.OversizeNext(wecomtest.DepartmentList, 1, 65<<10)
	_, err := c.Departments(t.Context(), 0)
	require.ErrorContains(t, err, "answer larger than 65536 bytes")
	assert.Equal(t, 1, srv.Calls(wecomtest.DepartmentList))

	// The default bound lets a big answer (a whole directory) through.
	d, _ := newClient(t, srv.Config(wecomtest.AppSecret))
	srv.OversizeNext(wecomtest.DepartmentList, 1, 512<<10)
	_, err = d.Departments(t.Context(), 0)
	require.NoError(t, err)
}

func TestContextEndsTheWait(t *testing.T) {
	t.Parallel()
	srv := wecomtest.New(t)
	srv.SetTokenLatency(300 * time.Millisecond)
	c, _ := newClient(t, srv.Config(wecomtest.AppSecret))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err := c.Departments(ctx, 0)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestNoSecretsInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	srv := wecomtest.New(t)
	srv.SeedDirectory(1, 1)
	c, logs := newClient(t, srv.Config(wecomtest.AppSecret))
	srv.AddSignInCode("code-abc", wecomapi.Identity{UserID: "u00001"})
	_, err := c.UserInfoByCode(t.Context(), "code-abc")
	require.NoError(t, err)
	srv.ExpireTokens()
	_, err = c.UserInfoByCode(t.Context(), "code-abc")
	require.Error(t, err)
	srv.FailNext(wecomtest.UserGet, 3, wecomapi.CodeSystemBusy)
	_, err2 := c.User(t.Context(), "u00001")
	require.Error(t, err2)
	text := err.Error() + err2.Error() + logs.String()
	for _, secret := range []string{wecomtest.AppSecret, "fake-wecom-token-", "code-abc", "forced failure"} {
		assert.NotContains(t, text, secret)
	}
	assert.Contains(t, err2.Error(), "hint 1733390000_51_fakehint-1")
}
