package server

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/push/alert"
	"github.com/salesapp/scrm/push/sender"
	"github.com/salesapp/scrm/push/wake"
)

// Queuing pushes in a transaction sends no NOTIFY with its commit (it would make concurrent commits wait
// for each other); the wake-up publisher tells River's producers after the commit instead.
func TestQueuedPushesCommitWithoutNotify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	j, err := newJobs(db.App, nil, sender.NewLog(slog.New(slog.DiscardHandler)), slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)

	listener, err := pgx.Connect(ctx, db.AppURL)
	require.NoError(t, err)
	defer listener.Close(context.Background())
	// River's channels are named after the current schema.
	var channel string
	require.NoError(t, listener.QueryRow(ctx, "SELECT current_schema() || '.' || $1::text", riverInsertTopic).Scan(&channel))
	_, err = listener.Exec(ctx, `LISTEN "`+channel+`"`)
	require.NoError(t, err)

	push := alert.Push{TenantID: uuid.New(), EmployeeID: uuid.New(), DeviceID: uuid.New(), Seq: 1}
	for range 3 {
		require.NoError(t, pgx.BeginFunc(ctx, db.App.Pool, func(tx pgx.Tx) error { return j.Push(ctx, tx, []alert.Push{push}) }))
	}
	var queued int
	require.NoError(t, db.Owner.QueryRow(ctx, "SELECT count(*) FROM river_job WHERE kind = 'push_alert' AND state = 'available'").Scan(&queued))
	require.Equal(t, 3, queued)
	// A notification sent with those commits would be here by now; the publisher's, after them, arrives.
	wctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	_, err = listener.WaitForNotification(wctx)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded, "no notification with the commits")

	p := wake.NewPublisher(db.App.Pool, slog.New(slog.DiscardHandler))
	p.AlsoNotify(riverInsertTopic, riverInsertPayload)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go p.Run(runCtx)
	p.Publish([]alert.Key{{TenantID: push.TenantID, EmployeeID: push.EmployeeID}})
	wctx, cancel = context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	n, err := listener.WaitForNotification(wctx)
	require.NoError(t, err)
	require.JSONEq(t, `{"queue":"push"}`, n.Payload)
}
