// Package task keeps marketing tasks: an admin or a manager asks salespeople to share materials and reach
// customers ("share these 3 times this week, get 20 views, 2 new customers"); salespeople claim them, or
// are assigned outright; the tracking ingest scores each person's progress from what customers did
// through the task's shares (RecordProgressTx, in the ingest's transaction), and completion alerts the
// salesperson and the creator once.
package task

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/task/internal/taskdb"
	"github.com/salesapp/scrm/push/alert"
)

// Audience says who may take a task.
type Audience string

// Audiences.
const (
	AudienceTenant    Audience = "tenant"
	AudienceTeams     Audience = "teams"
	AudienceEmployees Audience = "employees"
)

// Status of a task.
type Status string

// Statuses.
const (
	StatusActive    Status = "active"
	StatusCancelled Status = "cancelled"
)

// Counts is a set of task counters: targets (0: not a target) or progress.
type Counts struct {
	Shares, Views, Viewers, Forwards, NewCustomers, Leads int
}

func (c Counts) any() bool {
	return c.Shares+c.Views+c.Viewers+c.Forwards+c.NewCustomers+c.Leads > 0
}

// Task is a marketing task.
type Task struct {
	ID            uuid.UUID
	CreatedBy     uuid.UUID
	Title, Brief  string
	MaterialIDs   []uuid.UUID
	Targets       Counts
	StartsAt      time.Time
	EndsAt        time.Time
	Audience      Audience
	TeamIDs       []uuid.UUID
	EmployeeIDs   []uuid.UUID
	ClaimRequired bool
	// MaxClaimers caps how many may claim it; 0 is no cap.
	MaxClaimers int
	Claimers    int
	Status      Status
	Version     int64
	CreatedAt   time.Time
}

// Draft is what a creator says about a task.
type Draft struct {
	Title, Brief  string
	MaterialIDs   []uuid.UUID
	Targets       Counts
	StartsAt      time.Time
	EndsAt        time.Time
	Audience      Audience
	TeamIDs       []uuid.UUID
	EmployeeIDs   []uuid.UUID
	ClaimRequired bool
	MaxClaimers   int
}

// Edit is what may change once a task exists: its wording, materials, targets (not below progress), end
// and cap.
type Edit struct {
	Title, Brief string
	MaterialIDs  []uuid.UUID
	Targets      Counts
	EndsAt       time.Time
	MaxClaimers  int
}

// State is where a task stands for one salesperson.
type State string

// States in a salesperson's list.
const (
	// StateAvailable: they may claim it.
	StateAvailable State = "available"
	// StateClaimed: they are on it (claimed or assigned), and it runs.
	StateClaimed State = "claimed"
	// StateFinished: they completed it, or it ended or was cancelled.
	StateFinished State = "finished"
)

// Mine is a task as a salesperson sees it, with their own progress.
type Mine struct {
	Task
	State       State
	Progress    Counts
	CompletedAt time.Time
}

// Assignee is one person on a task and their progress.
type Assignee struct {
	EmployeeID  uuid.UUID
	Name        string
	TeamID      uuid.UUID
	Claimed     bool
	JoinedAt    time.Time
	Progress    Counts
	CompletedAt time.Time
}

// Reached is a customer an assignee reached through the task's shares.
type Reached struct {
	CustomerID  uuid.UUID
	Name        string
	FirstAt     time.Time
	Viewed      bool
	Lead        bool
	NewCustomer bool
}

// Service keeps tasks.
type Service struct {
	db     *platform.DB
	notify alert.Notifier
	now    func() time.Time
}

// NewService builds the service. jobs enqueues the pushes of task alerts in their transaction (nil: none);
// wake is told after commit which alert streams grew (nil: nobody).
func NewService(db *platform.DB, jobs alert.Jobs, wake func([]alert.Key)) *Service {
	return &Service{db: db, notify: alert.Notifier{Jobs: jobs, Wake: wake}, now: time.Now}
}

