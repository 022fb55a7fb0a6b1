// Package hub is the WebSocket endpoint through which a salesperson's app, while in the foreground, receives
// their alert stream live: in order, without gaps or duplicates, across reconnects.
//
// The hub never invents alerts. The alert store (PostgreSQL) is the source of truth and delivery is "pull on
// poke": [Hub.Notify] only wakes the connections of one salesperson, and each connection then reads from the
// store everything after the last seq it sent and writes it in order. A lost poke costs delay, not data,
// because every [Config.PollInterval] the hub reads the heads of all its connections' streams at once
// ([Store.Heads], one query however many connections) and pokes each connection that is behind its
// stream's head. Nothing about a connection's backlog is queued in memory: a poke is one bit, the backlog
// stays in the store.
//
// # Protocol (version salesapp.v1)
//
// Authentication happens before the upgrade. The app sends its bearer token either in the
// "Authorization: Bearer <token>" header, or, where it cannot set headers (browsers, mini-programs), as the
// subprotocol pair "Sec-WebSocket-Protocol: salesapp.v1, bearer.<token>"; the server then selects
// "salesapp.v1" and never echoes the token. A missing or rejected token gets HTTP 401 and no upgrade; when
// tokens cannot be checked (the database is unreachable) the answer is 503 with Retry-After, and the app
// reconnects later without signing out.
// Origins are not checked: tokens, not cookies, authenticate, so a page on a foreign origin cannot borrow a
// user's session (the cross-site WebSocket hijacking that origin checks prevent needs ambient cookies), and
// native apps and mini-programs send origins that cannot be listed in advance.
//
// Every message is a JSON text frame. The app's first message must be
//
//	{"type":"resume","epoch":"<uuid or empty>","seq":<last seq the app has>,"device_id":"...","foreground":true}
//
// ("foreground" defaults to true when absent: the app keeps the socket open only in the foreground). The
// server reads the stream's head (epoch E, seq HEAD). If the app's epoch is empty or differs from E, or its
// seq is negative, ahead of HEAD, or more than [Config.MaxReplay] behind it, the server sends
//
//	{"type":"reset","epoch":"E","seq":HEAD}
//
// and streams from HEAD on; the app refetches its alert list through the RPC API. Otherwise the server
// replays everything after the app's seq. Either way it then streams live alerts:
//
//	{"type":"alert","epoch":"E","seq":N,"alert":<the alert as JSON>}
//
// with N = 1 + the previous N (or + the resume/reset seq): no gap and no duplicate within a connection. The
// server sends a reset at any later time if the stream's epoch changes or the store shows a hole (entries
// removed by retention); the app treats it exactly as a reset in answer to its resume.
//
// After the resume the app may send {"type":"state","foreground":false|true} when it goes to the background
// or returns; the hub reports it to [Presence] so that the push worker skips APNs/FCM while the app is open.
// {"type":"ack","seq":N} is accepted and ignored: the app's own last seq, sent in its next resume, is the
// only acknowledgement the protocol needs; so is a second resume (reconnect instead). Unknown message
// types are ignored so that apps can be newer
// than servers; a malformed message or a first message that is not a resume closes the connection (1008).
//
// The server pings every [Config.PingInterval]; an app that answers neither pings nor with messages for
// twice that is disconnected. Ping payloads carry a counter that the app's pong must echo (RFC 6455 requires
// it and every WebSocket client does it): a pong proves that the app has read everything written before
// that ping, so at most [Config.SendBuffer] messages are ever in flight to one app. An app that shows no
// progress for a ping interval while that window is full is cut off (4001). Each connection has its own
// writer goroutine, so a slow or dead app never delays another connection or [Hub.Notify].
//
// A connection lives no longer than the sign-in (session) whose token opened it. Every
// [Config.SessionCheckInterval] the hub asks [Sessions] which of its connections' sessions have ended (one
// call for all of them) and closes those connections: a sign-out, a revoked session, a disabled employee or
// an expired enterprise closes the app's socket within that interval plus one call, on every node, whatever
// route ended the session.
//
// Close codes: 1001 the server is shutting down (reconnect elsewhere); 1008 protocol violation (do not
// retry unchanged); 4000 replaced by a newer connection of the same device, or by a connection that
// exceeded [Config.MaxConnsPerKey] for the salesperson (do not reconnect automatically); 4001 too slow;
// 4002 the session ended (signed out here or elsewhere, revoked, expired): refreshing will not help, sign in
// again; 4003 the employee was disabled or the enterprise's subscription expired: the close reason says
// which, for the app to show, and signing in again will not help until an administrator acts.
// When the alert store is unavailable the connection stays open and retries; it does not close; when
// sessions cannot be checked, connections stay open until they can.
package hub

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
)

