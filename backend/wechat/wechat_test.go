package wechat_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/testclock"
	"github.com/salesapp/scrm/backend/wechat"
	"github.com/salesapp/scrm/backend/wechat/wechattest"
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

func newClient(t *testing.T, srv *wechattest.Server) (*wechat.Client, *logBuffer) {
	t.Helper()
	return newClientWith(t, srv.Config())
}

func newClientWith(t *testing.T, cfg wechat.Config) (*wechat.Client, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return wechat.New(cfg, log), logs
}

// assertNoSecrets checks that text (an error or logs) names none of the secrets.
func assertNoSecrets(t *testing.T, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		require.NotEmpty(t, s)
		assert.NotContains(t, text, s)
	}
}

func apiCode(t *testing.T, err error) int {
	t.Helper()
	var apiErr *wechat.APIError
	require.ErrorAs(t, err, &apiErr)
	return apiErr.Code
}

func TestCode2SessionSuccess(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		unionID string
	}{
		{"with unionid", "oUnion-42"},
		{"without unionid", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := wechattest.New(t)
			want := wechat.Session{OpenID: "oOpen-42", UnionID: tc.unionID, SessionKey: "c2Vzc2lvbi1rZXk="}
			srv.AddSession("login-code-1", want)
			c, _ := newClient(t, srv)

			got, err := c.Code2Session(t.Context(), "login-code-1")
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

// WeChat documents errcode 0 on success but sends none; both must read as success.
func TestCode2SessionErrcodeZeroIsSuccess(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"errcode":0,"errmsg":"ok","openid":"oOpen-1","session_key":"a2V5"}`)
	}))
	t.Cleanup(srv.Close)
	c, _ := newClientWith(t, wechat.Config{BaseURL: srv.URL, AppID: "wx1", AppSecret: "s"})
	got, err := c.Code2Session(t.Context(), "code")
	require.NoError(t, err)
	assert.Equal(t, wechat.Session{OpenID: "oOpen-1", SessionKey: "a2V5"}, got)
}

func TestCode2SessionErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		setup       func(t *testing.T, srv *wechattest.Server)
		code        string
		kind        platform.Kind
		errcode     int
		invalidCode bool
		msg         string
	}{
		{
			name:        "invalid code",
			setup:       func(*testing.T, *wechattest.Server) {},
			code:        "never-issued",
			kind:        platform.KindUnauthenticated,
			errcode:     wechat.CodeInvalidCode,
			invalidCode: true,
			msg:         "the WeChat login code is invalid or was already used: log in again",
		},
		{
			name: "code already used",
			setup: func(t *testing.T, srv *wechattest.Server) {
				srv.AddSession("used-code", wechat.Session{OpenID: "o", SessionKey: "k"})
				_, err := wechat.New(srv.Config(), nil).Code2Session(t.Context(), "used-code")
				require.NoError(t, err)
			},
			code:        "used-code",
			kind:        platform.KindUnauthenticated,
			errcode:     wechat.CodeCodeUsed,
			invalidCode: true,
			msg:         "the WeChat login code is invalid or was already used: log in again",
		},
		{
			name: "rate limited",
			setup: func(_ *testing.T, srv *wechattest.Server) {
				srv.FailNext(wechattest.Code2Session, 1, wechat.CodeRateLimited)
			},
			code:    "any",
			kind:    platform.KindResourceExhausted,
			errcode: wechat.CodeRateLimited,
		},
		{
			name: "high-risk user",
			setup: func(_ *testing.T, srv *wechattest.Server) {
				srv.FailNext(wechattest.Code2Session, 1, wechat.CodeHighRiskUser)
			},
			code:    "any",
			kind:    platform.KindPermissionDenied,
			errcode: wechat.CodeHighRiskUser,
		},
		{
			name:    "unknown errcode",
			setup:   func(_ *testing.T, srv *wechattest.Server) { srv.FailNext(wechattest.Code2Session, 1, 61003) },
			code:    "any",
			kind:    platform.KindInternal,
			errcode: 61003,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := wechattest.New(t)
			tc.setup(t, srv)
			c, _ := newClient(t, srv)

			_, err := c.Code2Session(t.Context(), tc.code)
			require.Error(t, err)
			assert.Equal(t, tc.kind, platform.KindOf(err))
			assert.Equal(t, tc.errcode, apiCode(t, err))
			assert.Equal(t, tc.invalidCode, wechat.IsInvalidCode(err))
			if tc.msg != "" {
				var pe *platform.Error
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, tc.msg, pe.Msg)
			}
			assertNoSecrets(t, err.Error(), srv.AppSecret, tc.code)
		})
	}
}

func TestCode2SessionRetries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fail  func(srv *wechattest.Server)
		calls int
	}{
		{"system busy once", func(s *wechattest.Server) { s.FailNext(wechattest.Code2Session, 1, wechat.CodeSystemBusy) }, 2},
		{"system busy twice", func(s *wechattest.Server) { s.FailNext(wechattest.Code2Session, 2, wechat.CodeSystemBusy) }, 3},
		{"HTTP 502 once", func(s *wechattest.Server) { s.FailNextHTTP(wechattest.Code2Session, 1, http.StatusBadGateway) }, 2},
		{"HTTP 503 then busy", func(s *wechattest.Server) {
			s.FailNextHTTP(wechattest.Code2Session, 1, http.StatusServiceUnavailable)
			s.FailNext(wechattest.Code2Session, 1, wechat.CodeSystemBusy)
		}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := wechattest.New(t)
			srv.AddSession("code", wechat.Session{OpenID: "o", SessionKey: "k"})
			tc.fail(srv)
			c, _ := newClient(t, srv)

			got, err := c.Code2Session(t.Context(), "code")
			require.NoError(t, err)
			assert.Equal(t, "o", got.OpenID)
			assert.Equal(t, tc.calls, srv.Calls(wechattest.Code2Session))
		})
	}
}

func TestCode2SessionRetriesAreBounded(t *testing.T) {
	t.Parallel()
	t.Run("system busy", func(t *testing.T) {
		t.Parallel()
		srv := wechattest.New(t)
		srv.FailNext(wechattest.Code2Session, 10, wechat.CodeSystemBusy)
		c, _ := newClient(t, srv)

		_, err := c.Code2Session(t.Context(), "code")
		require.Error(t, err)
		assert.Equal(t, wechat.CodeSystemBusy, apiCode(t, err))
		assert.Equal(t, platform.KindInternal, platform.KindOf(err))
		assert.Equal(t, 3, srv.Calls(wechattest.Code2Session))
	})
	t.Run("HTTP 500", func(t *testing.T) {
		t.Parallel()
		srv := wechattest.New(t)
		srv.FailNextHTTP(wechattest.Code2Session, 10, http.StatusInternalServerError)
		c, _ := newClient(t, srv)

		_, err := c.Code2Session(t.Context(), "code")
		require.ErrorContains(t, err, "HTTP 500")
		assert.Equal(t, platform.KindInternal, platform.KindOf(err))
		assert.Equal(t, 3, srv.Calls(wechattest.Code2Session))
	})
	t.Run("HTTP 4xx is not retried", func(t *testing.T) {
		t.Parallel()
		srv := wechattest.New(t)
		srv.FailNextHTTP(wechattest.Code2Session, 10, http.StatusForbidden)
		c, _ := newClient(t, srv)

		_, err := c.Code2Session(t.Context(), "code")
		require.ErrorContains(t, err, "HTTP 403")
		assert.Equal(t, 1, srv.Calls(wechattest.Code2Session))
	})
}

// A caller that gives up while the client waits to retry gets its context's error at once, not after the
// remaining retries.
func TestRetryHonorsContext(t *testing.T) {
	t.Parallel()
	srv := wechattest.New(t)
	srv.FailNext(wechattest.Code2Session, 10, wechat.CodeSystemBusy)
	c, _ := newClient(t, srv)

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond) // less than the shortest pause
	defer cancel()
	_, err := c.Code2Session(ctx, "code")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.LessOrEqual(t, srv.Calls(wechattest.Code2Session), 1, "no retry once the caller gave up")
}

func TestEmptyCodeIsRefusedWithoutCallingWeChat(t *testing.T) {
	t.Parallel()
	srv := wechattest.New(t)
	c, _ := newClient(t, srv)

	_, err := c.Code2Session(t.Context(), "")
	assert.Equal(t, platform.KindInvalid, platform.KindOf(err))
	_, err = c.PhoneNumber(t.Context(), "")
	assert.Equal(t, platform.KindInvalid, platform.KindOf(err))
	assert.Zero(t, srv.Calls(wechattest.Code2Session)+srv.Calls(wechattest.PhoneNumber)+srv.TokenFetches())
}

func TestPhoneNumber(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		info wechattest.PhoneInfo
		want wechat.Phone
	}{
		{
			name: "countryCode as string",
			info: wechattest.PhoneInfo{PurePhoneNumber: "13800138000", CountryCode: "86"},
			want: wechat.Phone{Number: "+8613800138000", PurePhoneNumber: "13800138000", CountryCode: "86"},
		},
		{
			name: "countryCode as number",
			info: wechattest.PhoneInfo{PurePhoneNumber: "13800138000", CountryCode: "86", CountryCodeAsNumber: true},
			want: wechat.Phone{Number: "+8613800138000", PurePhoneNumber: "13800138000", CountryCode: "86"},
		},
		{
			name: "Hong Kong number",
			info: wechattest.PhoneInfo{PurePhoneNumber: "51234567", CountryCode: "852", CountryCodeAsNumber: true},
			want: wechat.Phone{Number: "+85251234567", PurePhoneNumber: "51234567", CountryCode: "852"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := wechattest.New(t)
			srv.AddPhone("phone-code", tc.info)
			c, _ := newClient(t, srv)

			got, err := c.PhoneNumber(t.Context(), "phone-code")
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, 1, srv.TokenFetches())
		})
	}
}

func TestPhoneNumberWrongWatermarkIsRefused(t *testing.T) {
	t.Parallel()
	srv := wechattest.New(t)
	srv.AddPhone("phone-code", wechattest.PhoneInfo{
		PurePhoneNumber: "13800138000", CountryCode: "86", WatermarkAppID: "wxsomeoneelse000",
	})
	c, logs := newClient(t, srv)

	got, err := c.PhoneNumber(t.Context(), "phone-code")
	require.ErrorIs(t, err, wechat.ErrWatermarkMismatch)
	assert.Equal(t, platform.KindPermissionDenied, platform.KindOf(err))
	assert.Zero(t, got)
	assertNoSecrets(t, err.Error()+logs.String(), "13800138000", "phone-code")
}

func TestPhoneNumberBadCode(t *testing.T) {
	t.Parallel()
	srv := wechattest.New(t)
	srv.AddPhone("phone-code", wechattest.PhoneInfo{PurePhoneNumber: "13800138000", CountryCode: "86"})
	c, _ := newClient(t, srv)

	_, err := c.PhoneNumber(t.Context(), "phone-code")
	require.NoError(t, err)
	_, err = c.PhoneNumber(t.Context(), "phone-code")
	require.Error(t, err)
	assert.True(t, wechat.IsInvalidCode(err))
	assert.Equal(t, wechat.CodeCodeUsed, apiCode(t, err))
	// The customer is signed in; only the phone code went stale.
	assert.Equal(t, platform.KindInvalid, platform.KindOf(err))

	_, err = c.PhoneNumber(t.Context(), "never-issued")
	assert.Equal(t, wechat.CodeInvalidCode, apiCode(t, err))
	assert.Equal(t, platform.KindInvalid, platform.KindOf(err))
}

func TestPhoneNumberRefreshesAStaleTokenOnce(t *testing.T) {
	t.Parallel()
	for _, errcode := range []int{wechat.CodeInvalidCredential, wechat.CodeAccessTokenExpired, wechat.CodeInvalidAccessToken} {
		t.Run(fmt.Sprint(errcode), func(t *testing.T) {
			t.Parallel()
			srv := wechattest.New(t)
			srv.AddPhone("phone-code", wechattest.PhoneInfo{PurePhoneNumber: "13800138000", CountryCode: "86"})
			srv.FailNext(wechattest.PhoneNumber, 1, errcode)
			c, logs := newClient(t, srv)

			got, err := c.PhoneNumber(t.Context(), "phone-code")
			require.NoError(t, err)
			assert.Equal(t, "+8613800138000", got.Number)
			assert.Equal(t, 2, srv.TokenFetches())
			assert.Equal(t, 2, srv.Calls(wechattest.PhoneNumber))
			assertNoSecrets(t, logs.String(), "fake-access-token-1", "fake-access-token-2", "13800138000", "phone-code")
		})
	}
}

func TestPhoneNumberStaleTokenTwiceFailsWithoutLooping(t *testing.T) {
	t.Parallel()
	srv := wechattest.New(t)
	srv.AddPhone("phone-code", wechattest.PhoneInfo{PurePhoneNumber: "13800138000", CountryCode: "86"})
	srv.FailNext(wechattest.PhoneNumber, 2, wechat.CodeAccessTokenExpired)
	c, _ := newClient(t, srv)

	_, err := c.PhoneNumber(t.Context(), "phone-code")
	require.Error(t, err)
	assert.Equal(t, wechat.CodeAccessTokenExpired, apiCode(t, err))
	assert.True(t, wechat.IsTokenInvalid(err))
	assert.Equal(t, platform.KindInternal, platform.KindOf(err))
	assert.Equal(t, 2, srv.TokenFetches())
	assert.Equal(t, 2, srv.Calls(wechattest.PhoneNumber))
}

func TestAccessTokenIsCachedAndRefreshedWhenWeChatExpiresIt(t *testing.T) {
	t.Parallel()
	srv := wechattest.New(t)
	for i := range 3 {
		srv.AddPhone(fmt.Sprint("code-", i), wechattest.PhoneInfo{PurePhoneNumber: "13800138000", CountryCode: "86"})
	}
	c, _ := newClient(t, srv)

	_, err := c.PhoneNumber(t.Context(), "code-0")
	require.NoError(t, err)
	_, err = c.PhoneNumber(t.Context(), "code-1")
	require.NoError(t, err)
	assert.Equal(t, 1, srv.TokenFetches(), "the second call reuses the token")

	srv.ExpireToken()
	_, err = c.PhoneNumber(t.Context(), "code-2")
	require.NoError(t, err)
	assert.Equal(t, 2, srv.TokenFetches())
	assert.Equal(t, 4, srv.Calls(wechattest.PhoneNumber))
}

func TestAccessTokenIsReplacedFiveMinutesBeforeExpiry(t *testing.T) {
	t.Parallel()
	srv := wechattest.New(t)
	for i := range 3 {
		srv.AddPhone(fmt.Sprint("code-", i), wechattest.PhoneInfo{PurePhoneNumber: "13800138000", CountryCode: "86"})
	}
	clk := testclock.New(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	cfg := srv.Config()
	cfg.Now = clk.Now
	c, _ := newClientWith(t, cfg)

	_, err := c.PhoneNumber(t.Context(), "code-0")
	require.NoError(t, err)

	clk.Advance(7200*time.Second - 5*time.Minute - time.Second)
	_, err = c.PhoneNumber(t.Context(), "code-1")
	require.NoError(t, err)
	assert.Equal(t, 1, srv.TokenFetches(), "still more than five minutes to go")

	clk.Advance(2 * time.Second)
	_, err = c.PhoneNumber(t.Context(), "code-2")
	require.NoError(t, err)
	assert.Equal(t, 2, srv.TokenFetches(), "within five minutes of expiry")
}

func TestConcurrentCallersShareOneTokenFetch(t *testing.T) {
	t.Parallel()
	srv := wechattest.New(t)
	// The fetch stays in flight while the callers arrive, so they really meet it.
	srv.SetTokenLatency(50 * time.Millisecond)
	const callers = 50
	for i := range callers {
		srv.AddPhone(fmt.Sprint("code-", i), wechattest.PhoneInfo{PurePhoneNumber: "13800138000", CountryCode: "86"})
	}
	c, _ := newClient(t, srv)

	var wg sync.WaitGroup
	var failed atomic.Int32
	start := make(chan struct{})
	for i := range callers {
		wg.Go(func() {
			<-start
			if _, err := c.PhoneNumber(t.Context(), fmt.Sprint("code-", i)); err != nil {
				t.Error(err)
				failed.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	assert.Zero(t, failed.Load())
	assert.Equal(t, 1, srv.TokenFetches())
	assert.Equal(t, callers, srv.Calls(wechattest.PhoneNumber))
}

// When WeChat refuses the token every caller holds, the burst of refusals costs one new fetch, not one each.
func TestConcurrentStaleTokenCostsOneRefetch(t *testing.T) {
	t.Parallel()
	srv := wechattest.New(t)
	const callers = 30
	for i := range callers + 1 {
		srv.AddPhone(fmt.Sprint("code-", i), wechattest.PhoneInfo{PurePhoneNumber: "13800138000", CountryCode: "86"})
	}
	c, _ := newClient(t, srv)
	_, err := c.PhoneNumber(t.Context(), fmt.Sprint("code-", callers))
	require.NoError(t, err)
	srv.ExpireToken()

	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			if _, err := c.PhoneNumber(t.Context(), fmt.Sprint("code-", i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 2, srv.TokenFetches())
}

// A caller that gives up while a token fetch is in flight does not spoil it for the others.
func TestTokenFetchOutlivesTheCallerThatStartedIt(t *testing.T) {
	t.Parallel()
	srv := wechattest.New(t)
	srv.SetTokenLatency(100 * time.Millisecond)
	srv.AddPhone("code-a", wechattest.PhoneInfo{PurePhoneNumber: "13800138000", CountryCode: "86"})
	srv.AddPhone("code-b", wechattest.PhoneInfo{PurePhoneNumber: "13800138000", CountryCode: "86"})
	c, _ := newClient(t, srv)

	impatient, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := c.PhoneNumber(impatient, "code-a")
		done <- err
	}()
	time.Sleep(10 * time.Millisecond) // let the impatient caller start the fetch
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	_, err := c.PhoneNumber(t.Context(), "code-b")
	require.NoError(t, err)
	assert.Equal(t, 1, srv.TokenFetches())
}

func TestTokenEndpointFailures(t *testing.T) {
	t.Parallel()
	t.Run("wrong appsecret", func(t *testing.T) {
		t.Parallel()
		srv := wechattest.New(t)
		cfg := srv.Config()
		cfg.AppSecret = "not-the-secret-0123456789"
		c, logs := newClientWith(t, cfg)

		_, err := c.PhoneNumber(t.Context(), "phone-code")
		require.Error(t, err)
		assert.Equal(t, wechat.CodeInvalidAppSecret, apiCode(t, err))
		assert.Equal(t, platform.KindInternal, platform.KindOf(err))
		assert.Zero(t, srv.Calls(wechattest.PhoneNumber))
		// The fake echoes the secret in errmsg, as WeChat may.
		assertNoSecrets(t, err.Error()+logs.String(), cfg.AppSecret, "phone-code")
	})
	t.Run("busy then success", func(t *testing.T) {
		t.Parallel()
		srv := wechattest.New(t)
		srv.AddPhone("phone-code", wechattest.PhoneInfo{PurePhoneNumber: "13800138000", CountryCode: "86"})
		srv.FailNext(wechattest.Token, 1, wechat.CodeSystemBusy)
		c, _ := newClient(t, srv)

		_, err := c.PhoneNumber(t.Context(), "phone-code")
		require.NoError(t, err)
		assert.Equal(t, 2, srv.TokenFetches())
	})
	t.Run("a failed fetch is not cached", func(t *testing.T) {
		t.Parallel()
		srv := wechattest.New(t)
		srv.AddPhone("phone-code", wechattest.PhoneInfo{PurePhoneNumber: "13800138000", CountryCode: "86"})
		srv.FailNext(wechattest.Token, 1, wechat.CodeIPNotAllowed)
		c, _ := newClient(t, srv)

		_, err := c.PhoneNumber(t.Context(), "phone-code")
		assert.Equal(t, wechat.CodeIPNotAllowed, apiCode(t, err))
		_, err = c.PhoneNumber(t.Context(), "phone-code")
		require.NoError(t, err)
		assert.Equal(t, 2, srv.TokenFetches())
	})
}

// Errors and logs never carry the appsecret, a code, a token, a session key or a phone number, whatever
// WeChat echoes back and however the call fails.
func TestNoSecretsInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	srv := wechattest.New(t)
	const (
		loginCode  = "login-code-0a1b2c3d"
		phoneCode  = "phone-code-4e5f6a7b"
		sessionKey = "c2Vzc2lvbi1rZXktc2VjcmV0"
		phone      = "13912345678"
	)
	srv.AddSession(loginCode, wechat.Session{OpenID: "o", SessionKey: sessionKey})
	srv.AddPhone(phoneCode, wechattest.PhoneInfo{PurePhoneNumber: phone, CountryCode: "86"})
	c, logs := newClient(t, srv)
	secrets := []string{srv.AppSecret, loginCode, phoneCode, sessionKey, phone, "fake-access-token-"}

	var errs []error
	sess, err := c.Code2Session(t.Context(), loginCode)
	require.NoError(t, err)
	_, err = c.Code2Session(t.Context(), loginCode) // used: the fake echoes the code in errmsg
	errs = append(errs, err)
	_, err = c.Code2Session(t.Context(), "unknown-"+loginCode)
	errs = append(errs, err)
	p, err := c.PhoneNumber(t.Context(), phoneCode)
	require.NoError(t, err)
	srv.FailNext(wechattest.PhoneNumber, 2, wechat.CodeInvalidCredential)
	_, err = c.PhoneNumber(t.Context(), phoneCode)
	errs = append(errs, err)
	srv.ExpireToken() // the fake echoes the refused token, then the used code
	_, err = c.PhoneNumber(t.Context(), phoneCode)
	errs = append(errs, err)
	srv.FailNext(wechattest.Code2Session, 3, wechat.CodeSystemBusy)
	_, err = c.Code2Session(t.Context(), loginCode)
	errs = append(errs, err)

	// Transport failures: *url.Error would quote the URL with the secret and the code in it.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	cfg := srv.Config()
	cfg.BaseURL = dead.URL
	deadClient, deadLogs := newClientWith(t, cfg)
	_, err = deadClient.Code2Session(t.Context(), loginCode)
	errs = append(errs, err)
	_, err = deadClient.PhoneNumber(t.Context(), phoneCode)
	errs = append(errs, err)

	for _, err := range errs {
		require.Error(t, err)
		assertNoSecrets(t, err.Error(), secrets...)
		assertNoSecrets(t, fmt.Sprintf("%+v", err), secrets...)
	}
	assertNoSecrets(t, logs.String()+deadLogs.String(), secrets...)
	assert.Contains(t, logs.String(), "wechat call failed, retrying", "the logs were looked at")

	// Printing or logging the results by mistake does not leak either.
	var printed logBuffer
	slog.New(slog.NewTextHandler(&printed, nil)).Info("oops", slog.Any("session", sess), slog.Any("phone", p))
	fmt.Fprintf(&printed, "%v %+v %s %v %+v", sess, sess, sess, p, p)
	assertNoSecrets(t, printed.String(), sessionKey, phone)
}

func TestAPIErrorKeepsOnlyTheRequestID(t *testing.T) {
	t.Parallel()
	srv := wechattest.New(t)
	c, _ := newClient(t, srv)

	_, err := c.Code2Session(t.Context(), "secret-looking-code")
	var apiErr *wechat.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, &wechat.APIError{
		API: "jscode2session", Code: wechat.CodeInvalidCode, Msg: "invalid code", RID: "6412ab3c-1c2d3e4f-5a6b7c8d",
	}, apiErr)
}

func TestOversizedAnswerIsRefused(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"openid":"o","session_key":"k","pad":"%s"}`, strings.Repeat("x", 100<<10))
	}))
	t.Cleanup(srv.Close)
	c, _ := newClientWith(t, wechat.Config{BaseURL: srv.URL, AppID: "wx1", AppSecret: "s"})
	_, err := c.Code2Session(t.Context(), "code")
	require.ErrorContains(t, err, "larger than")
}

