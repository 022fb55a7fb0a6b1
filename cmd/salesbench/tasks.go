package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
)

// Sizes of task-progress (issue 15: "a task's progress reflects an event ≤ 1 s after its beacon is
// acknowledged").
const (
	// taskSamples views go through the task's share, one at a time.
	taskSamples = 100
	// taskLoadRate is the stated load beside them: views of the salesperson's ordinary card link, new
	// visitors each, through the same ingest (and into the same sync scope).
	taskLoadRate = 200
	// taskPoll is how often the app's side pulls while it waits.
	taskPoll = 5 * time.Millisecond
)

// taskProgress measures how soon a view through a task's share shows in the salesperson's synced copy of
// the task: the salesperson is put on a task, shares their card for it, and then, one at a time, a new
// visitor's view is tracked and the salesperson's device pulls (incrementally, every taskPoll) until its
// task shows the view. Beside it, views of another link of theirs arrive at taskLoadRate.
func taskProgress(ctx context.Context, b *bench) (rows []row, err error) {
	s, httpClient, protocol, err := startForLoad(ctx, b, "task-progress")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	defer httpClient.CloseIdleConnections()
	base := "http://" + s.addr
	as := func(token string, r connect.AnyRequest) {
		r.Header().Set("Authorization", "Bearer "+token)
	}

	create := connect.NewRequest(&salesappv1.CreateTaskRequest{Title: "Bench task", Targets: &salesappv1.TaskCounts{Views: 1_000_000},
		StartsAt: timestamppb.New(time.Now().Add(-time.Hour)), EndsAt: timestamppb.New(time.Now().Add(7 * 24 * time.Hour)),
		Audience: salesappv1.TaskAudience_TASK_AUDIENCE_EMPLOYEES, EmployeeIds: []string{b.salesID.String()}})
	as(b.token, create)
	created, err := salesappv1connect.NewTaskServiceClient(httpClient, base).CreateTask(ctx, create)
	if err != nil {
		return nil, fmt.Errorf("create the task: %w", err)
	}
	taskID := created.Msg.Task.Id
	share := connect.NewRequest(&salesappv1.ShareCardRequest{Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT, TaskId: taskID})
	as(b.salesToken, share)
	shared, err := salesappv1connect.NewShareServiceClient(httpClient, base).ShareCard(ctx, share)
	if err != nil {
		return nil, fmt.Errorf("share for the task: %w", err)
	}

	// The salesperson's device, caught up before the views start.
	syncClient := salesappv1connect.NewSyncServiceClient(httpClient, base)
	device, cursor := "bench-task-"+uuid.NewString()[:8], ""
	views := int32(-1)
	pull := func() error {
		for {
			req := connect.NewRequest(&salesappv1.PullRequest{DeviceId: device, SchemaVersion: 1, Cursor: cursor, PageSize: 1000})
			as(b.salesToken, req)
			res, err := syncClient.Pull(ctx, req)
			if err != nil {
				return err
			}
			for _, c := range res.Msg.Changes {
				if c.Kind == salesappv1.EntityKind_ENTITY_KIND_TASK && c.Id == taskID && !c.Deleted {
					views = c.GetTask().GetProgress().GetViews()
				}
			}
			cursor = res.Msg.NextCursor
			if !res.Msg.HasMore {
				return nil
			}
		}
	}
	if err := pull(); err != nil {
		return nil, fmt.Errorf("first pull: %w", err)
	}
	if views != 0 {
		return nil, fmt.Errorf("the task is not in the salesperson's first pull (views %d)", views)
	}

	track := salesappv1connect.NewTrackingServiceClient(httpClient, base)
	stopLoad := beside(ctx, taskLoadRate, func(ctx context.Context) error {
		_, err := track.Track(ctx, cardView(b.shareToken, "task-load-"+uuid.NewString()[:12]))
		return err
	})
	lat := make([]time.Duration, 0, taskSamples)
	err = func() error {
		for i := int32(1); i <= taskSamples; i++ {
			if _, err := track.Track(ctx, cardView(shared.Msg.Share.Token, fmt.Sprintf("task-view-%d-%s", i, uuid.NewString()[:8]))); err != nil {
				return fmt.Errorf("view %d: %w", i, err)
			}
			acked := time.Now()
			for views < i {
				if time.Since(acked) > 30*time.Second {
					return fmt.Errorf("view %d not in the task's progress after 30 s (it shows %d)", i, views)
				}
				time.Sleep(taskPoll)
				if err := pull(); err != nil {
					return err
				}
			}
			lat = append(lat, time.Since(acked))
		}
		return nil
	}()
	loadSent, loadFailed := stopLoad()
	if err != nil {
		return nil, err
	}
	slices.Sort(lat)
	return []row{
		{"protocol", protocol, ""},
		{"load beside", fmt.Sprintf("%d views/s of another link, open loop (%s sent, %s failed)", taskLoadRate, thousands(loadSent), thousands(loadFailed)), ""},
		{"views through the task's share", thousands(int64(len(lat))), ""},
		{"beacon acknowledged → progress in a pull, p50", millis(percentile(lat, 50)), ""},
		{"beacon acknowledged → progress in a pull, p99", millis(percentile(lat, 99)), "≤ 1 s"},
		{"max", millis(lat[len(lat)-1]), ""},
	}, nil
}
