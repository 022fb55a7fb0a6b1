// Package authrpc is the Connect adapter of the auth domain: AuthService.
package authrpc

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/auth"
	"github.com/salesapp/scrm/backend/platform/authn"
)

// PublicProcedures need no access token.
var PublicProcedures = []string{salesappv1connect.AuthServiceRefreshTokenProcedure}

// Handler serves AuthService.
type Handler struct {
	svc *auth.Service
}

// New builds the handler.
func New(svc *auth.Service) *Handler { return &Handler{svc: svc} }

var _ salesappv1connect.AuthServiceHandler = (*Handler)(nil)

// RefreshToken implements AuthService.
func (h *Handler) RefreshToken(ctx context.Context, req *connect.Request[salesappv1.RefreshTokenRequest]) (*connect.Response[salesappv1.RefreshTokenResponse], error) {
	pair, err := h.svc.Refresh(ctx, req.Msg.GetRefreshToken(), req.Msg.GetDeviceId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.RefreshTokenResponse{Tokens: PairToProto(pair)}), nil
}

// Logout implements AuthService.
func (h *Handler) Logout(ctx context.Context, _ *connect.Request[salesappv1.LogoutRequest]) (*connect.Response[salesappv1.LogoutResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.svc.Logout(ctx, p); err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.LogoutResponse{}), nil
}

// PairToProto converts a token pair for the wire.
func PairToProto(p auth.TokenPair) *salesappv1.TokenPair {
	return &salesappv1.TokenPair{
		AccessToken: p.AccessToken, AccessTokenExpiresAt: timestamppb.New(p.AccessTokenExpiresAt),
		RefreshToken: p.RefreshToken, RefreshTokenExpiresAt: timestamppb.New(p.RefreshTokenExpiresAt),
	}
}
