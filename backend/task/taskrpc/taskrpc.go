// Package taskrpc is the Connect adapter of marketing tasks: TaskService, and the claim_task sync
// mutation.
package taskrpc

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/module"
	"github.com/salesapp/scrm/backend/platform/rpcserver"
	"github.com/salesapp/scrm/backend/task"
)

// Module is what tasks contribute: TaskService and the offline claim.
func Module(svc *task.Service) module.Module {
	return module.Module{
		Name:     "task",
		Feature:  authn.FeatureTasks,
		Services: []module.Service{module.Connect[salesappv1connect.TaskServiceHandler](salesappv1connect.TaskServiceName, salesappv1connect.NewTaskServiceHandler, &Handler{svc: svc})},
		Mutations: map[string]module.Applier{
			"claim_task": func(ctx context.Context, tx pgx.Tx, p authn.Principal, m proto.Message) error {
				op := m.(*salesappv1.ClaimTask)
				id, err := uuid.Parse(op.GetTaskId())
				if err != nil {
					return platform.Invalid("claim_task.task_id", "not a uuid")
				}
				_, err = svc.ClaimTx(ctx, tx, p, id)
				return err
			},
		},
	}
}

// Handler serves TaskService.
type Handler struct{ svc *task.Service }

var _ salesappv1connect.TaskServiceHandler = (*Handler)(nil)

// ids parses ids the proto rules have checked.
func ids(in []string) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(in))
	for _, s := range in {
		out = append(out, uuid.MustParse(s))
	}
	return out
}

func countsFrom(c *salesappv1.TaskCounts) task.Counts {
	return task.Counts{Shares: int(c.GetShares()), Views: int(c.GetViews()), Viewers: int(c.GetViewers()),
		Forwards: int(c.GetForwards()), NewCustomers: int(c.GetNewCustomers()), Leads: int(c.GetLeads())}
}

func countsTo(c task.Counts) *salesappv1.TaskCounts {
	return &salesappv1.TaskCounts{Shares: int32(c.Shares), Views: int32(c.Views), Viewers: int32(c.Viewers),
		Forwards: int32(c.Forwards), NewCustomers: int32(c.NewCustomers), Leads: int32(c.Leads)}
}

var audiences = map[salesappv1.TaskAudience]task.Audience{
	salesappv1.TaskAudience_TASK_AUDIENCE_TENANT:    task.AudienceTenant,
	salesappv1.TaskAudience_TASK_AUDIENCE_TEAMS:     task.AudienceTeams,
	salesappv1.TaskAudience_TASK_AUDIENCE_EMPLOYEES: task.AudienceEmployees,
}

var states = map[salesappv1.TaskState]task.State{
	salesappv1.TaskState_TASK_STATE_AVAILABLE: task.StateAvailable,
	salesappv1.TaskState_TASK_STATE_CLAIMED:   task.StateClaimed,
	salesappv1.TaskState_TASK_STATE_FINISHED:  task.StateFinished,
}

func strs(in []uuid.UUID) []string {
	out := make([]string, len(in))
	for i, id := range in {
		out[i] = id.String()
	}
	return out
}

func stamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// ToProto converts a task for the wire.
func ToProto(t task.Task) *salesappv1.Task {
	out := &salesappv1.Task{Id: t.ID.String(), CreatedBy: t.CreatedBy.String(), Title: t.Title, Brief: t.Brief,
		MaterialIds: strs(t.MaterialIDs), Targets: countsTo(t.Targets), StartsAt: stamp(t.StartsAt), EndsAt: stamp(t.EndsAt),
		TeamIds: strs(t.TeamIDs), EmployeeIds: strs(t.EmployeeIDs), ClaimRequired: t.ClaimRequired,
		MaxClaimers: int32(t.MaxClaimers), Claimers: int32(t.Claimers), Cancelled: t.Status == task.StatusCancelled,
		Version: rpcserver.Int32(t.Version), CreatedAt: stamp(t.CreatedAt)}
	for k, v := range audiences {
		if v == t.Audience {
			out.Audience = k
		}
	}
	return out
}

// CreateTask implements TaskService.
func (h *Handler) CreateTask(ctx context.Context, req *connect.Request[salesappv1.CreateTaskRequest]) (*connect.Response[salesappv1.CreateTaskResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	t, err := h.svc.Create(ctx, p, task.Draft{Title: m.GetTitle(), Brief: m.GetBrief(), MaterialIDs: ids(m.GetMaterialIds()),
		Targets: countsFrom(m.GetTargets()), StartsAt: m.GetStartsAt().AsTime(), EndsAt: m.GetEndsAt().AsTime(),
		Audience: audiences[m.GetAudience()], TeamIDs: ids(m.GetTeamIds()), EmployeeIDs: ids(m.GetEmployeeIds()),
		ClaimRequired: m.GetClaimRequired(), MaxClaimers: int(m.GetMaxClaimers())})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.CreateTaskResponse{Task: ToProto(t)}), nil
}

