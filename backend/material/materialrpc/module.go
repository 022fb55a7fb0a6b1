package materialrpc

import (
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/material"
	"github.com/salesapp/scrm/backend/platform/module"
)

// Module is what the material library contributes: MaterialService.
func Module(svc *material.Service) module.Module {
	h := New(svc)
	return module.Module{Name: "material", Services: []module.Service{module.Connect[salesappv1connect.MaterialServiceHandler](salesappv1connect.MaterialServiceName, salesappv1connect.NewMaterialServiceHandler, h)}}
}