// Limits.
const (
	maxTitle     = 100
	maxBrief     = 2000
	maxMaterials = 20
	maxAudience  = 500
)

func manages(p authn.Principal) bool { return p.Role == authn.RoleAdmin || p.Role == authn.RoleManager }

// Create makes a task. Managers aim only at their own team (the team, or chosen employees of it).
// Assigned-outright tasks put everyone in the audience on it at once and alert them.
func (s *Service) Create(ctx context.Context, p authn.Principal, d Draft) (Task, error) {
	if !manages(p) {
		return Task{}, platform.PermissionDenied("only admins and managers create tasks")
	}
	if err := checkDraft(d); err != nil {
		return Task{}, err
	}
	var out Task
	var n alert.Notice
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := taskdb.New(tx)
		if err := checkAudience(ctx, q, p, d); err != nil {
			return err
		}
		if err := checkMaterials(ctx, q, p.TenantID, d.MaterialIDs); err != nil {
			return err
		}
		row, err := q.InsertTask(ctx, taskdb.InsertTaskParams{
			TenantID: p.TenantID, ID: uuid.Must(uuid.NewV7()), CreatedBy: p.EmployeeID, Title: d.Title, Brief: d.Brief,
			MaterialIds: nonNil(d.MaterialIDs), TargetShares: int32(d.Targets.Shares), TargetViews: int32(d.Targets.Views),
			TargetViewers: int32(d.Targets.Viewers), TargetForwards: int32(d.Targets.Forwards),
			TargetNewCustomers: int32(d.Targets.NewCustomers), TargetLeads: int32(d.Targets.Leads),
			StartsAt: d.StartsAt, EndsAt: d.EndsAt, Audience: string(d.Audience), TeamIds: nonNil(d.TeamIDs),
			EmployeeIds: nonNil(d.EmployeeIDs), ClaimRequired: d.ClaimRequired, MaxClaimers: int32(d.MaxClaimers),
		})
		if err != nil {
			return err
		}
		out = fromRow(row)
		if d.ClaimRequired {
			return nil
		}
		ids, err := q.AssignAudience(ctx, taskdb.AssignAudienceParams{TenantID: p.TenantID, TaskID: row.ID})
		if err != nil {
			return err
		}
		alerts := make([]alert.Alert, 0, len(ids))
		for _, id := range ids {
			alerts = append(alerts, alert.Alert{Kind: alert.KindTaskAssigned, EmployeeID: id, At: s.now(),
				Body: fmt.Sprintf("New task: %s", alert.Title(row.Title))})
		}
		return s.notify.RecordTx(ctx, tx, &n, p.TenantID, alerts, s.now())
	})
	if err != nil {
		return Task{}, err
	}
	s.notify.After(&n)
	return out, nil
}

func nonNil(ids []uuid.UUID) []uuid.UUID {
	if ids == nil {
		return []uuid.UUID{}
	}
	return ids
}

func checkDraft(d Draft) error {
	if err := checkText(d.Title, d.Brief); err != nil {
		return err
	}
	if len(d.MaterialIDs) > maxMaterials {
		return platform.Invalid("material_ids", fmt.Sprintf("at most %d materials", maxMaterials))
	}
	if err := checkTargets(d.Targets); err != nil {
		return err
	}
	if d.StartsAt.IsZero() {
		return platform.Invalid("starts_at", "required")
	}
	if !d.EndsAt.After(d.StartsAt) {
		return platform.Invalid("ends_at", "must be after starts_at")
	}
	if d.MaxClaimers < 0 {
		return platform.Invalid("max_claimers", "must not be negative")
	}
	if d.MaxClaimers > 0 && !d.ClaimRequired {
		return platform.Invalid("max_claimers", "a cap on claimers needs claim_required")
	}
	switch d.Audience {
	case AudienceTenant:
		if len(d.TeamIDs)+len(d.EmployeeIDs) > 0 {
			return platform.Invalid("audience", "a tenant-wide task names no teams or employees")
		}
	case AudienceTeams:
		if len(d.TeamIDs) == 0 || len(d.TeamIDs) > maxAudience {
			return platform.Invalid("team_ids", fmt.Sprintf("1 to %d teams", maxAudience))
		}
	case AudienceEmployees:
		if len(d.EmployeeIDs) == 0 || len(d.EmployeeIDs) > maxAudience {
			return platform.Invalid("employee_ids", fmt.Sprintf("1 to %d employees", maxAudience))
		}
	default:
		return platform.Invalid("audience", "unknown audience")
	}
	return nil
}

