package operatorrpc

import (
	"context"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/backend/material"
	"github.com/salesapp/scrm/backend/material/materialrpc"
	"github.com/salesapp/scrm/backend/upload/uploadrpc"
)

// AddPlatformMaterial implements OperatorService.
func (h *Handler) AddPlatformMaterial(ctx context.Context, req *connect.Request[salesappv1.AddPlatformMaterialRequest]) (*connect.Response[salesappv1.AddPlatformMaterialResponse], error) {
	m := req.Msg
	id, err := h.materials.AddPlatform(ctx, materialrpc.KindFromProto(m.Kind), material.Content{Title: m.Title, Summary: m.Summary,
		BodyHTML: m.BodyHtml, TextBody: m.TextBody, Tags: m.Tags, FileKey: m.FileKey,
		Layout: materialrpc.LayoutFromProto(m.PosterLayout)}, m.Plans)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.AddPlatformMaterialResponse{MaterialId: id.String()}), nil
}

// CreatePlatformUpload implements OperatorService.
func (h *Handler) CreatePlatformUpload(ctx context.Context, req *connect.Request[salesappv1.CreatePlatformUploadRequest]) (*connect.Response[salesappv1.CreatePlatformUploadResponse], error) {
	m := req.Msg
	t, err := h.materials.PlatformUpload(ctx, uploadrpc.KindFromProto(m.Kind), m.ContentType, int64(m.SizeBytes))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.CreatePlatformUploadResponse{Ticket: uploadrpc.TicketToProto(t)}), nil
}

// FinalizePlatformUpload implements OperatorService.
func (h *Handler) FinalizePlatformUpload(ctx context.Context, req *connect.Request[salesappv1.FinalizePlatformUploadRequest]) (*connect.Response[salesappv1.FinalizePlatformUploadResponse], error) {
	m := req.Msg
	key, err := h.materials.FinalizePlatformUpload(ctx, m.ObjectKey, uploadrpc.KindFromProto(m.Kind), m.ContentType, int64(m.SizeBytes))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.FinalizePlatformUploadResponse{ObjectKey: key}), nil
}

// EditPlatformMaterial implements OperatorService.
func (h *Handler) EditPlatformMaterial(ctx context.Context, req *connect.Request[salesappv1.EditPlatformMaterialRequest]) (*connect.Response[salesappv1.EditPlatformMaterialResponse], error) {
	m := req.Msg
	e := material.PlatformEdit{Title: m.Title, Summary: m.Summary, BodyHTML: m.BodyHtml, TextBody: m.TextBody}
	if m.Tags != nil {
		tags := m.Tags.GetValues()
		e.Tags = &tags
	}
	if err := h.materials.EditPlatform(ctx, uuid.MustParse(m.MaterialId), e); err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.EditPlatformMaterialResponse{}), nil
}

// PublishPlatformMaterial implements OperatorService.
func (h *Handler) PublishPlatformMaterial(ctx context.Context, req *connect.Request[salesappv1.PublishPlatformMaterialRequest]) (*connect.Response[salesappv1.PublishPlatformMaterialResponse], error) {
	if err := h.materials.PublishPlatform(ctx, uuid.MustParse(req.Msg.MaterialId), req.Msg.Published, req.Msg.Plans); err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.PublishPlatformMaterialResponse{}), nil
}

// DeletePlatformMaterial implements OperatorService.
func (h *Handler) DeletePlatformMaterial(ctx context.Context, req *connect.Request[salesappv1.DeletePlatformMaterialRequest]) (*connect.Response[salesappv1.DeletePlatformMaterialResponse], error) {
	if err := h.materials.DeletePlatform(ctx, uuid.MustParse(req.Msg.MaterialId)); err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.DeletePlatformMaterialResponse{}), nil
}

// ListPlatformMaterials implements OperatorService.
func (h *Handler) ListPlatformMaterials(ctx context.Context, _ *connect.Request[salesappv1.ListPlatformMaterialsRequest]) (*connect.Response[salesappv1.ListPlatformMaterialsResponse], error) {
	items, err := h.materials.ListPlatform(ctx)
	if err != nil {
		return nil, err
	}
	out := &salesappv1.ListPlatformMaterialsResponse{}
	for _, it := range items {
		out.Materials = append(out.Materials, &salesappv1.PlatformMaterial{MaterialId: it.ID.String(), Kind: materialrpc.KindToProto(it.Kind),
			Published: it.Published, Title: it.Title, Summary: it.Summary, Tags: it.Tags, Plans: it.Plans,
			CreatedAt: timestamppb.New(it.CreatedAt), UpdatedAt: timestamppb.New(it.UpdatedAt)})
	}
	return connect.NewResponse(out), nil
}
