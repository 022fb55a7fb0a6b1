package customer

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/customer/internal/customerdb"
)

// Selection says which of an employee's customers a handover moves: all (both empty), or those at one of
// Stages or carrying any of Tags (both given: both must hold).
type Selection struct {
	Stages []Stage
	Tags   []string
}

// HandedOver is the outcome of HandOverTx: each moved customer with its new owner, and the follow-ups
// that moved with them.
type HandedOver struct {
	Owners    map[uuid.UUID]uuid.UUID
	FollowUps int
}

// HandOverTx deals the customers fromID owns (those sel picks) to toIDs in turn, inside the caller's
// transaction, and gives each moved customer's scheduled follow-ups (notes with a next time) written by
// fromID to its new owner. The caller has checked who may do it and that toIDs are active employees of
// the tenant. It is two statements whatever the number of customers; the sync triggers tombstone the
// customers (with their notes and timeline) in the old owner's scope and upsert them in the new owners'.
func HandOverTx(ctx context.Context, tx pgx.Tx, tenantID, fromID uuid.UUID, toIDs []uuid.UUID, sel Selection) (HandedOver, error) {
	q := customerdb.New(tx)
	stages := make([]string, len(sel.Stages))
	for i, s := range sel.Stages {
		stages[i] = string(s)
	}
	tags := sel.Tags
	if tags == nil {
		tags = []string{}
	}
	rows, err := q.HandOverCustomers(ctx, customerdb.HandOverCustomersParams{TenantID: tenantID, FromID: fromID, ToIds: toIDs,
		Stages: stages, Tags: tags})
	if err != nil {
		return HandedOver{}, err
	}
	out := HandedOver{Owners: make(map[uuid.UUID]uuid.UUID, len(rows))}
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
		out.Owners[r.ID] = r.OwnerID
	}
	n, err := q.HandOverFollowUps(ctx, customerdb.HandOverFollowUpsParams{TenantID: tenantID, FromID: fromID, CustomerIds: ids})
	out.FollowUps = int(n)
	return out, err
}

// ReleaseOwnedTx puts every customer fromID owns back in the pool (nobody owns them), inside the caller's
// transaction, and returns them. One statement; the old owner's devices get tombstones.
func ReleaseOwnedTx(ctx context.Context, tx pgx.Tx, tenantID, fromID uuid.UUID) ([]uuid.UUID, error) {
	return customerdb.New(tx).ReleaseOwnedCustomers(ctx, customerdb.ReleaseOwnedCustomersParams{TenantID: tenantID, FromID: fromID})
}

// CountOwnedTx counts the customers employeeID owns, inside the caller's transaction.
func CountOwnedTx(ctx context.Context, tx pgx.Tx, tenantID, employeeID uuid.UUID) (int, error) {
	n, err := customerdb.New(tx).CountOwned(ctx, customerdb.CountOwnedParams{TenantID: tenantID, FromID: employeeID})
	return int(n), err
}