func checkText(title, brief string) error {
	if n := len([]rune(title)); n < 1 || n > maxTitle {
		return platform.Invalid("title", fmt.Sprintf("1 to %d characters", maxTitle))
	}
	if len([]rune(brief)) > maxBrief {
		return platform.Invalid("brief", fmt.Sprintf("at most %d characters", maxBrief))
	}
	return nil
}

func checkTargets(c Counts) error {
	for _, v := range []int{c.Shares, c.Views, c.Viewers, c.Forwards, c.NewCustomers, c.Leads} {
		if v < 0 || v > 1_000_000 {
			return platform.Invalid("targets", "each target is 0 to 1000000")
		}
	}
	if !c.any() {
		return platform.Invalid("targets", "at least one target")
	}
	return nil
}

// checkAudience: the teams and employees exist (and are active); a manager's are of their own team.
func checkAudience(ctx context.Context, q *taskdb.Queries, p authn.Principal, d Draft) error {
	manager := p.Role == authn.RoleManager
	switch d.Audience {
	case AudienceTenant:
		if manager {
			return platform.PermissionDenied("only an admin can give the whole enterprise a task: choose your team, or people in it")
		}
	case AudienceTeams:
		if manager && len(p.Leads) == 0 {
			return authn.ErrNoTeam
		}
		if manager && slices.ContainsFunc(d.TeamIDs, func(id uuid.UUID) bool { return !p.LeadsTeam(id) }) {
			return platform.PermissionDenied("a manager gives tasks to the teams they lead only: leave out the other teams")
		}
		n, err := q.TeamsFound(ctx, taskdb.TeamsFoundParams{TenantID: p.TenantID, Ids: dedupe(d.TeamIDs)})
		if err != nil {
			return err
		}
		if int(n) != len(dedupe(d.TeamIDs)) {
			return platform.Invalid("team_ids", "unknown team")
		}
	case AudienceEmployees:
		if manager && len(p.Leads) == 0 {
			return authn.ErrNoTeam
		}
		n, err := q.EmployeesOutsideTeam(ctx, taskdb.EmployeesOutsideTeamParams{Ids: dedupe(d.EmployeeIDs), TenantID: p.TenantID,
			TeamOnly: manager, TeamIds: p.Leads})
		if err != nil {
			return err
		}
		if n > 0 {
			return platform.Invalid("employee_ids", "unknown employee, or (for a manager) not of their team")
		}
	}
	return nil
}

func checkMaterials(ctx context.Context, q *taskdb.Queries, tenantID uuid.UUID, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	ids = dedupe(ids)
	n, err := q.MaterialsFound(ctx, taskdb.MaterialsFoundParams{TenantID: uuid.NullUUID{UUID: tenantID, Valid: true}, Ids: ids})
	if err != nil {
		return err
	}
	if int(n) != len(ids) {
		return platform.Invalid("material_ids", "unknown or unpublished material")
	}
	return nil
}

