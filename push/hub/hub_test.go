package hub

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
)

func TestResumeReplaysMissedAlertsThenLive(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	k, token := f.newKey()
	f.store.append(k, 10, 0) // the app has these
	f.store.append(k, 50, 0) // missed while away
	epoch, _ := f.store.position(k)

	c := f.dial(token, resumeAt(epoch, 10))
	c.expectAlerts(epoch, 11, 60)

	f.store.append(k, 2, 0)
	f.hub.Notify(k)
	c.expectAlerts(epoch, 61, 62)
}

func TestResumeReplaysAcrossPages(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{MaxReplay: 1000})
	k, token := f.newKey()
	f.store.append(k, 3*pageSize+7, 0)
	epoch, _ := f.store.position(k)

	c := f.dial(token, resumeAt(epoch, 5))
	c.expectAlerts(epoch, 6, 3*pageSize+7)
	f.store.append(k, 1, 0)
	f.hub.Notify(k)
	c.expectAlerts(epoch, 3*pageSize+8, 3*pageSize+8)
}

func TestResumeAtHeadSendsNothingUntilNew(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	k, token := f.newKey()
	f.store.append(k, 5, 0)
	epoch, _ := f.store.position(k)

	c := f.dial(token, resumeAt(epoch, 5))
	f.store.append(k, 1, 0)
	f.hub.Notify(k)
	c.expectAlerts(epoch, 6, 6) // the first thing received: no reset, no replay
}

func TestResumeResets(t *testing.T) {
	t.Parallel()
	const maxReplay = 20
	tests := []struct {
		name   string
		resume func(epoch uuid.UUID) resumeMsg
	}{
		{"wrong epoch", func(uuid.UUID) resumeMsg { return resumeAt(uuid.New(), 30) }},
		{"empty epoch", func(uuid.UUID) resumeMsg { return resumeMsg{Type: "resume", Seq: 30} }},
		{"malformed epoch", func(uuid.UUID) resumeMsg { return resumeMsg{Type: "resume", Epoch: "nope", Seq: 30} }},
		{"gap too large", func(e uuid.UUID) resumeMsg { return resumeAt(e, 40-maxReplay-1) }},
		{"seq ahead of head", func(e uuid.UUID) resumeMsg { return resumeAt(e, 41) }},
		{"negative seq", func(e uuid.UUID) resumeMsg { return resumeAt(e, -1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, Config{MaxReplay: maxReplay})
			k, token := f.newKey()
			f.store.append(k, 40, 0)
			epoch, _ := f.store.position(k)

			c := f.dial(token, tt.resume(epoch))
			c.expectReset(epoch, 40)
			f.store.append(k, 1, 0)
			f.hub.Notify(k)
			c.expectAlerts(epoch, 41, 41)
		})
	}
}

func TestGapAtLimitIsReplayed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{MaxReplay: 20})
	k, token := f.newKey()
	f.store.append(k, 40, 0)
	epoch, _ := f.store.position(k)

	c := f.dial(token, resumeAt(epoch, 20))
	c.expectAlerts(epoch, 21, 40)
}

func TestStreamResetWhileConnected(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	k, token := f.newKey()
	f.store.append(k, 3, 0)
	epoch, _ := f.store.position(k)
	c := f.dial(token, resumeAt(epoch, 3))

	// A stream reset followed by more entries than the app had: seq alone would not reveal it.
	newEpoch := f.store.resetStream(k)
	f.store.append(k, 5, 0)
	f.hub.Notify(k)
	c.expectReset(newEpoch, 5)
	f.store.append(k, 1, 0)
	f.hub.Notify(k)
	c.expectAlerts(newEpoch, 6, 6)
}

func TestHoleInStoreResets(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	k, token := f.newKey()
	f.store.append(k, 30, 0)
	f.store.trim(k, 20) // retention removed 1..20
	epoch, _ := f.store.position(k)

	c := f.dial(token, resumeAt(epoch, 10))
	c.expectReset(epoch, 30)
	f.store.append(k, 1, 0)
	f.hub.Notify(k)
	c.expectAlerts(epoch, 31, 31)
}

func TestNotifyManyTimesDeliversOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	k, token := f.newKey()
	epoch, _ := f.store.position(k)
	c := f.dial(token, resumeAt(epoch, 0))

	f.store.append(k, 1, 0)
	for range 100 {
		f.hub.Notify(k)
	}
	c.expectAlerts(epoch, 1, 1)
	// Whatever the extra pokes did, the next message is the next alert.
	f.store.append(k, 1, 0)
	f.hub.Notify(k)
	c.expectAlerts(epoch, 2, 2)
}

func TestConcurrentAppendsAndNotifies(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	k, token := f.newKey()
	epoch, _ := f.store.position(k)
	c := f.dial(token, resumeAt(epoch, 0))

	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 300 {
			f.store.append(k, 1, 0)
			f.hub.Notify(k)
		}
	}()
	c.expectAlerts(epoch, 1, 300)
	<-done
}

func TestPollDeliversWithoutNotify(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{PollInterval: 20 * time.Millisecond})
	k, token := f.newKey()
	epoch, _ := f.store.position(k)
	c := f.dial(token, resumeAt(epoch, 0))

	f.store.append(k, 3, 0) // no Notify
	c.expectAlerts(epoch, 1, 3)
}

// Idle connections cost the store one Heads call per poll between them all, and no read of their own.
func TestIdleConnectionsArePolledTogether(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{PollInterval: 5 * time.Millisecond})
	var keys []Key
	for range 20 {
		k, token := f.newKey()
		epoch, _ := f.store.position(k)
		f.dial(token, resumeAt(epoch, 0))
		keys = append(keys, k)
	}
	eventually(t, func() bool { return f.store.headsKeys.Load() >= 10*20 }, "ten polls of everyone")
	heads, polls, asked := f.store.headCalls.Load(), f.store.headsCalls.Load(), f.store.headsKeys.Load()
	eventually(t, func() bool { return f.store.headsCalls.Load() >= polls+10 }, "ten more polls")
	require.Equal(t, heads, f.store.headCalls.Load(), "no connection read its head on its own")
	require.GreaterOrEqual(t, f.store.headsKeys.Load()-asked, int64(10*20), "each poll asks for every stream")

	// Only the connection behind its stream is woken, and it catches up.
	f.store.append(keys[7], 2, 0)
	eventually(t, func() bool { return f.store.headCalls.Load() > heads }, "the one behind reads")
	polls = f.store.headsCalls.Load()
	eventually(t, func() bool { return f.store.headsCalls.Load() >= polls+5 }, "five more polls")
	require.LessOrEqual(t, f.store.headCalls.Load()-heads, int64(3), "a head read or two for the alerts, not one per poll")
}

func TestStoreOutageRecovers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{PollInterval: 20 * time.Millisecond})
	k, token := f.newKey()
	f.store.append(k, 2, 0)
	epoch, _ := f.store.position(k)

	f.store.failHead.Store(true)
	c := f.dial(token, resumeAt(epoch, 0))
	calls := f.store.headCalls.Load()
	eventually(t, func() bool { return f.store.headCalls.Load() > calls+2 }, "retries while the store is down")
	f.store.failHead.Store(false)
	c.expectAlerts(epoch, 1, 2)
	require.Equal(t, 1, f.hub.Connections())

	// An outage after the resume: the poll fails too, and once the store is back it finds the app behind.
	f.store.failHead.Store(true)
	f.store.append(k, 3, 0)
	f.hub.Notify(k) // the connection's read fails; nothing is lost
	calls = f.store.headsCalls.Load()
	eventually(t, func() bool { return f.store.headsCalls.Load() > calls+2 }, "polls while the store is down")
	f.store.failHead.Store(false)
	c.expectAlerts(epoch, 3, 5)
}

func TestFanOutToSameKeyOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	k, token := f.newKey()
	other, otherToken := f.newKey()
	epoch, _ := f.store.position(k)
	otherEpoch, _ := f.store.position(other)

	a := f.dial(token, resumeAt(epoch, 0))
	b := f.dial(token, resumeAt(epoch, 0))
	o := f.dial(otherToken, resumeAt(otherEpoch, 0))

	f.store.append(k, 3, 0)
	f.hub.Notify(k)
	a.expectAlerts(epoch, 1, 3)
	b.expectAlerts(epoch, 1, 3)

	// The other salesperson's first message is their own first alert: nothing of k's came before it.
	f.store.append(other, 1, 0)
	f.hub.Notify(other)
	o.expectAlerts(otherEpoch, 1, 1)
}

func TestSlowClientCutOffOthersKeepReceiving(t *testing.T) {
	t.Parallel()
	const sendBuffer = 4
	f := newFixture(t, Config{SendBuffer: sendBuffer, PingInterval: 200 * time.Millisecond})
	k, token := f.newKey()
	epoch, _ := f.store.position(k)

	slow := f.dial(token, resumeAt(epoch, 0)) // never reads until the end
	fast := f.dial(token, resumeAt(epoch, 0))
	// Read the fast client continuously, as an app does, so that it answers pings.
	got := make(chan serverMsg, 1000)
	go func() {
		defer close(got)
		for {
			var m serverMsg
			if err := fast.ws.ReadJSON(&m); err != nil {
				return
			}
			got <- m
		}
	}()
	next := func() serverMsg {
		select {
		case m, ok := <-got:
			require.True(t, ok, "fast client disconnected")
			return m
		case <-time.After(wait):
			t.Fatal("fast client received nothing")
			return serverMsg{}
		}
	}

	const n = 100
	f.store.append(k, n, 8<<10)
	f.hub.Notify(k)
	for seq := int64(1); seq <= n; seq++ {
		m := next()
		require.Equal(t, "alert", m.Type)
		require.Equal(t, seq, m.Seq)
	}
	eventually(t, func() bool { return f.hub.Connections() == 1 }, "slow client cut off")
	f.store.append(k, 1, 0)
	f.hub.Notify(k) // returns although one client of k never read
	require.Equal(t, int64(n+1), next().Seq)

	// The slow client got at most a window of alerts before it was cut off.
	require.NoError(t, slow.ws.SetReadDeadline(time.Now().Add(wait)))
	received := 0
	for {
		var m serverMsg
		if err := slow.ws.ReadJSON(&m); err != nil {
			var ne interface{ Timeout() bool }
			require.False(t, errors.As(err, &ne) && ne.Timeout(), "slow client still connected")
			break
		}
		received++
	}
	require.LessOrEqual(t, received, sendBuffer)
}

func TestReadingClientIsNotCutOffByWindow(t *testing.T) {
	t.Parallel()
	// A window of 1 forces a pong round trip per message; an app that reads must still get everything.
	f := newFixture(t, Config{SendBuffer: 1, PingInterval: time.Second})
	k, token := f.newKey()
	epoch, _ := f.store.position(k)
	c := f.dial(token, resumeAt(epoch, 0))
	f.store.append(k, 50, 0)
	f.hub.Notify(k)
	c.expectAlerts(epoch, 1, 50)
}

