package pool

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/pool/internal/pooldb"
	"github.com/salesapp/scrm/push/alert"
)

// warnAhead is how long before a lead goes back to its pool its holder is warned.
const warnAhead = 24 * time.Hour

// recycleBatch is how many due claims one transaction looks at.
const recycleBatch = 2000

// RecycleArgs is the periodic recycle job: held leads their pool's rules find neglected go back to the
// pool, their holders warned a day before.
type RecycleArgs struct{}

// Kind is River's name for the job.
func (RecycleArgs) Kind() string { return "pool_recycle" }

// RecycleInterval is how often the recycle job runs. A lead goes back at most this late; warnings go out
// at most this late too, so a holder always has most of a day.
const RecycleInterval = 10 * time.Minute

// RecycleWorker runs the recycle job.
type RecycleWorker struct {
	river.WorkerDefaults[RecycleArgs]
	svc *Service
}

// Worker is the recycle job's River worker.
func (s *Service) Worker() *RecycleWorker { return &RecycleWorker{svc: s} }

// Work runs the recycle rules of every tenant with claims due.
func (w *RecycleWorker) Work(ctx context.Context, _ *river.Job[RecycleArgs]) error {
	_, err := w.svc.Recycle(ctx)
	return err
}

// RecycleResult counts what a run did.
type RecycleResult struct {
	Warned, Recycled, Rescheduled int
}

// Recycle applies the recycle rules to the claims due by now, tenant by tenant. It reads only due rows:
// the tenants with claims due come from pool_due_tenants (an index walk of pool_claims_due_tenants_idx up
// to now), and each tenant's due claims from pool_claims_due_idx (DueClaims), a batch per transaction.
// A claim is due when its next_check_at has come: the earliest moment its holder might need a warning.
// The run reads the customer's last follow-up and stage change (customer.ClocksTx) and either moves the
// check on (a follow-up or stage change since), warns the holder (due within a day), or sends the lead
// back (due), so a follow-up never has to write to this domain's rows.
func (s *Service) Recycle(ctx context.Context) (RecycleResult, error) {
	now := s.now()
	var total RecycleResult
	tenants, err := pooldb.New(s.db.Pool).DueTenants(ctx, now)
	if err != nil {
		return total, err
	}
	for _, t := range tenants {
		for {
			res, n, err := s.recycleTenant(ctx, t, now)
			total.Warned += res.Warned
			total.Recycled += res.Recycled
			total.Rescheduled += res.Rescheduled
			if err != nil {
				return total, err
			}
			if n < recycleBatch {
				break
			}
		}
	}
	return total, nil
}

// due is when a claim's lead goes back by its pool's rules (false: never).
func due(r pooldb.DueClaimsRow, c customer.Clock) (time.Time, string, bool) {
	var at time.Time
	why := ""
	consider := func(days int32, since time.Time, reason string) {
		if days <= 0 {
			return
		}
		if since.Before(r.ClaimedAt) {
			since = r.ClaimedAt
		}
		t := since.Add(time.Duration(days) * 24 * time.Hour)
		if at.IsZero() || t.Before(at) {
			at, why = t, fmt.Sprintf(reason, days)
		}
	}
	consider(r.RecycleFollowUpDays, c.LastFollowUp, "no follow-up in %d days")
	consider(r.RecycleProgressDays, c.StageChanged, "no stage progress in %d days")
	return at, why, !at.IsZero()
}

