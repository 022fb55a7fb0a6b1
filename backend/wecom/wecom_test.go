package wecom_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/platform/sealed"
	"github.com/salesapp/scrm/backend/wecom"
	"github.com/salesapp/scrm/backend/wecom/wecomtest"
)

const (
	corpID = "wx5823bf96d3bd56c7"
	token  = "QDG6eK"
	aesKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
)

var addKind = wecom.Kind{MsgType: "event", Event: "change_external_contact", ChangeType: "add_external_contact"}

func sealer(t *testing.T, ids ...string) *sealed.Sealer {
	t.Helper()
	var keys []sealed.Key
	for _, id := range ids {
		keys = append(keys, sealed.Key{ID: id, Secret: bytes.Repeat([]byte(id[len(id)-1:]), 32)})
	}
	s, err := sealed.New(keys)
	require.NoError(t, err)
	return s
}

type env struct {
	db     *pgtest.DB
	tenant pgtest.Tenant
	queue  *jobs.Queue
	svc    *wecom.Service
	srv    *httptest.Server
	sender *wecomtest.CallbackSender
}

// setup builds the service for a new tenant configured with the official sample's keys, its route on a
// test server, and a sender. start runs the dispatcher.
func setup(t *testing.T, handlers wecom.Handlers, opts wecom.Options, start bool) *env {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	e := &env{db: db, tenant: db.NewTenant(t, "acme")}
	// pgtest's tenants are on standard, which lacks WeCom: the dispatcher would keep their events unprocessed.
	_, err := db.Super.Exec(ctx, "UPDATE tenants SET plan = 'professional' WHERE id = $1", e.tenant.ID)
	require.NoError(t, err)
	e.queue, err = jobs.New(db.App.Pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	e.svc = wecom.NewService(db.App, sealer(t, "k1"), e.queue, "https://crm.example.com", handlers, opts)
	if start {
		river.AddWorker(e.queue.Workers(), e.svc.DispatchWorker())
		require.NoError(t, e.queue.Start(ctx))
		t.Cleanup(func() { _ = e.queue.Stop(context.Background()) })
	}
	_, err = e.svc.SetConfig(ctx, e.tenant.Admin, wecom.ConfigInput{CorpID: corpID, AgentID: 1000002,
		AgentSecret: "agent-secret", ContactSecret: "contact-secret", CallbackToken: token, EncodingAESKey: aesKey})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle(wecom.CallbackPattern, e.svc.Callback())
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.sender = &wecomtest.CallbackSender{URL: e.srv.URL + "/wecom/" + e.tenant.ID.String() + "/callback",
		CorpID: corpID, Token: token, EncodingAESKey: aesKey, Timeout: 5 * time.Second, RetryInterval: time.Millisecond}
	return e
}

func (e *env) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, e.db.Super.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// stored counts the events stored and the events the dispatcher's jobs carry.
func (e *env) stored(t *testing.T) (events, queued int) {
	return e.count(t, "SELECT count(*) FROM wecom_events"),
		e.count(t, "SELECT count(*) FROM river_job, jsonb_array_elements(args->'event_ids') WHERE kind = 'wecom_event'")
}

func TestConfigSecretsSealedMaskedAndKept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, nil, wecom.Options{}, false)
	c, err := e.svc.GetConfig(ctx, e.tenant.Admin)
	require.NoError(t, err)
	require.True(t, c.Configured)
	require.Equal(t, corpID, c.CorpID)
	require.Equal(t, int64(1000002), c.AgentID)
	require.True(t, c.AgentSecretSet && c.ContactSecretSet && c.TokenSet && c.AESKeySet)
	require.Equal(t, "https://crm.example.com/wecom/"+e.tenant.ID.String()+"/callback", c.CallbackURL)

	var raw string
	require.NoError(t, e.db.Super.QueryRow(ctx, "SELECT agent_secret || callback_token || encoding_aes_key FROM wecom_configs").Scan(&raw))
	require.True(t, strings.HasPrefix(raw, "v1:k1:"))
	for _, secret := range []string{"agent-secret", token, aesKey} {
		require.NotContains(t, raw, secret, "secrets are sealed at rest")
	}

	// Blank secrets keep the stored ones; a new one replaces its own.
	_, err = e.svc.SetConfig(ctx, e.tenant.Admin, wecom.ConfigInput{CorpID: "ww0000000000000001", AgentID: 7, AgentSecret: "new-agent"})
	require.NoError(t, err)
	require.NoError(t, e.db.App.InTenantTx(ctx, e.tenant.ID, func(tx pgx.Tx) error {
		sec, err := e.svc.SecretsTx(ctx, tx, e.tenant.ID)
		require.NoError(t, err)
		require.Equal(t, wecom.Secrets{CorpID: "ww0000000000000001", AgentID: 7, AgentSecret: "new-agent",
			ContactSecret: "contact-secret", CallbackToken: token, EncodingAESKey: aesKey}, sec)
		return nil
	}))

	// Each change is in the audit log, naming the secrets changed, never their values.
	var entries []string
	rows, err := e.db.Super.Query(ctx, "SELECT coalesce(before::text, '') || ' ' || coalesce(after::text, '') FROM audit_log WHERE action = 'wecom.configure' ORDER BY at")
	require.NoError(t, err)
	entries, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Len(t, entries, 2)
	require.Contains(t, entries[0], `"secrets_changed": ["agent_secret", "contact_secret", "callback_token", "encoding_aes_key"]`)
	require.Contains(t, entries[1], `"secrets_changed": ["agent_secret"]`)
	require.Contains(t, entries[1], `"corp_id": "`+corpID+`"`, "before")
	for _, secret := range []string{"agent-secret", "new-agent", token, aesKey} {
		require.NotContains(t, strings.Join(entries, " "), secret)
	}

	// Admins only.
	sales := e.db.NewEmployee(t, e.tenant.ID, authn.RoleSales, uuid.Nil)
	_, err = e.svc.GetConfig(ctx, sales)
	require.Equal(t, platform.KindPermissionDenied, platform.KindOf(err))
	_, err = e.svc.SetConfig(ctx, sales, wecom.ConfigInput{CorpID: corpID, AgentID: 1})
	require.Equal(t, platform.KindPermissionDenied, platform.KindOf(err))
	_, err = e.svc.SetConfig(ctx, e.tenant.Admin, wecom.ConfigInput{CorpID: corpID, AgentID: 1, EncodingAESKey: "short"})
	require.Equal(t, platform.KindInvalid, platform.KindOf(err))

	// Another tenant has none.
	other := e.db.NewTenant(t, "other")
	c, err = e.svc.GetConfig(ctx, other.Admin)
	require.NoError(t, err)
	require.False(t, c.Configured)
	require.False(t, c.AgentSecretSet)

	// Without SALESD_SECRET_KEYS the bridge is off.
	off := wecom.NewService(e.db.App, nil, e.queue, "https://x", nil, wecom.Options{})
	_, err = off.SetConfig(ctx, e.tenant.Admin, wecom.ConfigInput{CorpID: corpID, AgentID: 1})
	require.Equal(t, platform.KindFailedPrecondition, platform.KindOf(err))
}

func TestRewrapUnderTheNewKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, nil, wecom.Options{}, false)
	second := e.db.NewTenant(t, "second")
	_, err := e.svc.SetConfig(ctx, second.Admin, wecom.ConfigInput{CorpID: "ww2", AgentID: 2, AgentSecret: "s2"})
	require.NoError(t, err)

	rotated := wecom.NewService(e.db.App, sealer(t, "k2", "k1"), e.queue, "https://x", nil, wecom.Options{})
	n, err := rotated.Rewrap(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, 0, e.count(t, "SELECT count(*) FROM wecom_configs WHERE seal_key <> 'k2' OR agent_secret NOT LIKE 'v1:k2:%'"))
	n, err = rotated.Rewrap(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "nothing left under k1")

	// k1 can go: everything opens with k2 alone.
	onlyNew := wecom.NewService(e.db.App, sealer(t, "k2"), e.queue, "https://x", nil, wecom.Options{})
	require.NoError(t, e.db.App.InTenantTx(ctx, e.tenant.ID, func(tx pgx.Tx) error {
		sec, err := onlyNew.SecretsTx(ctx, tx, e.tenant.ID)
		require.NoError(t, err)
		require.Equal(t, aesKey, sec.EncodingAESKey)
		return nil
	}))
}

func TestVerifyURL(t *testing.T) {
	t.Parallel()
	e := setup(t, nil, wecom.Options{}, false)
	status, body, err := e.sender.VerifyURL(context.Background(), "1616140317555161061")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "1616140317555161061", body)

	bad := *e.sender
	bad.Token = "wrong"
	status, _, err = bad.VerifyURL(context.Background(), "x")
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, status)
}

func TestRefusalsStoreNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, nil, wecom.Options{MaxBody: 4 << 10}, false)
	msg := wecomtest.ExternalContactEvent(corpID, "add_external_contact", "zhangsan", "wmX", 1700000000, "", "")

	post := func(s *wecomtest.CallbackSender, mutate func(q map[string][]string, body []byte) []byte) int {
		t.Helper()
		q, body, err := s.Seal(msg)
		require.NoError(t, err)
		if mutate != nil {
			body = mutate(q, body)
		}
		status, _, err := s.PostRaw(ctx, q, body)
		require.NoError(t, err)
		return status
	}
	tamper := func(q map[string][]string, body []byte) []byte {
		sig := []byte(q["msg_signature"][0])
		sig[0] ^= 1
		q["msg_signature"] = []string{string(sig)}
		return body
	}
	require.Equal(t, http.StatusForbidden, post(e.sender, tamper), "tampered signature")

	otherCorp := *e.sender
	otherCorp.CorpID = "wwSomeoneElse"
	require.Equal(t, http.StatusForbidden, post(&otherCorp, nil), "another corp's message")

	require.Equal(t, http.StatusRequestEntityTooLarge, post(e.sender, func(_ map[string][]string, body []byte) []byte {
		return append(body, bytes.Repeat([]byte(" "), 5<<10)...)
	}), "oversized body")

	require.Equal(t, http.StatusBadRequest, post(e.sender, func(_ map[string][]string, body []byte) []byte {
		return append([]byte(`<!DOCTYPE xml [<!ENTITY e "x">]>`), body...)
	}), "a DOCTYPE around the envelope")

	// A DOCTYPE inside the encrypted message, correctly signed.
	for _, evil := range []string{
		`<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><MsgType>text</MsgType><MsgId>&x;</MsgId></xml>`,
		`<!DOCTYPE xml><xml><MsgType>text</MsgType><MsgId>1</MsgId></xml>`,
	} {
		q, body, err := e.sender.Seal([]byte(evil))
		require.NoError(t, err)
		status, _, err := e.sender.PostRaw(ctx, q, body)
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, status, evil)
	}

	// Bad padding: a ciphertext whose last block decrypts to garbage, signed correctly.
	require.Equal(t, http.StatusBadRequest, post(e.sender, func(q map[string][]string, _ []byte) []byte {
		return resign(t, q, strings.Repeat("A", 64)) // 48 bytes: not whole 32-byte blocks
	}), "truncated ciphertext")
	require.Equal(t, http.StatusBadRequest, post(e.sender, func(q map[string][]string, _ []byte) []byte {
		return resign(t, q, strings.Repeat("A", 86)+"==") // 64 zero bytes decrypt to a bad pad
	}), "bad padding")

	// No such tenant, no configuration, not a tenant id.
	for _, u := range []string{
		e.srv.URL + "/wecom/" + uuid.NewString() + "/callback",
		e.srv.URL + "/wecom/" + e.db.NewTenant(t, "unconfigured").ID.String() + "/callback",
		e.srv.URL + "/wecom/acme/callback",
	} {
		s := *e.sender
		s.URL = u
		require.Equal(t, http.StatusNotFound, post(&s, nil), u)
	}

	events, queued := e.stored(t)
	require.Zero(t, events, "a refused callback stores nothing")
	require.Zero(t, queued)

	// The same message, untampered, is stored with its job.
	require.Equal(t, http.StatusOK, post(e.sender, nil))
	events, queued = e.stored(t)
	require.Equal(t, 1, events)
	require.Equal(t, 1, queued)
}

