package wake

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/push/alert"
)

// A round of wake-ups carries the keys, coalesced, in one notification.
func TestPublisherSendsKeysCoalesced(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	db := pgtest.New(t)
	listener, err := pgx.Connect(ctx, db.OwnerURL)
	require.NoError(t, err)
	defer listener.Close(context.Background())
	_, err = listener.Exec(ctx, `LISTEN "`+Channel+`"`)
	require.NoError(t, err)

	p := NewPublisher(db.App.Pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go p.Run(runCtx)
	a, b := alert.Key{TenantID: uuid.New(), EmployeeID: uuid.New()}, alert.Key{TenantID: uuid.New(), EmployeeID: uuid.New()}
	p.Publish([]alert.Key{a, b, a})

	got := map[string][]string{}
	for len(got[Channel]) == 0 {
		n, err := listener.WaitForNotification(ctx)
		require.NoError(t, err)
		got[n.Channel] = append(got[n.Channel], n.Payload)
	}
	require.Len(t, got[Channel], 1, "one notification for the round")
	require.ElementsMatch(t, []string{a.TenantID.String() + ":" + a.EmployeeID.String(), b.TenantID.String() + ":" + b.EmployeeID.String()},
		strings.Fields(got[Channel][0]))
}
