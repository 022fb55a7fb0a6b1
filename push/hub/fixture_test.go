package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
)

// wait bounds every blocking step of a test so that a bug fails it instead of hanging it; nothing is
// asserted about how long a step takes.
const wait = 10 * time.Second

// memStore is an in-memory alert store: one gap-free stream per key.
type memStore struct {
	mu        sync.Mutex
	streams   map[Key]*memStream
	headCalls atomic.Int64
	// headsCalls counts Heads calls (the hub's polls) and headsKeys the keys they asked for.
	headsCalls, headsKeys atomic.Int64
	failHead              atomic.Bool
}

type memStream struct {
	epoch  uuid.UUID
	head   int64
	frames []Frame // ascending; older entries may have been trimmed
}

func newMemStore() *memStore { return &memStore{streams: make(map[Key]*memStream)} }

func (s *memStore) stream(k Key) *memStream {
	st := s.streams[k]
	if st == nil {
		st = &memStream{epoch: uuid.New()}
		s.streams[k] = st
	}
	return st
}

// append adds n alerts to k's stream and returns the new head.
func (s *memStore) append(k Key, n int, payloadSize int) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stream(k)
	for range n {
		st.head++
		body := fmt.Sprintf(`{"n":%d,"pad":%q}`, st.head, strings.Repeat("x", payloadSize))
		st.frames = append(st.frames, Frame{Seq: st.head, Payload: json.RawMessage(body)})
	}
	return st.head
}

// position returns k's epoch and head.
func (s *memStore) position(k Key) (uuid.UUID, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stream(k)
	return st.epoch, st.head
}

// resetStream starts a new epoch with no entries.
func (s *memStore) resetStream(k Key) uuid.UUID {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stream(k)
	st.epoch, st.head, st.frames = uuid.New(), 0, nil
	return st.epoch
}

// trim removes entries up to and including seq, as retention does.
func (s *memStore) trim(k Key, seq int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stream(k)
	i := 0
	for i < len(st.frames) && st.frames[i].Seq <= seq {
		i++
	}
	st.frames = append([]Frame(nil), st.frames[i:]...)
}

func (s *memStore) Head(_ context.Context, k Key) (uuid.UUID, int64, error) {
	s.headCalls.Add(1)
	if s.failHead.Load() {
		return uuid.Nil, 0, errors.New("database down")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stream(k)
	return st.epoch, st.head, nil
}

func (s *memStore) Heads(_ context.Context, keys []Key) (map[Key]Head, error) {
	s.headsCalls.Add(1)
	s.headsKeys.Add(int64(len(keys)))
	if s.failHead.Load() {
		return nil, errors.New("database down")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[Key]Head, len(keys))
	for _, k := range keys {
		if st := s.streams[k]; st != nil {
			out[k] = Head{Epoch: st.epoch, Seq: st.head}
		}
	}
	return out, nil
}

func (s *memStore) Since(_ context.Context, k Key, after int64, limit int) ([]Frame, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Frame
	for _, f := range s.stream(k).frames {
		if f.Seq > after && len(out) < limit {
			out = append(out, f)
		}
	}
	return out, nil
}

// presenceEvent is one Presence.Set call.
type presenceEvent struct {
	Key        Key
	Device     string
	Foreground bool
}

type recordingPresence struct {
	events chan presenceEvent
	mu     sync.Mutex
	// renewed counts Renew calls per device.
	renewed map[Device]int
}

func (p *recordingPresence) Renew(_ context.Context, devices []Device) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.renewed == nil {
		p.renewed = map[Device]int{}
	}
	for _, d := range devices {
		p.renewed[d]++
	}
	return nil
}

func (p *recordingPresence) renewals(d Device) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.renewed[d]
}

func (p *recordingPresence) Set(_ context.Context, k Key, device string, foreground bool) error {
	p.events <- presenceEvent{k, device, foreground}
	return nil
}

func (p *recordingPresence) next(t *testing.T) presenceEvent {
	t.Helper()
	select {
	case ev := <-p.events:
		return ev
	case <-time.After(wait):
		t.Fatal("no presence update")
		return presenceEvent{}
	}
}

// memSessions plays the session store: every session is good until ended.
type memSessions struct {
	mu    sync.Mutex
	ended map[Session]Ending
	// calls counts Ended calls; most is the most sessions one call asked about.
	calls, most atomic.Int64
	fail        atomic.Bool
}

func (m *memSessions) Ended(_ context.Context, sessions []Session) (map[Session]Ending, error) {
	m.calls.Add(1)
	for n := int64(len(sessions)); ; {
		old := m.most.Load()
		if n <= old || m.most.CompareAndSwap(old, n) {
			break
		}
	}
	if m.fail.Load() {
		return nil, errors.New("database down")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[Session]Ending{}
	for _, s := range sessions {
		if e, ok := m.ended[s]; ok {
			out[s] = e
		}
	}
	return out, nil
}

// end ends a session.
func (m *memSessions) end(s Session, e Ending) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ended == nil {
		m.ended = map[Session]Ending{}
	}
	m.ended[s] = e
}

