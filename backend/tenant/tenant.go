// Package tenant is the enterprise, its teams and its employees: who works here, in what role, and how
// many seats they take. Everything runs in tenant-scoped transactions, so row-level security stands
// behind every rule written here.
package tenant

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/salesapp/scrm/backend/audit"
	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/handover"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/tenant/internal/tenantdb"
)

// Plan is the commercial plan of a tenant.
type Plan string

// The plans.
const (
	PlanTrial        Plan = "trial"
	PlanStandard     Plan = "standard"
	PlanProfessional Plan = "professional"
	PlanEnterprise   Plan = "enterprise"
)

// Valid reports whether p is a known plan.
func (p Plan) Valid() bool {
	return p == PlanTrial || p == PlanStandard || p == PlanProfessional || p == PlanEnterprise
}

// Status says whether an employee is active (holding a seat) or disabled.
type Status string

// The statuses.
const (
	StatusActive   Status = "active"
	StatusDisabled Status = "disabled"
)

// Tenant is one enterprise.
type Tenant struct {
	ID        uuid.UUID
	Name      string
	Plan      Plan
	SeatLimit int
	SeatsUsed int
	ExpiresAt time.Time
	TimeZone  string
	CreatedAt time.Time
	// OwnerRule says who owns a customer a share brings in: "first_share" or "pool".
	OwnerRule string
	// RequireSignIn makes customers sign in with WeChat before a share link's page shows.
	RequireSignIn bool
	// PageOrigins are the origins of the enterprise's own H5 pages allowed by CORS.
	PageOrigins []string
	// Features are what its plan includes.
	Features []authn.Feature
}

