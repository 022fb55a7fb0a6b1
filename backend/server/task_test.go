package server_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server/servertest"
)

func tasksOf(e *servertest.Env, token string) salesappv1connect.TaskServiceClient {
	return salesappv1connect.NewTaskServiceClient(e.HTTP, e.URL, servertest.As(token))
}

// A salesperson claims a task offline (the claim_task sync mutation), shares their card for it, and a
// customer's view through the public beacon completes it: progress and the completion alert are there.
func TestAnOfflineClaimThroughSyncAndATaskScoredByBeacons(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "Tasks", 0)
	sales := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	late := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	created, err := tasksOf(e, a.Admin.Token).CreateTask(ctx, connect.NewRequest(taskDraft(func(r *salesappv1.CreateTaskRequest) {
		r.Targets, r.MaxClaimers = &salesappv1.TaskCounts{Shares: 1, Views: 1}, 1
	})))
	require.NoError(t, err)
	id := created.Msg.Task.Id

	d := newDevice(t, e, sales)
	claim := d.mutation(&salesappv1.Mutation{Op: &salesappv1.Mutation_ClaimTask{ClaimTask: &salesappv1.ClaimTask{TaskId: id}}})
	res, err := d.push(claim)
	require.NoError(t, err)
	require.Equal(t, salesappv1.MutationResult_OUTCOME_APPLIED, res.Results[0].Outcome)
	again, err := d.push(claim)
	require.NoError(t, err)
	require.Equal(t, salesappv1.MutationResult_OUTCOME_APPLIED, again.Results[0].Outcome, "a replay answers the same")

	other := newDevice(t, e, late)
	res, err = other.push(other.mutation(&salesappv1.Mutation{Op: &salesappv1.Mutation_ClaimTask{ClaimTask: &salesappv1.ClaimTask{TaskId: id}}}))
	require.NoError(t, err)
	require.NotEqual(t, salesappv1.MutationResult_OUTCOME_APPLIED, res.Results[0].Outcome, "the only place is taken")
	require.Equal(t, "resource_exhausted", res.Results[0].Code)

	mine, err := tasksOf(e, sales.Token).ListMyTasks(ctx, connect.NewRequest(&salesappv1.ListMyTasksRequest{State: salesappv1.TaskState_TASK_STATE_CLAIMED}))
	require.NoError(t, err)
	require.Len(t, mine.Msg.Tasks, 1)
	require.Equal(t, id, mine.Msg.Tasks[0].Task.Id)
	require.EqualValues(t, 1, mine.Msg.Tasks[0].Task.Claimers)

	sh, err := clientsOf(e, sales.Token).shares.ShareCard(ctx, connect.NewRequest(&salesappv1.ShareCardRequest{
		Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT, TaskId: id}))
	require.NoError(t, err)
	require.Equal(t, id, sh.Msg.Share.TaskId)
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_CARD_VIEW, sh.Msg.Share.Token, "visitor-task01"))

	prog, err := tasksOf(e, a.Admin.Token).GetTaskProgress(ctx, connect.NewRequest(&salesappv1.GetTaskProgressRequest{Id: id}))
	require.NoError(t, err)
	require.Len(t, prog.Msg.Assignees, 1)
	got := prog.Msg.Assignees[0]
	require.EqualValues(t, 1, got.Progress.Views)
	require.EqualValues(t, 1, got.Progress.NewCustomers)
	require.NotNil(t, got.CompletedAt)

	list, err := alertsOf(e, sales.Token).ListAlerts(ctx, connect.NewRequest(&salesappv1.ListAlertsRequest{}))
	require.NoError(t, err)
	completed := 0
	for _, al := range list.Msg.Alerts {
		if al.Kind == salesappv1.AlertKind_ALERT_KIND_TASK_COMPLETED {
			completed++
			require.Empty(t, al.CustomerId)
		}
	}
	require.Equal(t, 1, completed)
}

// A share that completes a task (its share target met) pushes the completion to the salesperson's phone at
// once, as a completion by a customer's view does: the share's transaction queues the push.
func TestATaskCompletedByAShareIsPushedAtOnce(t *testing.T) {
	t.Parallel()
	rec := &pushes{}
	e := servertest.StartWithSender(t, rec)
	ctx := context.Background()
	a := e.NewTenant(t, "Tasks", 0)
	sales := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	_, err := alertsOf(e, sales.Token).RegisterDevice(ctx, connect.NewRequest(&salesappv1.RegisterDeviceRequest{
		DeviceId: sales.DeviceID, Platform: "ios", PushToken: "sales-phone"}))
	require.NoError(t, err)
	created, err := tasksOf(e, a.Admin.Token).CreateTask(ctx, connect.NewRequest(taskDraft(func(r *salesappv1.CreateTaskRequest) {
		r.Targets, r.ClaimRequired = &salesappv1.TaskCounts{Shares: 1}, false
	})))
	require.NoError(t, err)
	id := created.Msg.Task.Id
	// (Being put on a task is pushed too: count from here.)
	require.Eventually(t, func() bool { return rec.countTo("sales-phone") == 1 }, 20*time.Second, 20*time.Millisecond)

	_, err = clientsOf(e, sales.Token).shares.ShareCard(ctx, connect.NewRequest(&salesappv1.ShareCardRequest{
		Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT, TaskId: id}))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return rec.countTo("sales-phone") == 2 }, 20*time.Second, 20*time.Millisecond)
	rec.mu.Lock()
	last := rec.sent[len(rec.sent)-1]
	rec.mu.Unlock()
	require.Equal(t, "Marketing task", last.Title)
}
