package hub

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
)

// errStopped ends a writer whose connection is being closed for another reason.
var errStopped = errors.New("hub: connection stopped")

// conn is one app's WebSocket. Its reader goroutine handles the app's messages and pongs; its writer
// goroutine is the only one that writes data, so frames leave in the order the store gave them.
type conn struct {
	h   *Hub
	key Key
	ws  *websocket.Conn
	id  uint64 // registration order, for evicting the oldest; set under h.mu
	// session is the sign-in the app's token belongs to, re-checked by the hub; set before registering.
	session uuid.UUID

	// device is the app's device_id from its resume, foreground its last reported state; guarded by h.mu.
	device     string
	foreground bool

	// ctx ends when the connection is stopped; it also cancels the writer's store reads.
	ctx      context.Context
	cancel   context.CancelFunc
	stopOnce sync.Once
	code     int // close code to send, written once in stop
	reason   string

	wake     chan struct{} // capacity 1: pokes coalesce
	resumed  chan resume   // capacity 1: the reader hands the resume to the writer
	progress chan struct{} // capacity 1: the app's pong confirmed more messages
	done     chan struct{} // closed when the writer has ended and closed the socket

	// confirmed is how many messages the app has proven it read (the counter echoed by its last pong).
	confirmed atomic.Int64
	// pos is where the writer has brought the app (epoch and last seq sent), for the hub's poll; nil
	// until the writer has answered the resume.
	pos atomic.Pointer[Head]

	// Writer-only state.
	epoch     uuid.UUID
	lastSent  int64
	written   int64 // messages written; pings carry it
	pinged    int64 // value of written in the last ping
	storeDown bool  // the last store read failed; logged once per outage
}

// resume is the app's first message, as the writer needs it.
type resume struct {
	epoch    uuid.UUID
	hasEpoch bool
	seq      int64
}

func newConn(h *Hub, k Key, ws *websocket.Conn) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	return &conn{
		h:        h,
		key:      k,
		ws:       ws,
		ctx:      ctx,
		cancel:   cancel,
		wake:     make(chan struct{}, 1),
		resumed:  make(chan resume, 1),
		progress: make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
}

// poke wakes the writer without ever waiting: a pending poke already covers this one.
func (c *conn) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// stop asks the connection to end; the writer sends code (if not 0) in a close frame and closes the socket.
// The first call decides the code.
func (c *conn) stop(code int, reason string) {
	c.stopOnce.Do(func() {
		c.code, c.reason = code, reason
		c.cancel()
	})
}

// Client → server messages. All share one shape; fields not used by a type are ignored.
type clientMessage struct {
	Type       string `json:"type"`
	Epoch      string `json:"epoch"`
	Seq        int64  `json:"seq"`
	DeviceID   string `json:"device_id"`
	Foreground *bool  `json:"foreground"`
}

// Server → client messages.
type resetMessage struct {
	Type  string    `json:"type"` // "reset"
	Epoch uuid.UUID `json:"epoch"`
	Seq   int64     `json:"seq"`
}

type alertMessage struct {
	Type  string          `json:"type"` // "alert"
	Epoch uuid.UUID       `json:"epoch"`
	Seq   int64           `json:"seq"`
	Alert json.RawMessage `json:"alert"`
}