// resign replaces the body's ciphertext with enc and signs it with the sample's token.
func resign(t *testing.T, q map[string][]string, enc string) []byte {
	t.Helper()
	s := &wecomtest.CallbackSender{CorpID: corpID, Token: token, EncodingAESKey: aesKey}
	sig := signature(s, q["timestamp"][0], q["nonce"][0], enc)
	q["msg_signature"] = []string{sig}
	return []byte("<xml><ToUserName><![CDATA[" + corpID + "]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>")
}

func TestRateLimitPerTenant(t *testing.T) {
	t.Parallel()
	e := setup(t, nil, wecom.Options{CallbackRate: 0.001, CallbackBurst: 2}, false)
	s := *e.sender
	s.Retries = -1
	msg := wecomtest.ExternalContactEvent(corpID, "add_external_contact", "u", "wm1", 1, "", "")
	for range 2 {
		_, err := s.Send(context.Background(), msg)
		require.NoError(t, err)
	}
	res, err := s.Send(context.Background(), msg)
	require.ErrorIs(t, err, wecomtest.ErrNoSuccess)
	require.Equal(t, http.StatusTooManyRequests, res.Status)
}

// WeCom resends a callback it believes lost; each resend is encrypted anew. The event is stored and
// processed once, and acknowledging does not wait for processing.
func TestResendsProcessedOnceAndAckedWhileProcessingIsSlow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var calls atomic.Int32
	release := make(chan struct{})
	handled := make(chan wecom.Event, 10)
	e := setup(t, wecom.Handlers{addKind: func(ctx context.Context, tx pgx.Tx, ev wecom.Event) error {
		calls.Add(1)
		<-release
		handled <- ev
		return nil
	}}, wecom.Options{}, true)

	msg := wecomtest.ExternalContactEvent(corpID, "add_external_contact", "zhangsan", "wmABC", 1700000000, "ch1", "WELCOME")
	for range 4 { // the first try and WeCom's three resends
		res, err := e.sender.Send(ctx, msg)
		require.NoError(t, err, "acknowledged while the handler is blocked")
		require.Equal(t, 1, res.Tries)
	}
	events, queued := e.stored(t)
	require.Equal(t, 1, events)
	require.Equal(t, 1, queued)

	close(release)
	ev := <-handled
	require.Equal(t, "zhangsan", ev.Fields["UserID"])
	require.Equal(t, "wmABC", ev.Fields["ExternalUserID"])
	require.Equal(t, "WELCOME", ev.Fields["WelcomeCode"])
	require.Equal(t, addKind, ev.Kind)
	var typed struct {
		State string `xml:"State"`
	}
	require.NoError(t, ev.Decode(&typed))
	require.Equal(t, "ch1", typed.State)

	require.Eventually(t, func() bool {
		return e.count(t, "SELECT count(*) FROM wecom_events WHERE status = 'done'") == 1
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, int32(1), calls.Load())
}

