package authrpc

import (
	"github.com/riverqueue/river"

	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/auth"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/platform/module"
)

// Module is what sign-in contributes: AuthService, whose SignIn, SelectTenant, AcceptInvitation and
// RefreshToken need no access token, and the hourly purge of old sign-in data. logos may be nil.
func Module(svc *auth.Service, logos LogoURLs) module.Module {
	h := New(svc, logos)
	return module.Module{
		Name:     "auth",
		Services: []module.Service{module.Connect[salesappv1connect.AuthServiceHandler](salesappv1connect.AuthServiceName, salesappv1connect.NewAuthServiceHandler, h, PublicProcedures...)},
		Workers:  func(w *river.Workers) { river.AddWorker(w, svc.PurgeWorker()) },
		Periodic: []*river.PeriodicJob{jobs.Hourly(auth.PurgeArgs{})},
	}
}