// readLoop reads the app's messages until the connection ends, then waits for the writer and unregisters.
func (c *conn) readLoop() {
	defer c.h.unregister(c)
	defer func() { <-c.done }()
	c.ws.SetReadLimit(maxClientMessage)
	pongWait := 2 * c.h.cfg.PingInterval
	_ = c.ws.SetReadDeadline(time.Now().Add(pongWait))
	c.ws.SetPongHandler(func(data string) error {
		_ = c.ws.SetReadDeadline(time.Now().Add(pongWait))
		// A pong without our counter (unsolicited, or from a client that does not echo) still proves
		// the app is alive, but not what it has read.
		if n, err := strconv.ParseInt(data, 10, 64); err == nil && n > c.confirmed.Load() {
			c.confirmed.Store(n)
			select {
			case c.progress <- struct{}{}:
			default:
			}
		}
		return nil
	})

	resumed := false
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			// The app left, went silent, or the writer closed the socket. Closing here too frees a writer
			// blocked on a dead peer now rather than at its write deadline.
			c.stop(0, "")
			_ = c.ws.Close()
			return
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(pongWait))
		var m clientMessage
		if typ != websocket.TextMessage || json.Unmarshal(data, &m) != nil {
			c.stop(websocket.ClosePolicyViolation, "expected a JSON text message")
			return
		}
		if !resumed {
			if m.Type != "resume" {
				c.stop(websocket.ClosePolicyViolation, "first message must be resume")
				return
			}
			if len(m.DeviceID) > maxDeviceID {
				c.stop(websocket.ClosePolicyViolation, "device_id too long")
				return
			}
			r := resume{seq: m.Seq}
			if e, err := uuid.Parse(m.Epoch); err == nil && m.Epoch != "" {
				r.epoch, r.hasEpoch = e, true
			}
			// Arrive before the writer may stream: once the app has a frame of this connection, an older
			// connection of its device can no longer outlive it.
			foreground := m.Foreground == nil || *m.Foreground
			c.h.arrive(c, m.DeviceID, foreground)
			c.resumed <- r // capacity 1, sent once
			resumed = true
			continue
		}
		switch m.Type {
		case "state":
			if m.Foreground != nil {
				c.h.changeState(c, *m.Foreground)
			}
		case "ack":
			// Accepted and ignored: the next resume carries the app's position.
		default:
			// Ignored, so that apps may be newer than servers.
		}
	}
}

// writeLoop waits for the resume, then delivers the stream until the connection ends.
func (c *conn) writeLoop() {
	defer close(c.done)
	defer c.closeSocket()

	var r resume
	select {
	case r = <-c.resumed:
	case <-c.ctx.Done():
		return
	}
	if err := c.start(r); err != nil {
		return
	}
	c.publish()

	ping := time.NewTicker(c.h.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-ping.C:
			if err := c.ping(); err != nil {
				return
			}
			continue
		case <-c.wake: // a poke: from Notify, or from the hub's poll when this app is behind
		}
		if err := c.sync(); err != nil {
			return
		}
		c.publish()
	}
}

// publish shows the hub's poll where this app is.
func (c *conn) publish() {
	if p := c.pos.Load(); p == nil || p.Epoch != c.epoch || p.Seq != c.lastSent {
		c.pos.Store(&Head{Epoch: c.epoch, Seq: c.lastSent})
	}
}

// closeSocket sends the close frame chosen by stop, if any, and closes the socket, which also ends the
// reader.
func (c *conn) closeSocket() {
	c.stop(0, "")
	if c.code != 0 {
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(c.code, c.reason),
			time.Now().Add(closeWait))
	}
	_ = c.ws.Close()
}

// start answers the resume: a reset if the app's position cannot be continued, then the replay. If the
// store is down, the decision waits for the next poke or poll, when sync makes it.
func (c *conn) start(r resume) error {
	epoch, head, err := c.head()
	for err != nil {
		if err := c.storeFailed(err); err != nil {
			return err
		}
		if err := c.waitForRetry(); err != nil {
			return err
		}
		epoch, head, err = c.head()
	}
	if !r.hasEpoch || r.epoch != epoch || r.seq < 0 || r.seq > head || head-r.seq > int64(c.h.cfg.MaxReplay) {
		if err := c.reset(epoch, head); err != nil {
			return err
		}
	} else {
		c.epoch, c.lastSent = epoch, r.seq
	}
	return c.catchUp(head)
}

// waitForRetry waits for a poke or a poll interval, answering pings meanwhile.
func (c *conn) waitForRetry() error {
	t := time.NewTimer(c.h.cfg.PollInterval)
	defer t.Stop()
	ping := time.NewTicker(c.h.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return errStopped
		case <-ping.C:
			if err := c.ping(); err != nil {
				return err
			}
		case <-c.wake:
			return nil
		case <-t.C:
			return nil
		}
	}
}

// sync brings the app up to the stream's head. A store failure is logged and left for the next poke or
// poll; only the connection's own failures are returned.
func (c *conn) sync() error {
	epoch, head, err := c.head()
	if err != nil {
		return c.storeFailed(err)
	}
	if epoch != c.epoch || head < c.lastSent {
		// The stream was reset under us: the app must refetch.
		return c.reset(epoch, head)
	}
	return c.catchUp(head)
}

