package stats

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/stats/internal/statsdb"
)

// Event is one newly stored event of an ingest batch, credited to the salesperson whose share (or
// forward of it) it came through. Only events the ingest actually inserted belong here: a resent event
// (its id already stored) must not be passed again, which is what makes replays count once.
type Event struct {
	EmployeeID, MaterialID, CustomerID uuid.UUID
	Kind                               event.Kind
	At                                 time.Time
}

// NewCustomer is a customer an ingest batch made, credited to the salesperson whose share brought them.
type NewCustomer struct {
	EmployeeID uuid.UUID
	At         time.Time
}

// Dwell is reading time a batch added to a view of a material; At is the view's time (not the
// heartbeat's), so the time lands on the day the view began.
type Dwell struct {
	// EmployeeID is the salesperson the view is credited to (uuid.Nil: none); the time counts for their team.
	EmployeeID, MaterialID uuid.UUID
	At                     time.Time
	AddedMs                int64
}

// Batch is what one tenant's part of an ingest transaction adds to the counters.
type Batch struct {
	Events       []Event
	NewCustomers []NewCustomer
	Dwell        []Dwell
}

// RecordEventsTx adds an ingest batch to the daily counters, in the caller's tenant transaction: the
// salespeople's days, their distinct visitors, and the materials' days, each on the day the event
// happened in the tenant's time zone (a late event lands on its own day). Set-based: at most three
// statements whatever the batch's size.
func RecordEventsTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, b Batch) error {
	q := statsdb.New(tx)
	emp := statsdb.AddEmployeeDaysParams{TenantID: tenantID}
	addEmp := func(id uuid.UUID, at time.Time, views, newCustomers, leads, forwards int32) {
		emp.EmployeeIds = append(emp.EmployeeIds, id)
		emp.At = append(emp.At, at)
		emp.Shares = append(emp.Shares, 0)
		emp.Views = append(emp.Views, views)
		emp.NewCustomers = append(emp.NewCustomers, newCustomers)
		emp.Leads = append(emp.Leads, leads)
		emp.Forwards = append(emp.Forwards, forwards)
		emp.TasksCompleted = append(emp.TasksCompleted, 0)
	}
	mat := statsdb.AddMaterialDaysParams{TenantID: tenantID}
	addMat := func(id, employee uuid.UUID, at time.Time, views int32, dwell int64, forwards, leads int32) {
		mat.MaterialIds = append(mat.MaterialIds, id)
		mat.EmployeeIds = append(mat.EmployeeIds, employee)
		mat.At = append(mat.At, at)
		mat.Shares = append(mat.Shares, 0)
		mat.Views = append(mat.Views, views)
		mat.DwellMs = append(mat.DwellMs, dwell)
		mat.Forwards = append(mat.Forwards, forwards)
		mat.Leads = append(mat.Leads, leads)
	}
	vis := statsdb.AddVisitorDaysParams{TenantID: tenantID}
	for _, e := range b.Events {
		var views, leads, forwards int32
		switch {
		case e.Kind.IsView():
			views = 1
			if e.EmployeeID != uuid.Nil && e.CustomerID != uuid.Nil {
				vis.EmployeeIds = append(vis.EmployeeIds, e.EmployeeID)
				vis.At = append(vis.At, e.At)
				vis.CustomerIds = append(vis.CustomerIds, e.CustomerID)
			}
		case e.Kind == event.PhoneLeft:
			leads = 1
		case e.Kind == event.Forward:
			forwards = 1
		default:
			continue
		}
		if e.EmployeeID != uuid.Nil {
			addEmp(e.EmployeeID, e.At, views, 0, leads, forwards)
		}
		if e.MaterialID != uuid.Nil {
			addMat(e.MaterialID, e.EmployeeID, e.At, views, 0, forwards, leads)
		}
	}
	for _, c := range b.NewCustomers {
		if c.EmployeeID != uuid.Nil {
			addEmp(c.EmployeeID, c.At, 0, 1, 0, 0)
		}
	}
	for _, d := range b.Dwell {
		if d.MaterialID != uuid.Nil && d.AddedMs != 0 {
			addMat(d.MaterialID, d.EmployeeID, d.At, 0, d.AddedMs, 0, 0)
		}
	}
	if len(emp.EmployeeIds) > 0 {
		if err := q.AddEmployeeDays(ctx, emp); err != nil {
			return err
		}
	}
	if len(vis.EmployeeIds) > 0 {
		if err := q.AddVisitorDays(ctx, vis); err != nil {
			return err
		}
	}
	if len(mat.MaterialIds) > 0 {
		return q.AddMaterialDays(ctx, mat)
	}
	return nil
}

// RecordShareTx counts a share a salesperson made (of a material, or of their card when materialID is
// uuid.Nil), in the share's transaction. Forwards by customers and the system's standing links are not
// shares and are not recorded here.
func RecordShareTx(ctx context.Context, tx pgx.Tx, tenantID, employeeID, materialID uuid.UUID, at time.Time) error {
	q := statsdb.New(tx)
	err := q.AddEmployeeDays(ctx, statsdb.AddEmployeeDaysParams{TenantID: tenantID, EmployeeIds: []uuid.UUID{employeeID},
		At: []time.Time{at}, Shares: []int32{1}, Views: []int32{0}, NewCustomers: []int32{0}, Leads: []int32{0},
		Forwards: []int32{0}, TasksCompleted: []int32{0}})
	if err != nil || materialID == uuid.Nil {
		return err
	}
	return q.AddMaterialDays(ctx, statsdb.AddMaterialDaysParams{TenantID: tenantID, MaterialIds: []uuid.UUID{materialID},
		EmployeeIds: []uuid.UUID{employeeID}, At: []time.Time{at}, Shares: []int32{1}, Views: []int32{0}, DwellMs: []int64{0}, Forwards: []int32{0}, Leads: []int32{0}})
}

// RecordTaskCompletedTx counts the tasks salespeople completed (one per element of employeeIDs, which
// may repeat), on the day of at in the tenant's time zone, for the "tasks completed" ranking, in one
// statement. The tasks domain calls it in the transaction that marks the tasks complete (so a completion
// counted is a completion stored).
func RecordTaskCompletedTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, employeeIDs []uuid.UUID, at time.Time) error {
	if len(employeeIDs) == 0 {
		return nil
	}
	p := statsdb.AddEmployeeDaysParams{TenantID: tenantID, EmployeeIds: employeeIDs}
	for range employeeIDs {
		p.At = append(p.At, at)
		p.Shares, p.Views, p.NewCustomers = append(p.Shares, 0), append(p.Views, 0), append(p.NewCustomers, 0)
		p.Leads, p.Forwards, p.TasksCompleted = append(p.Leads, 0), append(p.Forwards, 0), append(p.TasksCompleted, 1)
	}
	return statsdb.New(tx).AddEmployeeDays(ctx, p)
}
