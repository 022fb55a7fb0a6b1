package customer

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/customer/internal/customerdb"
	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/platform"
)

// Identity kinds.
const (
	IdentityVisitor        = "visitor"
	IdentityMiniProgram    = "mp_openid"
	IdentityH5             = "h5_openid"
	IdentityUnion          = "unionid"
	IdentityExternalUserID = "external_userid"
	IdentityPhone          = "phone"
)

// Identity is one way a customer is known.
type Identity struct{ Kind, Value string }

// Source is the share that brought a visitor, for a customer made at sign-in.
type Source struct {
	OwnerID, ShareID uuid.UUID
	Channel          event.Channel
}

// Identify ties what a visitor proved (an openid, a unionid...) to their customer, and returns the
// customer. Strong identities are looked at in order (unionid first: one unionid is one customer); when
// they name another customer than the visitor's, the visitor's customer is merged into that one: its events,
// identities and notes move over and its activity is added, so nothing is lost or counted twice.
func (s *Service) Identify(ctx context.Context, tenantID uuid.UUID, visitorID string, src Source, ids ...Identity) (uuid.UUID, bool, error) {
	var (
		out       uuid.UUID
		returning bool
	)
	// A sign-in can deadlock with an ingest batch or another sign-in locking the same customers in another
	// order; the transaction is simply run again.
	err := platform.Retry(ctx, 3, func() error {
		return s.db.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
			var err error
			out, returning, err = identify(ctx, customerdb.New(tx), tenantID, visitorID, src, ids)
			return err
		})
	})
	return out, returning, err
}

func identify(ctx context.Context, q *customerdb.Queries, tenantID uuid.UUID, visitorID string, src Source, ids []Identity) (uuid.UUID, bool, error) {
	find := func(kind, value string) (uuid.UUID, error) {
		id, err := q.CustomerByIdentity(ctx, customerdb.CustomerByIdentityParams{TenantID: tenantID, Kind: kind, Value: value})
		if errors.Is(err, pgx.ErrNoRows) {
			return uuid.Nil, nil
		}
		return id, err
	}
	visitorCustomer, err := find(IdentityVisitor, visitorID)
	if err != nil {
		return uuid.Nil, false, err
	}
	known := uuid.Nil
	for _, id := range ids {
		if id.Value == "" {
			continue
		}
		if known, err = find(id.Kind, id.Value); err != nil {
			return uuid.Nil, false, err
		}
		if known != uuid.Nil {
			break
		}
	}
	var out uuid.UUID
	returning := known != uuid.Nil
	switch {
	case known != uuid.Nil:
		out = known
	case visitorCustomer != uuid.Nil:
		out = visitorCustomer
	default:
		out = uuid.Must(uuid.NewV7())
		rule, err := ownerRule(ctx, q, tenantID)
		if err != nil {
			return uuid.Nil, false, err
		}
		src.OwnerID = rule.firstOwner(src.OwnerID)
		err = q.NewCustomer(ctx, customerdb.NewCustomerParams{ID: out, TenantID: tenantID,
			OwnerID:       uuid.NullUUID{UUID: src.OwnerID, Valid: src.OwnerID != uuid.Nil},
			SourceChannel: string(src.Channel), SourceShareID: uuid.NullUUID{UUID: src.ShareID, Valid: src.ShareID != uuid.Nil}})
		if err != nil {
			return uuid.Nil, false, err
		}
	}
	// Claim every identity for out. One another customer already has (the visitor's own earlier visits,
	// or a concurrent first sighting that committed meanwhile) is that customer's: it is merged into out.
	for _, id := range append([]Identity{{IdentityVisitor, visitorID}}, ids...) {
		if id.Value == "" {
			continue
		}
		holder, err := q.AddIdentity(ctx, customerdb.AddIdentityParams{TenantID: tenantID, Kind: id.Kind, Value: id.Value, CustomerID: out})
		if err != nil {
			return uuid.Nil, false, err
		}
		if holder != out {
			if out, err = merge(ctx, q, tenantID, holder, out); err != nil {
				return uuid.Nil, false, err
			}
		}
	}
	return out, returning, nil
}

// merge moves everything of customer from onto customer into and returns the survivor. Both are locked
// first, in id order; a customer already merged away (by a sign-in that won a race) is followed to its
// survivor, so nothing is ever added twice.
func merge(ctx context.Context, q *customerdb.Queries, tenantID, from, into uuid.UUID) (uuid.UUID, error) {
	for range 8 { // follow at most a short chain of earlier merges
		if from == into {
			return into, nil
		}
		locked, err := q.LockCustomers(ctx, customerdb.LockCustomersParams{TenantID: tenantID, Ids: []uuid.UUID{from, into}})
		if err != nil {
			return uuid.Nil, err
		}
		moved := map[uuid.UUID]uuid.UUID{}
		for _, l := range locked {
			if l.MergedInto.Valid {
				moved[l.ID] = l.MergedInto.UUID
			}
		}
		if m, ok := moved[into]; ok {
			into = m
			continue
		}
		if m, ok := moved[from]; ok {
			from = m
			continue
		}
		p := customerdb.MoveEventsParams{TenantID: tenantID, IntoID: into, FromID: from}
		if err := q.MoveEvents(ctx, p); err != nil {
			return uuid.Nil, err
		}
		if err := q.MoveIdentities(ctx, customerdb.MoveIdentitiesParams(p)); err != nil {
			return uuid.Nil, err
		}
		if err := q.MoveNotes(ctx, customerdb.MoveNotesParams(p)); err != nil {
			return uuid.Nil, err
		}
		if err := q.AbsorbCustomer(ctx, customerdb.AbsorbCustomerParams{TenantID: tenantID, IntoID: into, FromID: from}); err != nil {
			return uuid.Nil, err
		}
		return into, q.MarkMerged(ctx, customerdb.MarkMergedParams{TenantID: tenantID, IntoID: into, FromID: from})
	}
	return uuid.Nil, errors.New("customer: merge chain too long")
}

// VisitorCustomer returns the customer a visitor id names in the tenant now (a merged-away customer's
// visitor names the survivor) and their salesperson (uuid.Nil when they have none yet). An unknown
// visitor is NotFound.
func (s *Service) VisitorCustomer(ctx context.Context, tenantID uuid.UUID, visitorID string) (customerID, ownerID uuid.UUID, err error) {
	err = s.db.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		row, err := customerdb.New(tx).VisitorOwner(ctx, customerdb.VisitorOwnerParams{TenantID: tenantID, Visitor: visitorID})
		if errors.Is(err, pgx.ErrNoRows) {
			return platform.NotFound("customer")
		}
		customerID, ownerID = row.ID, row.OwnerID.UUID
		return err
	})
	return customerID, ownerID, err
}
