package pool

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/pool/internal/pooldb"
	"github.com/salesapp/scrm/push/alert"
)

// Reading is a lead that opened a material, as the tracking ingest saw it.
type Reading struct {
	CustomerID, MaterialID uuid.UUID
	// MaterialTitle is the material's title ("" for the card).
	MaterialTitle string
	At            time.Time
}

// maxOffers bounds the salespeople one hot lead is offered to (a different choice for each lead, see
// ActiveLeadManagers): the offer is recorded in the ingest's transaction.
const maxOffers = 500

// ActiveLeadsTx returns the alerts telling each pool's managers (the managers of its teams; the admins for
// a pool open to everyone) that a lead waiting in it is reading again, inside the ingest's transaction,
// and, for a pool that offers hot leads, offering the lead to the salespeople who may claim it (at most
// maxOffers; not one cooling down from it): the first to claim it has it. The caller passes the unowned
// customers of the batch who opened a material after a silence; one alert per lead and person. Set-based:
// one statement per batch.
func ActiveLeadsTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, readings []Reading) ([]alert.Alert, error) {
	if len(readings) == 0 {
		return nil, nil
	}
	by := make(map[uuid.UUID]Reading, len(readings))
	ids := make([]uuid.UUID, 0, len(readings))
	for _, r := range readings {
		if _, ok := by[r.CustomerID]; !ok {
			ids = append(ids, r.CustomerID)
		}
		by[r.CustomerID] = r
	}
	rows, err := pooldb.New(tx).ActiveLeadManagers(ctx, pooldb.ActiveLeadManagersParams{TenantID: tenantID, CustomerIds: ids, MaxOffers: maxOffers})
	if err != nil {
		return nil, err
	}
	out := make([]alert.Alert, 0, len(rows))
	for _, r := range rows {
		rd := by[r.CustomerID]
		what := "a material"
		if rd.MaterialTitle != "" {
			what = alert.Title(rd.MaterialTitle)
		}
		a := alert.Alert{Kind: alert.KindPoolLeadActive, EmployeeID: r.EmployeeID, CustomerID: r.CustomerID,
			MaterialID: rd.MaterialID, At: rd.At,
			Body: fmt.Sprintf("%s, waiting in the pool 《%s》, is reading %s again", alert.Who(r.DisplayName), r.PoolName, what)}
		if r.Offer {
			a.Kind = alert.KindPoolLeadOffer
			a.Body = fmt.Sprintf("A hot lead is waiting in 《%s》: %s is reading %s again. The first to claim it has it.",
				r.PoolName, alert.Who(r.DisplayName), what)
		}
		out = append(out, a)
	}
	return out, nil
}
