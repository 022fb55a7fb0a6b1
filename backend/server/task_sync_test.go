package server_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server/servertest"
)

// Tasks are in the salesperson's offline scope: the ones they may claim, the ones they are on with their
// progress as beacons move it, and each leaves when it stops being theirs to see (filled by someone else,
// out of their team's audience).
func TestTasksAndTheirProgressAreInTheSalespersonsSyncScope(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "Task sync", 0)
	north, south := e.NewTeam(t, a.ID, "North"), e.NewTeam(t, a.ID, "South")
	ann := e.NewPerson(t, a.ID, authn.RoleSales, north)
	ben := e.NewPerson(t, a.ID, authn.RoleSales, north)
	cat := e.NewPerson(t, a.ID, authn.RoleSales, south)
	boss := e.NewPerson(t, a.ID, authn.RoleManager, north)
	admin := tasksOf(e, a.Admin.Token)
	task := func(edit func(*salesappv1.CreateTaskRequest)) string {
		t.Helper()
		res, err := admin.CreateTask(ctx, connect.NewRequest(taskDraft(edit)))
		require.NoError(t, err)
		return res.Msg.Task.Id
	}
	synced := func(d *device, id string) *salesappv1.SyncTask {
		t.Helper()
		d.pull()
		c := d.get(salesappv1.EntityKind_ENTITY_KIND_TASK, id)
		if c == nil {
			return nil
		}
		return c.GetTask()
	}

	// One place, for the North team.
	race := task(func(r *salesappv1.CreateTaskRequest) {
		r.Title, r.Audience, r.TeamIds, r.MaxClaimers = "North race", salesappv1.TaskAudience_TASK_AUDIENCE_TEAMS, []string{north.String()}, 1
		r.Targets = &salesappv1.TaskCounts{Views: 1}
	})
	// Assigned outright to Cat.
	duty := task(func(r *salesappv1.CreateTaskRequest) {
		r.Title, r.Audience, r.EmployeeIds, r.ClaimRequired = "Cat's duty", salesappv1.TaskAudience_TASK_AUDIENCE_EMPLOYEES, []string{cat.ID.String()}, false
	})

	annD, benD, catD, bossD := newDevice(t, e, ann), newDevice(t, e, ben), newDevice(t, e, cat), newDevice(t, e, boss)
	got := synced(annD, race)
	require.NotNil(t, got, "offered to Ann's team")
	require.False(t, got.Joined)
	require.Equal(t, "North race", got.Title)
	require.EqualValues(t, 1, got.Targets.Views)
	require.NotNil(t, synced(benD, race))
	require.Nil(t, synced(catD, race), "not offered to the South team")
	got = synced(catD, duty)
	require.NotNil(t, got)
	require.True(t, got.Joined)
	require.False(t, got.Claimed, "assigned outright")
	require.Nil(t, synced(annD, duty))

	// Ann claims offline; the place is gone, so Ben's copy drops the task.
	res, err := annD.push(annD.mutation(&salesappv1.Mutation{Op: &salesappv1.Mutation_ClaimTask{ClaimTask: &salesappv1.ClaimTask{TaskId: race}}}))
	require.NoError(t, err)
	require.Equal(t, salesappv1.MutationResult_OUTCOME_APPLIED, res.Results[0].Outcome)
	got = synced(annD, race)
	require.True(t, got.Joined)
	require.True(t, got.Claimed)
	require.EqualValues(t, 1, got.Claimers)
	require.Nil(t, synced(benD, race), "a filled task is no longer offered")

	// A customer's view through Ann's task share scores it; her copy shows the progress and the completion.
	sh, err := clientsOf(e, ann.Token).shares.ShareCard(ctx, connect.NewRequest(&salesappv1.ShareCardRequest{
		Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT, TaskId: race}))
	require.NoError(t, err)
	track(t, e, ev(salesappv1.EventKind_EVENT_KIND_CARD_VIEW, sh.Msg.Share.Token, "visitor-tasksync"))
	got = synced(annD, race)
	require.EqualValues(t, 1, got.Progress.Shares)
	require.EqualValues(t, 1, got.Progress.Views)
	require.EqualValues(t, 1, got.Progress.Viewers)
	require.NotNil(t, got.CompletedAt)

	// North's manager oversees the race: their copy has the team's progress on it, not Cat's duty.
	got = synced(bossD, race)
	require.NotNil(t, got)
	require.True(t, got.Overseen)
	require.Len(t, got.Team, 1)
	require.Equal(t, ann.ID.String(), got.Team[0].EmployeeId)
	require.EqualValues(t, 1, got.Team[0].Progress.Views)
	require.NotNil(t, got.Team[0].CompletedAt)
	require.Nil(t, synced(bossD, duty), "not aimed at North, not theirs")

	// An edit reaches those on it.
	_, err = admin.UpdateTask(ctx, connect.NewRequest(&salesappv1.UpdateTaskRequest{Id: race, Title: "North race, extended",
		Targets: &salesappv1.TaskCounts{Views: 1}, EndsAt: taskDraft(nil).EndsAt, MaxClaimers: 1}))
	require.NoError(t, err)
	require.Equal(t, "North race, extended", synced(annD, race).Title)

	// Cat moves to North: North's open task comes to her copy; moved back, it goes.
	open := task(func(r *salesappv1.CreateTaskRequest) {
		r.Title, r.Audience, r.TeamIds = "North open", salesappv1.TaskAudience_TASK_AUDIENCE_TEAMS, []string{north.String()}
	})
	require.Nil(t, synced(catD, open))
	move := func(team uuid.UUID) {
		t.Helper()
		_, err := employees(e, a.Admin.Token).UpdateEmployee(ctx, connect.NewRequest(&salesappv1.UpdateEmployeeRequest{
			EmployeeId: cat.ID.String(), TeamId: ptr(team.String())}))
		require.NoError(t, err)
	}
	move(north)
	require.NotNil(t, synced(catD, open))
	move(south)
	require.Nil(t, synced(catD, open))
	// Ann leaves North: its manager's copy of the race no longer lists her.
	_, err = employees(e, a.Admin.Token).UpdateEmployee(ctx, connect.NewRequest(&salesappv1.UpdateEmployeeRequest{
		EmployeeId: ann.ID.String(), TeamId: ptr(south.String())}))
	require.NoError(t, err)
	require.Empty(t, synced(bossD, race).Team)

	// Cancelled: still in Cat's copy (she was on it), as cancelled.
	_, err = admin.CancelTask(ctx, connect.NewRequest(&salesappv1.CancelTaskRequest{Id: duty}))
	require.NoError(t, err)
	got = synced(catD, duty)
	require.NotNil(t, got)
	require.True(t, got.Cancelled)
	// And a fresh device of Ann's gets everything from the start.
	fresh := newDevice(t, e, ann)
	require.True(t, synced(fresh, race).Joined)
	require.Nil(t, synced(fresh, open), "Ann is in South now")
	require.Nil(t, synced(fresh, duty))
}
