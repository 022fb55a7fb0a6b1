// Package handover moves a departing or reassigned employee's customers, open tasks and follow-ups to one
// colleague or spreads them over several, records each transfer, and names the successor whose card and
// credit the departed employee's share links show from then on (migration 024, credited_employee).
//
// The moves themselves belong to their domains: customers and follow-ups go through
// customer.HandOverTx, tasks through task.HandOverTx, a release to the pool through pool.ReleaseAllTx.
// The sync triggers on customers and notes write the old owner's tombstones and the new owners' upserts.
package handover

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/audit"
	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/handover/internal/handoverdb"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/pool"
	"github.com/salesapp/scrm/backend/task"
)

// MaxSuccessors bounds how many colleagues one handover spreads customers over.
const MaxSuccessors = 50

// Request is one handover: whose customers, to whom, and which.
type Request struct {
	FromID uuid.UUID
	// ToIDs receive the customers in turn (one: all of them). The first also takes the open tasks and is
	// the successor the departed employee's links credit.
	ToIDs     []uuid.UUID
	Selection customer.Selection
}

// Handover is a recorded transfer.
type Handover struct {
	TenantID  uuid.UUID
	ID        uuid.UUID
	At        time.Time
	ActorID   uuid.UUID
	FromID    uuid.UUID
	ToIDs     []uuid.UUID
	Selection customer.Selection
	// Customers moved in all, and per successor (same order as ToIDs).
	Customers    int
	PerSuccessor []int
	Tasks        int
	FollowUps    int
}

// After is what another domain does inside a handover's transaction once its customers moved: the WeCom
// bridge asks WeCom to move those who are its external contacts, and adopts those only WeCom knows. moved
// maps each moved customer to its new owner (empty when none moved).
type After func(ctx context.Context, tx pgx.Tx, h Handover, moved map[uuid.UUID]uuid.UUID) error

// Service runs handovers.
type Service struct {
	db    *platform.DB
	now   func() time.Time
	after After
}

// NewService builds the service; now is the clock (time.Now when nil); after, when set, runs inside each
// handover's transaction.
func NewService(db *platform.DB, now func() time.Time, after After) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, now: now, after: after}
}

// HandOver runs a handover in one transaction. Admin only.
func (s *Service) HandOver(ctx context.Context, p authn.Principal, r Request) (Handover, error) {
	var out Handover
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		var err error
		out, err = HandOverTx(ctx, tx, p, r, s.now(), s.after)
		return err
	})
	return out, err
}

// HandOverTx is HandOver inside the caller's transaction (the tenant domain calls it when an admin
// disables an employee and names a successor). It checks the request, moves the customers (and their
// follow-ups) and the open tasks, records the successor and the handover, runs after (when set), and writes
// one audit entry.
func HandOverTx(ctx context.Context, tx pgx.Tx, p authn.Principal, r Request, now time.Time, after After) (Handover, error) {
	if p.Role != authn.RoleAdmin {
		return Handover{}, platform.PermissionDenied("only an admin hands over an employee's customers")
	}
	if err := r.check(); err != nil {
		return Handover{}, err
	}
	q := handoverdb.New(tx)
	if err := checkEmployees(ctx, q, p.TenantID, r); err != nil {
		return Handover{}, err
	}
	if err := q.LockEmployee(ctx, handoverdb.LockEmployeeParams{TenantID: p.TenantID, ID: r.FromID}); err != nil {
		return Handover{}, err
	}
	moved, err := customer.HandOverTx(ctx, tx, p.TenantID, r.FromID, r.ToIDs, r.Selection)
	if err != nil {
		return Handover{}, err
	}
	tasks, err := task.HandOverTx(ctx, tx, p.TenantID, r.FromID, r.ToIDs[0])
	if err != nil {
		return Handover{}, err
	}
	if err := q.SetSuccessor(ctx, handoverdb.SetSuccessorParams{TenantID: p.TenantID, EmployeeID: r.FromID, SuccessorID: r.ToIDs[0]}); err != nil {
		return Handover{}, err
	}
	per := make([]int32, len(r.ToIDs))
	at := make(map[uuid.UUID]int, len(r.ToIDs))
	for i, id := range r.ToIDs {
		at[id] = i
	}
	for _, owner := range moved.Owners {
		per[at[owner]]++
	}
	stages := make([]string, len(r.Selection.Stages))
	for i, st := range r.Selection.Stages {
		stages[i] = string(st)
	}
	tags := r.Selection.Tags
	if tags == nil {
		tags = []string{}
	}
	row, err := q.InsertHandover(ctx, handoverdb.InsertHandoverParams{TenantID: p.TenantID, ID: uuid.Must(uuid.NewV7()), At: now,
		ActorID: p.EmployeeID, FromID: r.FromID, ToIds: r.ToIDs, Stages: stages, Tags: tags, Customers: int32(len(moved.Owners)),
		PerSuccessor: per, Tasks: int32(tasks), FollowUps: int32(moved.FollowUps)})
	if err != nil {
		return Handover{}, err
	}
	h := fromRow(row)
	if after != nil {
		if err := after(ctx, tx, h, moved.Owners); err != nil {
			return Handover{}, err
		}
	}
	record := map[string]string{"to_ids": joinIDs(r.ToIDs), "customers": fmt.Sprint(h.Customers), "tasks": fmt.Sprint(h.Tasks),
		"follow_ups": fmt.Sprint(h.FollowUps), "handover_id": h.ID.String()}
	if len(stages) > 0 {
		record["stages"] = strings.Join(stages, ",")
	}
	if len(tags) > 0 {
		record["tags"] = strings.Join(tags, ",")
	}
	return h, audit.RecordTx(ctx, tx, p.TenantID, audit.Entry{Action: audit.EmployeeHandover, TargetKind: audit.TargetEmployee,
		TargetID: r.FromID, After: record})
}

