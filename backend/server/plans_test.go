package server_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server/servertest"
)

// operatorOf makes an operator and answers OperatorService as them.
func operatorOf(t *testing.T, e *servertest.Env, email string) salesappv1connect.OperatorServiceClient {
	t.Helper()
	_, token := newOperator(t, e, email)
	return salesappv1connect.NewOperatorServiceClient(e.HTTP, e.URL, servertest.As(token))
}

// Operators list and change plans; a tenant created without seats or an end takes the plan's, a trial
// expiring by itself, and a plan without a trial length asks for the end.
func TestOperatorPlansAndTrials(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	c := operatorOf(t, e, "plans@example.com")

	plans, err := c.ListPlans(ctx, connect.NewRequest(&salesappv1.ListPlansRequest{}))
	require.NoError(t, err)
	var names []string
	for _, p := range plans.Msg.Plans {
		names = append(names, p.Name)
	}
	require.Equal(t, []string{"trial", "standard", "professional", "enterprise"}, names)
	trial := plans.Msg.Plans[0]
	require.EqualValues(t, 14, trial.TrialDays)
	require.Equal(t, []string{"tasks", "rankings", "pools", "exports", "wecom"}, trial.Features)
	require.NotContains(t, plans.Msg.Plans[1].Features, "pools", "standard has no lead pools")

	before := time.Now()
	created, err := c.CreateTenant(ctx, connect.NewRequest(&salesappv1.CreateTenantRequest{Name: "Trier", Plan: "trial"}))
	require.NoError(t, err)
	require.EqualValues(t, trial.SeatLimit, created.Msg.Tenant.SeatLimit, "the plan's seats")
	ends := created.Msg.Tenant.ExpiresAt.AsTime()
	require.WithinRange(t, ends, before.AddDate(0, 0, 14).Add(-time.Second), time.Now().AddDate(0, 0, 14).Add(time.Second))

	_, err = c.CreateTenant(ctx, connect.NewRequest(&salesappv1.CreateTenantRequest{Name: "Std", Plan: "standard"}))
	requireCode(t, err, connect.CodeInvalidArgument, "expires_at")

	// A longer trial applies to tenants created from then on.
	upd, err := c.UpdatePlan(ctx, connect.NewRequest(&salesappv1.UpdatePlanRequest{Name: "trial", TrialDays: proto.Int32(30),
		SeatLimit: proto.Int32(3), Features: &salesappv1.PlanFeatures{Features: []string{"wecom", "tasks"}}}))
	require.NoError(t, err)
	require.EqualValues(t, 30, upd.Msg.Plan.TrialDays)
	require.EqualValues(t, 3, upd.Msg.Plan.SeatLimit)
	require.Equal(t, []string{"tasks", "wecom"}, upd.Msg.Plan.Features)
	require.EqualValues(t, trial.StorageQuotaMib, upd.Msg.Plan.StorageQuotaMib, "absent fields are unchanged")
	// In the log of the enterprise on the plan, by the operator, before and after.
	var actorRole, was, is string
	require.NoError(t, e.DB.Super.QueryRow(ctx, `SELECT actor_role, before->>'trial_days', after->>'trial_days' FROM audit_log
		WHERE tenant_id = $1 AND action = 'plan.update'`, created.Msg.Tenant.TenantId).Scan(&actorRole, &was, &is))
	require.Equal(t, []string{"operator", "14", "30"}, []string{actorRole, was, is})
	var others int
	require.NoError(t, e.DB.Super.QueryRow(ctx, `SELECT count(*) FROM audit_log a JOIN tenants t ON t.id = a.tenant_id
		WHERE a.action = 'plan.update' AND t.plan <> 'trial'`).Scan(&others))
	require.Zero(t, others, "only the plan's enterprises")
	later, err := c.CreateTenant(ctx, connect.NewRequest(&salesappv1.CreateTenantRequest{Name: "Trier 2", Plan: "trial"}))
	require.NoError(t, err)
	require.EqualValues(t, 3, later.Msg.Tenant.SeatLimit)
	require.True(t, later.Msg.Tenant.ExpiresAt.AsTime().After(time.Now().AddDate(0, 0, 29)))
	named, err := c.CreateTenant(ctx, connect.NewRequest(&salesappv1.CreateTenantRequest{Name: "Std", Plan: "standard",
		SeatLimit: proto.Int32(0), ExpiresAt: timestamppb.New(time.Now().AddDate(1, 0, 0))}))
	require.NoError(t, err)
	require.EqualValues(t, 0, named.Msg.Tenant.SeatLimit, "a seat limit given is kept, even 0")

	_, err = c.UpdatePlan(ctx, connect.NewRequest(&salesappv1.UpdatePlanRequest{Name: "gold"}))
	requireCode(t, err, connect.CodeInvalidArgument, "name")
	_, err = c.UpdatePlan(ctx, connect.NewRequest(&salesappv1.UpdatePlanRequest{Name: "trial",
		Features: &salesappv1.PlanFeatures{Features: []string{"teleport"}}}))
	requireCode(t, err, connect.CodeInvalidArgument, "features")

	// An employee's token cannot change plans.
	acme := e.NewTenant(t, "Acme", 0)
	_, err = salesappv1connect.NewOperatorServiceClient(e.HTTP, e.URL, servertest.As(acme.Admin.Token)).
		UpdatePlan(ctx, connect.NewRequest(&salesappv1.UpdatePlanRequest{Name: "trial", TrialDays: proto.Int32(365)}))
	requireCode(t, err, connect.CodeUnauthenticated, "")
}