// Team groups employees.
type Team struct {
	ID          uuid.UUID
	Name        string
	MemberCount int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Employee is a person of the enterprise.
type Employee struct {
	ID       uuid.UUID
	TenantID uuid.UUID
	Name     string
	Role     authn.Role
	TeamID   uuid.UUID // uuid.Nil: no team
	// Leads are the teams a manager leads (their own and those SetLedTeams added), sorted.
	Leads       []uuid.UUID
	Status      Status
	Title       string
	Phone       string
	Email       string
	WeComUserID string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Invitation is the sign-in invitation made with a new employee: set by CreateEmployee (when the
	// service has an Inviter), nil everywhere else.
	Invitation *Invitation
}

// Invitation is a one-time code (and the link carrying it) with which a new employee sets their password.
type Invitation struct {
	Code, URL string
	ExpiresAt time.Time
}

// NewEmployee is what creating an employee takes.
type NewEmployee struct {
	Name        string
	Role        authn.Role
	TeamID      uuid.UUID
	Title       string
	Phone       string
	Email       string
	WeComUserID string
}

// EmployeeChange holds the fields to change; nil leaves a field as it is.
type EmployeeChange struct {
	Name   *string
	Role   *authn.Role
	TeamID *uuid.UUID // pointer to uuid.Nil removes the employee from their team
	Title  *string
	Phone  *string
	Email  *string
}

// Sessions is what the tenant rules need of the auth package: ending every session of an employee inside
// the caller's transaction (so a disable takes effect with the same commit), and hearing that an employee's
// role, team or status changed (so cached views of their sessions are dropped).
type Sessions interface {
	RevokeEmployeeSessions(ctx context.Context, tx pgx.Tx, tenantID, employeeID uuid.UUID) error
	EmployeeChanged(employeeID uuid.UUID)
}

// Inviter is what creating an employee needs of sign-in: a one-time invitation to set a password, made
// inside the transaction that creates the employee (so that there is never an employee whose invitation
// was lost). The Sessions given to NewService provide it when they implement it.
type Inviter interface {
	InviteTx(ctx context.Context, tx pgx.Tx, tenantID, employeeID uuid.UUID) (code, url string, expiresAt time.Time, err error)
}

// Service holds the rules for tenants, teams and employees.
type Service struct {
	db       *platform.DB
	sessions Sessions
	// afterHandover runs inside the handover an employee's disabling makes (handover.After).
	afterHandover handover.After
}

// NewService builds the service; afterHandover (at most one) runs inside the handover disabling an
// employee with a successor makes, as it does in HandoverService's.
func NewService(db *platform.DB, sessions Sessions, afterHandover ...handover.After) *Service {
	s := &Service{db: db, sessions: sessions}
	if len(afterHandover) > 0 {
		s.afterHandover = afterHandover[0]
	}
	return s
}

func (s *Service) tx(ctx context.Context, tenantID uuid.UUID, fn func(q *tenantdb.Queries, tx pgx.Tx) error) error {
	return s.db.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error { return fn(tenantdb.New(tx), tx) })
}

// Me returns the caller, their tenant and their team (nil when none).
func (s *Service) Me(ctx context.Context, p authn.Principal) (Employee, Tenant, *Team, error) {
	var (
		e    Employee
		t    Tenant
		team *Team
	)
	err := s.tx(ctx, p.TenantID, func(q *tenantdb.Queries, _ pgx.Tx) error {
		row, err := q.GetEmployee(ctx, tenantdb.GetEmployeeParams{TenantID: p.TenantID, ID: p.EmployeeID})
		if err != nil {
			return notFound(err, "employee")
		}
		e = employeeFromRow(row)
		tr, err := q.GetTenant(ctx, p.TenantID)
		if err != nil {
			return notFound(err, "tenant")
		}
		t = tenantFromRow(tr)
		if e.TeamID != uuid.Nil {
			tm, err := q.GetTeam(ctx, tenantdb.GetTeamParams{TenantID: p.TenantID, ID: e.TeamID})
			if err != nil {
				return notFound(err, "team")
			}
			tt := teamFromRow(tenantdb.ListTeamsRow(tm))
			team = &tt
		}
		return withLeads(ctx, q, p.TenantID, []*Employee{&e})
	})
	return e, t, team, err
}

// SettingsChange holds the settings to change; nil leaves one as it is.
type SettingsChange struct {
	OwnerRule     *string
	RequireSignIn *bool
	// PageOrigins replaces the list; an empty list removes every origin.
	PageOrigins *[]string
}

// maxPageOrigins bounds a tenant's page origins (the table's check says the same).
const maxPageOrigins = 20

// UpdateSettings changes the tenant's settings that are given. Admin only.
func (s *Service) UpdateSettings(ctx context.Context, p authn.Principal, ch SettingsChange) (Tenant, error) {
	if p.Role != authn.RoleAdmin {
		return Tenant{}, platform.PermissionDenied("only an admin changes the enterprise's settings")
	}
	if ch.OwnerRule != nil && !customer.OwnerRule(*ch.OwnerRule).Valid() {
		return Tenant{}, platform.Invalid("customer_owner_rule", "first_share or pool")
	}
	var origins []string
	if ch.PageOrigins != nil {
		if len(*ch.PageOrigins) > maxPageOrigins {
			return Tenant{}, platform.Invalid("page_origins.origins", fmt.Sprintf("at most %d origins", maxPageOrigins))
		}
		origins = []string{}
		for i, o := range *ch.PageOrigins {
			canon, err := ParseOrigin(o)
			if err != nil {
				return Tenant{}, platform.Invalid(fmt.Sprintf("page_origins.origins[%d]", i), err.Error())
			}
			if !slices.Contains(origins, canon) {
				origins = append(origins, canon)
			}
		}
	}
	var t Tenant
	err := s.tx(ctx, p.TenantID, func(q *tenantdb.Queries, tx pgx.Tx) error {
		before, err := q.GetTenant(ctx, p.TenantID)
		if err != nil {
			return notFound(err, "tenant")
		}
		if ch.OwnerRule != nil {
			if err := q.SetOwnerRule(ctx, tenantdb.SetOwnerRuleParams{TenantID: p.TenantID, Rule: *ch.OwnerRule}); err != nil {
				return err
			}
		}
		if ch.RequireSignIn != nil {
			if err := q.SetRequireSignIn(ctx, tenantdb.SetRequireSignInParams{TenantID: p.TenantID, RequireSignin: *ch.RequireSignIn}); err != nil {
				return err
			}
		}
		if origins != nil {
			if err := q.SetPageOrigins(ctx, tenantdb.SetPageOriginsParams{TenantID: p.TenantID, PageOrigins: origins}); err != nil {
				return err
			}
		}
		row, err := q.GetTenant(ctx, p.TenantID)
		if err != nil {
			return notFound(err, "tenant")
		}
		t = tenantFromRow(row)
		b, a := changed(settingsRecord(tenantFromRow(before)), settingsRecord(t))
		if len(a) == 0 {
			return nil
		}
		return audit.RecordTx(ctx, tx, p.TenantID, audit.Entry{Action: audit.SettingsUpdate, TargetKind: audit.TargetTenant,
			TargetID: p.TenantID, Before: b, After: a})
	})
	return t, err
}

// ParseOrigin checks that o is a web origin (http or https, a host, an optional port; no path, query,
// fragment or credentials) and returns it as browsers send it in the Origin header: lowercase, without a
// default port.
func ParseOrigin(o string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(o))
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return "", errors.New("must be an origin such as https://h5.example.com")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", errors.New("must start with http:// or https://")
	case u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return "", errors.New("must be an origin alone: no path, query or credentials")
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if host == "" || strings.ContainsAny(host, "*%") {
		return "", errors.New("must name one host (no wildcards)")
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", errors.New("has an invalid port")
		}
		if (u.Scheme == "http" && n == 80) || (u.Scheme == "https" && n == 443) {
			port = ""
		}
	}
	out := u.Scheme + "://" + host
	if strings.Contains(host, ":") {
		out = u.Scheme + "://[" + host + "]"
	}
	if port != "" {
		out += ":" + port
	}
	return out, nil
}

// PageSettings is what the customers' pages of a tenant follow.
type PageSettings struct {
	RequireSignIn bool
	PageOrigins   []string
}