func TestUnknownKindsAreIgnored(t *testing.T) {
	t.Parallel()
	e := setup(t, wecom.Handlers{}, wecom.Options{}, true)
	_, err := e.sender.Send(context.Background(), []byte(`<xml><ToUserName>`+corpID+`</ToUserName><MsgType>text</MsgType><Content>hi</Content><MsgId>99</MsgId></xml>`))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return e.count(t, "SELECT count(*) FROM wecom_events WHERE status = 'ignored' AND dedup_key = 'msg|99'") == 1
	}, 10*time.Second, 20*time.Millisecond)
}

func work(t *testing.T, e *env, id uuid.UUID, attempt, maxAttempts int) error {
	t.Helper()
	return workGroup(t, e, []uuid.UUID{id}, attempt, maxAttempts)
}

// workGroup runs the dispatcher's job for the events ids.
func workGroup(t *testing.T, e *env, ids []uuid.UUID, attempt, maxAttempts int) error {
	t.Helper()
	job := &river.Job[wecom.DispatchArgs]{JobRow: &rivertype.JobRow{Attempt: attempt, MaxAttempts: maxAttempts},
		Args: wecom.DispatchArgs{TenantID: e.tenant.ID, EventIDs: ids}}
	return e.svc.DispatchWorker().Work(context.Background(), job)
}

// sendAdds sends n add events (external userids wm0, wm1, …) and returns their ids in order.
func sendAdds(t *testing.T, e *env, n int) []uuid.UUID {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		_, err := e.sender.Send(ctx, wecomtest.ExternalContactEvent(corpID, "add_external_contact", "u1", fmt.Sprintf("wm%d", i), int64(i), "", ""))
		require.NoError(t, err)
	}
	rows, err := e.db.Super.Query(ctx, "SELECT id FROM wecom_events ORDER BY received_at, dedup_key")
	require.NoError(t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	require.NoError(t, err)
	require.Len(t, ids, n)
	return ids
}

// A job processes a group of events; one whose handler fails loses its own writes only, the others are
// done, and River's retry of the job runs only the failed one.
func TestAFailingEventOfAGroupIsRetriedAlone(t *testing.T) {
	t.Parallel()
	var broken atomic.Bool
	broken.Store(true)
	var mu sync.Mutex
	ran := map[string]int{}
	e := setup(t, wecom.Handlers{addKind: func(ctx context.Context, tx pgx.Tx, ev wecom.Event) error {
		if _, err := tx.Exec(ctx, "UPDATE wecom_configs SET agent_id = agent_id + 1"); err != nil {
			return err
		}
		mu.Lock()
		ran[ev.Fields["ExternalUserID"]]++
		mu.Unlock()
		if ev.Fields["ExternalUserID"] == "wm1" && broken.Load() {
			// A failed statement too: the savepoint must leave the transaction usable for the next event.
			_, err := tx.Exec(ctx, "SELECT 1/0")
			return err
		}
		return nil
	}}, wecom.Options{MaxAttempts: 3}, false)
	ids := sendAdds(t, e, 3)
	err := workGroup(t, e, ids, 1, 3)
	require.ErrorContains(t, err, "1 of 3 events failed")
	require.ErrorContains(t, err, "division by zero")
	require.Equal(t, 2, e.count(t, "SELECT count(*) FROM wecom_events WHERE status = 'done'"))
	require.Equal(t, 1, e.count(t, "SELECT count(*) FROM wecom_events WHERE status = 'pending' AND attempts = 1 AND last_error LIKE '%division by zero%'"))
	require.Equal(t, 1000002+2, e.count(t, "SELECT agent_id FROM wecom_configs"), "the failed handler's write rolled back, the others' kept")

	broken.Store(false)
	require.NoError(t, workGroup(t, e, ids, 2, 3))
	require.Equal(t, 3, e.count(t, "SELECT count(*) FROM wecom_events WHERE status = 'done'"))
	require.Equal(t, 1000002+3, e.count(t, "SELECT agent_id FROM wecom_configs"))
	require.Equal(t, map[string]int{"wm0": 1, "wm1": 2, "wm2": 1}, ran, "the retry ran only the failed event")
	require.Equal(t, 2, e.count(t, "SELECT attempts FROM wecom_events WHERE dedup_key LIKE '%wm1%'"))
}

