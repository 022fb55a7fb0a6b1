package share_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/share"
)

// BenchmarkMarkOpenedTx is the statement the tracking ingest runs per batch to note the forwards its views
// opened (share.MarkOpenedTx, migration 037), measured on its own: a tenant with 100,000 forwards of one
// card share, and batches of 100 distinct forwards as an ingest batch's views name them (forwardsViewed:
// half opened for the first time, half opened before), each in a tenant transaction.
//
//	go test -run '^$' -bench MarkOpenedTx -benchtime 500x -count 3 ./backend/share/ (two sub-benchmarks: the batch, and the transaction alone)
func BenchmarkMarkOpenedTx(b *testing.B) {
	db := pgtest.New(b)
	ctx := context.Background()
	tn := db.NewTenant(b, "Bench")
	seller := db.NewEmployee(b, tn.ID, authn.RoleSales, uuid.Nil)
	root := uuid.New()
	_, err := db.Super.Exec(ctx, `INSERT INTO shares (id, tenant_id, token, employee_id, target_kind, channel, root_id)
		VALUES ($1, $2, 'bench-root', $3, 'card', 'chat', $1)`, root, tn.ID, seller.EmployeeID)
	require.NoError(b, err)
	_, err = db.Super.Exec(ctx, `INSERT INTO shares (id, tenant_id, token, employee_id, target_kind, channel, parent_id, root_id, depth, forwarder)
		SELECT gen_random_uuid(), $1, 'bench-' || g, $2, 'card', 'chat', $3, $3, 1, 'visitor-' || g FROM generate_series(1, 100000) g`,
		tn.ID, seller.EmployeeID, root)
	require.NoError(b, err)
	_, err = db.Super.Exec(ctx, "VACUUM ANALYZE shares")
	require.NoError(b, err)
	var forwards []uuid.UUID
	rows, err := db.Super.Query(ctx, "SELECT id FROM shares WHERE tenant_id = $1 AND parent_id IS NOT NULL ORDER BY random()", tn.ID)
	require.NoError(b, err)
	for rows.Next() {
		var id uuid.UUID
		require.NoError(b, rows.Scan(&id))
		forwards = append(forwards, id)
	}
	require.NoError(b, rows.Err())
	mark := func(ids []uuid.UUID) {
		require.NoError(b, db.App.InTenantTx(ctx, tn.ID, func(tx pgx.Tx) error {
			return share.MarkOpenedTx(ctx, tx, tn.ID, ids, time.Now())
		}))
	}
	next := 0
	batch := func() []uuid.UUID {
		ids := make([]uuid.UUID, 0, 100)
		for range 50 { // opened for the first time
			ids = append(ids, forwards[next%len(forwards)])
			next++
		}
		for j := range 50 { // opened before
			ids = append(ids, forwards[(next-51-j+len(forwards))%len(forwards)])
		}
		return ids
	}
	b.Run("batch of 100", func(b *testing.B) {
		for range b.N {
			mark(batch())
		}
	})
	// The tenant transaction alone (no ids: no statement), to tell the statement's part.
	b.Run("transaction alone", func(b *testing.B) {
		for range b.N {
			mark(nil)
		}
	})
}
