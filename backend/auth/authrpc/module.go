package authrpc

import (
	"net/http"

	"connectrpc.com/connect"

	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/auth"
	"github.com/salesapp/scrm/backend/platform/module"
)

// Module is what sign-in contributes: AuthService, whose RefreshToken needs no access token, and
// SessionService. Both read the device headers (HeaderDeviceName...) into the context for the auth service.
func Module(svc *auth.Service) module.Module {
	h := New(svc)
	withClient := connect.WithInterceptors(clientInterceptor{})
	return module.Module{Name: "auth", Services: []module.Service{
		{
			Name: salesappv1connect.AuthServiceName,
			Mount: func(o ...connect.HandlerOption) (string, http.Handler) {
				return salesappv1connect.NewAuthServiceHandler(h, append(o[:len(o):len(o)], withClient)...)
			},
			Public: PublicProcedures,
		},
		{
			Name: salesappv1connect.SessionServiceName,
			Mount: func(o ...connect.HandlerOption) (string, http.Handler) {
				return salesappv1connect.NewSessionServiceHandler(NewSessionHandler(svc), append(o[:len(o):len(o)], withClient)...)
			},
		},
	}}
}