func dedupe(ids []uuid.UUID) []uuid.UUID {
	seen := map[uuid.UUID]bool{}
	out := make([]uuid.UUID, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

var errNoTask = platform.NotFound("task")

// get reads a task the caller may see: a manager's own or aimed at their team, any for an admin; for a
// salesperson, one they are on or may claim.
func (s *Service) visible(ctx context.Context, q *taskdb.Queries, p authn.Principal, id uuid.UUID, lock bool) (taskdb.Task, error) {
	var row taskdb.Task
	var err error
	if lock {
		row, err = q.LockTask(ctx, taskdb.LockTaskParams{TenantID: p.TenantID, ID: id})
	} else {
		row, err = q.GetTask(ctx, taskdb.GetTaskParams{TenantID: p.TenantID, ID: id})
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return row, errNoTask
	}
	if err != nil {
		return row, err
	}
	switch p.Role {
	case authn.RoleAdmin:
		return row, nil
	case authn.RoleManager:
		if row.CreatedBy == p.EmployeeID || slices.ContainsFunc(row.TeamIds, p.LeadsTeam) {
			return row, nil
		}
	}
	if eligible(row, p) {
		return row, nil
	}
	n, err := q.Assignees(ctx, taskdb.AssigneesParams{TenantID: p.TenantID, TaskID: id, SelfOnly: true, EmployeeID: p.EmployeeID})
	if err != nil {
		return row, err
	}
	if len(n) == 0 {
		return row, errNoTask
	}
	return row, nil
}

// eligible: the task's audience includes p.
func eligible(row taskdb.Task, p authn.Principal) bool {
	switch Audience(row.Audience) {
	case AudienceTenant:
		return true
	case AudienceTeams:
		return p.TeamID != uuid.Nil && slices.Contains(row.TeamIds, p.TeamID)
	case AudienceEmployees:
		return slices.Contains(row.EmployeeIds, p.EmployeeID)
	}
	return false
}

// canManage: admins manage every task; managers those they made.
func canManage(p authn.Principal, row taskdb.Task) bool {
	return p.Role == authn.RoleAdmin || (p.Role == authn.RoleManager && row.CreatedBy == p.EmployeeID)
}

// Get returns a task the caller may see.
func (s *Service) Get(ctx context.Context, p authn.Principal, id uuid.UUID) (Task, error) {
	var out Task
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		row, err := s.visible(ctx, taskdb.New(tx), p, id, false)
		out = fromRow(row)
		return err
	})
	return out, err
}

// ListMine lists the caller's tasks in one state (or all states for "").
func (s *Service) ListMine(ctx context.Context, p authn.Principal, state State) ([]Mine, error) {
	var out []Mine
	now := s.now()
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		rows, err := taskdb.New(tx).ListTasksForEmployee(ctx, taskdb.ListTasksForEmployeeParams{
			TenantID: p.TenantID, EmployeeID: p.EmployeeID})
		if err != nil {
			return err
		}
		for _, r := range rows {
			m := Mine{Task: fromRow(r.Task), Progress: Counts{Shares: int(r.Shares), Views: int(r.Views), Viewers: int(r.Viewers),
				Forwards: int(r.Forwards), NewCustomers: int(r.NewCustomers), Leads: int(r.Leads)}}
			if r.CompletedAt != nil {
				m.CompletedAt = *r.CompletedAt
			}
			ended := m.Status != StatusActive || !now.Before(m.EndsAt)
			switch {
			case r.Joined && (ended || r.CompletedAt != nil):
				m.State = StateFinished
			case r.Joined:
				m.State = StateClaimed
			default: // offered to them (the query's rule)
				m.State = StateAvailable
			}
			if state == "" || state == m.State {
				out = append(out, m)
			}
		}
		return nil
	})
	return out, err
}

// ListManaged lists the tasks an admin (all) or manager (theirs and their team's) oversees.
func (s *Service) ListManaged(ctx context.Context, p authn.Principal) ([]Task, error) {
	if !manages(p) {
		return nil, platform.PermissionDenied("only admins and managers oversee tasks")
	}
	var out []Task
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		rows, err := taskdb.New(tx).ListManagedTasks(ctx, taskdb.ListManagedTasksParams{TenantID: p.TenantID,
			AllTasks: p.Role == authn.RoleAdmin, EmployeeID: p.EmployeeID})
		for _, r := range rows {
			out = append(out, fromRow(r.Task))
		}
		return err
	})
	return out, err
}

