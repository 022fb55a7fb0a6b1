package webrpc

import (
	"net/http"
	"slices"
	"strings"

	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform/module"
	"github.com/salesapp/scrm/backend/web"
)

// Module is what the customer-facing pages contribute: PublicService, callable without a token (rate
// limited per client address).
func Module(svc *web.Service) module.Module {
	h := New(svc)
	return module.Module{Name: "web", Services: []module.Service{module.Connect[salesappv1connect.PublicServiceHandler](salesappv1connect.PublicServiceName, salesappv1connect.NewPublicServiceHandler, h, PublicProcedures...)},
		Routes: append(signInRoutes(svc), pageRoutes(svc)...)}
}

// pageRoutes are the share pages: GET /s/{token} and what hangs off it (web/pages.go).
func pageRoutes(svc *web.Service) []module.Route {
	var out []module.Route
	for pattern, h := range svc.Routes() {
		out = append(out, module.Route{Pattern: pattern, Handler: h})
	}
	slices.SortFunc(out, func(a, b module.Route) int { return strings.Compare(a.Pattern, b.Pattern) })
	return out
}

// signInRoutes are the pages' WeChat sign-in: the redirect to WeChat and the way back.
func signInRoutes(svc *web.Service) []module.Route {
	return []module.Route{
		{Pattern: "GET /s/{token}/signin", Handler: http.HandlerFunc(svc.SignInHandler)},
		{Pattern: "GET /s/{token}/oauth", Handler: http.HandlerFunc(svc.OAuthHandler)},
	}
}