// fixture is a hub behind an httptest server, with an authenticator that knows the tokens it handed out
// (each of its own session).
type fixture struct {
	t        *testing.T
	store    *memStore
	hub      *Hub
	presence *recordingPresence
	sessions *memSessions
	url      string

	mu     sync.Mutex
	tokens map[string]Identity
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	f := &fixture{
		t:        t,
		store:    newMemStore(),
		presence: &recordingPresence{events: make(chan presenceEvent, 1000)},
		sessions: &memSessions{},
		tokens:   make(map[string]Identity),
	}
	auth := func(_ context.Context, token string) (Identity, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		id, ok := f.tokens[token]
		if token == "while-the-database-is-down" {
			return Identity{}, fmt.Errorf("%w: connection refused", ErrUnavailable)
		}
		if !ok {
			return Identity{}, errors.New("unknown token")
		}
		return id, nil
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.hub = New(f.store, auth, f.presence, f.sessions, cfg, log)
	srv := httptest.NewServer(f.hub)
	t.Cleanup(srv.Close)
	t.Cleanup(f.hub.Close) // runs first: every connection ends before the test's log closes
	f.url = "ws" + strings.TrimPrefix(srv.URL, "http")
	return f
}

// newKey makes a salesperson and a token for them.
func (f *fixture) newKey() (Key, string) {
	k := Key{TenantID: uuid.New(), EmployeeID: uuid.New()}
	return k, f.signIn(k)
}

// signIn makes a session of k's salesperson and returns its token.
func (f *fixture) signIn(k Key) string {
	token := "tok-" + uuid.NewString()
	f.mu.Lock()
	f.tokens[token] = Identity{Key: k, SessionID: uuid.New()}
	f.mu.Unlock()
	return token
}

// sessionOf names the session a token belongs to.
func (f *fixture) sessionOf(token string) Session {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.tokens[token]
	return Session{TenantID: id.TenantID, SessionID: id.SessionID}
}

// resumeMsg is the app's first message.
type resumeMsg struct {
	Type       string `json:"type"`
	Epoch      string `json:"epoch"`
	Seq        int64  `json:"seq"`
	DeviceID   string `json:"device_id,omitempty"`
	Foreground bool   `json:"foreground"`
}

func resumeAt(epoch uuid.UUID, seq int64) resumeMsg {
	return resumeMsg{Type: "resume", Epoch: epoch.String(), Seq: seq, Foreground: true}
}

// serverMsg is any message from the server.
type serverMsg struct {
	Type  string          `json:"type"`
	Epoch uuid.UUID       `json:"epoch"`
	Seq   int64           `json:"seq"`
	Alert json.RawMessage `json:"alert"`
}

type client struct {
	t  *testing.T
	ws *websocket.Conn
}

// dial connects with the token in the Authorization header and sends the resume.
func (f *fixture) dial(token string, r resumeMsg) *client {
	f.t.Helper()
	h := http.Header{"Authorization": {"Bearer " + token}}
	ws, resp, err := websocket.DefaultDialer.Dial(f.url, h)
	require.NoError(f.t, err)
	_ = resp.Body.Close()
	c := &client{t: f.t, ws: ws}
	f.t.Cleanup(func() { _ = ws.Close() })
	c.send(r)
	return c
}

func (c *client) send(v any) {
	c.t.Helper()
	require.NoError(c.t, c.ws.SetWriteDeadline(time.Now().Add(wait)))
	require.NoError(c.t, c.ws.WriteJSON(v))
}

// next reads the next server message.
func (c *client) next() serverMsg {
	c.t.Helper()
	require.NoError(c.t, c.ws.SetReadDeadline(time.Now().Add(wait)))
	var m serverMsg
	require.NoError(c.t, c.ws.ReadJSON(&m))
	return m
}

// expectAlerts reads alerts from..to of epoch, in order, and nothing else.
func (c *client) expectAlerts(epoch uuid.UUID, from, to int64) {
	c.t.Helper()
	for seq := from; seq <= to; seq++ {
		m := c.next()
		require.Equal(c.t, "alert", m.Type, "seq %d", seq)
		require.Equal(c.t, epoch, m.Epoch)
		require.Equal(c.t, seq, m.Seq)
		var body struct{ N int64 }
		require.NoError(c.t, json.Unmarshal(m.Alert, &body))
		require.Equal(c.t, seq, body.N, "payload belongs to its seq")
	}
}

// expectReset reads a reset to epoch at seq.
func (c *client) expectReset(epoch uuid.UUID, seq int64) {
	c.t.Helper()
	m := c.next()
	require.Equal(c.t, "reset", m.Type)
	require.Equal(c.t, epoch, m.Epoch)
	require.Equal(c.t, seq, m.Seq)
}

// expectClose reads until the connection ends and returns the close code (-1 if none came).
func (c *client) expectClose() int {
	c.t.Helper()
	code, _ := c.expectCloseReason()
	return code
}

// expectCloseReason reads until the connection ends and returns the close code (-1 if none came) and
// reason.
func (c *client) expectCloseReason() (int, string) {
	c.t.Helper()
	require.NoError(c.t, c.ws.SetReadDeadline(time.Now().Add(wait)))
	for {
		_, _, err := c.ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Text
		}
		var ne interface{ Timeout() bool }
		require.False(c.t, errors.As(err, &ne) && ne.Timeout(), "connection still open: %v", err)
		return -1, ""
	}
}

// eventually waits for cond without asserting how long it takes.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, wait, 5*time.Millisecond, msg)
}