func TestAuth(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	k, token := f.newKey()
	epoch, _ := f.store.position(k)

	t.Run("no token", func(t *testing.T) {
		t.Parallel()
		_, resp, err := websocket.DefaultDialer.Dial(f.url, nil)
		require.ErrorIs(t, err, websocket.ErrBadHandshake)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		_ = resp.Body.Close()
	})
	t.Run("unknown token", func(t *testing.T) {
		t.Parallel()
		_, resp, err := websocket.DefaultDialer.Dial(f.url, http.Header{"Authorization": {"Bearer nope"}})
		require.ErrorIs(t, err, websocket.ErrBadHandshake)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		_ = resp.Body.Close()
	})
	t.Run("unknown token in subprotocol", func(t *testing.T) {
		t.Parallel()
		d := websocket.Dialer{Subprotocols: []string{Subprotocol, "bearer.nope"}}
		_, resp, err := d.Dial(f.url, nil)
		require.ErrorIs(t, err, websocket.ErrBadHandshake)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		_ = resp.Body.Close()
	})
	t.Run("tokens cannot be checked", func(t *testing.T) {
		t.Parallel()
		_, resp, err := websocket.DefaultDialer.Dial(f.url, http.Header{"Authorization": {"Bearer while-the-database-is-down"}})
		require.ErrorIs(t, err, websocket.ErrBadHandshake)
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "not 401: the app must not sign out")
		require.Equal(t, "2", resp.Header.Get("Retry-After"))
		_ = resp.Body.Close()
	})
	t.Run("header", func(t *testing.T) {
		t.Parallel()
		c := f.dial(token, resumeAt(epoch, 0))
		require.Empty(t, c.ws.Subprotocol())
	})
	t.Run("subprotocol", func(t *testing.T) {
		t.Parallel()
		d := websocket.Dialer{Subprotocols: []string{Subprotocol, "bearer." + token}}
		ws, resp, err := d.Dial(f.url, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = ws.Close() })
		_ = resp.Body.Close()
		require.Equal(t, []string{Subprotocol}, resp.Header.Values("Sec-Websocket-Protocol"))
		require.Equal(t, Subprotocol, ws.Subprotocol())

		c := &client{t: t, ws: ws}
		c.send(resumeAt(epoch, 0))
		f.store.append(k, 1, 0)
		f.hub.Notify(k)
		require.Equal(t, "alert", c.next().Type)
	})
}

func TestPresence(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	k, token := f.newKey()
	epoch, _ := f.store.position(k)

	r := resumeAt(epoch, 0)
	r.DeviceID = "dev-1"
	c := f.dial(token, r)
	require.Equal(t, presenceEvent{k, "dev-1", true}, f.presence.next(t))

	c.send(map[string]any{"type": "state", "foreground": false})
	require.Equal(t, presenceEvent{k, "dev-1", false}, f.presence.next(t))
	c.send(map[string]any{"type": "ack", "seq": 0}) // ignored
	c.send(map[string]any{"type": "state", "foreground": true})
	require.Equal(t, presenceEvent{k, "dev-1", true}, f.presence.next(t))

	require.NoError(t, c.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(wait)))
	require.Equal(t, presenceEvent{k, "dev-1", false}, f.presence.next(t))
	eventually(t, func() bool { return f.hub.Connections() == 0 }, "connection removed")
}

// An app open in the foreground keeps its report alive (it is a lease), and only while it is.
func TestForegroundReportsAreRenewedWhileTheAppIsOpen(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{PresenceRenew: 5 * time.Millisecond})
	k, token := f.newKey()
	epoch, _ := f.store.position(k)
	open, closed := Device{Key: k, DeviceID: "open"}, Device{Key: k, DeviceID: "in-background"}

	r := resumeAt(epoch, 0)
	r.DeviceID = open.DeviceID
	c := f.dial(token, r)
	require.Equal(t, presenceEvent{k, open.DeviceID, true}, f.presence.next(t))
	r.DeviceID, r.Foreground = closed.DeviceID, false
	f.dial(token, r)
	require.Equal(t, presenceEvent{k, closed.DeviceID, false}, f.presence.next(t))

	eventually(t, func() bool { return f.presence.renewals(open) >= 3 }, "the open app's report is renewed")
	require.Zero(t, f.presence.renewals(closed), "a background app's is not")

	c.send(map[string]any{"type": "state", "foreground": false})
	require.Equal(t, presenceEvent{k, open.DeviceID, false}, f.presence.next(t))
	time.Sleep(20 * time.Millisecond) // a renewal that read the state before the change may still land
	n := f.presence.renewals(open)
	time.Sleep(50 * time.Millisecond)
	require.Equal(t, n, f.presence.renewals(open), "no renewals once it went to the background")
}

