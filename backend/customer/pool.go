package customer

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/customer/internal/customerdb"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
)

// ErrClaimedMeanwhile answers a claim of a customer someone else owns now: of two salespeople claiming the
// same lead at once, the one who lost the race gets it.
var ErrClaimedMeanwhile = platform.FailedPrecondition("another salesperson claimed this lead first; pick another one from the pool")

// ClaimTx gives an unowned customer (a lead waiting in a pool) to employeeID, inside the caller's
// transaction. The customer's sync rows follow (it arrives in the claimer's scope, with its notes and
// recent timeline). Of concurrent claims exactly one changes the row; the others get ErrClaimedMeanwhile.
// A customer that does not exist (or was merged away) is NotFound.
func ClaimTx(ctx context.Context, tx pgx.Tx, tenantID, customerID, employeeID uuid.UUID) error {
	q := customerdb.New(tx)
	n, err := q.ClaimCustomer(ctx, customerdb.ClaimCustomerParams{TenantID: tenantID, ID: customerID, OwnerID: employeeID})
	if err != nil || n == 1 {
		return err
	}
	if _, err := q.GetCustomer(ctx, customerdb.GetCustomerParams{TenantID: tenantID, ID: customerID}); errors.Is(err, pgx.ErrNoRows) {
		return errNotFound
	} else if err != nil {
		return err
	}
	return ErrClaimedMeanwhile
}

// ReleaseTx gives up a customer the caller may see (their own; a manager their team's; an admin anyone's)
// so that nobody owns it, inside the caller's transaction, and returns whose it was. The reason is kept on
// the customer as a note by the caller, written before the owner changes: the next owner reads why it came
// back. The old owner's devices get a tombstone for the customer (and its notes and timeline).
func ReleaseTx(ctx context.Context, tx pgx.Tx, p authn.Principal, customerID uuid.UUID, reason string) (uuid.UUID, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return uuid.Nil, platform.Invalid("reason", "say why the customer goes back to the pool")
	}
	q := customerdb.New(tx)
	v, err := scope(ctx, q, p)
	if err != nil {
		return uuid.Nil, err
	}
	c, err := load(ctx, q, p, customerID)
	if err != nil {
		return uuid.Nil, err
	}
	if !c.OwnerID.Valid {
		return uuid.Nil, platform.FailedPrecondition("the customer is in the pool already")
	}
	if _, err := AddNoteTx(ctx, tx, p, uuid.Must(uuid.NewV7()), customerID, NotePlain, "Released to the pool: "+reason, nil); err != nil {
		return uuid.Nil, err
	}
	prev, err := q.ReleaseCustomer(ctx, customerdb.ReleaseCustomerParams{TenantID: p.TenantID, ID: customerID, AllOwners: v.all, Owners: v.ownerList()})
	if errors.Is(err, pgx.ErrNoRows) { // released or reassigned meanwhile
		return uuid.Nil, platform.FailedPrecondition("the customer changed hands meanwhile; reload it")
	}
	return prev, err
}

// Clock is what recycle rules judge a held customer by.
type Clock struct {
	// OwnerID is who holds the customer now (uuid.Nil: nobody).
	OwnerID     uuid.UUID
	DisplayName string
	// LastFollowUp and StageChanged are the last follow-up note and stage change (the customer's creation
	// when there was none).
	LastFollowUp, StageChanged time.Time
}

// ClocksTx reads the recycle clocks of customers, inside the caller's transaction; a customer merged away
// or gone is missing from the map.
func ClocksTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]Clock, error) {
	rows, err := customerdb.New(tx).RecycleClocks(ctx, customerdb.RecycleClocksParams{TenantID: tenantID, Ids: ids})
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]Clock, len(rows))
	for _, r := range rows {
		out[r.ID] = Clock{OwnerID: r.OwnerID.UUID, DisplayName: r.DisplayName, LastFollowUp: r.LastFollowUp, StageChanged: r.StageChangedAt}
	}
	return out, nil
}

// RecycleTx takes customers back from their owners (a recycle rule found them neglected), inside the
// caller's transaction, in one statement: nobody owns them afterwards, and the owners' devices get
// tombstones. owners[i] is the owner judged for ids[i]; it answers the ids taken back, leaving out those
// not their judged owner's any more (released, reassigned or merged meanwhile).
func RecycleTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, ids, owners []uuid.UUID) ([]uuid.UUID, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return customerdb.New(tx).RecycleCustomers(ctx, customerdb.RecycleCustomersParams{TenantID: tenantID, Ids: ids, OwnerIds: owners})
}