// Claim puts the caller on a task that needs claiming. Under a cap, concurrent claims queue on the task's
// row: exactly the cap's number succeed; the others are ResourceExhausted (no place will free up).
// Claiming a task one is on already is a no-op.
func (s *Service) Claim(ctx context.Context, p authn.Principal, id uuid.UUID) (Task, error) {
	var out Task
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		var err error
		out, err = s.ClaimTx(ctx, tx, p, id)
		return err
	})
	return out, err
}

// ClaimTx is Claim inside the caller's tenant transaction (the claim_task sync mutation).
func (s *Service) ClaimTx(ctx context.Context, tx pgx.Tx, p authn.Principal, id uuid.UUID) (Task, error) {
	q := taskdb.New(tx)
	// The task's row lock first: claims queue on it (CountClaim would take it anyway), before any of them
	// writes the sync rows that filling the task rewrites (migration 045), which would deadlock them.
	row, err := q.LockTask(ctx, taskdb.LockTaskParams{TenantID: p.TenantID, ID: id})
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && !eligible(row, p)) {
		return Task{}, errNoTask
	}
	if err != nil {
		return Task{}, err
	}
	if !row.ClaimRequired {
		return Task{}, platform.FailedPrecondition("the task is assigned, not claimed")
	}
	if Status(row.Status) != StatusActive {
		return Task{}, platform.FailedPrecondition("the task was cancelled")
	}
	if !s.now().Before(row.EndsAt) {
		return Task{}, platform.FailedPrecondition("the task has ended")
	}
	n, err := q.InsertClaim(ctx, taskdb.InsertClaimParams{TenantID: p.TenantID, TaskID: id, EmployeeID: p.EmployeeID})
	if err != nil {
		return Task{}, err
	}
	if n == 0 {
		return fromRow(row), nil // claimed before
	}
	n, err = q.CountClaim(ctx, taskdb.CountClaimParams{TenantID: p.TenantID, ID: id})
	if err != nil {
		return Task{}, err
	}
	if n == 0 {
		return Task{}, platform.ResourceExhausted("every place on the task is taken; it will not free up")
	}
	row.Claimers++
	return fromRow(row), nil
}