// What a handler asks to run after the commit runs once its writes are committed, and not at all for a
// handler that failed.
func TestAfterCommitRunsForCommittedHandlersOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var e *env
	var mu sync.Mutex
	var ran []string
	e = setup(t, wecom.Handlers{addKind: func(ctx context.Context, tx pgx.Tx, ev wecom.Event) error {
		ext := ev.Fields["ExternalUserID"]
		wecom.AfterCommit(ctx, func() {
			// Committed: another connection sees the event done.
			var status string
			require.NoError(t, e.db.Super.QueryRow(context.Background(), "SELECT status FROM wecom_events WHERE id = $1", ev.ID).Scan(&status))
			mu.Lock()
			ran = append(ran, ext+":"+status)
			mu.Unlock()
		})
		if ext == "wm1" {
			return errors.New("refused")
		}
		return nil
	}}, wecom.Options{MaxAttempts: 3}, false)
	require.Error(t, workGroup(t, e, sendAdds(t, e, 3), 1, 3))
	require.Equal(t, []string{"wm0:done", "wm2:done"}, ran)
	called := false
	wecom.AfterCommit(ctx, func() { called = true })
	require.True(t, called, "outside a handler: at once")
}

// A group whose handlers take long is processed in several transactions, each event once.
func TestASlowGroupCommitsInSlices(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	e := setup(t, wecom.Handlers{addKind: func(ctx context.Context, tx pgx.Tx, ev wecom.Event) error {
		calls.Add(1)
		time.Sleep(70 * time.Millisecond) // over half a slice: two events per transaction
		return nil
	}}, wecom.Options{}, false)
	require.NoError(t, workGroup(t, e, sendAdds(t, e, 5), 1, 3))
	require.Equal(t, 5, e.count(t, "SELECT count(*) FROM wecom_events WHERE status = 'done' AND attempts = 1"))
	require.Equal(t, int32(5), calls.Load())
	// processed_at is its transaction's start: at most two events fit a slice, so at least three transactions.
	require.GreaterOrEqual(t, e.count(t, "SELECT count(DISTINCT processed_at) FROM wecom_events"), 3)
}

