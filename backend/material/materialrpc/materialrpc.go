// Package materialrpc is the Connect adapter of the material library: MaterialService.
package materialrpc

import (
	"context"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/event/eventrpc"
	"github.com/salesapp/scrm/backend/material"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/rpcserver"
	"github.com/salesapp/scrm/media/poster"
)

// Handler serves MaterialService.
type Handler struct{ svc *material.Service }

// New builds the handler.
func New(svc *material.Service) *Handler { return &Handler{svc: svc} }

var _ salesappv1connect.MaterialServiceHandler = (*Handler)(nil)

// ListMaterials implements MaterialService.
func (h *Handler) ListMaterials(ctx context.Context, req *connect.Request[salesappv1.ListMaterialsRequest]) (*connect.Response[salesappv1.ListMaterialsResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	list, next, err := h.svc.List(ctx, p, material.Filter{
		Tier: tierFromProto(m.GetTier()), Kind: KindFromProto(m.GetKind()), Status: statusFromProto(m.GetStatus()),
		FolderID: optionalID(m.GetFolderId()), Tag: m.GetTag(), Query: m.GetQuery(),
		MostShared: m.GetSort() == salesappv1.MaterialSort_MATERIAL_SORT_MOST_SHARED,
		PageSize:   int(m.GetPageSize()), PageToken: m.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	out := make([]*salesappv1.Material, len(list))
	for i, v := range list {
		out[i] = ToProto(v)
	}
	return connect.NewResponse(&salesappv1.ListMaterialsResponse{Materials: out, NextPageToken: next}), nil
}

// GetMaterial implements MaterialService.
func (h *Handler) GetMaterial(ctx context.Context, req *connect.Request[salesappv1.GetMaterialRequest]) (*connect.Response[salesappv1.GetMaterialResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	v, err := h.svc.Get(ctx, p, uuid.MustParse(req.Msg.GetMaterialId()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.GetMaterialResponse{Material: ToProto(v)}), nil
}

// CreateMaterial implements MaterialService.
func (h *Handler) CreateMaterial(ctx context.Context, req *connect.Request[salesappv1.CreateMaterialRequest]) (*connect.Response[salesappv1.CreateMaterialResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	v, err := h.svc.Create(ctx, p, tierFromProto(req.Msg.GetTier()), KindFromProto(req.Msg.GetKind()), contentFromProto(req.Msg.GetContent()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.CreateMaterialResponse{Material: ToProto(v)}), nil
}

// UpdateMaterial implements MaterialService.
func (h *Handler) UpdateMaterial(ctx context.Context, req *connect.Request[salesappv1.UpdateMaterialRequest]) (*connect.Response[salesappv1.UpdateMaterialResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	v, err := h.svc.Update(ctx, p, uuid.MustParse(req.Msg.GetMaterialId()), contentFromProto(req.Msg.GetContent()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.UpdateMaterialResponse{Material: ToProto(v)}), nil
}

// DeleteMaterial implements MaterialService.
func (h *Handler) DeleteMaterial(ctx context.Context, req *connect.Request[salesappv1.DeleteMaterialRequest]) (*connect.Response[salesappv1.DeleteMaterialResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.svc.Delete(ctx, p, uuid.MustParse(req.Msg.GetMaterialId())); err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.DeleteMaterialResponse{}), nil
}

// SubmitMaterial implements MaterialService.
func (h *Handler) SubmitMaterial(ctx context.Context, req *connect.Request[salesappv1.SubmitMaterialRequest]) (*connect.Response[salesappv1.SubmitMaterialResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	v, err := h.svc.Submit(ctx, p, uuid.MustParse(req.Msg.GetMaterialId()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.SubmitMaterialResponse{Material: ToProto(v)}), nil
}

// ReviewMaterial implements MaterialService.
func (h *Handler) ReviewMaterial(ctx context.Context, req *connect.Request[salesappv1.ReviewMaterialRequest]) (*connect.Response[salesappv1.ReviewMaterialResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	v, err := h.svc.Review(ctx, p, uuid.MustParse(req.Msg.GetMaterialId()), req.Msg.GetApprove(), req.Msg.GetRejectReason())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.ReviewMaterialResponse{Material: ToProto(v)}), nil
}

// CreateFolder implements MaterialService.
func (h *Handler) CreateFolder(ctx context.Context, req *connect.Request[salesappv1.CreateFolderRequest]) (*connect.Response[salesappv1.CreateFolderResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	f, err := h.svc.CreateFolder(ctx, p, tierFromProto(req.Msg.GetTier()), req.Msg.GetName())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.CreateFolderResponse{Folder: folderToProto(f)}), nil
}

// ListFolders implements MaterialService.
func (h *Handler) ListFolders(ctx context.Context, _ *connect.Request[salesappv1.ListFoldersRequest]) (*connect.Response[salesappv1.ListFoldersResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	fs, err := h.svc.ListFolders(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]*salesappv1.Folder, len(fs))
	for i, f := range fs {
		out[i] = folderToProto(f)
	}
	return connect.NewResponse(&salesappv1.ListFoldersResponse{Folders: out}), nil
}

// GetPersonalizedPoster implements MaterialService.
func (h *Handler) GetPersonalizedPoster(ctx context.Context, req *connect.Request[salesappv1.GetPersonalizedPosterRequest]) (*connect.Response[salesappv1.GetPersonalizedPosterResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	ch := eventrpc.ChannelFromProto(req.Msg.GetChannel())
	if ch == "" {
		ch = event.ChannelQR
	}
	pp, err := h.svc.PersonalizedPoster(ctx, p, uuid.MustParse(req.Msg.GetMaterialId()), ch)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.GetPersonalizedPosterResponse{ImageUrl: pp.ImageURL, ShareUrl: pp.ShareURL, ShareToken: pp.ShareToken}), nil
}

// ToProto converts a material view for the wire.
func ToProto(v material.View) *salesappv1.Material {
	m := v.Material
	out := &salesappv1.Material{
		Id: m.ID.String(), Tier: TierToProto(m.Tier), Kind: KindToProto(m.Kind), Status: StatusToProto(m.Status),
		RejectReason: m.RejectReason, Title: m.Title, Summary: m.Summary, BodyHtml: m.BodyHTML, TextBody: m.TextBody,
		FileUrl: v.FileURL, ImageUrls: v.ImageURLs, CoverUrl: v.CoverURL, ThumbnailUrl: v.ThumbnailURL, Tags: m.Tags, Version: rpcserver.Int32(m.Version),
		ShareCount: rpcserver.Int32(m.ShareCount), CreatedAt: timestamppb.New(m.CreatedAt), UpdatedAt: timestamppb.New(m.UpdatedAt),
	}
	if m.FolderID != uuid.Nil {
		out.FolderId = m.FolderID.String()
	}
	if m.OwnerID != uuid.Nil {
		out.OwnerId = m.OwnerID.String()
	}
	if m.PublishedAt != nil {
		out.PublishedAt = timestamppb.New(*m.PublishedAt)
	}
	if l := m.Layout; l != nil {
		out.PosterLayout = &salesappv1.PosterLayout{
			QrX: int32(l.QR.X), QrY: int32(l.QR.Y), QrSize: int32(l.QR.Size), NameX: int32(l.Name.X), NameY: int32(l.Name.Y),
			NameFontSize: l.Name.FontSize, NameColor: l.Name.Color, NameAlign: l.Name.Align, NameMaxWidth: int32(l.Name.MaxWidth),
		}
	}
	return out
}

func contentFromProto(c *salesappv1.MaterialContent) material.Content {
	out := material.Content{
		Title: c.GetTitle(), Summary: c.GetSummary(), BodyHTML: c.GetBodyHtml(), TextBody: c.GetTextBody(),
		FileKey: c.GetFileKey(), ImageKeys: c.GetImageKeys(), CoverKey: c.GetCoverKey(), Tags: c.GetTags(),
		FolderID: optionalID(c.GetFolderId()),
	}
	out.Layout = LayoutFromProto(c.GetPosterLayout())
	return out
}

// LayoutFromProto is a poster's layout from the wire (nil: none).
func LayoutFromProto(l *salesappv1.PosterLayout) *poster.Layout {
	if l == nil {
		return nil
	}
	return &poster.Layout{
		QR: poster.QRBox{X: int(l.GetQrX()), Y: int(l.GetQrY()), Size: int(l.GetQrSize())},
		Name: poster.TextBox{X: int(l.GetNameX()), Y: int(l.GetNameY()), FontSize: l.GetNameFontSize(),
			Color: l.GetNameColor(), Align: l.GetNameAlign(), MaxWidth: int(l.GetNameMaxWidth())},
	}
}

func folderToProto(f material.Folder) *salesappv1.Folder {
	return &salesappv1.Folder{Id: f.ID.String(), Tier: TierToProto(f.Tier), Name: f.Name}
}

func optionalID(s string) uuid.UUID {
	if s == "" {
		return uuid.Nil
	}
	return uuid.MustParse(s) // the validator has checked it
}

var tiers = map[salesappv1.MaterialTier]material.Tier{
	salesappv1.MaterialTier_MATERIAL_TIER_PLATFORM:   material.TierPlatform,
	salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE: material.TierEnterprise,
	salesappv1.MaterialTier_MATERIAL_TIER_PERSONAL:   material.TierPersonal,
}

func tierFromProto(t salesappv1.MaterialTier) material.Tier { return tiers[t] }

// TierToProto converts a material tier for the wire (UNSPECIFIED when unknown).
func TierToProto(t material.Tier) salesappv1.MaterialTier { return keyOf(tiers, t) }

// keyOf is the reverse of a wire-to-domain enum map; unknown values map to the zero (UNSPECIFIED) key.
func keyOf[K comparable, V comparable](m map[K]V, v V) K {
	for k, mv := range m {
		if mv == v {
			return k
		}
	}
	var zero K
	return zero
}

var kinds = map[salesappv1.MaterialKind]material.Kind{
	salesappv1.MaterialKind_MATERIAL_KIND_POSTER:   material.KindPoster,
	salesappv1.MaterialKind_MATERIAL_KIND_ARTICLE:  material.KindArticle,
	salesappv1.MaterialKind_MATERIAL_KIND_BROCHURE: material.KindBrochure,
	salesappv1.MaterialKind_MATERIAL_KIND_VIDEO:    material.KindVideo,
	salesappv1.MaterialKind_MATERIAL_KIND_MOMENTS:  material.KindMoments,
}

// KindFromProto converts a material kind from the wire ("" when unspecified).
func KindFromProto(k salesappv1.MaterialKind) material.Kind { return kinds[k] }

// KindToProto converts a material kind for the wire.
func KindToProto(k material.Kind) salesappv1.MaterialKind { return keyOf(kinds, k) }

var statuses = map[salesappv1.MaterialStatus]material.Status{
	salesappv1.MaterialStatus_MATERIAL_STATUS_DRAFT:     material.StatusDraft,
	salesappv1.MaterialStatus_MATERIAL_STATUS_IN_REVIEW: material.StatusInReview,
	salesappv1.MaterialStatus_MATERIAL_STATUS_PUBLISHED: material.StatusPublished,
	salesappv1.MaterialStatus_MATERIAL_STATUS_REJECTED:  material.StatusRejected,
}

func statusFromProto(s salesappv1.MaterialStatus) material.Status { return statuses[s] }

// StatusToProto converts a material status for the wire (UNSPECIFIED when unknown).
func StatusToProto(s material.Status) salesappv1.MaterialStatus { return keyOf(statuses, s) }