// Our URLs carry the appsecret: a redirect must not carry it to another host.
func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	var followed atomic.Bool
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed.Store(true) }))
	t.Cleanup(elsewhere.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.RequestURI(), http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	c, _ := newClientWith(t, wechat.Config{BaseURL: srv.URL, AppID: "wx1", AppSecret: "the-secret"})

	_, err := c.Code2Session(t.Context(), "code")
	require.ErrorContains(t, err, "HTTP 302")
	assert.False(t, followed.Load())
}

func TestMalformedPhoneInfoIsRefused(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"no phone_info":      `{"errcode":0,"errmsg":"ok"}`,
		"countryCode object": `{"errcode":0,"phone_info":{"purePhoneNumber":"13800138000","countryCode":{},"watermark":{"appid":"wx1"}}}`,
		"countryCode float":  `{"errcode":0,"phone_info":{"purePhoneNumber":"13800138000","countryCode":86.5,"watermark":{"appid":"wx1"}}}`,
		"countryCode empty":  `{"errcode":0,"phone_info":{"purePhoneNumber":"13800138000","countryCode":"","watermark":{"appid":"wx1"}}}`,
		"number not digits":  `{"errcode":0,"phone_info":{"purePhoneNumber":"138-0013-8000","countryCode":"86","watermark":{"appid":"wx1"}}}`,
		"no watermark":       `{"errcode":0,"phone_info":{"purePhoneNumber":"13800138000","countryCode":"86"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/cgi-bin/token" {
					fmt.Fprint(w, `{"access_token":"tok","expires_in":7200}`)
					return
				}
				fmt.Fprint(w, body)
			}))
			t.Cleanup(srv.Close)
			c, _ := newClientWith(t, wechat.Config{BaseURL: srv.URL, AppID: "wx1", AppSecret: "s"})
			got, err := c.PhoneNumber(t.Context(), "code")
			require.Error(t, err)
			assert.Zero(t, got)
			assertNoSecrets(t, err.Error(), "13800138000", "138-0013-8000")
		})
	}
}

func TestOAuthCodeForH5Pages(t *testing.T) {
	t.Parallel()
	srv := wechattest.New(t)
	c, _ := newClient(t, srv)
	srv.AddSession("web-code", wechat.Session{OpenID: "oa-openid", UnionID: "union-9"})
	s, err := c.OAuthCode(context.Background(), "web-code")
	require.NoError(t, err)
	require.Equal(t, "oa-openid", s.OpenID)
	require.Equal(t, "union-9", s.UnionID)
	_, err = c.OAuthCode(context.Background(), "web-code")
	require.Equal(t, platform.KindUnauthenticated, platform.KindOf(err), "a code is good once")
	require.NotContains(t, err.Error(), "web-code")
	_, err = c.OAuthCode(context.Background(), "never-issued")
	require.True(t, wechat.IsInvalidCode(err))
}
