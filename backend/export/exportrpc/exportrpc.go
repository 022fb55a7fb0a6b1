// Package exportrpc is the Connect adapter of exports: ExportService.
package exportrpc

import (
	"context"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/customer/customerrpc"
	"github.com/salesapp/scrm/backend/export"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/platform/module"
)

// Module is what exports contribute: ExportService, the worker that makes the files, and the hourly purge
// of expired ones.
func Module(svc *export.Service) module.Module {
	return module.Module{
		Name:     "export",
		Feature:  authn.FeatureExports,
		Services: []module.Service{module.Connect[salesappv1connect.ExportServiceHandler](salesappv1connect.ExportServiceName, salesappv1connect.NewExportServiceHandler, &Handler{svc: svc})},
		Workers: func(w *river.Workers) {
			river.AddWorker(w, svc.Worker())
			river.AddWorker(w, svc.PurgeWorker())
		},
		Periodic: []*river.PeriodicJob{jobs.Hourly(export.PurgeArgs{})},
	}
}

// Handler serves ExportService.
type Handler struct{ svc *export.Service }

var _ salesappv1connect.ExportServiceHandler = (*Handler)(nil)

var formats = map[salesappv1.ExportFormat]export.Format{
	salesappv1.ExportFormat_EXPORT_FORMAT_CSV:  export.CSV,
	salesappv1.ExportFormat_EXPORT_FORMAT_XLSX: export.XLSX,
}

var statuses = map[export.Status]salesappv1.ExportStatus{
	export.Pending: salesappv1.ExportStatus_EXPORT_STATUS_PENDING,
	export.Done:    salesappv1.ExportStatus_EXPORT_STATUS_DONE,
	export.Failed:  salesappv1.ExportStatus_EXPORT_STATUS_FAILED,
}

// CreateCustomerExport implements ExportService.
func (h *Handler) CreateCustomerExport(ctx context.Context, req *connect.Request[salesappv1.CreateCustomerExportRequest]) (*connect.Response[salesappv1.CreateCustomerExportResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	e, err := h.svc.Create(ctx, p, formats[req.Msg.GetFormat()], customerrpc.StageFromProto(req.Msg.GetStage()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.CreateCustomerExportResponse{Export: toProto(e)}), nil
}

// GetExport implements ExportService.
func (h *Handler) GetExport(ctx context.Context, req *connect.Request[salesappv1.GetExportRequest]) (*connect.Response[salesappv1.GetExportResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	e, err := h.svc.Get(ctx, p, uuid.MustParse(req.Msg.GetExportId()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.GetExportResponse{Export: toProto(e)}), nil
}

func toProto(e export.Export) *salesappv1.Export {
	var f salesappv1.ExportFormat
	for k, v := range formats {
		if v == e.Format {
			f = k
		}
	}
	return &salesappv1.Export{Id: e.ID.String(), Format: f, Stage: customerrpc.StageToProto(e.Stage), Status: statuses[e.Status],
		Rows: int32(e.Rows), Error: e.Error, CreatedAt: timestamppb.New(e.CreatedAt), ExpiresAt: timestamppb.New(e.ExpiresAt), Url: e.URL}
}