// A procedure of a feature outside the tenant's plan answers PermissionDenied saying so, online and
// through offline sync; the rest of the service keeps working, GetMe lists the plan's features, and an
// upgrade opens the feature.
func TestPlanFeaturesGateProcedures(t *testing.T) {
	t.Parallel()
	// No auth cache: each call reads the plan again.
	e := servertest.Start(t, func(c *platform.Config) { c.AuthCacheTTL = 0 })
	ctx := context.Background()
	ops := operatorOf(t, e, "gate@example.com")
	a := e.NewTenant(t, "Small", 0)
	sales := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	// A task made while the plan had tasks.
	created, err := tasksOf(e, a.Admin.Token).CreateTask(ctx, connect.NewRequest(taskDraft(nil)))
	require.NoError(t, err)

	standard := "standard"
	_, err = ops.UpdateTenant(ctx, connect.NewRequest(&salesappv1.UpdateTenantRequest{TenantId: a.ID.String(), Plan: &standard}))
	require.NoError(t, err)
	_, err = ops.UpdatePlan(ctx, connect.NewRequest(&salesappv1.UpdatePlanRequest{Name: "standard",
		Features: &salesappv1.PlanFeatures{Features: []string{"rankings"}}}))
	require.NoError(t, err)

	me, err := salesappv1connect.NewMeServiceClient(e.HTTP, e.URL, servertest.As(sales.Token)).GetMe(ctx, connect.NewRequest(&salesappv1.GetMeRequest{}))
	require.NoError(t, err)
	require.Equal(t, []string{"rankings"}, me.Msg.Tenant.Features)

	pools := salesappv1connect.NewPoolServiceClient(e.HTTP, e.URL, servertest.As(sales.Token))
	_, err = pools.ListPools(ctx, connect.NewRequest(&salesappv1.ListPoolsRequest{}))
	requireCode(t, err, connect.CodePermissionDenied, "standard plan does not include lead pools")
	_, err = tasksOf(e, sales.Token).ListMyTasks(ctx, connect.NewRequest(&salesappv1.ListMyTasksRequest{}))
	requireCode(t, err, connect.CodePermissionDenied, "marketing tasks")
	_, err = salesappv1connect.NewExportServiceClient(e.HTTP, e.URL, servertest.As(a.Admin.Token)).
		GetExport(ctx, connect.NewRequest(&salesappv1.GetExportRequest{ExportId: uuid.NewString()}))
	requireCode(t, err, connect.CodePermissionDenied, "exports")
	_, err = salesappv1connect.NewWeComServiceClient(e.HTTP, e.URL, servertest.As(a.Admin.Token)).
		GetWeComConfig(ctx, connect.NewRequest(&salesappv1.GetWeComConfigRequest{}))
	requireCode(t, err, connect.CodePermissionDenied, "WeCom")

	stats := salesappv1connect.NewStatsServiceClient(e.HTTP, e.URL, servertest.As(sales.Token))
	today := &salesappv1.GetRankingsRequest{Metric: salesappv1.StatsMetric_STATS_METRIC_VIEWS,
		Span: &salesappv1.StatsSpan{Period: salesappv1.StatsPeriod_STATS_PERIOD_TODAY}}
	_, err = stats.GetRankings(ctx, connect.NewRequest(today))
	require.NoError(t, err, "standard keeps rankings")
	_, err = ops.UpdatePlan(ctx, connect.NewRequest(&salesappv1.UpdatePlanRequest{Name: "standard",
		Features: &salesappv1.PlanFeatures{}}))
	require.NoError(t, err)
	_, err = stats.GetRankings(ctx, connect.NewRequest(today))
	requireCode(t, err, connect.CodePermissionDenied, "rankings")
	_, err = stats.GetMyDashboard(ctx, connect.NewRequest(&salesappv1.GetMyDashboardRequest{}))
	require.NoError(t, err, "dashboards come with every plan")

	// Offline: the claim is refused for the plan, not applied.
	d := newDevice(t, e, sales)
	claim := d.mutation(&salesappv1.Mutation{Op: &salesappv1.Mutation_ClaimTask{ClaimTask: &salesappv1.ClaimTask{TaskId: created.Msg.Task.Id}}})
	res, err := d.push(claim)
	require.NoError(t, err)
	require.NotEqual(t, salesappv1.MutationResult_OUTCOME_APPLIED, res.Results[0].Outcome)
	require.Equal(t, "permission_denied", res.Results[0].Code)
	require.Contains(t, res.Results[0].Message, "marketing tasks")

	// An upgrade opens them.
	pro := "professional"
	_, err = ops.UpdateTenant(ctx, connect.NewRequest(&salesappv1.UpdateTenantRequest{TenantId: a.ID.String(), Plan: &pro}))
	require.NoError(t, err)
	_, err = pools.ListPools(ctx, connect.NewRequest(&salesappv1.ListPoolsRequest{}))
	require.NoError(t, err)
	_, err = tasksOf(e, sales.Token).ListMyTasks(ctx, connect.NewRequest(&salesappv1.ListMyTasksRequest{}))
	require.NoError(t, err)
}