func (s *Service) recycleTenant(ctx context.Context, tenantID uuid.UUID, now time.Time) (RecycleResult, int, error) {
	var res RecycleResult
	var n int
	var note alert.Notice
	err := s.db.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		res = RecycleResult{}
		q := pooldb.New(tx)
		rows, err := q.DueClaims(ctx, pooldb.DueClaimsParams{TenantID: tenantID, Now: now, MaxRows: recycleBatch})
		if err != nil {
			return err
		}
		n = len(rows)
		if n == 0 {
			return nil
		}
		ids := make([]uuid.UUID, len(rows))
		for i, r := range rows {
			ids[i] = r.CustomerID
		}
		clocks, err := customer.ClocksTx(ctx, tx, tenantID, ids)
		if err != nil {
			return err
		}
		// Judged row by row, written set by set: a batch is a handful of statements whatever its size (the
		// customers' update, with its sync rows, once).
		var (
			alerts           []alert.Alert
			closed           []uuid.UUID
			resched          []uuid.UUID
			nextAt, warnedAt []time.Time
			back             []pooldb.DueClaimsRow
			backWhy          []string
		)
		orEpoch := func(t *time.Time) time.Time {
			if t == nil {
				return time.Unix(0, 0)
			}
			return *t
		}
		for _, r := range rows {
			c, ok := clocks[r.CustomerID]
			if !ok || c.OwnerID != r.EmployeeID { // released, reassigned or merged: nothing left to judge
				closed = append(closed, r.ID)
				continue
			}
			at, why, ok := due(r, c)
			switch {
			case !ok: // the rules were turned off
				resched, nextAt, warnedAt = append(resched, r.ID), append(nextAt, time.Unix(0, 0)), append(warnedAt, time.Unix(0, 0))
				res.Rescheduled++
			case !now.Before(at):
				closed = append(closed, r.ID)
				back, backWhy = append(back, r), append(backWhy, why)
			case !now.Before(at.Add(-warnAhead)):
				if r.WarnedFor == nil || !r.WarnedFor.Equal(at) {
					name := c.DisplayName
					if name == "" {
						name = "A customer"
					}
					alerts = append(alerts, alert.Alert{Kind: alert.KindLeadRecycleWarning, EmployeeID: r.EmployeeID, CustomerID: r.CustomerID, At: now,
						Body: fmt.Sprintf("%s goes back to the pool 《%s》 tomorrow (%s) unless you follow up", name, r.PoolName, why)})
					res.Warned++
				}
				resched, nextAt, warnedAt = append(resched, r.ID), append(nextAt, at), append(warnedAt, at)
			default: // followed up or progressed since: look again when a warning may be due
				resched, nextAt, warnedAt = append(resched, r.ID), append(nextAt, at.Add(-warnAhead)), append(warnedAt, orEpoch(r.WarnedFor))
				res.Rescheduled++
			}
		}
		if len(resched) > 0 {
			if err := q.RescheduleMany(ctx, pooldb.RescheduleManyParams{TenantID: tenantID, Ids: resched, NextCheckAts: nextAt, WarnedFors: warnedAt}); err != nil {
				return err
			}
		}
		if len(closed) > 0 {
			if err := q.CloseClaimsByID(ctx, pooldb.CloseClaimsByIDParams{TenantID: tenantID, Ids: closed, At: now}); err != nil {
				return err
			}
		}
		if len(back) > 0 {
			recycled, err := s.recycle(ctx, tx, tenantID, now, back, backWhy, clocks)
			if err != nil {
				return err
			}
			alerts = append(alerts, recycled...)
			res.Recycled += len(recycled)
		}
		return s.notify.RecordTx(ctx, tx, &note, tenantID, alerts, s.now())
	})
	if err != nil {
		return RecycleResult{}, 0, err
	}
	s.notify.After(&note)
	return res, n, nil
}

// recycle takes back the leads of due claims (why[i] says why for due[i]) from their holders, in one
// statement per kind of write: the customers (those still the holder's), their places in their pools, the
// holders' cooldowns. It answers an alert per lead taken back.
func (s *Service) recycle(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, now time.Time, due []pooldb.DueClaimsRow, why []string,
	clocks map[uuid.UUID]customer.Clock) ([]alert.Alert, error) {
	ids := make([]uuid.UUID, len(due))
	owners := make([]uuid.UUID, len(due))
	for i, r := range due {
		ids[i], owners[i] = r.CustomerID, r.EmployeeID
	}
	taken, err := customer.RecycleTx(ctx, tx, tenantID, ids, owners)
	if err != nil {
		return nil, err
	}
	wasTaken := make(map[uuid.UUID]bool, len(taken))
	for _, id := range taken {
		wasTaken[id] = true
	}
	var (
		alerts                     []alert.Alert
		leads, pools               []uuid.UUID
		notes                      []string
		coolCustomers, coolHolders []uuid.UUID
		coolUntil                  []time.Time
	)
	for i, r := range due {
		if !wasTaken[r.CustomerID] { // not theirs any more (the row lock came after the clock was read)
			continue
		}
		leads, pools, notes = append(leads, r.CustomerID), append(pools, r.PoolID), append(notes, why[i])
		if r.CooldownDays > 0 {
			coolCustomers, coolHolders = append(coolCustomers, r.CustomerID), append(coolHolders, r.EmployeeID)
			coolUntil = append(coolUntil, now.Add(time.Duration(r.CooldownDays)*24*time.Hour))
		}
		name := clocks[r.CustomerID].DisplayName
		if name == "" {
			name = "A customer"
		}
		alerts = append(alerts, alert.Alert{Kind: alert.KindLeadRecycled, EmployeeID: r.EmployeeID, CustomerID: r.CustomerID, At: now,
			Body: fmt.Sprintf("%s went back to the pool 《%s》: %s", name, r.PoolName, why[i])})
	}
	q := pooldb.New(tx)
	if len(leads) > 0 {
		if err := q.EnterRecycled(ctx, pooldb.EnterRecycledParams{TenantID: tenantID, CustomerIds: leads, PoolIds: pools, Notes: notes}); err != nil {
			return nil, err
		}
	}
	if len(coolCustomers) > 0 {
		if err := q.SetCooldowns(ctx, pooldb.SetCooldownsParams{TenantID: tenantID, CustomerIds: coolCustomers, EmployeeIds: coolHolders,
			Untils: coolUntil}); err != nil {
			return nil, err
		}
	}
	return alerts, nil
}