// UpdateTask implements TaskService.
func (h *Handler) UpdateTask(ctx context.Context, req *connect.Request[salesappv1.UpdateTaskRequest]) (*connect.Response[salesappv1.UpdateTaskResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	t, err := h.svc.Update(ctx, p, uuid.MustParse(m.GetId()), task.Edit{Title: m.GetTitle(), Brief: m.GetBrief(),
		MaterialIDs: ids(m.GetMaterialIds()), Targets: countsFrom(m.GetTargets()), EndsAt: m.GetEndsAt().AsTime(),
		MaxClaimers: int(m.GetMaxClaimers())})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.UpdateTaskResponse{Task: ToProto(t)}), nil
}

// CancelTask implements TaskService.
func (h *Handler) CancelTask(ctx context.Context, req *connect.Request[salesappv1.CancelTaskRequest]) (*connect.Response[salesappv1.CancelTaskResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.svc.Cancel(ctx, p, uuid.MustParse(req.Msg.GetId())); err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.CancelTaskResponse{}), nil
}

// GetTask implements TaskService.
func (h *Handler) GetTask(ctx context.Context, req *connect.Request[salesappv1.GetTaskRequest]) (*connect.Response[salesappv1.GetTaskResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	t, err := h.svc.Get(ctx, p, uuid.MustParse(req.Msg.GetId()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.GetTaskResponse{Task: ToProto(t)}), nil
}

// ListMyTasks implements TaskService.
func (h *Handler) ListMyTasks(ctx context.Context, req *connect.Request[salesappv1.ListMyTasksRequest]) (*connect.Response[salesappv1.ListMyTasksResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	list, err := h.svc.ListMine(ctx, p, states[req.Msg.GetState()])
	if err != nil {
		return nil, err
	}
	out := &salesappv1.ListMyTasksResponse{}
	for _, m := range list {
		mt := &salesappv1.MyTask{Task: ToProto(m.Task), Progress: countsTo(m.Progress), CompletedAt: stamp(m.CompletedAt)}
		for k, v := range states {
			if v == m.State {
				mt.State = k
			}
		}
		out.Tasks = append(out.Tasks, mt)
	}
	return connect.NewResponse(out), nil
}

// ListManagedTasks implements TaskService.
func (h *Handler) ListManagedTasks(ctx context.Context, _ *connect.Request[salesappv1.ListManagedTasksRequest]) (*connect.Response[salesappv1.ListManagedTasksResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	list, err := h.svc.ListManaged(ctx, p)
	if err != nil {
		return nil, err
	}
	out := &salesappv1.ListManagedTasksResponse{}
	for _, t := range list {
		out.Tasks = append(out.Tasks, ToProto(t))
	}
	return connect.NewResponse(out), nil
}

// ClaimTask implements TaskService.
func (h *Handler) ClaimTask(ctx context.Context, req *connect.Request[salesappv1.ClaimTaskRequest]) (*connect.Response[salesappv1.ClaimTaskResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	t, err := h.svc.Claim(ctx, p, uuid.MustParse(req.Msg.GetId()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.ClaimTaskResponse{Task: ToProto(t)}), nil
}

// GetTaskProgress implements TaskService.
func (h *Handler) GetTaskProgress(ctx context.Context, req *connect.Request[salesappv1.GetTaskProgressRequest]) (*connect.Response[salesappv1.GetTaskProgressResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	list, err := h.svc.Progress(ctx, p, uuid.MustParse(req.Msg.GetId()))
	if err != nil {
		return nil, err
	}
	out := &salesappv1.GetTaskProgressResponse{}
	for _, a := range list {
		pa := &salesappv1.TaskAssignee{EmployeeId: a.EmployeeID.String(), Name: a.Name, Claimed: a.Claimed,
			JoinedAt: stamp(a.JoinedAt), Progress: countsTo(a.Progress), CompletedAt: stamp(a.CompletedAt)}
		if a.TeamID != uuid.Nil {
			pa.TeamId = a.TeamID.String()
		}
		out.Assignees = append(out.Assignees, pa)
	}
	return connect.NewResponse(out), nil
}

// ListTaskReach implements TaskService.
func (h *Handler) ListTaskReach(ctx context.Context, req *connect.Request[salesappv1.ListTaskReachRequest]) (*connect.Response[salesappv1.ListTaskReachResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	emp, _ := uuid.Parse(req.Msg.GetEmployeeId()) // validated: a uuid or empty (the caller)
	list, err := h.svc.Reach(ctx, p, uuid.MustParse(req.Msg.GetId()), emp)
	if err != nil {
		return nil, err
	}
	out := &salesappv1.ListTaskReachResponse{}
	for _, r := range list {
		out.Customers = append(out.Customers, &salesappv1.TaskReach{CustomerId: r.CustomerID.String(), Name: r.Name,
			FirstAt: stamp(r.FirstAt), Viewed: r.Viewed, Lead: r.Lead, NewCustomer: r.NewCustomer})
	}
	return connect.NewResponse(out), nil
}