// Subprotocol is the WebSocket subprotocol the server selects when the app offers it.
const Subprotocol = "salesapp.v1"

// bearerPrefix marks the subprotocol that carries the token for clients that cannot set headers.
const bearerPrefix = "bearer."

// Close codes in the private range (4000–4999) that the app needs to tell apart from network failures.
const (
	closeReplaced = 4000
	closeTooSlow  = 4001
	// CloseSessionEnded: the session ended; the app signs in again.
	CloseSessionEnded = 4002
	// CloseRefused: the employee or their enterprise may not use the app now; the reason says why.
	CloseRefused = 4003
)

// maxCloseReason is the most a close frame's reason may hold (125-byte control payload, less the code).
const maxCloseReason = 123

const (
	// pageSize bounds what one store read brings into memory per connection.
	pageSize = 200
	// maxClientMessage bounds what an app can make the server buffer; its messages are a few hundred bytes.
	maxClientMessage = 4096
	// maxDeviceID keeps a client from storing arbitrary data in presence.
	maxDeviceID = 128
	// storeTimeout keeps a stuck database from freezing a connection forever.
	storeTimeout = 10 * time.Second
	// presenceTimeout bounds how long a presence update can hold a reader (and its pong handling).
	presenceTimeout = 5 * time.Second
	// closeWait bounds the write of a close frame to an app that may not be reading.
	closeWait = time.Second
	// closeGrace is how long Close lets connections say goodbye before cutting their sockets.
	closeGrace = 3 * time.Second
)

// Key names one salesperson's stream.
type Key struct{ TenantID, EmployeeID uuid.UUID }

// Frame is one alert as the app receives it; Payload is the alert as JSON (opaque to the hub).
type Frame struct {
	Seq     int64
	Payload json.RawMessage
}

// Store is the alert store the hub reads (implemented elsewhere over PostgreSQL).
//
// Head returns the stream's epoch and last seq; for a salesperson without alerts it may return any fixed
// epoch (uuid.Nil included) and seq 0. Since returns up to limit entries with seq > afterSeq in ascending
// order. An entry must be visible to Since once Head reports its seq (both are written in one transaction);
// if it is not, the hub waits for the next poke or poll rather than skipping it.
//
// Heads returns the heads of many streams at once, for the poll; a stream it does not know may be left
// out (its connections are then left alone until the next poke).
type Store interface {
	Head(ctx context.Context, k Key) (epoch uuid.UUID, seq int64, err error)
	Since(ctx context.Context, k Key, afterSeq int64, limit int) ([]Frame, error)
	Heads(ctx context.Context, keys []Key) (map[Key]Head, error)
}

// Head is a stream's position: its epoch and last seq.
type Head struct {
	Epoch uuid.UUID
	Seq   int64
}

// Authenticator turns the token the app sends into the salesperson and their session (implemented
// elsewhere). An error answers 401, which tells the app to refresh its token or sign in again, unless it
// wraps ErrUnavailable; it is logged at debug level, so it must not contain the token.
type Authenticator func(ctx context.Context, bearerToken string) (Identity, error)

// Identity is who a connection belongs to: the salesperson's stream, and the sign-in its token belongs
// to, which [Sessions] re-checks while the connection lasts.
type Identity struct {
	Key
	// SessionID names the session; uuid.Nil is never re-checked.
	SessionID uuid.UUID
}

// Session names a session of a tenant.
type Session struct{ TenantID, SessionID uuid.UUID }

// Sessions says which sessions have ended (implemented elsewhere over PostgreSQL, may be nil). Ended is
// called every [Config.SessionCheckInterval] with every session that has a connection on this hub, in one
// call, and returns those that ended and why; it must read the truth (no cache older than a moment), since
// its answer decides how soon a signed-out app stops receiving alerts. An error leaves every connection
// open until the next check.
type Sessions interface {
	Ended(ctx context.Context, sessions []Session) (map[Session]Ending, error)
}