func TestReconnectOfSameDeviceReplacesOldConnection(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	k, token := f.newKey()
	epoch, _ := f.store.position(k)
	r := resumeAt(epoch, 0)
	r.DeviceID = "dev-1"

	old := f.dial(token, r)
	require.Equal(t, presenceEvent{k, "dev-1", true}, f.presence.next(t))
	fresh := f.dial(token, r)
	require.Equal(t, presenceEvent{k, "dev-1", true}, f.presence.next(t))
	require.Equal(t, closeReplaced, old.expectClose())
	eventually(t, func() bool { return f.hub.Connections() == 1 }, "old connection removed")

	// The old connection's end did not report the device gone: the next update is the fresh one's.
	require.NoError(t, fresh.ws.Close())
	require.Equal(t, presenceEvent{k, "dev-1", false}, f.presence.next(t))
}

func TestMaxConnsPerKeyEvictsOldest(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{MaxConnsPerKey: 2})
	k, token := f.newKey()
	epoch, _ := f.store.position(k)

	first := f.dial(token, resumeAt(epoch, 0))
	eventually(t, func() bool { return f.hub.Connections() == 1 }, "first registered")
	second := f.dial(token, resumeAt(epoch, 0))
	eventually(t, func() bool { return f.hub.Connections() == 2 }, "second registered")
	third := f.dial(token, resumeAt(epoch, 0))
	require.Equal(t, closeReplaced, first.expectClose())
	eventually(t, func() bool { return f.hub.Connections() == 2 }, "oldest removed")

	f.store.append(k, 1, 0)
	f.hub.Notify(k)
	second.expectAlerts(epoch, 1, 1)
	third.expectAlerts(epoch, 1, 1)
}

func TestProtocolViolations(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	_, token := f.newKey()

	for name, first := range map[string]any{
		"not a resume": map[string]any{"type": "state", "foreground": true},
		"not JSON":     "{",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ws, resp, err := websocket.DefaultDialer.Dial(f.url, http.Header{"Authorization": {"Bearer " + token}})
			require.NoError(t, err)
			_ = resp.Body.Close()
			t.Cleanup(func() { _ = ws.Close() })
			if s, ok := first.(string); ok {
				require.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte(s)))
			} else {
				require.NoError(t, ws.WriteJSON(first))
			}
			c := &client{t: t, ws: ws}
			require.Equal(t, websocket.ClosePolicyViolation, c.expectClose())
		})
	}
}

func TestCloseEndsConnections(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	k, token := f.newKey()
	epoch, _ := f.store.position(k)
	r := resumeAt(epoch, 0)
	r.DeviceID = "dev-1"
	c := f.dial(token, r)
	require.Equal(t, presenceEvent{k, "dev-1", true}, f.presence.next(t))

	f.hub.Close()
	require.Equal(t, 0, f.hub.Connections())
	require.Equal(t, presenceEvent{k, "dev-1", false}, f.presence.next(t))
	require.Equal(t, websocket.CloseGoingAway, c.expectClose())

	_, resp, err := websocket.DefaultDialer.Dial(f.url, http.Header{"Authorization": {"Bearer " + token}})
	require.ErrorIs(t, err, websocket.ErrBadHandshake)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	_ = resp.Body.Close()
	f.hub.Notify(k) // harmless after Close
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		header http.Header
		want   string
	}{
		{"none", http.Header{}, ""},
		{"header", http.Header{"Authorization": {"Bearer abc"}}, "abc"},
		{"header scheme case", http.Header{"Authorization": {"bearer abc"}}, "abc"},
		{"other scheme", http.Header{"Authorization": {"Basic abc"}}, ""},
		{"subprotocol", http.Header{"Sec-Websocket-Protocol": {"salesapp.v1, bearer.v4.public.x-y_z"}}, "v4.public.x-y_z"},
		{"subprotocol lines", http.Header{"Sec-Websocket-Protocol": {"salesapp.v1", "bearer.abc"}}, "abc"},
		{"subprotocol without token", http.Header{"Sec-Websocket-Protocol": {"salesapp.v1"}}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, bearerToken(&http.Request{Header: tt.header}))
		})
	}
}