// PageSettings reads the page settings of a tenant (for the public pages: no principal).
func (s *Service) PageSettings(ctx context.Context, tenantID uuid.UUID) (PageSettings, error) {
	var out PageSettings
	err := s.tx(ctx, tenantID, func(q *tenantdb.Queries, _ pgx.Tx) error {
		row, err := q.GetPageSettings(ctx, tenantID)
		if err != nil {
			return notFound(err, "tenant")
		}
		out = PageSettings{RequireSignIn: row.RequireSignin, PageOrigins: row.PageOrigins}
		return nil
	})
	return out, err
}

// AllowedPageOrigins returns every tenant's page origins, across tenants: a browser's CORS preflight names no
// tenant, so an origin any unexpired tenant allows is allowed.
func (s *Service) AllowedPageOrigins(ctx context.Context) ([]string, error) {
	var out []string
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		var err error
		out, err = tenantdb.New(tx).AllowedPageOrigins(ctx)
		return err
	})
	return out, err
}

// CreateEmployee adds an active employee if a seat is free, with their sign-in invitation. Admin only.
func (s *Service) CreateEmployee(ctx context.Context, p authn.Principal, n NewEmployee) (Employee, error) {
	if p.Role != authn.RoleAdmin {
		return Employee{}, platform.PermissionDenied("only an admin may add employees")
	}
	return s.createEmployee(ctx, p.TenantID, n)
}

func (s *Service) createEmployee(ctx context.Context, tenantID uuid.UUID, n NewEmployee) (Employee, error) {
	if !n.Role.Valid() {
		return Employee{}, platform.Invalid("role", "unknown role")
	}
	var e Employee
	err := s.tx(ctx, tenantID, func(q *tenantdb.Queries, tx pgx.Tx) error {
		if err := takeSeat(ctx, q, tenantID); err != nil {
			return err
		}
		row, err := q.InsertEmployee(ctx, tenantdb.InsertEmployeeParams{
			ID: uuid.Must(uuid.NewV7()), TenantID: tenantID, Name: n.Name, Role: string(n.Role),
			TeamID: nullID(n.TeamID), Title: n.Title, Phone: n.Phone, Email: n.Email, WecomUserid: n.WeComUserID,
		})
		if err != nil {
			return employeeWriteError(err)
		}
		e = employeeFromRow(row)
		if err := withLeads(ctx, q, tenantID, []*Employee{&e}); err != nil {
			return err
		}
		if err := audit.RecordTx(ctx, tx, tenantID, audit.Entry{Action: audit.EmployeeCreate, TargetKind: audit.TargetEmployee,
			TargetID: e.ID, After: employeeRecord(e)}); err != nil {
			return err
		}
		if inviter, ok := s.sessions.(Inviter); ok {
			code, url, exp, err := inviter.InviteTx(ctx, tx, tenantID, e.ID)
			if err != nil {
				return err
			}
			e.Invitation = &Invitation{Code: code, URL: url, ExpiresAt: exp}
		}
		return nil
	})
	return e, err
}

// takeSeat locks the tenant's seat count and fails when every seat is taken.
func takeSeat(ctx context.Context, q *tenantdb.Queries, tenantID uuid.UUID) error {
	limit, err := q.LockTenantSeats(ctx, tenantID)
	if err != nil {
		return notFound(err, "tenant")
	}
	used, err := q.CountActiveEmployees(ctx, tenantID)
	if err != nil {
		return err
	}
	if used >= limit {
		return platform.FailedPrecondition(fmt.Sprintf(
			"all %d seats of your plan are taken: disable an employee or ask for more seats", limit))
	}
	return nil
}

// GetEmployee reads one employee: admins read anyone, managers the people of the teams they lead and
// themselves, salespeople themselves. An employee the caller may not see is reported as not found.
func (s *Service) GetEmployee(ctx context.Context, p authn.Principal, id uuid.UUID) (Employee, error) {
	var e Employee
	err := s.tx(ctx, p.TenantID, func(q *tenantdb.Queries, _ pgx.Tx) error {
		row, err := q.GetEmployee(ctx, tenantdb.GetEmployeeParams{TenantID: p.TenantID, ID: id})
		if err != nil {
			return notFound(err, "employee")
		}
		e = employeeFromRow(row)
		if !canSee(p, e) {
			return platform.NotFound("employee")
		}
		return withLeads(ctx, q, p.TenantID, []*Employee{&e})
	})
	return e, err
}