// Ending is why a session ended.
type Ending struct {
	// Refused is true when the employee was disabled or the enterprise expired (close 4003), false when the
	// session itself ended (4002).
	Refused bool
	// Reason is shown to the person; it is cut to what a close frame holds.
	Reason string
}

// ErrUnavailable, wrapped in an Authenticator's error, says the token could not be checked (the
// database is unreachable): the app gets 503 with Retry-After and reconnects later, still signed in.
var ErrUnavailable = errors.New("hub: cannot check tokens now")

// Presence is told when an app connects, disconnects or reports foreground/background, so that the push
// worker can skip APNs/FCM while the app is open (implemented elsewhere, may be nil).
//
// For one salesperson the hub makes these calls one at a time and in the order the events happened, and it
// reports a device as gone only when no other connection to this hub has that device; a connection that
// sends no device_id is not reported.
//
// A foreground report is a lease that ends unless renewed, so that a node that dies without saying "gone"
// cannot keep a device's pushes suppressed for good: Renew extends the lease of devices still open in the
// foreground here, every [Config.PresenceRenew], all of this hub's in one call. It must leave alone a
// device no longer recorded as in the foreground (a "gone" or "background" that overtook the renewal).
type Presence interface {
	Set(ctx context.Context, k Key, deviceID string, foreground bool) error
	Renew(ctx context.Context, devices []Device) error
}

// Device is one app install of a salesperson.
type Device struct {
	Key      Key
	DeviceID string
}

// Config tunes the hub; a zero field takes its default.
type Config struct {
	// MaxReplay is the largest gap replayed on resume; beyond it the client gets a reset (default 500).
	MaxReplay int
	// PingInterval is how often the server pings (default 20s). An app silent for twice this is dropped,
	// and one that cannot take a write, or shows no progress with a full SendBuffer, for this long is cut off.
	PingInterval time.Duration
	// SendBuffer is how many messages may be in flight to one app, unconfirmed by its pongs, before the hub
	// stops writing to it; an app that makes no progress then is cut off (default 256).
	SendBuffer int
	// PollInterval is the fallback: this often, even without pokes, the hub reads the heads of every
	// connected stream in one [Store.Heads] call and wakes the connections that are behind (default 2s).
	PollInterval time.Duration
	// MaxConnsPerKey is how many connections one salesperson may hold on this hub; a new one beyond it
	// replaces the oldest (default 5).
	MaxConnsPerKey int
	// PresenceRenew is how often the foreground reports of open apps are renewed (default 1 minute); it
	// must be well under the lease that [Presence] gives a report.
	PresenceRenew time.Duration
	// SessionCheckInterval is how often the sessions of every connection are checked, in one
	// [Sessions.Ended] call, and the ended ones' connections closed (default 2s).
	SessionCheckInterval time.Duration
}

func (c Config) withDefaults() Config {
	if c.MaxReplay <= 0 {
		c.MaxReplay = 500
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 20 * time.Second
	}
	if c.SendBuffer <= 0 {
		c.SendBuffer = 256
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 2 * time.Second
	}
	if c.MaxConnsPerKey <= 0 {
		c.MaxConnsPerKey = 5
	}
	if c.PresenceRenew <= 0 {
		c.PresenceRenew = time.Minute
	}
	if c.SessionCheckInterval <= 0 {
		c.SessionCheckInterval = 2 * time.Second
	}
	return c
}

// Hub serves the alert WebSocket and wakes connections when their streams grow.
type Hub struct {
	store    Store
	auth     Authenticator
	presence Presence
	sessions Sessions
	cfg      Config
	log      *slog.Logger
	upgrader websocket.Upgrader
	// writeBuffers lends write buffers to connections only while they write a message, so that idle
	// connections hold none.
	writeBuffers sync.Pool

	// mu guards the fields below. It is never held across I/O, so Notify only ever waits for map updates.
	mu     sync.RWMutex
	keys   map[Key]*keyConns
	n      int
	nextID uint64
	closed bool
	// wg counts registered connections until their goroutines have ended and presence has been told.
	wg sync.WaitGroup

	// quit ends the poll; polled closes when it has ended.
	quit, polled chan struct{}
}

