package server_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/pgtest"
)

// A transaction left idle would hold back every device's sync cursor: the server ends it after a minute.
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
}
