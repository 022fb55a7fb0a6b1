package authrpc

import (
	"net/http"

	"connectrpc.com/connect"
	"github.com/riverqueue/river"

	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/auth"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/platform/module"
)

// Module is what sign-in contributes: AuthService, whose SignIn, SignInWithWeCom, SelectTenant,
// AcceptInvitation and RefreshToken need no access token, SessionService, the invitation page (invite, see InvitePage) and
// the hourly purge of old sign-in data. Both services read the device headers (HeaderDeviceName...) into
// the context for the auth service. logos and wecom may be nil.
func Module(svc *auth.Service, logos LogoURLs, wecom auth.WeComMembers, invite http.Handler) module.Module {
	h := New(svc, logos, wecom)
	withClient := connect.WithInterceptors(clientInterceptor{})
	return module.Module{
		Name: "auth",
		Services: []module.Service{
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
		},
		Routes:   []module.Route{{Pattern: InvitePath, Handler: invite}},
		Workers:  func(w *river.Workers) { river.AddWorker(w, svc.PurgeWorker()) },
		Periodic: []*river.PeriodicJob{jobs.Hourly(auth.PurgeArgs{})},
	}
}
