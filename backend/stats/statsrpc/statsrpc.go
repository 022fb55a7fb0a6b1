// Package statsrpc is the Connect adapter of rankings, dashboards and follow-ups: StatsService.
package statsrpc

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/material"
	"github.com/salesapp/scrm/backend/material/materialrpc"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/module"
	"github.com/salesapp/scrm/backend/stats"
)

// Module is what stats contributes: StatsService.
func Module(svc *stats.Service) module.Module {
	statsService := module.Connect[salesappv1connect.StatsServiceHandler](salesappv1connect.StatsServiceName,
		salesappv1connect.NewStatsServiceHandler, &Handler{svc: svc})
	// Dashboards and follow-ups come with every plan; rankings with the plans that include them.
	statsService.Features = map[string]authn.Feature{salesappv1connect.StatsServiceGetRankingsProcedure: authn.FeatureRankings}
	return module.Module{
		Name:     "stats",
		Services: []module.Service{statsService},
	}
}

// Handler serves StatsService.
type Handler struct{ svc *stats.Service }

var _ salesappv1connect.StatsServiceHandler = (*Handler)(nil)

var metrics = map[salesappv1.StatsMetric]stats.Metric{
	salesappv1.StatsMetric_STATS_METRIC_SHARES:          stats.Shares,
	salesappv1.StatsMetric_STATS_METRIC_VIEWS:           stats.Views,
	salesappv1.StatsMetric_STATS_METRIC_VISITORS:        stats.Visitors,
	salesappv1.StatsMetric_STATS_METRIC_NEW_CUSTOMERS:   stats.NewCustomers,
	salesappv1.StatsMetric_STATS_METRIC_LEADS:           stats.Leads,
	salesappv1.StatsMetric_STATS_METRIC_FORWARDS:        stats.Forwards,
	salesappv1.StatsMetric_STATS_METRIC_TASKS_COMPLETED: stats.TasksCompleted,
}

var periods = map[salesappv1.StatsPeriod]stats.Period{
	salesappv1.StatsPeriod_STATS_PERIOD_TODAY:      stats.Today,
	salesappv1.StatsPeriod_STATS_PERIOD_THIS_WEEK:  stats.ThisWeek,
	salesappv1.StatsPeriod_STATS_PERIOD_THIS_MONTH: stats.ThisMonth,
	salesappv1.StatsPeriod_STATS_PERIOD_CUSTOM:     stats.Custom,
}

func span(s *salesappv1.StatsSpan) stats.Span {
	per, ok := periods[s.GetPeriod()]
	if !ok {
		per = -1 // the domain refuses it, naming the field
	}
	return stats.Span{Period: per, From: s.GetFromDate(), To: s.GetToDate()}
}

func days(d stats.Days) *salesappv1.StatsDays {
	return &salesappv1.StatsDays{FromDate: d.From.Format(time.DateOnly), ToDate: d.To.Format(time.DateOnly), TimeZone: d.Loc.String()}
}

func place(p *stats.Place) *salesappv1.RankingPlace {
	if p == nil {
		return nil
	}
	return &salesappv1.RankingPlace{EmployeeId: p.EmployeeID.String(), Name: p.Name, Value: p.Value, Rank: p.Rank}
}

func totals(t stats.Totals) *salesappv1.StatsTotals {
	return &salesappv1.StatsTotals{Shares: t.Shares, Views: t.Views, Visitors: t.Visitors, Identified: t.Identified,
		NewCustomers: t.NewCustomers, Leads: t.Leads, Forwards: t.Forwards, TasksCompleted: t.TasksCompleted}
}

func compared(c stats.Compared) *salesappv1.StatsComparison {
	return &salesappv1.StatsComparison{Days: days(c.Days), Current: totals(c.Current), PreviousDays: days(c.PreviousDays), Previous: totals(c.Previous)}
}

var stages = map[string]salesappv1.CustomerStage{
	"new": salesappv1.CustomerStage_CUSTOMER_STAGE_NEW, "contacted": salesappv1.CustomerStage_CUSTOMER_STAGE_CONTACTED,
	"interested": salesappv1.CustomerStage_CUSTOMER_STAGE_INTERESTED, "negotiating": salesappv1.CustomerStage_CUSTOMER_STAGE_NEGOTIATING,
	"won": salesappv1.CustomerStage_CUSTOMER_STAGE_WON, "lost": salesappv1.CustomerStage_CUSTOMER_STAGE_LOST,
}

var followUpKinds = map[stats.FollowUpKind]salesappv1.FollowUpKind{
	stats.FollowUpDue:  salesappv1.FollowUpKind_FOLLOW_UP_KIND_DUE,
	stats.FollowUpHot:  salesappv1.FollowUpKind_FOLLOW_UP_KIND_HOT,
	stats.FollowUpCold: salesappv1.FollowUpKind_FOLLOW_UP_KIND_COLD,
}

