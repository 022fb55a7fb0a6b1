package uploadrpc

import (
	"github.com/riverqueue/river"

	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform/module"
	"github.com/salesapp/scrm/backend/upload"
)

// Module is what uploads contribute: MediaService, the worker that makes thumbnails of images, and the
// hourly sweep of uploads never finalized.
func Module(svc *upload.Service) module.Module {
	h := New(svc)
	return module.Module{
		Name:     "upload",
		Services: []module.Service{module.Connect[salesappv1connect.MediaServiceHandler](salesappv1connect.MediaServiceName, salesappv1connect.NewMediaServiceHandler, h)},
		Workers: func(w *river.Workers) {
			river.AddWorker(w, upload.NewThumbnailWorker(svc))
			river.AddWorker(w, upload.NewStaleUploadsWorker(svc))
			river.AddWorker(w, upload.NewUnreferencedUploadsWorker(svc))
		},
		Periodic: upload.Periodic(),
	}
}