// Update edits a task. A target cannot go below the progress someone has made on it already
// (FailedPrecondition naming the target); a raised target can complete nobody, a lowered one may complete
// assignees, who are alerted.
func (s *Service) Update(ctx context.Context, p authn.Principal, id uuid.UUID, e Edit) (Task, error) {
	if err := checkText(e.Title, e.Brief); err != nil {
		return Task{}, err
	}
	if err := checkTargets(e.Targets); err != nil {
		return Task{}, err
	}
	if len(e.MaterialIDs) > maxMaterials {
		return Task{}, platform.Invalid("material_ids", fmt.Sprintf("at most %d materials", maxMaterials))
	}
	if e.MaxClaimers < 0 {
		return Task{}, platform.Invalid("max_claimers", "must not be negative")
	}
	var out Task
	var n alert.Notice
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := taskdb.New(tx)
		row, err := s.visible(ctx, q, p, id, true)
		if err != nil {
			return err
		}
		if !canManage(p, row) {
			return platform.PermissionDenied("only the task's creator or an admin edits it")
		}
		if Status(row.Status) != StatusActive {
			return platform.FailedPrecondition("the task was cancelled")
		}
		if !e.EndsAt.After(row.StartsAt) {
			return platform.Invalid("ends_at", "must be after starts_at")
		}
		if e.MaxClaimers > 0 && e.MaxClaimers < int(row.Claimers) {
			return platform.FailedPrecondition(fmt.Sprintf("max_claimers cannot go below the %d who claimed it", row.Claimers))
		}
		if e.MaxClaimers > 0 && !row.ClaimRequired {
			return platform.Invalid("max_claimers", "a cap on claimers needs claim_required")
		}
		if err := checkMaterials(ctx, q, p.TenantID, e.MaterialIDs); err != nil {
			return err
		}
		m, err := q.MaxProgress(ctx, taskdb.MaxProgressParams{TenantID: p.TenantID, TaskID: id})
		if err != nil {
			return err
		}
		for _, c := range []struct {
			name        string
			target, got int32
			old         int32
		}{
			{"target_shares", int32(e.Targets.Shares), m.Shares, row.TargetShares},
			{"target_views", int32(e.Targets.Views), m.Views, row.TargetViews},
			{"target_viewers", int32(e.Targets.Viewers), m.Viewers, row.TargetViewers},
			{"target_forwards", int32(e.Targets.Forwards), m.Forwards, row.TargetForwards},
			{"target_new_customers", int32(e.Targets.NewCustomers), m.NewCustomers, row.TargetNewCustomers},
			{"target_leads", int32(e.Targets.Leads), m.Leads, row.TargetLeads},
		} {
			if c.target < c.old && c.target < c.got {
				return platform.FailedPrecondition(fmt.Sprintf("%s cannot go below the progress made (%d)", c.name, c.got))
			}
		}
		row, err = q.UpdateTask(ctx, taskdb.UpdateTaskParams{TenantID: p.TenantID, ID: id, Title: e.Title, Brief: e.Brief,
			MaterialIds: nonNil(e.MaterialIDs), TargetShares: int32(e.Targets.Shares), TargetViews: int32(e.Targets.Views),
			TargetViewers: int32(e.Targets.Viewers), TargetForwards: int32(e.Targets.Forwards),
			TargetNewCustomers: int32(e.Targets.NewCustomers), TargetLeads: int32(e.Targets.Leads), EndsAt: e.EndsAt,
			MaxClaimers: int32(e.MaxClaimers)})
		if err != nil {
			return err
		}
		out = fromRow(row)
		all, err := q.TaskAssigneesAll(ctx, taskdb.TaskAssigneesAllParams{TenantID: p.TenantID, TaskID: id})
		if err != nil {
			return err
		}
		var tasks, emps []uuid.UUID
		for _, a := range all {
			tasks, emps = append(tasks, a.TaskID), append(emps, a.EmployeeID)
		}
		alerts, err := completeTx(ctx, tx, p.TenantID, tasks, emps, s.now())
		if err != nil {
			return err
		}
		return s.notify.RecordTx(ctx, tx, &n, p.TenantID, alerts, s.now())
	})
	if err != nil {
		return Task{}, err
	}
	s.notify.After(&n)
	return out, nil
}

// Cancel stops a task; those on it who had not completed it are alerted. Cancelling a cancelled task is
// a no-op.
func (s *Service) Cancel(ctx context.Context, p authn.Principal, id uuid.UUID) error {
	var n alert.Notice
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := taskdb.New(tx)
		row, err := s.visible(ctx, q, p, id, true)
		if err != nil {
			return err
		}
		if !canManage(p, row) {
			return platform.PermissionDenied("only the task's creator or an admin cancels it")
		}
		ids, err := q.CancelTask(ctx, taskdb.CancelTaskParams{TenantID: p.TenantID, ID: id})
		if err != nil {
			return err
		}
		alerts := make([]alert.Alert, 0, len(ids))
		for _, e := range ids {
			alerts = append(alerts, alert.Alert{Kind: alert.KindTaskCancelled, EmployeeID: e, At: s.now(),
				Body: fmt.Sprintf("Task cancelled: %s", alert.Title(row.Title))})
		}
		return s.notify.RecordTx(ctx, tx, &n, p.TenantID, alerts, s.now())
	})
	if err == nil {
		s.notify.After(&n)
	}
	return err
}

