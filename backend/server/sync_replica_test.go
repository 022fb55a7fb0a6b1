package server_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server/servertest"
	"github.com/salesapp/scrm/sync/replica"
)

// The reference client's reading of the real server's failed_precondition answers: it must tell a
// schema version the server does not accept from a gap in a device's mutation ids by what the server
// actually says, not by what the client's fake says.

// replicaClient is a reference client of p over a MemStore, retrying quickly.
func replicaClient(t *testing.T, e *servertest.Env, p servertest.Person, deviceID string, store replica.Store, opts ...replica.Option) *replica.Client {
	t.Helper()
	opts = append([]replica.Option{replica.WithRetry(replica.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond})}, opts...)
	c, err := replica.New(e.HTTP, e.URL, func() string { return p.Token }, deviceID, store, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func cardTitle(title string) *salesappv1.UpdateMyCard {
	return &salesappv1.UpdateMyCard{Title: proto.String(title)}
}

func TestReplicaClientUnsupportedSchemaIsFatal(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "Replica schema", 0)
	sales := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)

	c := replicaClient(t, e, sales, "replica-schema-1", replica.NewMemStore(), replica.WithSchemaVersion(99))
	_, err := c.Sync(ctx)
	require.ErrorIs(t, err, replica.ErrSchemaUnsupported, "pull with schema version 99")
	require.Equal(t, connect.CodeFailedPrecondition, connect.CodeOf(err))
	require.False(t, replica.Transient(err))
	_, err = c.Sync(ctx)
	require.ErrorIs(t, err, replica.ErrSchemaUnsupported, "the client refuses every later call")

	// A push is the server's answer too, for a client that has not pulled first; the outbox is kept.
	c = replicaClient(t, e, sales, "replica-schema-2", replica.NewMemStore(), replica.WithSchemaVersion(99))
	_, err = c.Enqueue(cardTitle("Advisor"))
	require.NoError(t, err)
	_, err = c.Push(ctx)
	require.ErrorIs(t, err, replica.ErrSchemaUnsupported, "push with schema version 99")
	require.NotErrorIs(t, err, replica.ErrGap)
	require.Len(t, c.Store().Outbox(), 1)

	// The version the server accepts syncs.
	c = replicaClient(t, e, sales, "replica-schema-3", replica.NewMemStore(), replica.WithSchemaVersion(1))
	_, err = c.Sync(ctx)
	require.NoError(t, err)
}

func TestReplicaClientGapIsRefusedAndKept(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "Replica gap", 0)
	sales := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	store := replica.NewMemStore()
	c := replicaClient(t, e, sales, "replica-gap", store)

	for _, title := range []string{"Advisor", "Senior advisor"} {
		_, err := c.Enqueue(cardTitle(title))
		require.NoError(t, err)
	}
	rep, err := c.Push(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 2, rep.LastMutationID)
	require.Empty(t, rep.NotApplied())
	require.Empty(t, store.Outbox())

	// Mutation 3 leaves the outbox without the server ever hearing of it: the next push starts at 4.
	for _, title := range []string{"Lead", "Head", "Chief"} {
		_, err := c.Enqueue(cardTitle(title))
		require.NoError(t, err)
	}
	require.NoError(t, store.Ack(3))
	_, err = c.Push(ctx)
	require.ErrorIs(t, err, replica.ErrGap)
	require.NotErrorIs(t, err, replica.ErrSchemaUnsupported)
	require.Equal(t, connect.CodeFailedPrecondition, connect.CodeOf(err))
	require.False(t, replica.Transient(err), "a gap is not retried")
	out := store.Outbox()
	require.Len(t, out, 2, "the outbox is kept, not renumbered")
	require.EqualValues(t, 4, out[0].GetId())
	require.EqualValues(t, 5, out[1].GetId())

	// Nothing after the gap was applied: the card still has the title of mutation 2.
	_, err = c.Sync(ctx)
	require.NoError(t, err)
	card, ok := c.Get(salesappv1.EntityKind_ENTITY_KIND_CARD, sales.ID.String())
	require.True(t, ok, "the salesperson's card is in the replica")
	require.Equal(t, "Senior advisor", card.(*salesappv1.SyncCard).GetTitle())
	require.EqualValues(t, 2, store.LastMutationID())
}

// The server tells a device that changes may be held back, also when the page is not full: a writer in
// its tenant has held change rows uncommitted for a while. The reference client reports when to come
// back; once the writer commits, the next sync brings its change and the hint is gone.
func TestReplicaClientIsToldWhenChangesAreHeldBack(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "Replica held back", 0)
	sales := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	c := replicaClient(t, e, sales, "replica-held", replica.NewMemStore())
	_, err := c.Sync(ctx)
	require.NoError(t, err)

	commit := openCustomerTx(t, e, sales)
	var rep replica.SyncReport
	for deadline := time.Now().Add(time.Minute); rep.RetryAfter == 0; time.Sleep(20 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "no hint while a writer holds the salesperson's new customer")
		rep, err = c.Sync(ctx)
		require.NoError(t, err)
		require.Zero(t, rep.Changes)
	}
	require.GreaterOrEqual(t, rep.RetryAfter, 250*time.Millisecond)

	require.NoError(t, commit())
	rep, err = c.Sync(ctx)
	require.NoError(t, err)
	require.Zero(t, rep.RetryAfter)
	require.Equal(t, 1, rep.Changes, "the customer it held")
	n := 0
	for k := range c.Entities() {
		if k.Kind == salesappv1.EntityKind_ENTITY_KIND_CUSTOMER {
			n++
		}
	}
	require.Equal(t, 1, n)
}
