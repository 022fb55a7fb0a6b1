// Package cardrpc is the Connect adapter of business cards: CardService.
package cardrpc

import (
	"context"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/card"
	"github.com/salesapp/scrm/backend/material/materialrpc"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/rpcserver"
)

// Handler serves CardService.
type Handler struct{ svc *card.Service }

// New builds the handler.
func New(svc *card.Service) *Handler { return &Handler{svc: svc} }

var _ salesappv1connect.CardServiceHandler = (*Handler)(nil)

// GetMyCard implements CardService.
func (h *Handler) GetMyCard(ctx context.Context, _ *connect.Request[salesappv1.GetMyCardRequest]) (*connect.Response[salesappv1.GetMyCardResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	v, err := h.svc.Mine(ctx, p)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.GetMyCardResponse{Card: ToProto(v)}), nil
}

// UpdateMyCard implements CardService.
func (h *Handler) UpdateMyCard(ctx context.Context, req *connect.Request[salesappv1.UpdateMyCardRequest]) (*connect.Response[salesappv1.UpdateMyCardResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	c := card.Change{
		DisplayName: m.DisplayName, Title: m.Title, Phone: m.Phone, WeChatID: m.WechatId, Email: m.Email,
		AvatarKey: m.AvatarKey, Bio: m.Bio, IntroVideoKey: m.IntroVideoKey,
	}
	if m.PhotoKeys != nil {
		keys := m.PhotoKeys.GetValues()
		c.PhotoKeys = &keys
	}
	if m.FeaturedMaterialIds != nil {
		ids := make([]uuid.UUID, 0, len(m.FeaturedMaterialIds.GetValues()))
		for _, s := range m.FeaturedMaterialIds.GetValues() {
			id, err := uuid.Parse(s)
			if err != nil {
				return nil, platform.Invalid("featured_material_ids", "every value must be a material id (UUID)")
			}
			ids = append(ids, id)
		}
		c.FeaturedMaterialIDs = &ids
	}
	v, err := h.svc.Update(ctx, p, c)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.UpdateMyCardResponse{Card: ToProto(v)}), nil
}

// UpdateCompanyProfile implements CardService.
func (h *Handler) UpdateCompanyProfile(ctx context.Context, req *connect.Request[salesappv1.UpdateCompanyProfileRequest]) (*connect.Response[salesappv1.UpdateCompanyProfileResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	c, err := h.svc.UpdateCompany(ctx, p, card.CompanyChange{Name: m.CompanyName, LogoKey: m.LogoKey, Website: m.Website, Address: m.Address})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.UpdateCompanyProfileResponse{Company: companyToProto(c)}), nil
}

// ToProto converts a card view for the wire.
func ToProto(v card.View) *salesappv1.Card {
	out := &salesappv1.Card{
		EmployeeId: v.EmployeeID.String(), DisplayName: v.DisplayName, Title: v.Title, Phone: v.Phone,
		WechatId: v.WeChatID, Email: v.Email, AvatarUrl: v.AvatarURL, Bio: v.Bio, PhotoUrls: v.PhotoURLs,
		IntroVideoUrl: v.IntroVideoURL, Company: companyToProto(v.Company), QrCodeUrl: v.QRCodeURL,
		ShareUrl: v.ShareURL, Version: rpcserver.Int32(v.Version), UpdatedAt: timestamppb.New(v.UpdatedAt),
	}
	for _, s := range v.Featured {
		out.FeaturedMaterials = append(out.FeaturedMaterials, &salesappv1.MaterialSummary{
			Id: s.ID.String(), Title: s.Title, Kind: materialrpc.KindToProto(s.Kind), CoverUrl: s.CoverURL,
			ThumbnailUrl: s.ThumbnailURL,
		})
	}
	return out
}

func companyToProto(c card.Company) *salesappv1.CompanyProfile {
	return &salesappv1.CompanyProfile{CompanyName: c.Name, LogoUrl: c.LogoURL, Website: c.Website, Address: c.Address}
}
