package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/platform/sealed"
	"github.com/salesapp/scrm/backend/wecom"
	"github.com/salesapp/scrm/backend/wecom/wecomtest"
)

// WeCom posts a burst of 5,000 callbacks with its retry pattern (a try that is not answered "success"
// within its timeout is resent, three times) while salesd is killed with SIGKILL and another process
// takes over at the same address: every callback is stored once, queued once and processed once, and
// none acknowledged is lost.
func TestKilledSalesdLosesNoWeComCallbackAndProcessesNoneTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	bin := buildSalesd(t)

	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	keys := "k1:" + base64.StdEncoding.EncodeToString(secret)
	sealer, err := sealed.New([]sealed.Key{{ID: "k1", Secret: secret}})
	require.NoError(t, err)
	admin := uuid.New()
	_, err = w.db.Super.Exec(ctx, `INSERT INTO employees (id, tenant_id, name, role) VALUES ($1, $2, 'Admin', 'admin')`, admin, w.tenantID)
	require.NoError(t, err)
	queue, err := jobs.New(w.db.App.Pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	const corpID, cbToken, aesKey = "wwKill0001", "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	_, err = wecom.NewService(w.db.App, sealer, queue, "http://x", nil, wecom.Options{}).SetConfig(ctx,
		authn.Principal{TenantID: w.tenantID, EmployeeID: admin, Role: authn.RoleAdmin},
		wecom.ConfigInput{CorpID: corpID, AgentID: 1000002, CallbackToken: cbToken, EncodingAESKey: aesKey})
	require.NoError(t, err)

	// WeCom keeps posting to one URL: a proxy in front of whichever salesd is alive (502 while none is).
	var target atomic.Pointer[url.URL]
	proxy := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target.Load()) },
		ErrorHandler: func(rw http.ResponseWriter, _ *http.Request, _ error) {
			rw.WriteHeader(http.StatusBadGateway)
		},
	})
	t.Cleanup(proxy.Close)
	env := []string{"SALESD_SECRET_KEYS=" + keys, "SALESD_WECOM_CALLBACK_RATE=100000", "SALESD_WECOM_CALLBACK_BURST=100000"}
	a := w.startSalesd(t, bin, env...)
	target.Store(&url.URL{Scheme: "http", Host: a.addr})

	const burst, senders = 5000, 16
	sender := &wecomtest.CallbackSender{URL: proxy.URL + "/wecom/" + w.tenantID.String() + "/callback", CorpID: corpID,
		Token: cbToken, EncodingAESKey: aesKey, Timeout: 5 * time.Second, RetryInterval: 500 * time.Millisecond}
	var acked atomic.Int64
	var lost sync.Map // index → the event whose four tries all failed (WeCom gives up on it)
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= burst {
					return
				}
				// Text messages to the app: no domain processes them, so "processed" is the dispatcher's
				// own bookkeeping and the test needs no fake WeCom API.
				msg := wecomtest.TextMessage(corpID, "sales01", 7000000000+i, fmt.Sprintf("message %d", i))
				if _, err := sender.Send(ctx, msg); err != nil {
					lost.Store(i, msg)
					continue
				}
				acked.Add(1)
			}
		}()
	}
	require.Eventually(t, func() bool { return acked.Load() >= burst/4 }, 2*time.Minute, 5*time.Millisecond)
	require.NoError(t, a.cmd.Process.Signal(syscall.SIGKILL))
	<-a.exited
	b := w.startSalesd(t, bin, env...)
	target.Store(&url.URL{Scheme: "http", Host: b.addr})
	wg.Wait()

	// What WeCom gave up on is its loss, not ours; it is counted, and sent again (as a later event would
	// be) so that the totals below are about every event.
	gaveUp := 0
	lost.Range(func(_, msg any) bool {
		gaveUp++
		_, err := sender.Send(ctx, msg.([]byte))
		require.NoError(t, err)
		return true
	})
	t.Logf("%d callbacks acknowledged during the burst, %d given up by the sender while no salesd answered", acked.Load(), gaveUp)

	count := func(sql string) int {
		var n int
		require.NoError(t, w.db.Super.QueryRow(ctx, sql, w.tenantID).Scan(&n))
		return n
	}
	require.Equal(t, burst, count(`SELECT count(*) FROM wecom_events WHERE tenant_id = $1`), "every callback stored once")
	require.Equal(t, burst, count(`SELECT count(DISTINCT xml) FROM wecom_events WHERE tenant_id = $1`))
	require.Equal(t, burst, count(`SELECT count(DISTINCT e) FROM river_job, jsonb_array_elements_text(args->'event_ids') e
		WHERE kind = 'wecom_event' AND args->>'tenant_id' = $1::text`), "every callback in a job")
	require.Equal(t, burst, count(`SELECT count(*) FROM river_job, jsonb_array_elements_text(args->'event_ids') e
		WHERE kind = 'wecom_event' AND args->>'tenant_id' = $1::text`), "in one job only, none for a resend")
	// Jobs B's dispatcher finds queued run at once; the ones A was running when it died (some of them with
	// their event already processed, A's completion of the job lost with it) run again once River deems A
	// dead, and find their event processed.
	require.Eventually(t, func() bool {
		return count(`SELECT count(*) FROM wecom_events WHERE tenant_id = $1 AND status = 'pending'`) == 0 &&
			count(`SELECT count(*) FROM river_job WHERE kind = 'wecom_event' AND state <> 'completed' AND args->>'tenant_id' = $1::text`) == 0
	}, 4*time.Minute, 100*time.Millisecond, "every callback processed and every job completed")
	require.Zero(t, count(`SELECT count(*) FROM wecom_events WHERE tenant_id = $1 AND status NOT IN ('done', 'ignored')`))
}
