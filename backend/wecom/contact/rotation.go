package contact

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/wecom"
	"github.com/salesapp/scrm/backend/wecom/contact/internal/contactdb"
)

// A rotation's daily cap (issue 16, point 7): WeCom's multi-member contact way spreads the customers who
// scan a channel's code over its members, but knows no limit. So each add credited to an employee counts
// toward the channel's cap for the tenant's day; at the cap, the employee is paused (the channel's
// paused_ids for the day) and a RotationArgs job sets the contact way to the others. A second job,
// scheduled for the day's end, sets it back to everyone.

// RotationArgs is the job setting a channel's contact way to its employees not paused today.
type RotationArgs struct {
	TenantID  uuid.UUID `json:"tenant_id"`
	ChannelID uuid.UUID `json:"channel_id"`
}

// Kind implements river.JobArgs.
func (RotationArgs) Kind() string { return "wecom_channel_rotation" }

// capTx counts the add just credited to employeeID through the channel toward its daily cap, pausing the
// employee when it is reached and queuing the contact way's changes: now, and back at the day's end.
func (s *Service) capTx(ctx context.Context, tx pgx.Tx, tenantID, channelID, employeeID uuid.UUID) error {
	dayEnds, err := contactdb.New(tx).PauseIfCapped(ctx, contactdb.PauseIfCappedParams{TenantID: tenantID, ChannelID: channelID, EmployeeID: employeeID})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // no cap, not reached, or paused already
	}
	if err != nil {
		return err
	}
	args := RotationArgs{TenantID: tenantID, ChannelID: channelID}
	return s.cfg.Queue.InsertManyTx(ctx, tx, []river.InsertManyParams{
		{Args: args, InsertOpts: &river.InsertOpts{Queue: jobs.QueueWeCom}},
		// A second after the day ends, so that the job reads the new day.
		{Args: args, InsertOpts: &river.InsertOpts{Queue: jobs.QueueWeCom, ScheduledAt: dayEnds.Add(time.Second)}},
	})
}

// RotationWorker sets a channel's contact way to its employees not paused today.
type RotationWorker struct {
	river.WorkerDefaults[RotationArgs]
	s *Service
}

// Work implements river.Worker. The channel stays locked while WeCom is told, so that an update by an
// admin and this job apply one after the other. A channel deleted meanwhile is left alone.
func (w *RotationWorker) Work(ctx context.Context, job *river.Job[RotationArgs]) error {
	s, a := w.s, job.Args
	return wecom.CancelIfNotInPlan(s.cfg.DB.InTenantTx(ctx, a.TenantID, func(tx pgx.Tx) error {
		row, err := contactdb.New(tx).ChannelRotation(ctx, contactdb.ChannelRotationParams{TenantID: a.TenantID, ID: a.ChannelID})
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		return s.setWayTx(ctx, tx, a.TenantID, row.ConfigID, row.State,
			ChannelInput{Name: row.Name, EmployeeIDs: onRotation(row.EmployeeIds, row.PausedToday)})
	}))
}