// withLeads fills in the teams these employees lead.
func withLeads(ctx context.Context, q *tenantdb.Queries, tenantID uuid.UUID, es []*Employee) error {
	ids := make([]uuid.UUID, 0, len(es))
	for _, e := range es {
		if e.Role == authn.RoleManager {
			ids = append(ids, e.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := q.LeadsOf(ctx, tenantdb.LeadsOfParams{TenantID: tenantID, Ids: ids})
	if err != nil {
		return err
	}
	by := map[uuid.UUID][]uuid.UUID{}
	for _, r := range rows {
		by[r.ManagerID] = append(by[r.ManagerID], r.TeamID)
	}
	for _, e := range es {
		e.Leads = by[e.ID]
	}
	return nil
}

// SetLedTeams sets the teams a manager leads besides their own (team_leads, migration 055): their
// devices gain what the added teams hold and lose what the others held. Admin only.
func (s *Service) SetLedTeams(ctx context.Context, p authn.Principal, id uuid.UUID, teams []uuid.UUID) (Employee, error) {
	if p.Role != authn.RoleAdmin {
		return Employee{}, platform.PermissionDenied("only an admin may change whom a manager leads")
	}
	teams = append(make([]uuid.UUID, 0, len(teams)), teams...) // (never nil: NULL would match no row to drop)
	slices.SortFunc(teams, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	teams = slices.Compact(teams)
	if len(teams) > maxLedTeams {
		return Employee{}, platform.Invalid("team_ids", fmt.Sprintf("at most %d teams", maxLedTeams))
	}
	var e Employee
	err := s.tx(ctx, p.TenantID, func(q *tenantdb.Queries, tx pgx.Tx) error {
		cur, err := q.GetEmployeeForUpdate(ctx, tenantdb.GetEmployeeForUpdateParams{TenantID: p.TenantID, ID: id})
		if err != nil {
			return notFound(err, "employee")
		}
		if cur.Role != string(authn.RoleManager) {
			return platform.FailedPrecondition("only a manager leads teams: make them a manager first")
		}
		if n, err := q.CountTeams(ctx, tenantdb.CountTeamsParams{TenantID: p.TenantID, Ids: teams}); err != nil {
			return err
		} else if int(n) != len(teams) {
			return platform.Invalid("team_ids", "names a team this enterprise does not have")
		}
		before := employeeFromRow(cur)
		if err := withLeads(ctx, q, p.TenantID, []*Employee{&before}); err != nil {
			return err
		}
		drop := tenantdb.DropLeadsParams{TenantID: p.TenantID, ManagerID: id, TeamIds: teams}
		if err := q.UngrantLeads(ctx, tenantdb.UngrantLeadsParams(drop)); err != nil {
			return err
		}
		if err := q.DropLeads(ctx, drop); err != nil {
			return err
		}
		if err := q.GrantLeads(ctx, tenantdb.GrantLeadsParams(drop)); err != nil {
			return err
		}
		e = before
		if err := withLeads(ctx, q, p.TenantID, []*Employee{&e}); err != nil {
			return err
		}
		return recordUpdate(ctx, tx, p.TenantID, before, e)
	})
	if err == nil {
		s.sessions.EmployeeChanged(id)
	}
	return e, err
}

// maxLedTeams bounds SetLedTeams (as the API does).
const maxLedTeams = 100

func canSee(p authn.Principal, e Employee) bool {
	switch {
	case p.EmployeeID == e.ID, p.Role == authn.RoleAdmin:
		return true
	case p.Role == authn.RoleManager:
		return p.LeadsTeam(e.TeamID)
	default:
		return false
	}
}

// EmployeeFilter narrows ListEmployees.
type EmployeeFilter struct {
	TeamID          uuid.UUID
	IncludeDisabled bool
	PageSize        int
	PageToken       string
}

// ListEmployees pages through the employees the caller may see, by name. Managers see the teams they lead.
func (s *Service) ListEmployees(ctx context.Context, p authn.Principal, f EmployeeFilter) ([]Employee, string, error) {
	var teams []uuid.UUID
	if f.TeamID != uuid.Nil {
		teams = []uuid.UUID{f.TeamID}
	}
	switch p.Role {
	case authn.RoleAdmin:
	case authn.RoleManager:
		if len(p.Leads) == 0 {
			return nil, "", authn.ErrNoTeam
		}
		if f.TeamID != uuid.Nil && !p.LeadsTeam(f.TeamID) {
			return nil, "", platform.PermissionDenied("a manager may list only the teams they lead")
		}
		if f.TeamID == uuid.Nil {
			teams = p.Leads
		}
	default:
		return nil, "", platform.PermissionDenied("only admins and managers may list employees")
	}
	size := f.PageSize
	if size <= 0 {
		size = 50
	}
	params := tenantdb.ListEmployeesParams{
		TenantID: p.TenantID, ByTeam: teams != nil, TeamIds: teams, IncludeDisabled: f.IncludeDisabled, MaxRows: int32(size + 1),
	}
	if f.PageToken != "" {
		name, id, err := decodeCursor(f.PageToken)
		if err != nil {
			return nil, "", platform.Invalid("page_token", "not a token this server issued")
		}
		params.HasCursor, params.AfterName, params.AfterID = true, name, id
	}
	var out []Employee
	next := ""
	err := s.tx(ctx, p.TenantID, func(q *tenantdb.Queries, _ pgx.Tx) error {
		rows, err := q.ListEmployees(ctx, params)
		if err != nil {
			return err
		}
		if len(rows) > size {
			rows = rows[:size]
			last := rows[len(rows)-1]
			next = encodeCursor(last.Name, last.ID)
		}
		out = make([]Employee, len(rows))
		ptrs := make([]*Employee, len(rows))
		for i, r := range rows {
			out[i] = employeeFromRow(r)
			ptrs[i] = &out[i]
		}
		return withLeads(ctx, q, p.TenantID, ptrs)
	})
	return out, next, err
}

// UpdateEmployee changes the given fields. Admin only; the last active admin cannot be demoted.
func (s *Service) UpdateEmployee(ctx context.Context, p authn.Principal, id uuid.UUID, c EmployeeChange) (Employee, error) {
	if p.Role != authn.RoleAdmin {
		return Employee{}, platform.PermissionDenied("only an admin may change employees")
	}
	if c.Role != nil && !c.Role.Valid() {
		return Employee{}, platform.Invalid("role", "unknown role")
	}
	params := tenantdb.UpdateEmployeeParams{TenantID: p.TenantID, ID: id, Name: c.Name, Title: c.Title, Phone: c.Phone, Email: c.Email}
	if c.Role != nil {
		r := string(*c.Role)
		params.Role = &r
	}
	if c.TeamID != nil {
		params.SetTeam, params.TeamID = true, nullID(*c.TeamID)
	}
	var e Employee
	err := s.tx(ctx, p.TenantID, func(q *tenantdb.Queries, tx pgx.Tx) error {
		cur, err := q.GetEmployeeForUpdate(ctx, tenantdb.GetEmployeeForUpdateParams{TenantID: p.TenantID, ID: id})
		if err != nil {
			return notFound(err, "employee")
		}
		if c.Role != nil && *c.Role != authn.RoleAdmin && cur.Role == string(authn.RoleAdmin) && cur.Status == string(StatusActive) {
			if err := keepOneAdmin(ctx, q, p.TenantID, id); err != nil {
				return err
			}
		}
		was := employeeFromRow(cur)
		if err := withLeads(ctx, q, p.TenantID, []*Employee{&was}); err != nil {
			return err
		}
		row, err := q.UpdateEmployee(ctx, params)
		if err != nil {
			return employeeWriteError(err)
		}
		e = employeeFromRow(row)
		if err := withLeads(ctx, q, p.TenantID, []*Employee{&e}); err != nil {
			return err
		}
		return recordUpdate(ctx, tx, p.TenantID, was, e)
	})
	if err == nil {
		s.sessions.EmployeeChanged(id)
	}
	return e, err
}

// recordUpdate writes an employee's change to the audit log: the fields it keeps that changed (no entry
// when none did).
func recordUpdate(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, was, now Employee) error {
	before, after := changed(employeeRecord(was), employeeRecord(now))
	if len(after) == 0 {
		return nil
	}
	return audit.RecordTx(ctx, tx, tenantID, audit.Entry{Action: audit.EmployeeUpdate, TargetKind: audit.TargetEmployee,
		TargetID: now.ID, Before: before, After: after})
}

// Departure says what becomes of a disabled employee's customers: handed over to a successor (with their
// open tasks and follow-ups; their links and card credit the successor from then on), or left in a pool.
// The zero Departure suits only an employee who owns no customers.
type Departure struct {
	// SuccessorID takes everything over (uuid.Nil: none).
	SuccessorID uuid.UUID
	// ToPool leaves the customers in PoolID (uuid.Nil: the tenant's default pool).
	ToPool bool
	PoolID uuid.UUID
}

// SetEmployeeStatus disables an employee (freeing their seat and ending their sessions in the same
// commit) or enables one (taking a seat). Admin only; the last active admin cannot be disabled, nor an
// employee who owns customers (SetEmployeeStatusWith says where their customers go).
func (s *Service) SetEmployeeStatus(ctx context.Context, p authn.Principal, id uuid.UUID, st Status) (Employee, error) {
	return s.SetEmployeeStatusWith(ctx, p, id, st, Departure{})
}

// SetEmployeeStatusWith is SetEmployeeStatus naming, for a disable, what becomes of the employee's
// customers: an employee who owns some needs a successor or the pool (FailedPrecondition otherwise).
func (s *Service) SetEmployeeStatusWith(ctx context.Context, p authn.Principal, id uuid.UUID, st Status, d Departure) (Employee, error) {
	if p.Role != authn.RoleAdmin {
		return Employee{}, platform.PermissionDenied("only an admin may enable or disable employees")
	}
	if st != StatusActive && st != StatusDisabled {
		return Employee{}, platform.Invalid("status", "unknown status")
	}
	if d.SuccessorID != uuid.Nil && d.ToPool {
		return Employee{}, platform.Invalid("successor_id", "name a successor or leave the customers in a pool, not both")
	}
	if st == StatusActive && (d.SuccessorID != uuid.Nil || d.ToPool) {
		return Employee{}, platform.Invalid("successor_id", "a successor or pool goes with disabling an employee")
	}
	var e Employee
	err := s.tx(ctx, p.TenantID, func(q *tenantdb.Queries, tx pgx.Tx) error {
		cur, err := q.GetEmployeeForUpdate(ctx, tenantdb.GetEmployeeForUpdateParams{TenantID: p.TenantID, ID: id})
		if err != nil {
			return notFound(err, "employee")
		}
		if cur.Status == string(st) {
			e = employeeFromRow(cur)
			return nil
		}
		if st == StatusActive {
			if err := takeSeat(ctx, q, p.TenantID); err != nil {
				return err
			}
		} else {
			if cur.Role == string(authn.RoleAdmin) {
				if err := keepOneAdmin(ctx, q, p.TenantID, id); err != nil {
					return err
				}
			}
			if err := s.depart(ctx, tx, p, id, d); err != nil {
				return err
			}
			if err := s.sessions.RevokeEmployeeSessions(ctx, tx, p.TenantID, id); err != nil {
				return err
			}
		}
		row, err := q.SetEmployeeStatus(ctx, tenantdb.SetEmployeeStatusParams{TenantID: p.TenantID, ID: id, Status: string(st)})
		if err != nil {
			return err
		}
		e = employeeFromRow(row)
		action := audit.EmployeeEnable
		if st == StatusDisabled {
			action = audit.EmployeeDisable
		}
		return audit.RecordTx(ctx, tx, p.TenantID, audit.Entry{Action: action, TargetKind: audit.TargetEmployee, TargetID: id,
			Before: map[string]string{"status": cur.Status}, After: map[string]string{"status": string(st)}})
	})
	if err == nil {
		s.sessions.EmployeeChanged(id)
	}
	return e, err
}

// depart hands a departing employee's customers over, or leaves them in a pool, as the admin chose; with
// customers and no choice it refuses, naming the choices.
func (s *Service) depart(ctx context.Context, tx pgx.Tx, p authn.Principal, id uuid.UUID, d Departure) error {
	switch {
	case d.SuccessorID != uuid.Nil:
		_, err := handover.HandOverTx(ctx, tx, p, handover.Request{FromID: id, ToIDs: []uuid.UUID{d.SuccessorID}}, time.Now(), s.afterHandover)
		if pe := (*platform.Error)(nil); errors.As(err, &pe) && pe.Field == "to_employee_ids" {
			return platform.Invalid("successor_id", pe.Msg)
		}
		return err
	case d.ToPool:
		_, err := handover.ReleaseToPoolTx(ctx, tx, p, id, d.PoolID)
		return err
	}
	n, err := customer.CountOwnedTx(ctx, tx, p.TenantID, id)
	if err != nil {
		return err
	}
	if n > 0 {
		return platform.FailedPrecondition(fmt.Sprintf("this employee owns %d customers: choose a successor_id to hand them over to, or set release_to_pool to leave them in a pool", n))
	}
	return nil
}

func keepOneAdmin(ctx context.Context, q *tenantdb.Queries, tenantID, id uuid.UUID) error {
	n, err := q.CountActiveAdminsExcept(ctx, tenantdb.CountActiveAdminsExceptParams{TenantID: tenantID, ID: id})
	if err != nil {
		return err
	}
	if n == 0 {
		return platform.FailedPrecondition("this is the last active admin: make someone else admin first")
	}
	return nil
}

// CreateTeam adds a team. Admin only.
func (s *Service) CreateTeam(ctx context.Context, p authn.Principal, name string) (Team, error) {
	if p.Role != authn.RoleAdmin {
		return Team{}, platform.PermissionDenied("only an admin may create teams")
	}
	return s.createTeam(ctx, p.TenantID, name)
}

func (s *Service) createTeam(ctx context.Context, tenantID uuid.UUID, name string) (Team, error) {
	var t Team
	err := s.tx(ctx, tenantID, func(q *tenantdb.Queries, tx pgx.Tx) error {
		row, err := q.InsertTeam(ctx, tenantdb.InsertTeamParams{ID: uuid.Must(uuid.NewV7()), TenantID: tenantID, Name: name})
		if platform.IsUniqueViolation(err, "teams_name_key") {
			return platform.AlreadyExists("a team with this name already exists")
		}
		if err != nil {
			return err
		}
		t = Team{ID: row.ID, Name: row.Name, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt}
		return audit.RecordTx(ctx, tx, tenantID, audit.Entry{Action: audit.TeamCreate, TargetKind: audit.TargetTeam, TargetID: t.ID,
			After: map[string]string{"name": t.Name}})
	})
	return t, err
}

// ListTeams lists the tenant's teams, by name. Any employee may.
func (s *Service) ListTeams(ctx context.Context, p authn.Principal) ([]Team, error) {
	var out []Team
	err := s.tx(ctx, p.TenantID, func(q *tenantdb.Queries, _ pgx.Tx) error {
		rows, err := q.ListTeams(ctx, p.TenantID)
		if err != nil {
			return err
		}
		out = make([]Team, len(rows))
		for i, r := range rows {
			out[i] = teamFromRow(r)
		}
		return nil
	})
	return out, err
}

// RenameTeam renames a team. Admin only.
func (s *Service) RenameTeam(ctx context.Context, p authn.Principal, id uuid.UUID, name string) (Team, error) {
	if p.Role != authn.RoleAdmin {
		return Team{}, platform.PermissionDenied("only an admin may rename teams")
	}
	var t Team
	err := s.tx(ctx, p.TenantID, func(q *tenantdb.Queries, tx pgx.Tx) error {
		old, err := q.GetTeam(ctx, tenantdb.GetTeamParams{TenantID: p.TenantID, ID: id})
		if err != nil {
			return notFound(err, "team")
		}
		n, err := q.RenameTeam(ctx, tenantdb.RenameTeamParams{TenantID: p.TenantID, ID: id, Name: name})
		if platform.IsUniqueViolation(err, "teams_name_key") {
			return platform.AlreadyExists("a team with this name already exists")
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return platform.NotFound("team")
		}
		row, err := q.GetTeam(ctx, tenantdb.GetTeamParams{TenantID: p.TenantID, ID: id})
		if err != nil {
			return err
		}
		t = teamFromRow(tenantdb.ListTeamsRow(row))
		if old.Name == t.Name {
			return nil
		}
		return audit.RecordTx(ctx, tx, p.TenantID, audit.Entry{Action: audit.TeamRename, TargetKind: audit.TargetTeam, TargetID: id,
			Before: map[string]string{"name": old.Name}, After: map[string]string{"name": t.Name}})
	})
	return t, err
}

// DeleteTeam deletes a team nobody belongs to. Admin only.
func (s *Service) DeleteTeam(ctx context.Context, p authn.Principal, id uuid.UUID) error {
	if p.Role != authn.RoleAdmin {
		return platform.PermissionDenied("only an admin may delete teams")
	}
	return s.tx(ctx, p.TenantID, func(q *tenantdb.Queries, tx pgx.Tx) error {
		old, err := q.GetTeam(ctx, tenantdb.GetTeamParams{TenantID: p.TenantID, ID: id})
		if err != nil {
			return notFound(err, "team")
		}
		members, err := q.CountTeamMembers(ctx, tenantdb.CountTeamMembersParams{TenantID: p.TenantID, TeamID: id})
		if err != nil {
			return err
		}
		if members > 0 {
			return platform.FailedPrecondition(fmt.Sprintf("the team still has %d members: move them to another team first", members))
		}
		n, err := q.DeleteTeam(ctx, tenantdb.DeleteTeamParams{TenantID: p.TenantID, ID: id})
		if err != nil {
			return err
		}
		if n == 0 {
			return platform.NotFound("team")
		}
		return audit.RecordTx(ctx, tx, p.TenantID, audit.Entry{Action: audit.TeamDelete, TargetKind: audit.TargetTeam, TargetID: id,
			Before: map[string]string{"name": old.Name}})
	})
}

// NewTenant is what the operator gives to create an enterprise.
type NewTenant struct {
	// ID is the new tenant's id; zero makes one. A fixed id (the demo tenant's) lets the operator find the
	// tenant again inside its own scope, since no one reads the tenants table across tenants.
	ID        uuid.UUID
	Name      string
	Plan      Plan
	SeatLimit int
	ExpiresAt time.Time
	TimeZone  string
}

// CreateTenant creates an enterprise. owner is a pool allowed to insert tenants: the table owner's (salesctl)
// or the application role's for OperatorService (operators only; no employee's RPC creates tenants).
// Row-level security binds the owner too, so the insert runs in a transaction scoped to the tenant it creates.
func CreateTenant(ctx context.Context, owner *pgxpool.Pool, n NewTenant) (Tenant, error) {
	if !n.Plan.Valid() {
		return Tenant{}, platform.Invalid("plan", "unknown plan")
	}
	if n.TimeZone == "" {
		n.TimeZone = "Asia/Shanghai"
	}
	if _, err := time.LoadLocation(n.TimeZone); err != nil {
		return Tenant{}, platform.Invalid("time_zone", "unknown IANA time zone")
	}
	if n.ID == uuid.Nil {
		n.ID = uuid.Must(uuid.NewV7())
	}
	var row tenantdb.InsertTenantRow
	err := pgx.BeginFunc(ctx, owner, func(tx pgx.Tx) error {
		if err := platform.SetTenant(ctx, tx, n.ID); err != nil {
			return err
		}
		var err error
		row, err = tenantdb.New(tx).InsertTenant(ctx, tenantdb.InsertTenantParams{
			ID: n.ID, Name: n.Name, Plan: string(n.Plan), SeatLimit: int32(n.SeatLimit),
			ExpiresAt: n.ExpiresAt, TimeZone: n.TimeZone,
		})
		return err
	})
	if platform.IsUniqueViolation(err, "tenants_pkey") {
		return Tenant{}, platform.AlreadyExists("a tenant with this id already exists")
	}
	if err != nil {
		return Tenant{}, err
	}
	return Tenant{ID: row.ID, Name: row.Name, Plan: Plan(row.Plan), SeatLimit: int(row.SeatLimit),
		ExpiresAt: row.ExpiresAt, TimeZone: row.TimeZone, CreatedAt: row.CreatedAt}, nil
}

// Bootstrap is for the operator (salesctl) and seeding: it acts inside one tenant without a signed-in
// caller, for creating the first admin and teams.
type Bootstrap struct{ s *Service }

// Bootstrap returns the operator's entry points for tenantID.
func (s *Service) Bootstrap() Bootstrap { return Bootstrap{s: s} }

// CreateEmployee adds an employee to the tenant, within its seat limit.
func (b Bootstrap) CreateEmployee(ctx context.Context, tenantID uuid.UUID, n NewEmployee) (Employee, error) {
	return b.s.createEmployee(ctx, tenantID, n)
}

// CreateTeam adds a team to the tenant.
func (b Bootstrap) CreateTeam(ctx context.Context, tenantID uuid.UUID, name string) (Team, error) {
	return b.s.createTeam(ctx, tenantID, name)
}

func employeeWriteError(err error) error {
	switch {
	case platform.IsForeignKeyViolation(err, "employees_team_fk"):
		return platform.Invalid("team_id", "no such team")
	case platform.IsUniqueViolation(err, "employees_wecom_userid_key"):
		return platform.AlreadyExists("another employee already has this WeCom userid")
	case platform.IsUniqueViolation(err, "employees_phone_login_key"):
		return platform.AlreadyExists("another employee already has this phone number (people sign in with it)")
	case platform.IsUniqueViolation(err, "employees_email_login_key"):
		return platform.AlreadyExists("another employee already has this email (people sign in with it)")
	case platform.IsCheckViolation(err, ""):
		return platform.Invalid("employee", "a value is out of range")
	case errors.Is(err, pgx.ErrNoRows):
		return platform.NotFound("employee")
	}
	return err
}

func notFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return platform.NotFound(what)
	}
	return err
}

func nullID(id uuid.UUID) uuid.NullUUID { return uuid.NullUUID{UUID: id, Valid: id != uuid.Nil} }

func employeeFromRow(r tenantdb.Employee) Employee {
	return Employee{
		ID: r.ID, TenantID: r.TenantID, Name: r.Name, Role: authn.Role(r.Role), TeamID: r.TeamID.UUID,
		Status: Status(r.Status), Title: r.Title, Phone: r.Phone, Email: r.Email, WeComUserID: r.WecomUserid,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

func tenantFromRow(r tenantdb.GetTenantRow) Tenant {
	return Tenant{ID: r.ID, Name: r.Name, Plan: Plan(r.Plan), SeatLimit: int(r.SeatLimit), SeatsUsed: int(r.SeatsUsed),
		ExpiresAt: r.ExpiresAt, TimeZone: r.TimeZone, CreatedAt: r.CreatedAt, OwnerRule: r.CustomerOwnerRule,
		RequireSignIn: r.RequireSignin, PageOrigins: r.PageOrigins, Features: authn.ParseFeatures(r.Features)}
}

func teamFromRow(r tenantdb.ListTeamsRow) Team {
	return Team{ID: r.ID, Name: r.Name, MemberCount: int(r.MemberCount), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// Page tokens are opaque to clients: the last row's sort key, base64url-encoded.
func encodeCursor(name string, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(id.String() + "|" + name))
}

func decodeCursor(tok string) (string, uuid.UUID, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", uuid.Nil, err
	}
	idPart, name, ok := strings.Cut(string(b), "|")
	if !ok {
		return "", uuid.Nil, errors.New("malformed cursor")
	}
	id, err := uuid.Parse(idPart)
	return name, id, err
}

// employeeRecord is what the audit log keeps of an employee: what an admin sets (the phone masked).
func employeeRecord(e Employee) map[string]string {
	team := ""
	if e.TeamID != uuid.Nil {
		team = e.TeamID.String()
	}
	leads := make([]string, len(e.Leads))
	for i, t := range e.Leads {
		leads[i] = t.String()
	}
	return map[string]string{"name": e.Name, "role": string(e.Role), "team_id": team, "title": e.Title,
		"phone": maskPhone(e.Phone), "email": e.Email, "status": string(e.Status), "led_team_ids": strings.Join(leads, ",")}
}

// settingsRecord is what the audit log keeps of the settings.
func settingsRecord(t Tenant) map[string]string {
	return map[string]string{"customer_owner_rule": t.OwnerRule, "require_sign_in": strconv.FormatBool(t.RequireSignIn),
		"page_origins": strings.Join(t.PageOrigins, " ")}
}

// changed keeps the fields whose values differ, before and after.
func changed(before, after map[string]string) (map[string]string, map[string]string) {
	b, a := map[string]string{}, map[string]string{}
	for k, v := range after {
		if before[k] != v {
			b[k], a[k] = before[k], v
		}
	}
	return b, a
}

// maskPhone keeps the first three and last four digits ("138****0077").
func maskPhone(p string) string {
	if len(p) < 8 {
		return p
	}
	return p[:3] + "****" + p[len(p)-4:]
}