func TestHandlerErrorRetriedThenFailedListedAndReplayed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var broken atomic.Bool
	broken.Store(true)
	var wrote atomic.Int32
	e := setup(t, wecom.Handlers{addKind: func(ctx context.Context, tx pgx.Tx, ev wecom.Event) error {
		// A write that must roll back with a failure.
		if _, err := tx.Exec(ctx, "UPDATE wecom_configs SET agent_id = agent_id + 1"); err != nil {
			return err
		}
		wrote.Add(1)
		if broken.Load() {
			return errors.New("externalcontact/get: 60011 no privilege")
		}
		return nil
	}}, wecom.Options{MaxAttempts: 2}, false)

	_, err := e.sender.Send(ctx, wecomtest.ExternalContactEvent(corpID, "add_external_contact", "u1", "wm1", 1, "", ""))
	require.NoError(t, err)
	evs, _, err := e.svc.ListEvents(ctx, e.tenant.Admin, wecom.EventFilter{})
	require.NoError(t, err)
	require.Len(t, evs, 1)
	id := evs[0].ID
	require.Equal(t, wecom.StatusPending, evs[0].Status)
	var maxAttempts int
	require.NoError(t, e.db.Super.QueryRow(ctx, "SELECT max_attempts FROM river_job WHERE kind = 'wecom_event'").Scan(&maxAttempts))
	require.Equal(t, 2, maxAttempts)

	require.Error(t, work(t, e, id, 1, 2), "an error has River retry")
	evs, _, err = e.svc.ListEvents(ctx, e.tenant.Admin, wecom.EventFilter{Status: wecom.StatusPending})
	require.NoError(t, err)
	require.Len(t, evs, 1)
	require.Equal(t, 1, evs[0].Attempts)
	require.Contains(t, evs[0].LastError, "60011")

	require.Error(t, work(t, e, id, 2, 2))
	failed, _, err := e.svc.ListEvents(ctx, e.tenant.Admin, wecom.EventFilter{Status: wecom.StatusFailed})
	require.NoError(t, err)
	require.Len(t, failed, 1)
	require.Equal(t, 2, failed[0].Attempts)
	require.False(t, failed[0].ProcessedAt.IsZero())
	require.Equal(t, 1000002, e.count(t, "SELECT agent_id FROM wecom_configs"), "the handler's writes rolled back")

	// An admin replays it once fixed.
	sales := e.db.NewEmployee(t, e.tenant.ID, authn.RoleSales, uuid.Nil)
	require.Equal(t, platform.KindPermissionDenied, platform.KindOf(e.svc.ReplayEvent(ctx, sales, id)))
	_, _, err = e.svc.ListEvents(ctx, sales, wecom.EventFilter{})
	require.Equal(t, platform.KindPermissionDenied, platform.KindOf(err))
	require.Equal(t, platform.KindNotFound, platform.KindOf(e.svc.ReplayEvent(ctx, e.tenant.Admin, uuid.New())))
	require.NoError(t, e.svc.ReplayEvent(ctx, e.tenant.Admin, id))
	require.Equal(t, 2, e.count(t, "SELECT count(*) FROM river_job WHERE kind = 'wecom_event'"), "replay queues a job")
	broken.Store(false)
	require.NoError(t, work(t, e, id, 1, 2))
	done, _, err := e.svc.ListEvents(ctx, e.tenant.Admin, wecom.EventFilter{Status: wecom.StatusDone})
	require.NoError(t, err)
	require.Len(t, done, 1)
	require.Empty(t, done[0].LastError)
	require.Equal(t, 1000003, e.count(t, "SELECT agent_id FROM wecom_configs"))
	require.Equal(t, platform.KindFailedPrecondition, platform.KindOf(e.svc.ReplayEvent(ctx, e.tenant.Admin, id)), "only failed events replay")

	// A job run again after done does nothing.
	require.NoError(t, work(t, e, id, 1, 2))
	require.Equal(t, int32(3), wrote.Load())
}

func TestListEventsPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, nil, wecom.Options{}, false)
	for i := range 5 {
		_, err := e.sender.Send(ctx, wecomtest.ExternalContactEvent(corpID, "add_external_contact", "u", fmt.Sprintf("wm%d", i), int64(i), "", ""))
		require.NoError(t, err)
	}
	seen := map[uuid.UUID]bool{}
	tok := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		evs, next, err := e.svc.ListEvents(ctx, e.tenant.Admin, wecom.EventFilter{PageSize: 2, PageToken: tok})
		require.NoError(t, err)
		for _, ev := range evs {
			require.False(t, seen[ev.ID])
			seen[ev.ID] = true
		}
		if next == "" {
			break
		}
		tok = next
	}
	require.Len(t, seen, 5)
	_, _, err := e.svc.ListEvents(ctx, e.tenant.Admin, wecom.EventFilter{PageToken: "garbage"})
	require.Equal(t, platform.KindInvalid, platform.KindOf(err))

	other := e.db.NewTenant(t, "other")
	evs, _, err := e.svc.ListEvents(ctx, other.Admin, wecom.EventFilter{})
	require.NoError(t, err)
	require.Empty(t, evs, "another tenant sees none")
}

