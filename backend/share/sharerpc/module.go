package sharerpc

import (
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform/module"
	"github.com/salesapp/scrm/backend/share"
)

// Module is what share links contribute: ShareService.
func Module(svc *share.Service) module.Module {
	h := New(svc)
	return module.Module{Name: "share", Services: []module.Service{module.Connect[salesappv1connect.ShareServiceHandler](salesappv1connect.ShareServiceName, salesappv1connect.NewShareServiceHandler, h)}}
}
