package server_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/pgtest"
)

// A transaction left idle would hold back every device's sync cursor: the server ends it (after a minute
// by default, or what the URL says).
func TestIdleTransactionsAreEndedByTheServer(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	app, err := platform.OpenDB(ctx, db.AppURL, 1)
	require.NoError(t, err)
	defer app.Close()
	var timeout string
	require.NoError(t, app.Pool.QueryRow(ctx, "SHOW idle_in_transaction_session_timeout").Scan(&timeout))
	require.Equal(t, "1min", timeout)

	// A URL that sets its own is followed, and an idle transaction is ended once it passes.
	u, err := url.Parse(db.AppURL)
	require.NoError(t, err)
	q := u.Query()
	q.Set("idle_in_transaction_session_timeout", "200")
	u.RawQuery = q.Encode()
	short, err := platform.OpenDB(ctx, u.String(), 1)
	require.NoError(t, err)
	defer short.Close()
	conn, err := short.Pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "SELECT 1")
	require.NoError(t, err)
	time.Sleep(time.Second) // idle well past the timeout (any statement meanwhile would restart it)
	_, err = tx.Exec(ctx, "SELECT 1")
	require.Error(t, err, "the server ended the idle transaction")
	_ = tx.Rollback(ctx)
}
