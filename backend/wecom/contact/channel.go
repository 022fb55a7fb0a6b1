package contact

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/wecom/contact/internal/contactdb"
)

// credited is the channel an add came through (zero when its state names none).
type credited struct {
	ID   uuid.UUID
	Name string
}

// creditChannelTx credits the channel whose state an add carried with the customer (once per customer)
// and puts the channel's tags on them.
func (s *Service) creditChannelTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, state string, customerID, employeeID uuid.UUID) (credited, error) {
	if state == "" {
		return credited{}, nil
	}
	q := contactdb.New(tx)
	ch, err := q.ChannelByState(ctx, contactdb.ChannelByStateParams{TenantID: tenantID, State: state})
	if errors.Is(err, pgx.ErrNoRows) {
		return credited{}, nil // a state of a contact way made elsewhere
	}
	if err != nil {
		return credited{}, err
	}
	if _, err := q.CreditChannel(ctx, contactdb.CreditChannelParams{TenantID: tenantID, ChannelID: ch.ID, CustomerID: customerID,
		EmployeeID: uuid.NullUUID{UUID: employeeID, Valid: employeeID != uuid.Nil}}); err != nil {
		return credited{}, err
	}
	if err := customer.AddTagsTx(ctx, tx, tenantID, customerID, ch.Tags); err != nil {
		return credited{}, err
	}
	return credited{ID: ch.ID, Name: ch.Name}, nil
}