// catchUp writes every entry after lastSent, page by page, while the store shows more up to head.
func (c *conn) catchUp(head int64) error {
	for c.lastSent < head {
		ctx, cancel := context.WithTimeout(c.ctx, storeTimeout)
		frames, err := c.h.store.Since(ctx, c.key, c.lastSent, pageSize)
		cancel()
		if err != nil {
			return c.storeFailed(err)
		}
		if len(frames) == 0 {
			// Head ran ahead of what is visible; the next poke or poll picks it up. A real hole shows as
			// a gap as soon as a later entry arrives.
			return nil
		}
		// Since does not say which epoch its entries belong to. Reading the head after it does: had the
		// stream been reset before the read, the new epoch would show now.
		epoch, h2, err := c.head()
		if err != nil {
			return c.storeFailed(err)
		}
		if epoch != c.epoch {
			return c.reset(epoch, h2)
		}
		for _, f := range frames {
			if f.Seq <= c.lastSent {
				continue // never send twice, even if the store misbehaves
			}
			if f.Seq != c.lastSent+1 {
				// Entries are missing (retention removed them): the app must refetch.
				return c.reset(epoch, h2)
			}
			if err := c.sendAlert(f); err != nil {
				return err
			}
		}
		head = max(head, h2)
	}
	return nil
}

func (c *conn) head() (uuid.UUID, int64, error) {
	ctx, cancel := context.WithTimeout(c.ctx, storeTimeout)
	defer cancel()
	epoch, seq, err := c.h.store.Head(ctx, c.key)
	if err == nil && c.storeDown {
		c.storeDown = false
		c.h.log.InfoContext(ctx, "hub: alert store reachable again", "tenant_id", c.key.TenantID,
			"employee_id", c.key.EmployeeID)
	}
	return epoch, seq, err
}

// storeFailed logs a store failure once per outage and lets the connection live on; it returns an error
// only when the failure was the connection being stopped.
func (c *conn) storeFailed(err error) error {
	if c.ctx.Err() != nil {
		return errStopped
	}
	if !c.storeDown {
		c.storeDown = true
		c.h.log.WarnContext(c.ctx, "hub: alert store read failed; will retry", "tenant_id", c.key.TenantID,
			"employee_id", c.key.EmployeeID, "err", err)
	}
	return nil
}

func (c *conn) reset(epoch uuid.UUID, head int64) error {
	b, err := json.Marshal(resetMessage{Type: "reset", Epoch: epoch, Seq: head})
	if err != nil {
		return err
	}
	if err := c.send(b); err != nil {
		return err
	}
	c.epoch, c.lastSent = epoch, head
	return nil
}

func (c *conn) sendAlert(f Frame) error {
	m := alertMessage{Type: "alert", Epoch: c.epoch, Seq: f.Seq, Alert: f.Payload}
	b, err := json.Marshal(m)
	if err != nil {
		// An unreadable payload must not open a gap: deliver the position and let the app fetch the alert.
		c.h.log.ErrorContext(c.ctx, "hub: alert payload is not JSON", "tenant_id", c.key.TenantID,
			"employee_id", c.key.EmployeeID, "seq", f.Seq, "err", err)
		m.Alert = nil
		if b, err = json.Marshal(m); err != nil {
			return err
		}
	}
	if err := c.send(b); err != nil {
		return err
	}
	c.lastSent = f.Seq
	return nil
}

// send writes one message once the app's window has room, and asks for proof of progress (a ping) every
// half window, so that a reading app's pongs come back before the window fills.
func (c *conn) send(b []byte) error {
	window := int64(c.h.cfg.SendBuffer)
	for c.written-c.confirmed.Load() >= window {
		if c.pinged < c.written {
			if err := c.ping(); err != nil {
				return err
			}
		}
		t := time.NewTimer(c.h.cfg.PingInterval)
		select {
		case <-c.progress:
			t.Stop()
		case <-c.ctx.Done():
			t.Stop()
			return errStopped
		case <-t.C:
			c.stop(closeTooSlow, "not reading")
			return errors.New("hub: app not reading")
		}
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.h.cfg.PingInterval))
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		return err
	}
	c.written++
	if c.written-c.pinged >= max(window/2, 1) {
		return c.ping()
	}
	return nil
}

// ping carries the count of messages written, which the app's pong echoes back.
func (c *conn) ping() error {
	var buf [20]byte
	c.pinged = c.written
	return c.ws.WriteControl(websocket.PingMessage, strconv.AppendInt(buf[:0], c.written, 10),
		time.Now().Add(c.h.cfg.PingInterval))
}
