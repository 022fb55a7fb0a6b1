package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/server"
)

func TestServeDrainsInFlightRequestsOnShutdown(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		<-release
		_, _ = w.Write([]byte("done"))
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- server.Serve(ctx, l, h, server.Timeouts{Drain: 10 * time.Second}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()

	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + l.Addr().String() + "/slow")
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	<-started
	cancel() // SIGTERM arrives while the request is in flight
	// New connections are refused once shutdown begins.
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", l.Addr().String())
		if err == nil {
			c.Close()
		}
		return err != nil
	}, 5*time.Second, 10*time.Millisecond)
	select {
	case err := <-served:
		t.Fatalf("Serve returned before the in-flight request finished: %v", err)
	default:
	}
	close(release)
	require.Equal(t, "done", <-got)
	require.NoError(t, <-served)
}

// A client that stops sending its request body is cut off once the read timeout passes, instead of holding
// a connection and a goroutine for ever; the long-lived paths (the WebSocket) are exempt.
func TestServeCutsOffStalledRequestsButNotLongLivedOnes(t *testing.T) {
	t.Parallel()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		_, _ = w.Write(b)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_ = server.Serve(ctx, l, h, server.Timeouts{Drain: time.Second, Read: 100 * time.Millisecond, Write: 100 * time.Millisecond,
			LongLived: []string{"/ws"}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	stall := func(path string) string {
		c, err := net.Dial("tcp", l.Addr().String())
		require.NoError(t, err)
		defer c.Close()
		_, err = io.WriteString(c, "POST "+path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab")
		require.NoError(t, err)
		time.Sleep(400 * time.Millisecond) // well past the read timeout
		_, _ = io.WriteString(c, "cd")
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(c)
		return string(b)
	}
	require.NotContains(t, stall("/stalled"), "abcd", "a stalled body was waited for")
	require.Contains(t, stall("/ws"), "abcd", "the long-lived path was cut off")
}