// GetRankings implements StatsService.
func (h *Handler) GetRankings(ctx context.Context, req *connect.Request[salesappv1.GetRankingsRequest]) (*connect.Response[salesappv1.GetRankingsResponse], error) {
	p, _ := authn.FromContext(ctx)
	m := req.Msg
	q := stats.RankingQuery{Metric: metrics[m.GetMetric()], Span: span(m.GetSpan()), Team: m.GetTeam(), Top: int(m.GetTop())}
	if q.Top == 0 {
		q.Top = 10
	}
	q.TeamID, _ = uuid.Parse(m.GetTeamId())
	r, err := h.svc.Rank(ctx, p, q)
	if err != nil {
		return nil, err
	}
	out := &salesappv1.GetRankingsResponse{Days: days(r.Days), Me: place(r.Me), Ahead: place(r.Ahead), Gap: r.Gap, Total: r.Total}
	for i := range r.Top {
		out.Top = append(out.Top, place(&r.Top[i]))
	}
	return connect.NewResponse(out), nil
}

// GetMyDashboard implements StatsService.
func (h *Handler) GetMyDashboard(ctx context.Context, req *connect.Request[salesappv1.GetMyDashboardRequest]) (*connect.Response[salesappv1.GetMyDashboardResponse], error) {
	p, _ := authn.FromContext(ctx)
	id, _ := uuid.Parse(req.Msg.GetEmployeeId())
	d, err := h.svc.MyDashboard(ctx, p, id)
	if err != nil {
		return nil, err
	}
	out := &salesappv1.GetMyDashboardResponse{Today: compared(d.Today), Week: compared(d.Week)}
	for _, c := range d.Hottest {
		out.Hottest = append(out.Hottest, &salesappv1.HotCustomer{CustomerId: c.ID.String(), DisplayName: c.Name, IntentScore: c.Intent,
			Stage: stages[c.Stage], LastActiveAt: timestamppb.New(c.LastActive)})
	}
	return connect.NewResponse(out), nil
}

// GetTeamDashboard implements StatsService.
func (h *Handler) GetTeamDashboard(ctx context.Context, req *connect.Request[salesappv1.GetTeamDashboardRequest]) (*connect.Response[salesappv1.GetTeamDashboardResponse], error) {
	p, _ := authn.FromContext(ctx)
	q := stats.TeamQuery{Span: span(req.Msg.GetSpan())}
	q.TeamID, _ = uuid.Parse(req.Msg.GetTeamId())
	for _, t := range req.Msg.GetTeamIds() {
		q.TeamIDs = append(q.TeamIDs, uuid.MustParse(t)) // checked by the validator
	}
	d, err := h.svc.TeamDashboard(ctx, p, q)
	if err != nil {
		return nil, err
	}
	f := d.Funnel
	out := &salesappv1.GetTeamDashboardResponse{Days: days(d.Days),
		Funnel: &salesappv1.StatsFunnel{Shares: f.Shares, Views: f.Views, Identified: f.Identified, Leads: f.Leads, Contacted: f.Contacted}}
	if d.TeamID != uuid.Nil {
		out.TeamId = d.TeamID.String()
	}
	for _, t := range d.TeamIDs {
		out.TeamIds = append(out.TeamIds, t.String())
	}
	for _, pr := range d.People {
		out.People = append(out.People, &salesappv1.PersonStats{EmployeeId: pr.EmployeeID.String(), Name: pr.Name, Totals: totals(pr.Totals)})
	}
	for _, m := range d.Materials {
		out.Materials = append(out.Materials, &salesappv1.MaterialStats{MaterialId: m.MaterialID.String(), Title: m.Title, Tier: materialrpc.TierToProto(material.Tier(m.Tier)),
			Shares: m.Shares, Views: m.Views, AvgDwellMs: m.AvgDwellMs, Forwards: m.Forwards, Leads: m.Leads})
	}
	return connect.NewResponse(out), nil
}

// ListFollowUps implements StatsService.
func (h *Handler) ListFollowUps(ctx context.Context, _ *connect.Request[salesappv1.ListFollowUpsRequest]) (*connect.Response[salesappv1.ListFollowUpsResponse], error) {
	p, _ := authn.FromContext(ctx)
	list, err := h.svc.FollowUps(ctx, p)
	if err != nil {
		return nil, err
	}
	out := &salesappv1.ListFollowUpsResponse{}
	for _, f := range list {
		e := &salesappv1.FollowUp{Kind: followUpKinds[f.Kind], CustomerId: f.CustomerID.String(), DisplayName: f.Name,
			IntentScore: f.Intent, LastActiveAt: timestamppb.New(f.LastActive), Reason: f.Reason, SuggestedMaterialTitle: f.SuggestedTitle}
		if !f.DueAt.IsZero() {
			e.DueAt = timestamppb.New(f.DueAt)
		}
		if f.Suggested != uuid.Nil {
			e.SuggestedMaterialId = f.Suggested.String()
		}
		out.FollowUps = append(out.FollowUps, e)
	}
	return connect.NewResponse(out), nil
}