// keyConns is one salesperson's connections on this hub.
type keyConns struct {
	// presence orders this salesperson's Presence calls and the bookkeeping they depend on, so that a stale
	// connection's "gone" can never land after a fresh connection's "here" for the same device.
	presence sync.Mutex
	conns    map[*conn]struct{}
}

// New builds a hub. presence and sessions may be nil (without sessions, a connection lasts until the app
// or the network ends it, whatever becomes of its session).
func New(store Store, auth Authenticator, presence Presence, sessions Sessions, cfg Config, log *slog.Logger) *Hub {
	h := &Hub{
		store:    store,
		auth:     auth,
		presence: presence,
		sessions: sessions,
		cfg:      cfg.withDefaults(),
		log:      log,
		keys:     make(map[Key]*keyConns),
		quit:     make(chan struct{}),
		polled:   make(chan struct{}),
	}
	h.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		// Small buffers keep 10,000 idle connections cheap: app messages are tiny, and write buffers are
		// pooled, so a connection holds one only while it writes.
		ReadBufferSize:  1024,
		WriteBufferSize: 4096,
		WriteBufferPool: &h.writeBuffers,
		Subprotocols:    []string{Subprotocol},
		// Tokens, not cookies, authenticate (see the package doc), so any origin may connect.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	go h.pollLoop()
	return h
}

// pollLoop wakes, every PollInterval, the connections whose streams moved past what they last sent: the
// fallback for pokes lost with another node's wake-up or this node's listening connection. It also renews
// presence and, every SessionCheckInterval, closes the connections whose sessions ended.
func (h *Hub) pollLoop() {
	defer close(h.polled)
	t := time.NewTicker(h.cfg.PollInterval)
	defer t.Stop()
	renew := time.NewTicker(h.cfg.PresenceRenew)
	defer renew.Stop()
	var checkSessions <-chan time.Time // nil without Sessions: never fires
	if h.sessions != nil {
		check := time.NewTicker(h.cfg.SessionCheckInterval)
		defer check.Stop()
		checkSessions = check.C
	}
	failing, checkFailing := false, false
	for {
		select {
		case <-h.quit:
			return
		case <-renew.C:
			h.renewPresence()
			continue
		case <-checkSessions:
			err := h.closeEnded()
			switch {
			case err != nil && !checkFailing:
				h.log.Warn("hub: checking the connections' sessions failed; will retry", "err", err)
			case err == nil && checkFailing:
				h.log.Info("hub: checking the connections' sessions again")
			}
			checkFailing = err != nil
			continue
		case <-t.C:
		}
		err := h.poll()
		switch {
		case err != nil && !failing:
			h.log.Warn("hub: polling the alert streams failed; will retry", "err", err)
		case err == nil && failing:
			h.log.Info("hub: polling the alert streams again")
		}
		failing = err != nil
	}
}

// renewPresence extends the foreground leases of the devices open in the foreground on this hub.
func (h *Hub) renewPresence() {
	if h.presence == nil {
		return
	}
	h.mu.RLock()
	var devices []Device
	for k, kc := range h.keys {
		for c := range kc.conns {
			if c.device != "" && c.foreground && c.ctx.Err() == nil {
				devices = append(devices, Device{Key: k, DeviceID: c.device})
			}
		}
	}
	h.mu.RUnlock()
	if len(devices) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := h.presence.Renew(ctx, devices); err != nil {
		// The next renewal comes well before the leases end.
		h.log.Warn("hub: renewing foreground reports failed", "devices", len(devices), "err", err)
	}
}

// closeEnded asks, in one call, which of the connections' sessions have ended, and closes their
// connections with 4002 or 4003.
func (h *Hub) closeEnded() error {
	h.mu.RLock()
	seen := make(map[Session]struct{}, h.n)
	list := make([]Session, 0, h.n)
	for k, kc := range h.keys {
		for c := range kc.conns {
			s := Session{TenantID: k.TenantID, SessionID: c.session}
			if _, dup := seen[s]; dup || c.session == uuid.Nil || c.ctx.Err() != nil {
				continue
			}
			seen[s] = struct{}{}
			list = append(list, s)
		}
	}
	h.mu.RUnlock()
	if len(list) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	ended, err := h.sessions.Ended(ctx, list)
	if err != nil || len(ended) == 0 {
		return err
	}
	type closing struct {
		c      *conn
		ending Ending
	}
	var stop []closing
	h.mu.RLock()
	for k, kc := range h.keys {
		for c := range kc.conns {
			if e, ok := ended[Session{TenantID: k.TenantID, SessionID: c.session}]; ok && c.session != uuid.Nil {
				stop = append(stop, closing{c, e})
			}
		}
	}
	h.mu.RUnlock()
	for _, s := range stop {
		code := CloseSessionEnded
		if s.ending.Refused {
			code = CloseRefused
		}
		s.c.stop(code, closeReason(s.ending.Reason))
	}
	return nil
}

