package tracking

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/tracking/internal/trackingdb"
	"github.com/salesapp/scrm/push/alert"
)

// alertsFor turns a batch's new events into alerts for the customers' owners: a first view, a return after
// days of silence, a read past 30 s, a forward, a call or WeChat tap, a phone number, a new customer from a
// card. Judged against the customers as they were before the batch.
func alertsFor(ctx context.Context, q *trackingdb.Queries, tenantID uuid.UUID, events []resolved, inserted map[uuid.UUID]bool,
	batch *customer.Batch, grown []trackingdb.RecomputeViewDwellRow) ([]alert.Alert, error) {
	var materialIDs []uuid.UUID
	for _, e := range events {
		if e.share.MaterialID != uuid.Nil {
			materialIDs = append(materialIDs, e.share.MaterialID)
		}
	}
	titles := map[uuid.UUID]string{}
	if len(materialIDs) > 0 {
		rows, err := q.MaterialTitles(ctx, materialIDs)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			titles[r.ID] = r.Title
		}
	}
	forwarded, err := forwardsSoFar(ctx, q, tenantID, events, inserted, batch)
	if err != nil {
		return nil, err
	}
	var out []alert.Alert
	seenView := map[uuid.UUID]bool{}
	done := map[uuid.UUID]bool{}
	for _, e := range events {
		if !inserted[e.ID] || done[e.ID] {
			continue
		}
		done[e.ID] = true
		cid := batch.Customer(e.VisitorID)
		st := batch.Prior(cid)
		who, what := alert.Who(st.Name), alert.Title(titles[e.share.MaterialID])
		a := alert.Alert{EmployeeID: st.OwnerID, CustomerID: cid, MaterialID: e.share.MaterialID, At: e.OccurredAt}
		switch e.Kind {
		case event.CardView, event.MaterialView:
			first := !seenView[cid]
			seenView[cid] = true
			switch {
			case st.New && first && e.Kind == event.CardView:
				a.Kind, a.Body = alert.KindNewCustomer, fmt.Sprintf("%s opened your card: a new customer", who)
			case st.Views == 0 && first:
				a.Kind, a.Body = alert.KindFirstView, fmt.Sprintf("%s opened %s", who, what)
			case first && !st.LastActive.IsZero() && e.OccurredAt.Sub(st.LastActive) >= alert.Silence:
				days := int(e.OccurredAt.Sub(st.LastActive).Hours() / 24)
				a.Kind, a.Body = alert.KindReturn, fmt.Sprintf("%s is back after %d days, reading %s", who, days, what)
			default:
				continue
			}
		case event.Forward:
			a.Kind, a.Body = alert.KindForward, fmt.Sprintf("%s forwarded %s", who, what)
			if f := forwarded[pair{cid, e.share.MaterialID}]; f != nil {
				f.n++
				a.Body = forwardText(who, what, f.dwell, f.n)
			}
		case event.CallClick:
			a.Kind, a.Body = alert.KindCallClick, fmt.Sprintf("%s tapped to call you", who)
		case event.WeChatClick:
			a.Kind, a.Body = alert.KindWeChatClick, fmt.Sprintf("%s wants to add you on WeChat", who)
		case event.PhoneLeft:
			a.Kind, a.Body = alert.KindPhoneLeft, fmt.Sprintf("%s left a phone number", who)
		default:
			continue
		}
		out = append(out, a)
	}
	long := alert.LongRead.Milliseconds()
	for _, g := range grown {
		if int64(g.OldDwellMs) < long && int64(g.NewDwellMs) >= long {
			st := batch.Prior(g.CustomerID)
			out = append(out, alert.Alert{Kind: alert.KindLongRead, EmployeeID: st.OwnerID, CustomerID: g.CustomerID,
				MaterialID: g.MaterialID.UUID, At: time.Now(),
				Body: fmt.Sprintf("%s read %s for %s", alert.Who(st.Name), alert.Title(titles[g.MaterialID.UUID]),
					alert.Duration(time.Duration(g.NewDwellMs)*time.Millisecond))})
		}
	}
	return out, nil
}

type pair struct{ customer, material uuid.UUID }

// forwardCount is what a forward alert says: how long the customer read the material, and how many
// friends they have forwarded it to counting this forward (n counts up through the batch).
type forwardCount struct {
	dwell time.Duration
	n     int
}

// forwardsSoFar reads, for the batch's forwards of materials, each customer's reading time and the
// forwards before this batch.
func forwardsSoFar(ctx context.Context, q *trackingdb.Queries, tenantID uuid.UUID, events []resolved, inserted map[uuid.UUID]bool,
	batch *customer.Batch) (map[pair]*forwardCount, error) {
	inBatch := map[pair]int{}
	var cids, mids []uuid.UUID
	for _, e := range events {
		if e.Kind != event.Forward || !inserted[e.ID] || e.share.MaterialID == uuid.Nil {
			continue
		}
		p := pair{batch.Customer(e.VisitorID), e.share.MaterialID}
		if inBatch[p] == 0 {
			cids, mids = append(cids, p.customer), append(mids, p.material)
		}
		inBatch[p]++
	}
	if len(inBatch) == 0 {
		return nil, nil
	}
	rows, err := q.ForwardContext(ctx, trackingdb.ForwardContextParams{TenantID: tenantID, CustomerIds: cids, MaterialIds: mids})
	if err != nil {
		return nil, err
	}
	out := map[pair]*forwardCount{}
	for _, r := range rows {
		p := pair{r.CustomerID, r.MaterialID.UUID}
		if n, ok := inBatch[p]; ok {
			out[p] = &forwardCount{dwell: time.Duration(r.DwellMs) * time.Millisecond, n: int(r.Forwards) - n}
		}
	}
	return out, nil
}

// forwardText: "Wang Fang read 《Family plan》 for 2 min 10 s and forwarded it to 2 friends".
func forwardText(who, what string, dwell time.Duration, n int) string {
	friends := "1 friend"
	if n != 1 {
		friends = fmt.Sprintf("%d friends", n)
	}
	if dwell < time.Second {
		return fmt.Sprintf("%s forwarded %s to %s", who, what, friends)
	}
	return fmt.Sprintf("%s read %s for %s and forwarded it to %s", who, what, alert.Duration(dwell), friends)
}
