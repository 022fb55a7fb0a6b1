// Package tenantrpc is the Connect adapter of the tenant domain: TeamService, EmployeeService, MeService.
package tenantrpc

import (
	"context"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/tenant"
)

// Handler serves the tenant domain's services.
type Handler struct {
	svc *tenant.Service
}

// New builds the handler.
func New(svc *tenant.Service) *Handler { return &Handler{svc: svc} }

var (
	_ salesappv1connect.TeamServiceHandler     = (*Handler)(nil)
	_ salesappv1connect.EmployeeServiceHandler = (*Handler)(nil)
	_ salesappv1connect.MeServiceHandler       = (*Handler)(nil)
	_ salesappv1connect.TenantServiceHandler   = (*Handler)(nil)
)

// UpdateTenantSettings implements TenantService.
func (h *Handler) UpdateTenantSettings(ctx context.Context, req *connect.Request[salesappv1.UpdateTenantSettingsRequest]) (*connect.Response[salesappv1.UpdateTenantSettingsResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	ch := tenant.SettingsChange{OwnerRule: m.CustomerOwnerRule, RequireSignIn: m.RequireSignIn}
	if m.PageOrigins != nil {
		origins := m.GetPageOrigins().GetOrigins()
		ch.PageOrigins = &origins
	}
	t, err := h.svc.UpdateSettings(ctx, p, ch)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.UpdateTenantSettingsResponse{Tenant: tenantToProto(t)}), nil
}

