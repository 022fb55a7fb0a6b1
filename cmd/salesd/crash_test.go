package main

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
)

// TestKilledProcessLosesNoAcknowledgedEvent runs the real salesd binary, sends it events from many
// clients, kills it with SIGKILL mid-stream, and checks that every event it acknowledged is stored.
func TestKilledProcessLosesNoAcknowledgedEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	p := w.startSalesd(t, buildSalesd(t))
	addr, sh, db := p.addr, w.shareToken, w.db

	client := salesappv1connect.NewTrackingServiceClient(http.DefaultClient, "http://"+addr)
	var (
		mu    sync.Mutex
		acked []uuid.UUID
		wg    sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var batch []*salesappv1.TrackEvent
				var ids []uuid.UUID
				for j := range 20 {
					id := uuid.New()
					ids = append(ids, id)
					batch = append(batch, &salesappv1.TrackEvent{EventId: id.String(), Kind: salesappv1.EventKind_EVENT_KIND_CARD_VIEW,
						ShareToken: sh, VisitorId: "crash-visitor-" + strconv.Itoa(w) + "-" + strconv.Itoa(j%4)})
				}
				rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				_, err := client.Track(rctx, connect.NewRequest(&salesappv1.TrackRequest{Events: batch}))
				cancel()
				if err != nil {
					return // the server is gone
				}
				mu.Lock()
				acked = append(acked, ids...)
				mu.Unlock()
			}
		})
	}
	// Let acknowledgements accumulate, then kill the process without warning.
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 2000 }, 60*time.Second, 10*time.Millisecond)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	var stored int
	require.NoError(t, db.Super.QueryRow(ctx, "SELECT count(*) FROM events WHERE id = ANY ($1)", acked).Scan(&stored))
	require.Equal(t, len(acked), stored, "every acknowledged event is stored")
}
