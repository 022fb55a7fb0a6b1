package stats

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/stats/internal/statsdb"
)

// Compared is a period's totals beside the previous period of equal length.
type Compared struct {
	Days, PreviousDays Days
	Current, Previous  Totals
}

// HotCustomer is one of a salesperson's hottest customers.
type HotCustomer struct {
	ID          uuid.UUID
	Name, Stage string
	Intent      int32
	LastActive  time.Time
}

// MyDashboard is a salesperson's own: today against yesterday, this week so far against the same days
// of last week, and their hottest customers of the last week.
type MyDashboard struct {
	Today, Week Compared
	Hottest     []HotCustomer
}

// hotWindow is how far back "hot" looks.
const hotWindow = 7 * 24 * time.Hour

// MyDashboard answers a salesperson's dashboard: the caller's own (employeeID uuid.Nil or their own
// id), or a team member's for their manager, or anyone's of the tenant for an admin. A salesperson may
// not read another's (PermissionDenied); an id of no employee of the tenant is NotFound.
func (s *Service) MyDashboard(ctx context.Context, p authn.Principal, employeeID uuid.UUID) (MyDashboard, error) {
	var out MyDashboard
	if employeeID == uuid.Nil {
		employeeID = p.EmployeeID
	}
	if employeeID != p.EmployeeID && p.Role != authn.RoleAdmin && p.Role != authn.RoleManager {
		return out, platform.PermissionDenied("a salesperson sees their own dashboard only")
	}
	err := s.inTenant(ctx, p, func(q *statsdb.Queries, now time.Time) error {
		if employeeID != p.EmployeeID {
			team, err := q.EmployeeTeam(ctx, statsdb.EmployeeTeamParams{TenantID: p.TenantID, ID: employeeID})
			if errors.Is(err, pgx.ErrNoRows) {
				return platform.NotFound("employee")
			}
			if err != nil {
				return err
			}
			if p.Role == authn.RoleManager && !p.LeadsTeam(team.UUID) {
				return platform.PermissionDenied("a manager sees the dashboards of the teams they lead only")
			}
		}
		for _, c := range []struct {
			per Period
			to  *Compared
		}{{Today, &out.Today}, {ThisWeek, &out.Week}} {
			d, _ := resolve(Span{Period: c.per}, now)
			c.to.Days, c.to.PreviousDays = d, d.previous()
			var err error
			if c.to.Current, err = totals(ctx, q, p.TenantID, employeeID, c.to.Days); err != nil {
				return err
			}
			if c.to.Previous, err = totals(ctx, q, p.TenantID, employeeID, c.to.PreviousDays); err != nil {
				return err
			}
		}
		rows, err := q.HottestCustomers(ctx, statsdb.HottestCustomersParams{TenantID: p.TenantID,
			OwnerID: uuid.NullUUID{UUID: employeeID, Valid: true}, Since: now.Add(-hotWindow), MaxRows: 5})
		for _, r := range rows {
			out.Hottest = append(out.Hottest, HotCustomer{ID: r.ID, Name: r.DisplayName, Stage: r.Stage, Intent: r.IntentScore, LastActive: r.LastActiveAt})
		}
		return err
	})
	return out, err
}

func totals(ctx context.Context, q *statsdb.Queries, tenantID, employeeID uuid.UUID, d Days) (Totals, error) {
	from, to := d.params()
	r, err := q.EmployeeTotals(ctx, statsdb.EmployeeTotalsParams{TenantID: tenantID, EmployeeID: employeeID, FromDay: from, ToDay: to})
	return Totals(r), err
}

// TeamQuery asks for a manager's dashboard.
type TeamQuery struct {
	// TeamID is the team (uuid.Nil: the caller's own team for a manager, the whole tenant for an admin).
	TeamID uuid.UUID
	// TeamIDs are several teams together, instead of TeamID.
	TeamIDs []uuid.UUID
	Span    Span
}

// Funnel is the way from shares to customers being worked: shares made, views they got, identified
// visitors, leads (phone numbers left), and customers first seen in the period who are at "contacted" or
// beyond.
type Funnel struct {
	Shares, Views, Identified, Leads, Contacted int32
}

// Person is one row of the per-person table.
type Person struct {
	EmployeeID uuid.UUID
	Name       string
	Totals     Totals
}