// GetMe implements MeService.
func (h *Handler) GetMe(ctx context.Context, _ *connect.Request[salesappv1.GetMeRequest]) (*connect.Response[salesappv1.GetMeResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	e, t, team, err := h.svc.Me(ctx, p)
	if err != nil {
		return nil, err
	}
	resp := &salesappv1.GetMeResponse{Employee: employeeToProto(e), Tenant: tenantToProto(t)}
	if team != nil {
		resp.Team = teamToProto(*team)
	}
	return connect.NewResponse(resp), nil
}

// CreateTeam implements TeamService.
func (h *Handler) CreateTeam(ctx context.Context, req *connect.Request[salesappv1.CreateTeamRequest]) (*connect.Response[salesappv1.CreateTeamResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	t, err := h.svc.CreateTeam(ctx, p, req.Msg.GetName())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.CreateTeamResponse{Team: teamToProto(t)}), nil
}

// ListTeams implements TeamService.
func (h *Handler) ListTeams(ctx context.Context, _ *connect.Request[salesappv1.ListTeamsRequest]) (*connect.Response[salesappv1.ListTeamsResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	teams, err := h.svc.ListTeams(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]*salesappv1.Team, len(teams))
	for i, t := range teams {
		out[i] = teamToProto(t)
	}
	return connect.NewResponse(&salesappv1.ListTeamsResponse{Teams: out}), nil
}

// RenameTeam implements TeamService.
func (h *Handler) RenameTeam(ctx context.Context, req *connect.Request[salesappv1.RenameTeamRequest]) (*connect.Response[salesappv1.RenameTeamResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	t, err := h.svc.RenameTeam(ctx, p, uuid.MustParse(req.Msg.GetTeamId()), req.Msg.GetName())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.RenameTeamResponse{Team: teamToProto(t)}), nil
}

// DeleteTeam implements TeamService.
func (h *Handler) DeleteTeam(ctx context.Context, req *connect.Request[salesappv1.DeleteTeamRequest]) (*connect.Response[salesappv1.DeleteTeamResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.svc.DeleteTeam(ctx, p, uuid.MustParse(req.Msg.GetTeamId())); err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.DeleteTeamResponse{}), nil
}

// CreateEmployee implements EmployeeService.
func (h *Handler) CreateEmployee(ctx context.Context, req *connect.Request[salesappv1.CreateEmployeeRequest]) (*connect.Response[salesappv1.CreateEmployeeResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	role, err := roleFromProto(m.GetRole())
	if err != nil {
		return nil, err
	}
	e, err := h.svc.CreateEmployee(ctx, p, tenant.NewEmployee{
		Name: m.GetName(), Role: role, TeamID: parseOptionalID(m.GetTeamId()), Title: m.GetTitle(),
		Phone: m.GetPhone(), Email: m.GetEmail(), WeComUserID: m.GetWecomUserid(),
	})
	if err != nil {
		return nil, err
	}
	resp := &salesappv1.CreateEmployeeResponse{Employee: employeeToProto(e)}
	if inv := e.Invitation; inv != nil {
		resp.Invitation = &salesappv1.Invitation{EmployeeId: e.ID.String(), Code: inv.Code, Url: inv.URL,
			ExpiresAt: timestamppb.New(inv.ExpiresAt)}
	}
	return connect.NewResponse(resp), nil
}

// GetEmployee implements EmployeeService.
func (h *Handler) GetEmployee(ctx context.Context, req *connect.Request[salesappv1.GetEmployeeRequest]) (*connect.Response[salesappv1.GetEmployeeResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	e, err := h.svc.GetEmployee(ctx, p, uuid.MustParse(req.Msg.GetEmployeeId()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.GetEmployeeResponse{Employee: employeeToProto(e)}), nil
}

// ListEmployees implements EmployeeService.
func (h *Handler) ListEmployees(ctx context.Context, req *connect.Request[salesappv1.ListEmployeesRequest]) (*connect.Response[salesappv1.ListEmployeesResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	list, next, err := h.svc.ListEmployees(ctx, p, tenant.EmployeeFilter{
		TeamID: parseOptionalID(m.GetTeamId()), IncludeDisabled: m.GetIncludeDisabled(),
		PageSize: int(m.GetPageSize()), PageToken: m.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	out := make([]*salesappv1.Employee, len(list))
	for i, e := range list {
		out[i] = employeeToProto(e)
	}
	return connect.NewResponse(&salesappv1.ListEmployeesResponse{Employees: out, NextPageToken: next}), nil
}

// UpdateEmployee implements EmployeeService.
func (h *Handler) UpdateEmployee(ctx context.Context, req *connect.Request[salesappv1.UpdateEmployeeRequest]) (*connect.Response[salesappv1.UpdateEmployeeResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	c := tenant.EmployeeChange{Name: m.Name, Title: m.Title, Phone: m.Phone, Email: m.Email}
	if m.Role != nil {
		r, err := roleFromProto(m.GetRole())
		if err != nil {
			return nil, err
		}
		c.Role = &r
	}
	if m.TeamId != nil {
		id := parseOptionalID(m.GetTeamId())
		c.TeamID = &id
	}
	e, err := h.svc.UpdateEmployee(ctx, p, uuid.MustParse(m.GetEmployeeId()), c)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.UpdateEmployeeResponse{Employee: employeeToProto(e)}), nil
}

// SetEmployeeStatus implements EmployeeService.
func (h *Handler) SetEmployeeStatus(ctx context.Context, req *connect.Request[salesappv1.SetEmployeeStatusRequest]) (*connect.Response[salesappv1.SetEmployeeStatusResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	st := tenant.StatusActive
	if req.Msg.GetStatus() == salesappv1.EmployeeStatus_EMPLOYEE_STATUS_DISABLED {
		st = tenant.StatusDisabled
	}
	d := tenant.Departure{SuccessorID: parseOptionalID(req.Msg.GetSuccessorId()), ToPool: req.Msg.GetReleaseToPool(),
		PoolID: parseOptionalID(req.Msg.GetPoolId())}
	e, err := h.svc.SetEmployeeStatusWith(ctx, p, uuid.MustParse(req.Msg.GetEmployeeId()), st, d)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.SetEmployeeStatusResponse{Employee: employeeToProto(e)}), nil
}

// SetLedTeams implements EmployeeService.
func (h *Handler) SetLedTeams(ctx context.Context, req *connect.Request[salesappv1.SetLedTeamsRequest]) (*connect.Response[salesappv1.SetLedTeamsResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	teams := make([]uuid.UUID, len(req.Msg.GetTeamIds()))
	for i, t := range req.Msg.GetTeamIds() {
		teams[i] = uuid.MustParse(t) // checked by the validator
	}
	e, err := h.svc.SetLedTeams(ctx, p, uuid.MustParse(req.Msg.GetEmployeeId()), teams)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.SetLedTeamsResponse{Employee: employeeToProto(e)}), nil
}

// parseOptionalID reads an id the validator has already checked to be empty or a UUID.
func parseOptionalID(s string) uuid.UUID {
	if s == "" {
		return uuid.Nil
	}
	return uuid.MustParse(s)
}

func roleFromProto(r salesappv1.Role) (authn.Role, error) {
	switch r {
	case salesappv1.Role_ROLE_ADMIN:
		return authn.RoleAdmin, nil
	case salesappv1.Role_ROLE_MANAGER:
		return authn.RoleManager, nil
	case salesappv1.Role_ROLE_SALES:
		return authn.RoleSales, nil
	}
	return "", platform.Invalid("role", "unknown role")
}

// RoleToProto converts a role for the wire.
func RoleToProto(r authn.Role) salesappv1.Role {
	switch r {
	case authn.RoleAdmin:
		return salesappv1.Role_ROLE_ADMIN
	case authn.RoleManager:
		return salesappv1.Role_ROLE_MANAGER
	case authn.RoleSales:
		return salesappv1.Role_ROLE_SALES
	}
	return salesappv1.Role_ROLE_UNSPECIFIED
}

func planToProto(p tenant.Plan) salesappv1.Plan {
	switch p {
	case tenant.PlanTrial:
		return salesappv1.Plan_PLAN_TRIAL
	case tenant.PlanStandard:
		return salesappv1.Plan_PLAN_STANDARD
	case tenant.PlanProfessional:
		return salesappv1.Plan_PLAN_PROFESSIONAL
	case tenant.PlanEnterprise:
		return salesappv1.Plan_PLAN_ENTERPRISE
	}
	return salesappv1.Plan_PLAN_UNSPECIFIED
}

func employeeToProto(e tenant.Employee) *salesappv1.Employee {
	out := &salesappv1.Employee{
		Id: e.ID.String(), Name: e.Name, Role: RoleToProto(e.Role), Title: e.Title, Phone: e.Phone,
		Email: e.Email, WecomUserid: e.WeComUserID,
		CreatedAt: timestamppb.New(e.CreatedAt), UpdatedAt: timestamppb.New(e.UpdatedAt),
		Status: salesappv1.EmployeeStatus_EMPLOYEE_STATUS_ACTIVE,
	}
	if e.Status == tenant.StatusDisabled {
		out.Status = salesappv1.EmployeeStatus_EMPLOYEE_STATUS_DISABLED
	}
	if e.TeamID != uuid.Nil {
		out.TeamId = e.TeamID.String()
	}
	for _, t := range e.Leads {
		out.LedTeamIds = append(out.LedTeamIds, t.String())
	}
	return out
}

func tenantToProto(t tenant.Tenant) *salesappv1.Tenant {
	return &salesappv1.Tenant{
		Id: t.ID.String(), Name: t.Name, Plan: planToProto(t.Plan), SeatLimit: int32(t.SeatLimit),
		SeatsUsed: int32(t.SeatsUsed), ExpiresAt: timestamppb.New(t.ExpiresAt), TimeZone: t.TimeZone,
		CreatedAt: timestamppb.New(t.CreatedAt), CustomerOwnerRule: t.OwnerRule,
		RequireSignIn: t.RequireSignIn, PageOrigins: t.PageOrigins, Features: tenant.FeatureNames(t.Features),
	}
}

func teamToProto(t tenant.Team) *salesappv1.Team {
	return &salesappv1.Team{
		Id: t.ID.String(), Name: t.Name, MemberCount: int32(t.MemberCount),
		CreatedAt: timestamppb.New(t.CreatedAt), UpdatedAt: timestamppb.New(t.UpdatedAt),
	}
}
