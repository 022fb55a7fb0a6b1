package stats

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/stats/internal/statsdb"
)

// RankingQuery asks for a ranking.
type RankingQuery struct {
	Metric Metric
	Span   Span
	// Team ranks one team instead of the tenant. Admins rank any team; others their own only.
	Team bool
	// TeamID is the team when Team is set (uuid.Nil: the caller's own).
	TeamID uuid.UUID
	// Top is how many places to list (1 to 100).
	Top int
}

// Place is one employee's place in a ranking. Places are 1-based and unique: equal values are ordered
// by name, then by id, so the same data always ranks the same way.
type Place struct {
	EmployeeID uuid.UUID
	Name       string
	Value      int32
	Rank       int32
}

// Ranking is a ranking's answer.
type Ranking struct {
	Days Days
	Top  []Place
	// Me is the caller's place; nil when the caller is not in the scope (another team's, or inactive).
	Me *Place
	// Ahead is the place just above the caller (nil when first or not ranked), and Gap how much more of
	// the metric the caller needs to draw level with it ("3 views behind #4").
	Ahead *Place
	Gap   int32
	// Total is the number of people ranked.
	Total int32
}

// rollups are the periods kept whole beside the days.
var rollups = map[Period]string{ThisWeek: "week", ThisMonth: "month"}

// Rank ranks the active employees of the tenant or a team by a metric over a span.
func (s *Service) Rank(ctx context.Context, p authn.Principal, rq RankingQuery) (Ranking, error) {
	if !rq.Metric.Valid() {
		return Ranking{}, platform.Invalid("metric", "unknown metric")
	}
	if rq.Top < 1 || rq.Top > 100 {
		return Ranking{}, platform.Invalid("top", "between 1 and 100")
	}
	var out Ranking
	err := s.inTenant(ctx, p, func(q *statsdb.Queries, now time.Time) error {
		days, err := resolve(rq.Span, now)
		if err != nil {
			return err
		}
		out.Days = days
		teamID := uuid.Nil
		if rq.Team {
			if teamID, err = teamFor(ctx, q, p, rq.TeamID); err != nil {
				return err
			}
		}
		from, to := days.params()
		var rows []statsdb.RankingRow
		if per, ok := rollups[rq.Span.Period]; ok {
			// A whole week or month so far: its rollup has one row per person.
			rs, err := q.RankingPeriod(ctx, statsdb.RankingPeriodParams{Top: int32(rq.Top), Metric: string(rq.Metric), TenantID: p.TenantID,
				Period: per, FromDay: from, ByTeam: rq.Team, TeamID: teamID, MeID: p.EmployeeID})
			if err != nil {
				return err
			}
			for _, r := range rs {
				rows = append(rows, statsdb.RankingRow(r))
			}
		} else if rows, err = q.Ranking(ctx, statsdb.RankingParams{Top: int32(rq.Top), Metric: string(rq.Metric), TenantID: p.TenantID,
			FromDay: from, ToDay: to, ByTeam: rq.Team, TeamID: teamID, MeID: p.EmployeeID}); err != nil {
			return err
		}
		byRank := map[int32]Place{}
		for _, r := range rows {
			pl := Place{EmployeeID: r.ID, Name: r.Name, Value: int32(r.Value), Rank: r.Rank}
			byRank[r.Rank] = pl
			out.Total = r.Total
			if r.Rank <= int32(rq.Top) {
				out.Top = append(out.Top, pl)
			}
			if r.ID == p.EmployeeID {
				me := pl
				out.Me = &me
			}
		}
		if out.Me != nil && out.Me.Rank > 1 {
			if a, ok := byRank[out.Me.Rank-1]; ok {
				out.Ahead = &a
				out.Gap = a.Value - out.Me.Value
			}
		}
		return nil
	})
	return out, err
}

// teamFor is the team a caller may look at: their own when want is uuid.Nil; another only for admins.
// Without a team of their own, a non-admin has none (PermissionDenied), as does an admin asking for
// their own when they have none.
func teamFor(ctx context.Context, q *statsdb.Queries, p authn.Principal, want uuid.UUID) (uuid.UUID, error) {
	if want == uuid.Nil {
		if p.TeamID == uuid.Nil {
			return uuid.Nil, platform.Invalid("team_id", "you belong to no team: name one")
		}
		return p.TeamID, nil
	}
	if p.Role == authn.RoleAdmin || want == p.TeamID {
		if p.Role == authn.RoleAdmin {
			// An admin may name any team of the tenant, but not one that does not exist.
			if err := teamExists(ctx, q, p.TenantID, want); err != nil {
				return uuid.Nil, err
			}
		}
		return want, nil
	}
	return uuid.Nil, platform.PermissionDenied("you may only look at your own team")
}

func teamExists(ctx context.Context, q *statsdb.Queries, tenantID, teamID uuid.UUID) error {
	found, err := q.TeamExists(ctx, statsdb.TeamExistsParams{TenantID: tenantID, ID: teamID})
	if err != nil {
		return err
	}
	if !found {
		return platform.NotFound("team")
	}
	return nil
}