// ReleaseToPoolTx leaves every customer of employeeID in a pool (poolID uuid.Nil: the default one),
// inside the caller's transaction, with one audit entry; the tenant domain calls it when an admin disables
// an employee and chooses the pool over a successor.
func ReleaseToPoolTx(ctx context.Context, tx pgx.Tx, p authn.Principal, employeeID, poolID uuid.UUID) (int, error) {
	n, err := pool.ReleaseAllTx(ctx, tx, p, employeeID, poolID, "left by a departed colleague")
	if err != nil || n == 0 {
		return n, err
	}
	return n, audit.RecordTx(ctx, tx, p.TenantID, audit.Entry{Action: audit.EmployeeHandover, TargetKind: audit.TargetEmployee,
		TargetID: employeeID, After: map[string]string{"pool_id": idOrDefault(poolID), "customers": fmt.Sprint(n)}})
}

func idOrDefault(id uuid.UUID) string {
	if id == uuid.Nil {
		return "default"
	}
	return id.String()
}

func (r Request) check() error {
	if r.FromID == uuid.Nil {
		return platform.Invalid("from_employee_id", "required")
	}
	if len(r.ToIDs) == 0 || len(r.ToIDs) > MaxSuccessors {
		return platform.Invalid("to_employee_ids", fmt.Sprintf("1 to %d colleagues", MaxSuccessors))
	}
	seen := make(map[uuid.UUID]bool, len(r.ToIDs))
	for _, id := range r.ToIDs {
		if id == r.FromID {
			return platform.Invalid("to_employee_ids", "an employee cannot hand over to themselves")
		}
		if seen[id] {
			return platform.Invalid("to_employee_ids", "each colleague once")
		}
		seen[id] = true
	}
	for _, st := range r.Selection.Stages {
		if !st.Valid() {
			return platform.Invalid("stages", "unknown stage")
		}
	}
	return nil
}

// checkEmployees: the employee handed over is the tenant's; the successors are its active employees.
func checkEmployees(ctx context.Context, q *handoverdb.Queries, tenantID uuid.UUID, r Request) error {
	rows, err := q.Employees(ctx, handoverdb.EmployeesParams{TenantID: tenantID, Ids: append([]uuid.UUID{r.FromID}, r.ToIDs...)})
	if err != nil {
		return err
	}
	status := make(map[uuid.UUID]string, len(rows))
	for _, e := range rows {
		status[e.ID] = e.Status
	}
	if _, ok := status[r.FromID]; !ok {
		return platform.NotFound("employee")
	}
	for _, id := range r.ToIDs {
		if status[id] != "active" {
			return platform.Invalid("to_employee_ids", "no active employee with id "+id.String())
		}
	}
	return nil
}

// Filter narrows List.
type Filter struct {
	// FromID lists one employee's handovers (uuid.Nil: everyone's).
	FromID    uuid.UUID
	PageSize  int
	PageToken string
}

// List returns the tenant's handovers, newest first. Admin only.
func (s *Service) List(ctx context.Context, p authn.Principal, f Filter) ([]Handover, string, error) {
	if p.Role != authn.RoleAdmin {
		return nil, "", platform.PermissionDenied("only an admin lists handovers")
	}
	size := f.PageSize
	if size <= 0 || size > 100 {
		size = 50
	}
	params := handoverdb.ListHandoversParams{TenantID: p.TenantID, FromID: f.FromID, Lim: int32(size + 1)}
	if f.PageToken != "" {
		at, id, err := decodeToken(f.PageToken)
		if err != nil {
			return nil, "", platform.Invalid("page_token", "malformed")
		}
		params.BeforeAt, params.BeforeID = &at, id
	}
	var out []Handover
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		rows, err := handoverdb.New(tx).ListHandovers(ctx, params)
		for _, r := range rows {
			out = append(out, fromRow(r))
		}
		return err
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > size {
		out = out[:size]
		last := out[size-1]
		next = base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d|%s", last.At.UnixMicro(), last.ID)))
	}
	return out, next, nil
}

func decodeToken(tok string) (time.Time, uuid.UUID, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return time.Time{}, uuid.Nil, err
	}
	micros, rest, ok := strings.Cut(string(b), "|")
	if !ok {
		return time.Time{}, uuid.Nil, errors.New("malformed token")
	}
	us, err := strconv.ParseInt(micros, 10, 64)
	if err != nil {
		return time.Time{}, uuid.Nil, err
	}
	id, err := uuid.Parse(rest)
	return time.UnixMicro(us), id, err
}

func fromRow(r handoverdb.Handover) Handover {
	h := Handover{TenantID: r.TenantID, ID: r.ID, At: r.At, ActorID: r.ActorID, FromID: r.FromID, ToIDs: r.ToIds, Customers: int(r.Customers),
		Tasks: int(r.Tasks), FollowUps: int(r.FollowUps), Selection: customer.Selection{Tags: r.Tags}}
	for _, st := range r.Stages {
		h.Selection.Stages = append(h.Selection.Stages, customer.Stage(st))
	}
	for _, n := range r.PerSuccessor {
		h.PerSuccessor = append(h.PerSuccessor, int(n))
	}
	return h
}

func joinIDs(ids []uuid.UUID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	return strings.Join(s, ",")
}
