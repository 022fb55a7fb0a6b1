package stats

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

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

// Rank ranks the active employees of the tenant or a team by a metric over a span. The order comes
// from the node's ranking cache (rankings.go): at most about a second old while it is being asked for.
func (s *Service) Rank(ctx context.Context, p authn.Principal, rq RankingQuery) (Ranking, error) {
	if !rq.Metric.Valid() {
		return Ranking{}, platform.Invalid("metric", "unknown metric")
	}
	if rq.Top < 1 || rq.Top > 100 {
		return Ranking{}, platform.Invalid("top", "between 1 and 100")
	}
	now, err := s.nowIn(ctx, p.TenantID)
	if err != nil {
		return Ranking{}, err
	}
	days, err := resolve(rq.Span, now)
	if err != nil {
		return Ranking{}, err
	}
	key := rankKey{tenant: p.TenantID, metric: rq.Metric, rollup: rollups[rq.Span.Period],
		from: days.From.Format(time.DateOnly), to: days.To.Format(time.DateOnly)}
	if rq.Team {
		key.byTeam = true
		pick := func(q *statsdb.Queries) (err error) {
			key.team, err = teamFor(ctx, q, p, rq.TeamID)
			return err
		}
		if p.Role == authn.RoleAdmin && rq.TeamID != uuid.Nil {
			// Only an admin naming a team needs the database: to know that it exists.
			err = s.db.InTenantSnapshot(ctx, p.TenantID, func(tx pgx.Tx) error { return pick(statsdb.New(tx)) })
		} else {
			err = pick(nil)
		}
		if err != nil {
			return Ranking{}, err
		}
	}
	order, err := s.rankings.get(ctx, key, s.rankEveryone)
	if err != nil {
		return Ranking{}, err
	}
	out := order.rank(rq.Top, p.EmployeeID)
	out.Days = days
	return out, nil
}

// rankEveryone reads the whole order of a ranking's scope: the team's or tenant's rollup rows for a
// week or month so far, their day rows summed otherwise.
func (s *Service) rankEveryone(ctx context.Context, k rankKey) ([]Place, error) {
	var out []Place
	err := s.db.InTenantSnapshot(ctx, k.tenant, func(tx pgx.Tx) error {
		q := statsdb.New(tx)
		var from, to pgtype.Date
		if err := from.Scan(k.from); err != nil {
			return err
		}
		if err := to.Scan(k.to); err != nil {
			return err
		}
		var rows []statsdb.RankAllRow
		if k.rollup != "" {
			rs, err := q.RankAllPeriod(ctx, statsdb.RankAllPeriodParams{Metric: string(k.metric), TenantID: k.tenant,
				Period: k.rollup, FromDay: from, ByTeam: k.byTeam, TeamID: k.team})
			if err != nil {
				return err
			}
			for _, r := range rs {
				rows = append(rows, statsdb.RankAllRow(r))
			}
		} else {
			var err error
			if rows, err = q.RankAll(ctx, statsdb.RankAllParams{Metric: string(k.metric), TenantID: k.tenant,
				FromDay: from, ToDay: to, ByTeam: k.byTeam, TeamID: k.team}); err != nil {
				return err
			}
		}
		out = make([]Place, len(rows))
		for i, r := range rows {
			out[i] = Place{EmployeeID: r.ID, Name: r.Name, Value: int32(r.Value), Rank: int32(i + 1)}
		}
		return nil
	})
	return out, err
}

// teamFor is the team a caller may look at: their own when want is uuid.Nil (a manager without one: the
// first they lead); another only for admins and for the managers who lead it. Without a team, a
// non-admin has none (InvalidArgument), as does an admin asking for their own when they have none.
func teamFor(ctx context.Context, q *statsdb.Queries, p authn.Principal, want uuid.UUID) (uuid.UUID, error) {
	if want == uuid.Nil {
		if t := defaultTeam(p); t != uuid.Nil {
			return t, nil
		}
		return uuid.Nil, platform.Invalid("team_id", "you belong to no team: name one")
	}
	if p.Role == authn.RoleAdmin || want == p.TeamID || p.LeadsTeam(want) {
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

// defaultTeam is the team a caller looks at when they name none: their own, or for a manager without
// one that they lead, the first team they lead (uuid.Nil: none).
func defaultTeam(p authn.Principal) uuid.UUID {
	if p.Role == authn.RoleManager && !p.LeadsTeam(p.TeamID) && len(p.Leads) > 0 {
		return p.Leads[0]
	}
	return p.TeamID
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