// Operators read an enterprise's usage, measured on demand, day by day.
func TestOperatorSeesTenantUsage(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	ops := operatorOf(t, e, "usage@example.com")
	a := e.NewTenant(t, "Used", 0)
	sales := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	_, err := clientsOf(e, sales.Token).shares.ShareCard(ctx, connect.NewRequest(&salesappv1.ShareCardRequest{
		Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT}))
	require.NoError(t, err)

	got, err := ops.GetTenantUsage(ctx, connect.NewRequest(&salesappv1.GetTenantUsageRequest{TenantId: a.ID.String(), Refresh: true}))
	require.NoError(t, err)
	require.NotEmpty(t, got.Msg.Days)
	today := got.Msg.Days[0]
	require.EqualValues(t, 2, today.SeatsUsed)
	require.EqualValues(t, 2, today.Active_7D, "both signed in")
	require.EqualValues(t, 1, today.Shares_30D)
	require.Equal(t, time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly), today.Day, "the day in the tenant's time zone")

	again, err := ops.GetTenantUsage(ctx, connect.NewRequest(&salesappv1.GetTenantUsageRequest{TenantId: a.ID.String()}))
	require.NoError(t, err)
	require.Len(t, again.Msg.Days, len(got.Msg.Days))
	_, err = ops.GetTenantUsage(ctx, connect.NewRequest(&salesappv1.GetTenantUsageRequest{TenantId: uuid.NewString()}))
	requireCode(t, err, connect.CodeNotFound, "tenant")
	_, err = ops.GetTenantUsage(ctx, connect.NewRequest(&salesappv1.GetTenantUsageRequest{TenantId: uuid.NewString(), Refresh: true}))
	requireCode(t, err, connect.CodeNotFound, "tenant")
}