// Callbacks are committed in groups: many at once, resends among them sent at the same moment, are each
// acknowledged, and every distinct event is stored once with one job, whichever batch its copies fell in.
func TestConcurrentCallbacksStoredOnceEach(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, nil, wecom.Options{}, false)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 50 {
		msg := wecomtest.ExternalContactEvent(corpID, "add_external_contact", "zhangsan", fmt.Sprintf("wm%03d", i), 1700000000, "", "")
		for range 4 { // the first try and WeCom's three resends, all at once
			wg.Go(func() {
				_, err := e.sender.Send(ctx, msg)
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	events, queued := e.stored(t)
	require.Equal(t, 50, events)
	require.Equal(t, 50, queued)
}

// Another node that changes the callback keys leaves this node's opened keys stale: a callback signed
// with the new keys is still accepted (the keys are read afresh once), and one signed with keys nobody
// set is still refused with nothing stored.
func TestCallbackKeysChangedOnAnotherNode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, nil, wecom.Options{}, false)
	msg := wecomtest.ExternalContactEvent(corpID, "add_external_contact", "zhangsan", "wmOne", 1700000000, "", "")
	_, err := e.sender.Send(ctx, msg) // opens and caches the keys
	require.NoError(t, err)

	other := wecom.NewService(e.db.App, sealer(t, "k1"), e.queue, "https://crm.example.com", nil, wecom.Options{})
	const newToken, newKey = "N3wT0ken", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"
	_, err = other.SetConfig(ctx, e.tenant.Admin, wecom.ConfigInput{CorpID: corpID, AgentID: 1000002, CallbackToken: newToken, EncodingAESKey: newKey})
	require.NoError(t, err)

	rotated := *e.sender
	rotated.Token, rotated.EncodingAESKey = newToken, newKey
	_, err = rotated.Send(ctx, wecomtest.ExternalContactEvent(corpID, "add_external_contact", "zhangsan", "wmTwo", 1700000001, "", ""))
	require.NoError(t, err)
	_, err = e.sender.Send(ctx, wecomtest.ExternalContactEvent(corpID, "add_external_contact", "zhangsan", "wmThree", 1700000002, "", ""))
	require.Error(t, err, "the old keys are refused")
	events, _ := e.stored(t)
	require.Equal(t, 2, events)
}

// A tenant whose plan no longer includes WeCom still has its callbacks acknowledged and kept, but not
// processed: each is failed with the reason, and an admin replays it once the plan includes WeCom again.
func TestCallbacksAfterADowngradeAreKeptNotProcessed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var calls atomic.Int32
	e := setup(t, wecom.Handlers{addKind: func(context.Context, pgx.Tx, wecom.Event) error {
		calls.Add(1)
		return nil
	}}, wecom.Options{}, true)
	_, err := e.db.Super.Exec(ctx, "UPDATE tenants SET plan = 'standard' WHERE id = $1", e.tenant.ID)
	require.NoError(t, err)

	_, err = e.sender.Send(ctx, wecomtest.ExternalContactEvent(corpID, "add_external_contact", "zhangsan", "wmLate", 1700000000, "", ""))
	require.NoError(t, err, "acknowledged")
	var failed []wecom.Event
	require.Eventually(t, func() bool {
		failed, _, err = e.svc.ListEvents(ctx, e.tenant.Admin, wecom.EventFilter{Status: wecom.StatusFailed})
		require.NoError(t, err)
		return len(failed) == 1
	}, 10*time.Second, 20*time.Millisecond)
	require.Contains(t, failed[0].LastError, "plan does not include the WeCom bridge")
	require.Zero(t, calls.Load(), "not processed")

	_, err = e.db.Super.Exec(ctx, "UPDATE tenants SET plan = 'professional' WHERE id = $1", e.tenant.ID)
	require.NoError(t, err)
	require.NoError(t, e.svc.ReplayEvent(ctx, e.tenant.Admin, failed[0].ID))
	require.Eventually(t, func() bool {
		return e.count(t, "SELECT count(*) FROM wecom_events WHERE status = 'done'") == 1
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, int32(1), calls.Load())
}