// A connection lasts no longer than its session: once the session store says a session ended, the hub
// closes that session's connections (4002, or 4003 for a refusal, with the reason), in one check of every
// connection, and leaves the others, of the same salesperson too, open.
func TestConnectionsOfEndedSessionsAreClosed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{SessionCheckInterval: 10 * time.Millisecond})
	k, token := f.newKey()
	otherDevice := f.signIn(k)
	colleague, colleagueToken := f.newKey()
	epoch, head := f.store.position(k)
	cEpoch, cHead := f.store.position(colleague)
	a := f.dial(token, resumeAt(epoch, head))
	b := f.dial(otherDevice, resumeAt(epoch, head))
	c := f.dial(colleagueToken, resumeAt(cEpoch, cHead))
	// One call asks about the three sessions.
	eventually(t, func() bool { return f.sessions.most.Load() == 3 }, "the check asks about every session at once")

	f.sessions.end(f.sessionOf(token), Ending{Reason: "your session has ended: sign in again"})
	code, reason := a.expectCloseReason()
	require.Equal(t, CloseSessionEnded, code)
	require.Equal(t, "your session has ended: sign in again", reason)

	long := strings.Repeat("your enterprise's subscription expired ", 10)
	f.sessions.end(f.sessionOf(colleagueToken), Ending{Refused: true, Reason: long})
	code, reason = c.expectCloseReason()
	require.Equal(t, CloseRefused, code)
	require.Equal(t, long[:maxCloseReason], reason, "cut to what a close frame holds")

	// The salesperson's other device still streams.
	f.store.append(k, 1, 0)
	f.hub.Notify(k)
	b.expectAlerts(epoch, head+1, head+1)
}

// While sessions cannot be checked, connections stay open; they close at the first check that works.
func TestSessionCheckFailuresLeaveConnectionsOpen(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{SessionCheckInterval: 10 * time.Millisecond})
	k, token := f.newKey()
	epoch, head := f.store.position(k)
	a := f.dial(token, resumeAt(epoch, head))
	eventually(t, func() bool { return f.sessions.most.Load() == 1 }, "the session is checked")

	f.sessions.fail.Store(true)
	f.sessions.end(f.sessionOf(token), Ending{Reason: "signed out"})
	calls := f.sessions.calls.Load()
	eventually(t, func() bool { return f.sessions.calls.Load() >= calls+3 }, "checks go on while failing")
	f.store.append(k, 1, 0)
	f.hub.Notify(k)
	a.expectAlerts(epoch, head+1, head+1) // still open

	f.sessions.fail.Store(false)
	require.Equal(t, CloseSessionEnded, a.expectClose())
}

// Two sockets of one device whose resumes are read out of order: the one opened later stays, whichever
// resume the hub handles last, and the device is reported once.
func TestLateResumeOfOlderConnectionDoesNotReplaceNewer(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	k, _ := f.newKey()
	older, newer := newConn(f.hub, k, nil), newConn(f.hub, k, nil)
	for _, c := range []*conn{older, newer} {
		_, ok := f.hub.register(c)
		require.True(t, ok)
	}
	f.hub.arrive(newer, "dev-1", true)
	require.Equal(t, presenceEvent{k, "dev-1", true}, f.presence.next(t))
	f.hub.arrive(older, "dev-1", true)

	require.Error(t, older.ctx.Err(), "the older connection is told to end")
	require.Equal(t, closeReplaced, older.code)
	require.NoError(t, newer.ctx.Err(), "the newer connection stays")

	// The older one leaving does not report the device gone; the newer one leaving does.
	f.hub.unregister(older)
	f.hub.unregister(newer)
	require.Equal(t, presenceEvent{k, "dev-1", false}, f.presence.next(t))
}
