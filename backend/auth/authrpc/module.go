package authrpc

import (
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/auth"
	"github.com/salesapp/scrm/backend/platform/module"
)

// Module is what sign-in contributes: AuthService, whose RefreshToken needs no access token.
func Module(svc *auth.Service) module.Module {
	h := New(svc)
	return module.Module{Name: "auth", Services: []module.Service{module.Connect[salesappv1connect.AuthServiceHandler](salesappv1connect.AuthServiceName, salesappv1connect.NewAuthServiceHandler, h, PublicProcedures...)}}
}
