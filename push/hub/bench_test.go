package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"
)

// BenchmarkIdleConnections opens 1,000 idle connections per iteration and reports what each costs the
// process: heap and stack in use, and goroutines. The clients are bare TCP sockets that speak just enough
// WebSocket to handshake and resume, so the figure is the server's side (plus a socket per client).
// Kernel socket buffers are not included.
func BenchmarkIdleConnections(b *testing.B) {
	const n = 1000
	store := newMemStore()
	auth := func(_ context.Context, token string) (Identity, error) {
		id := uuid.MustParse(token)
		return Identity{Key: Key{TenantID: uuid.Nil, EmployeeID: id}, SessionID: id}, nil
	}
	// Sessions are checked as in production (every 2s, all connections in one call), so that the figure
	// includes what that costs.
	h := New(store, auth, nil, &memSessions{}, Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close()
	addr := srv.Listener.Addr().String()

	keys := make([]Key, n)
	resumes := make([][]byte, n)
	for i := range keys {
		keys[i] = Key{TenantID: uuid.Nil, EmployeeID: uuid.New()}
		store.append(keys[i], 3, 0)
		epoch, head := store.position(keys[i])
		resumes[i] = fmt.Appendf(nil, `{"type":"resume","epoch":%q,"seq":%d,"device_id":"d%d","foreground":true}`,
			epoch, head, i)
	}

	var perConn, goroutinesPerConn float64
	for b.Loop() {
		conns := make([]net.Conn, 0, n)
		before, g0 := memInUse()
		heads := store.headCalls.Load()
		for i := range n {
			c, err := rawDial(addr, keys[i].EmployeeID.String(), resumes[i])
			if err != nil {
				b.Fatal(err)
			}
			conns = append(conns, c)
		}
		// Every writer has read its head once it has answered the resume; then it sits idle.
		deadline := time.Now().Add(time.Minute)
		for store.headCalls.Load() < heads+n || h.Connections() != n {
			if time.Now().After(deadline) {
				b.Fatal("connections did not settle")
			}
			time.Sleep(time.Millisecond)
		}
		after, g1 := memInUse()
		perConn += float64(after-before) / n
		goroutinesPerConn += float64(g1-g0) / n

		for _, c := range conns {
			_ = c.Close()
		}
		deadline = time.Now().Add(time.Minute)
		for h.Connections() != 0 {
			if time.Now().After(deadline) {
				b.Fatal("connections did not close")
			}
			time.Sleep(time.Millisecond)
		}
	}
	b.ReportMetric(perConn/float64(b.N), "B/conn")
	b.ReportMetric(goroutinesPerConn/float64(b.N), "goroutines/conn")
}

// memInUse returns heap and stack in use after a full collection (which also shrinks idle stacks), and the
// goroutine count.
func memInUse() (uint64, int) {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse, runtime.NumGoroutine()
}

// rawDial opens a WebSocket with as little client-side state as possible and sends the resume.
func rawDial(addr, token string, resume []byte) (net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Authorization: Bearer " + token + "\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		_ = c.Close()
		return nil, err
	}
	// The server writes nothing after its handshake answer until it has the resume.
	var resp []byte
	buf := make([]byte, 512)
	for !bytes.Contains(resp, []byte("\r\n\r\n")) {
		m, err := c.Read(buf)
		if err != nil {
			_ = c.Close()
			return nil, err
		}
		resp = append(resp, buf[:m]...)
	}
	if !bytes.HasPrefix(resp, []byte("HTTP/1.1 101")) {
		_ = c.Close()
		return nil, fmt.Errorf("handshake: %q", resp)
	}
	if len(resume) > 125 || !json.Valid(resume) {
		_ = c.Close()
		return nil, fmt.Errorf("resume must be short JSON")
	}
	// A masked text frame with a zero mask key, which leaves the payload as is.
	frame := append([]byte{0x81, 0x80 | byte(len(resume)), 0, 0, 0, 0}, resume...)
	if _, err := c.Write(frame); err != nil {
		_ = c.Close()
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}