// MaterialEffect is what a material did over the period, in the tenant or through the team's salespeople.
type MaterialEffect struct {
	MaterialID                     uuid.UUID
	Title, Tier                    string
	Shares, Views, Forwards, Leads int32
	// AvgDwellMs is the reading time per view.
	AvgDwellMs int32
}

// TeamDashboard is the manager's view of a team (or an admin's of the tenant).
type TeamDashboard struct {
	Days Days
	// TeamID is the team shown (uuid.Nil: the whole tenant, or several teams).
	TeamID uuid.UUID
	// TeamIDs are every team shown (none: the whole tenant).
	TeamIDs   []uuid.UUID
	Funnel    Funnel
	People    []Person
	Materials []MaterialEffect
}

// maxMaterials is how many materials the dashboard lists.
const maxMaterials = 50

// TeamDashboard answers a manager's (or admin's) dashboard. Salespeople have none (PermissionDenied);
// a manager sees teams they lead, one (their own unless they name another) or several together; an admin
// any teams, or the whole tenant.
func (s *Service) TeamDashboard(ctx context.Context, p authn.Principal, tq TeamQuery) (TeamDashboard, error) {
	var out TeamDashboard
	teams := slices.Clone(tq.TeamIDs)
	if tq.TeamID != uuid.Nil {
		if len(teams) > 0 {
			return out, platform.Invalid("team_ids", "name one team in team_id or several in team_ids, not both")
		}
		teams = []uuid.UUID{tq.TeamID}
	}
	switch p.Role {
	case authn.RoleAdmin:
	case authn.RoleManager:
		if len(p.Leads) == 0 {
			return out, authn.ErrNoTeam
		}
		if len(teams) == 0 {
			teams = []uuid.UUID{defaultTeam(p)}
		}
		if slices.ContainsFunc(teams, func(t uuid.UUID) bool { return !p.LeadsTeam(t) }) {
			return out, platform.PermissionDenied("a manager sees the teams they lead only")
		}
	default:
		return out, platform.PermissionDenied("only managers and admins see team dashboards")
	}
	// Planned for its values: the team filters switch on and off by parameter.
	err := s.inTenantWith(ctx, s.db.InTenantSnapshotCustomPlans, p, func(q *statsdb.Queries, now time.Time) error {
		days, err := resolve(tq.Span, now)
		if err != nil {
			return err
		}
		out.Days, out.TeamIDs = days, teams
		if len(teams) == 1 {
			out.TeamID = teams[0]
		}
		byTeam := len(teams) > 0
		if byTeam && p.Role == authn.RoleAdmin {
			for _, t := range teams {
				if err := teamExists(ctx, q, p.TenantID, t); err != nil {
					return err
				}
			}
		}
		from, to := days.params()
		monday, sunday := days.wholeWeeks()
		rows, err := q.PeopleTotals(ctx, statsdb.PeopleTotalsParams{TenantID: p.TenantID, ByTeam: byTeam, TeamIds: teams, FromDay: from, ToDay: to,
			FirstMonday: monday, LastSunday: sunday})
		if err != nil {
			return err
		}
		var (
			sum       Totals
			contacted int32
		)
		for _, r := range rows {
			contacted += r.Contacted
			t := Totals{Shares: r.Shares, Views: r.Views, Visitors: r.Visitors, Identified: r.Identified, NewCustomers: r.NewCustomers,
				Leads: r.Leads, Forwards: r.Forwards, TasksCompleted: r.TasksCompleted}
			sum.add(t)
			out.People = append(out.People, Person{EmployeeID: r.ID, Name: r.Name, Totals: t})
		}
		out.Funnel = Funnel{Shares: sum.Shares, Views: sum.Views, Identified: sum.Identified, Leads: sum.Leads, Contacted: contacted}
		mats, err := q.MaterialEffect(ctx, statsdb.MaterialEffectParams{TenantID: p.TenantID, ByTeam: byTeam, TeamIds: teams, FromDay: from, ToDay: to,
			FirstMonday: monday, LastSunday: sunday, MaxRows: maxMaterials})
		for _, m := range mats {
			e := MaterialEffect{MaterialID: m.MaterialID, Title: m.Title, Tier: m.Tier, Shares: m.Shares, Views: m.Views, Forwards: m.Forwards, Leads: m.Leads}
			if m.Views > 0 {
				e.AvgDwellMs = int32(min(m.DwellMs/int64(m.Views), 1<<31-1))
			}
			out.Materials = append(out.Materials, e)
		}
		return err
	})
	return out, err
}
