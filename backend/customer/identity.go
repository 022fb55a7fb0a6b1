package customer

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/customer/customerdb"
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
	Channel          string
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
	err := s.db.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		q := customerdb.New(tx)
		find := func(kind, value string) (uuid.UUID, error) {
			id, err := q.CustomerByIdentity(ctx, customerdb.CustomerByIdentityParams{TenantID: tenantID, Kind: kind, Value: value})
			if errors.Is(err, pgx.ErrNoRows) {
				return uuid.Nil, nil
			}
			return id, err
		}
		visitorCustomer, err := find(IdentityVisitor, visitorID)
		if err != nil {
			return err
		}
		known := uuid.Nil
		for _, id := range ids {
			if id.Value == "" {
				continue
			}
			if known, err = find(id.Kind, id.Value); err != nil {
				return err
			}
			if known != uuid.Nil {
				break
			}
		}
		switch {
		case known != uuid.Nil && visitorCustomer != uuid.Nil && known != visitorCustomer:
			if err := merge(ctx, q, tenantID, visitorCustomer, known); err != nil {
				return err
			}
			out, returning = known, true
		case known != uuid.Nil:
			out, returning = known, true
		case visitorCustomer != uuid.Nil:
			out = visitorCustomer
		default:
			out = uuid.Must(uuid.NewV7())
			rule, err := q.OwnerRule(ctx, tenantID)
			if err != nil {
				return err
			}
			if rule == "pool" {
				src.OwnerID = uuid.Nil
			}
			err = q.NewCustomer(ctx, customerdb.NewCustomerParams{ID: out, TenantID: tenantID,
				OwnerID:       uuid.NullUUID{UUID: src.OwnerID, Valid: src.OwnerID != uuid.Nil},
				SourceChannel: src.Channel, SourceShareID: uuid.NullUUID{UUID: src.ShareID, Valid: src.ShareID != uuid.Nil}})
			if err != nil {
				return err
			}
		}
		for _, id := range append([]Identity{{IdentityVisitor, visitorID}}, ids...) {
			if id.Value == "" {
				continue
			}
			if err := q.AddIdentity(ctx, customerdb.AddIdentityParams{TenantID: tenantID, Kind: id.Kind, Value: id.Value, CustomerID: out}); err != nil {
				return err
			}
		}
		return nil
	})
	return out, returning, err
}

// merge moves everything of customer from onto customer into.
func merge(ctx context.Context, q *customerdb.Queries, tenantID, from, into uuid.UUID) error {
	// Lock both in id order, so that two merges of the same pair cannot deadlock.
	if _, err := q.LockCustomers(ctx, customerdb.LockCustomersParams{TenantID: tenantID, Ids: []uuid.UUID{from, into}}); err != nil {
		return err
	}
	moves := []func(context.Context, customerdb.MoveEventsParams) error{
		q.MoveEvents,
		func(ctx context.Context, p customerdb.MoveEventsParams) error {
			return q.MoveIdentities(ctx, customerdb.MoveIdentitiesParams(p))
		},
		func(ctx context.Context, p customerdb.MoveEventsParams) error {
			return q.MoveNotes(ctx, customerdb.MoveNotesParams(p))
		},
	}
	for _, move := range moves {
		if err := move(ctx, customerdb.MoveEventsParams{TenantID: tenantID, IntoID: into, FromID: from}); err != nil {
			return err
		}
	}
	if err := q.AbsorbCustomer(ctx, customerdb.AbsorbCustomerParams{TenantID: tenantID, IntoID: into, FromID: from}); err != nil {
		return err
	}
	return q.MarkMerged(ctx, customerdb.MarkMergedParams{TenantID: tenantID, IntoID: into, FromID: from})
}
