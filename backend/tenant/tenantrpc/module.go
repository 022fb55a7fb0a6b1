package tenantrpc

import (
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform/module"
	"github.com/salesapp/scrm/backend/tenant"
)

// Module is what tenants and people contribute: TeamService, EmployeeService, MeService and TenantService.
func Module(svc *tenant.Service) module.Module {
	h := New(svc)
	return module.Module{Name: "tenant", Services: []module.Service{
		module.Connect[salesappv1connect.TeamServiceHandler](salesappv1connect.TeamServiceName, salesappv1connect.NewTeamServiceHandler, h),
		module.Connect[salesappv1connect.EmployeeServiceHandler](salesappv1connect.EmployeeServiceName, salesappv1connect.NewEmployeeServiceHandler, h),
		module.Connect[salesappv1connect.MeServiceHandler](salesappv1connect.MeServiceName, salesappv1connect.NewMeServiceHandler, h),
		module.Connect[salesappv1connect.TenantServiceHandler](salesappv1connect.TenantServiceName, salesappv1connect.NewTenantServiceHandler, h),
	}}
}