// closeReason cuts a reason to what a close frame holds, at a character boundary.
func closeReason(r string) string {
	if len(r) <= maxCloseReason {
		return r
	}
	cut := maxCloseReason
	for cut > 0 && !utf8.RuneStart(r[cut]) {
		cut--
	}
	return r[:cut]
}

// poll reads the heads of every stream with a connection here and pokes the connections behind theirs.
func (h *Hub) poll() error {
	h.mu.RLock()
	keys := make([]Key, 0, len(h.keys))
	for k := range h.keys {
		keys = append(keys, k)
	}
	h.mu.RUnlock()
	if len(keys) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	heads, err := h.store.Heads(ctx, keys)
	if err != nil {
		return err
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for k, head := range heads {
		kc := h.keys[k]
		if kc == nil {
			continue
		}
		for c := range kc.conns {
			if p := c.pos.Load(); p != nil && *p != head {
				c.poke()
			}
		}
	}
	return nil
}

// ServeHTTP authenticates the request, upgrades it to a WebSocket and starts the connection's reader and
// writer goroutines. It returns as soon as they run, so the HTTP server keeps nothing per connection.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token := bearerToken(r)
	if token == "" {
		unauthorized(w)
		return
	}
	if h.isClosed() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	id, err := h.auth(r.Context(), token)
	if errors.Is(err, ErrUnavailable) {
		h.log.WarnContext(r.Context(), "hub: cannot check a token; the app is asked to retry", "err", err)
		w.Header().Set("Retry-After", "2")
		http.Error(w, "try again shortly", http.StatusServiceUnavailable)
		return
	}
	if err != nil {
		h.log.DebugContext(r.Context(), "hub: token rejected", "remote_addr", r.RemoteAddr, "err", err)
		unauthorized(w)
		return
	}
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		// The upgrader has already answered with an HTTP error.
		h.log.DebugContext(r.Context(), "hub: upgrade failed", "remote_addr", r.RemoteAddr, "err", err)
		return
	}
	c := newConn(h, id.Key, ws)
	c.session = id.SessionID
	evicted, ok := h.register(c)
	if !ok {
		c.stop(0, "")
		_ = ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(closeWait))
		_ = ws.Close()
		return
	}
	if evicted != nil {
		evicted.stop(closeReplaced, "too many connections")
	}
	go c.writeLoop()
	go c.readLoop()
}

// Notify pokes the connections of k: new alerts may exist. It never blocks on I/O; pokes coalesce, so
// calling it often is cheap.
func (h *Hub) Notify(k Key) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	kc := h.keys[k]
	if kc == nil {
		return
	}
	for c := range kc.conns {
		c.poke()
	}
}

// Close closes every connection with 1001 (going away), refuses new ones, and returns when every
// connection has ended and presence has been told.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		h.wg.Wait()
		return
	}
	h.closed = true
	close(h.quit)
	var all []*conn
	for _, kc := range h.keys {
		for c := range kc.conns {
			all = append(all, c)
		}
	}
	h.mu.Unlock()

	<-h.polled
	for _, c := range all {
		c.stop(websocket.CloseGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	grace := time.NewTimer(closeGrace)
	defer grace.Stop()
	select {
	case <-done:
		return
	case <-grace.C:
	}
	// A writer stuck on an app that does not read would hold shutdown until its write deadline.
	for _, c := range all {
		_ = c.ws.Close()
	}
	<-done
}

// Connections returns how many connections are open, counting those being closed.
func (h *Hub) Connections() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.n
}

func (h *Hub) isClosed() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.closed
}