// Progress lists the people on a task and their progress: an admin sees everyone, a manager the people
// of the teams they lead (on a task they oversee), a salesperson only themselves.
func (s *Service) Progress(ctx context.Context, p authn.Principal, id uuid.UUID) ([]Assignee, error) {
	var out []Assignee
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := taskdb.New(tx)
		if _, err := s.visible(ctx, q, p, id, false); err != nil {
			return err
		}
		rows, err := q.Assignees(ctx, taskdb.AssigneesParams{TenantID: p.TenantID, TaskID: id,
			TeamOnly: p.Role == authn.RoleManager, TeamIds: p.Leads,
			SelfOnly: p.Role == authn.RoleSales, EmployeeID: p.EmployeeID})
		for _, r := range rows {
			a := Assignee{EmployeeID: r.EmployeeID, Name: r.Name, TeamID: r.TeamID.UUID, Claimed: r.Claimed, JoinedAt: r.JoinedAt,
				Progress: Counts{Shares: int(r.Shares), Views: int(r.Views), Viewers: int(r.Viewers), Forwards: int(r.Forwards),
					NewCustomers: int(r.NewCustomers), Leads: int(r.Leads)}}
			if r.CompletedAt != nil {
				a.CompletedAt = *r.CompletedAt
			}
			out = append(out, a)
		}
		return err
	})
	return out, err
}

// Reach lists the customers an assignee reached through the task. A salesperson reads only their own
// (another's is PermissionDenied), a manager those of the teams they lead, an admin anyone's.
func (s *Service) Reach(ctx context.Context, p authn.Principal, id, employeeID uuid.UUID) ([]Reached, error) {
	if employeeID == uuid.Nil {
		employeeID = p.EmployeeID
	}
	var out []Reached
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := taskdb.New(tx)
		if _, err := s.visible(ctx, q, p, id, false); err != nil {
			return err
		}
		if employeeID != p.EmployeeID {
			switch p.Role {
			case authn.RoleAdmin:
			case authn.RoleManager:
				team, err := q.EmployeeTeam(ctx, taskdb.EmployeeTeamParams{TenantID: p.TenantID, ID: employeeID})
				if errors.Is(err, pgx.ErrNoRows) {
					return platform.NotFound("employee")
				}
				if err != nil {
					return err
				}
				if !p.LeadsTeam(team.UUID) {
					return platform.PermissionDenied("a manager reads the progress of the teams they lead")
				}
			default:
				return platform.PermissionDenied("a salesperson reads their own progress only")
			}
		}
		rows, err := q.Reach(ctx, taskdb.ReachParams{TenantID: p.TenantID, TaskID: id, EmployeeID: employeeID})
		for _, r := range rows {
			out = append(out, Reached{CustomerID: r.CustomerID, Name: r.DisplayName, FirstAt: r.FirstAt, Viewed: r.Viewed,
				Lead: r.Lead, NewCustomer: r.NewCustomer})
		}
		return err
	})
	return out, err
}

func fromRow(r taskdb.Task) Task {
	return Task{
		ID: r.ID, CreatedBy: r.CreatedBy, Title: r.Title, Brief: r.Brief, MaterialIDs: r.MaterialIds,
		Targets: Counts{Shares: int(r.TargetShares), Views: int(r.TargetViews), Viewers: int(r.TargetViewers),
			Forwards: int(r.TargetForwards), NewCustomers: int(r.TargetNewCustomers), Leads: int(r.TargetLeads)},
		StartsAt: r.StartsAt, EndsAt: r.EndsAt, Audience: Audience(r.Audience), TeamIDs: r.TeamIds, EmployeeIDs: r.EmployeeIds,
		ClaimRequired: r.ClaimRequired, MaxClaimers: int(r.MaxClaimers), Claimers: int(r.Claimers), Status: Status(r.Status),
		Version: r.Version, CreatedAt: r.CreatedAt,
	}
}
