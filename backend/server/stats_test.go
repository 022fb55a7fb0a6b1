package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/server/servertest"
)

func statsOf(e *servertest.Env, token string) salesappv1connect.StatsServiceClient {
	return salesappv1connect.NewStatsServiceClient(e.HTTP, e.URL, servertest.As(token))
}

// A share made through ShareService and a beacon through TrackingService show in the rankings and both
// dashboards; a resent beacon does not; the team dashboard is refused to a salesperson; counters are JSON
// numbers.
func TestSharesAndBeaconsReachRankingsAndDashboards(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a, sales, token, materialID := sharedMaterial(t, e)
	view := ev(salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, token, "visitor-stats1")
	track(t, e, view)
	track(t, e, view) // resent: stored once, counted once

	month := &salesappv1.StatsSpan{Period: salesappv1.StatsPeriod_STATS_PERIOD_THIS_MONTH}
	r, err := statsOf(e, sales.Token).GetRankings(ctx, connect.NewRequest(&salesappv1.GetRankingsRequest{
		Metric: salesappv1.StatsMetric_STATS_METRIC_VIEWS, Span: month}))
	require.NoError(t, err)
	require.EqualValues(t, 1, r.Msg.Me.Value)
	require.EqualValues(t, 1, r.Msg.Me.Rank)
	require.Equal(t, "Asia/Shanghai", r.Msg.Days.TimeZone)

	_, err = statsOf(e, sales.Token).GetTeamDashboard(ctx, connect.NewRequest(&salesappv1.GetTeamDashboardRequest{Span: month}))
	require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err))

	td, err := statsOf(e, a.Admin.Token).GetTeamDashboard(ctx, connect.NewRequest(&salesappv1.GetTeamDashboardRequest{Span: month}))
	require.NoError(t, err)
	require.Equal(t, &salesappv1.StatsFunnel{Shares: 1, Views: 1, Identified: 0, Leads: 0, Contacted: 0}, td.Msg.Funnel)
	require.Len(t, td.Msg.Materials, 1)
	require.Equal(t, materialID, td.Msg.Materials[0].MaterialId)
	require.Equal(t, salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, td.Msg.Materials[0].Tier)

	// A custom span without its dates is refused before the handler, naming the rule.
	_, err = statsOf(e, sales.Token).GetRankings(ctx, connect.NewRequest(&salesappv1.GetRankingsRequest{
		Metric: salesappv1.StatsMetric_STATS_METRIC_VIEWS, Span: &salesappv1.StatsSpan{Period: salesappv1.StatsPeriod_STATS_PERIOD_CUSTOM}}))
	require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))

	// The JSON a browser reads carries numbers.
	req, err := http.NewRequest(http.MethodPost, e.URL+salesappv1connect.StatsServiceGetMyDashboardProcedure, strings.NewReader("{}"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+sales.Token)
	res, err := e.HTTP.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, string(body))
	var doc struct {
		Today struct {
			Current map[string]any `json:"current"`
		} `json:"today"`
	}
	require.NoError(t, json.Unmarshal(body, &doc))
	require.Equal(t, float64(1), doc.Today.Current["shares"], string(body))
	require.Equal(t, float64(1), doc.Today.Current["views"], string(body))
}