// register adds c to its salesperson's connections. Beyond MaxConnsPerKey it picks the oldest live
// connection to evict: the newest is the one most likely to have a person behind it, and refusing it
// would lock out an app whose old connections are half-open until their pongs time out.
func (h *Hub) register(c *conn) (evicted *conn, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	kc := h.keys[c.key]
	if kc == nil {
		kc = &keyConns{conns: make(map[*conn]struct{}, 1)}
		h.keys[c.key] = kc
	}
	live := 0
	for o := range kc.conns {
		if o.ctx.Err() != nil {
			continue // already leaving
		}
		live++
		if evicted == nil || o.id < evicted.id {
			evicted = o
		}
	}
	if live < h.cfg.MaxConnsPerKey {
		evicted = nil
	}
	h.nextID++
	c.id = h.nextID
	kc.conns[c] = struct{}{}
	h.n++
	h.wg.Add(1)
	return evicted, true
}

// arrive records the device of a resumed connection, replaces older connections of the same device (the
// app has reconnected; they are dead or about to be) and reports the device's state. Older means opened
// earlier, not resumed earlier: a connection whose resume is read after a newer one's (two sockets of one
// device racing) is itself the one replaced, so the app keeps its latest socket whatever the order.
func (h *Hub) arrive(c *conn, device string, foreground bool) {
	if device == "" {
		return
	}
	kc := h.keyConnsOf(c)
	kc.presence.Lock()
	defer kc.presence.Unlock()
	var stale []*conn
	superseded := false
	h.mu.Lock()
	c.device, c.foreground = device, foreground
	for o := range kc.conns {
		if o == c || o.device != device {
			continue
		}
		if o.id < c.id {
			stale = append(stale, o)
		} else {
			superseded = true
		}
	}
	h.mu.Unlock()
	for _, o := range stale {
		o.stop(closeReplaced, "replaced by a newer connection")
	}
	if superseded {
		// The newer connection has reported the device already; this one leaves without a report.
		c.stop(closeReplaced, "replaced by a newer connection")
		return
	}
	h.setPresence(c.key, device, foreground)
}

// changeState reports a foreground/background change of c's device.
func (h *Hub) changeState(c *conn, foreground bool) {
	kc := h.keyConnsOf(c)
	kc.presence.Lock()
	defer kc.presence.Unlock()
	h.mu.Lock()
	device := c.device
	c.foreground = foreground
	h.mu.Unlock()
	if device != "" {
		h.setPresence(c.key, device, foreground)
	}
}

// unregister removes c once both its goroutines have ended, telling presence that the device left unless
// another connection of the same device is still here. The removal happens inside the presence lock so
// that a connection arriving meanwhile reports after this one.
func (h *Hub) unregister(c *conn) {
	defer h.wg.Done()
	kc := h.keyConnsOf(c)
	kc.presence.Lock()
	defer kc.presence.Unlock()
	h.mu.RLock()
	device := c.device
	elsewhere := false
	for o := range kc.conns {
		if o != c && device != "" && o.device == device {
			elsewhere = true
			break
		}
	}
	h.mu.RUnlock()
	if device != "" && !elsewhere {
		h.setPresence(c.key, device, false)
	}
	h.mu.Lock()
	delete(kc.conns, c)
	if len(kc.conns) == 0 {
		delete(h.keys, c.key)
	}
	h.n--
	h.mu.Unlock()
}

// keyConnsOf returns c's salesperson's connections; c is registered, so they exist.
func (h *Hub) keyConnsOf(c *conn) *keyConns {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.keys[c.key]
}

func (h *Hub) setPresence(k Key, device string, foreground bool) {
	if h.presence == nil {
		return
	}
	// Not the connection's context: "gone" must still be reported while the connection is being torn down.
	ctx, cancel := context.WithTimeout(context.Background(), presenceTimeout)
	defer cancel()
	if err := h.presence.Set(ctx, k, device, foreground); err != nil {
		h.log.WarnContext(ctx, "hub: presence update failed", "tenant_id", k.TenantID, "employee_id", k.EmployeeID,
			"device_id", device, "foreground", foreground, "err", err)
	}
}

// bearerToken finds the token in the Authorization header or, for clients that cannot set headers, in a
// "bearer.<token>" subprotocol.
func bearerToken(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		scheme, token, ok := strings.Cut(a, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token)
		}
		return ""
	}
	for _, v := range r.Header.Values("Sec-Websocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			if token, ok := strings.CutPrefix(strings.TrimSpace(p), bearerPrefix); ok {
				return token
			}
		}
	}
	return ""
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="salesapp"`)
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}
