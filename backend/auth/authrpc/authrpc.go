// Package authrpc is the Connect adapter of the auth domain: AuthService.
package authrpc

import (
	"context"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/auth"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/ratelimit"
)

// PublicProcedures need no access token (the server limits them per client address).
var PublicProcedures = []string{
	salesappv1connect.AuthServiceRefreshTokenProcedure,
	salesappv1connect.AuthServiceSignInProcedure,
	salesappv1connect.AuthServiceSelectTenantProcedure,
	salesappv1connect.AuthServiceAcceptInvitationProcedure,
	salesappv1connect.AuthServiceSignInWithWeComProcedure,
}

// LogoURLs turns a tenant's logo key into a short-lived URL the app can show on the tenant picker, before
// the person is signed in.
type LogoURLs func(ctx context.Context, tenantID uuid.UUID, key string) (string, error)

// Handler serves AuthService.
type Handler struct {
	svc   *auth.Service
	logos LogoURLs
	wecom auth.WeComMembers
}

// New builds the handler; logos may be nil (the picker then shows no logos), wecom too (SignInWithWeCom
// then answers FailedPrecondition).
func New(svc *auth.Service, logos LogoURLs, wecom auth.WeComMembers) *Handler {
	return &Handler{svc: svc, logos: logos, wecom: wecom}
}

// SignInWithWeCom implements AuthService.
func (h *Handler) SignInWithWeCom(ctx context.Context, req *connect.Request[salesappv1.SignInWithWeComRequest]) (*connect.Response[salesappv1.SignInWithWeComResponse], error) {
	m := req.Msg
	in, err := h.svc.SignInWithWeCom(ctx, auth.WeComSignInRequest{TenantID: uuid.MustParse(m.GetTenantId()), Code: m.GetCode(),
		DeviceID: m.GetDeviceId(), DeviceName: m.GetDeviceName(), Address: ratelimit.ClientIP(req.Peer().Addr)}, h.wecom)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.SignInWithWeComResponse{SignedIn: signedInToProto(in)}), nil
}

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

// SignIn implements AuthService.
func (h *Handler) SignIn(ctx context.Context, req *connect.Request[salesappv1.SignInRequest]) (*connect.Response[salesappv1.SignInResponse], error) {
	m := req.Msg
	res, err := h.svc.SignIn(ctx, auth.SignInRequest{Login: m.GetLogin(), Password: m.GetPassword(),
		DeviceID: m.GetDeviceId(), DeviceName: m.GetDeviceName(), Address: ratelimit.ClientIP(req.Peer().Addr)})
	if err != nil {
		return nil, err
	}
	if res.Session != nil {
		return connect.NewResponse(&salesappv1.SignInResponse{Result: &salesappv1.SignInResponse_SignedIn{SignedIn: signedInToProto(*res.Session)}}), nil
	}
	choice := &salesappv1.TenantChoice{Ticket: res.Choice.Ticket, ExpiresAt: timestamppb.New(res.Choice.ExpiresAt)}
	for _, t := range res.Choice.Tenants {
		o := &salesappv1.TenantOption{TenantId: t.TenantID.String(), Name: t.Name}
		if t.LogoKey != "" && h.logos != nil {
			// A logo is a nicety: the picker works without it.
			if u, err := h.logos(ctx, t.TenantID, t.LogoKey); err == nil {
				o.LogoUrl = u
			}
		}
		choice.Tenants = append(choice.Tenants, o)
	}
	return connect.NewResponse(&salesappv1.SignInResponse{Result: &salesappv1.SignInResponse_ChooseTenant{ChooseTenant: choice}}), nil
}

// SelectTenant implements AuthService.
func (h *Handler) SelectTenant(ctx context.Context, req *connect.Request[salesappv1.SelectTenantRequest]) (*connect.Response[salesappv1.SelectTenantResponse], error) {
	m := req.Msg
	in, err := h.svc.SelectTenant(ctx, m.GetTicket(), uuid.MustParse(m.GetTenantId()), m.GetDeviceId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.SelectTenantResponse{SignedIn: signedInToProto(in)}), nil
}

// AcceptInvitation implements AuthService.
func (h *Handler) AcceptInvitation(ctx context.Context, req *connect.Request[salesappv1.AcceptInvitationRequest]) (*connect.Response[salesappv1.AcceptInvitationResponse], error) {
	m := req.Msg
	in, err := h.svc.AcceptInvitation(ctx, auth.AcceptRequest{Code: m.GetCode(), Password: m.GetPassword(),
		DeviceID: m.GetDeviceId(), DeviceName: m.GetDeviceName(), Address: ratelimit.ClientIP(req.Peer().Addr)})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.AcceptInvitationResponse{SignedIn: signedInToProto(in)}), nil
}

// ChangePassword implements AuthService.
func (h *Handler) ChangePassword(ctx context.Context, req *connect.Request[salesappv1.ChangePasswordRequest]) (*connect.Response[salesappv1.ChangePasswordResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	pair, err := h.svc.ChangePassword(ctx, p, req.Msg.GetOldPassword(), req.Msg.GetNewPassword())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.ChangePasswordResponse{Tokens: PairToProto(pair)}), nil
}

// ResetPassword implements AuthService.
func (h *Handler) ResetPassword(ctx context.Context, req *connect.Request[salesappv1.ResetPasswordRequest]) (*connect.Response[salesappv1.ResetPasswordResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	inv, err := h.svc.ResetPassword(ctx, p, uuid.MustParse(req.Msg.GetEmployeeId()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.ResetPasswordResponse{Invitation: InvitationToProto(inv)}), nil
}

// ResendInvitation implements AuthService.
func (h *Handler) ResendInvitation(ctx context.Context, req *connect.Request[salesappv1.ResendInvitationRequest]) (*connect.Response[salesappv1.ResendInvitationResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	inv, err := h.svc.ResendInvitation(ctx, p, uuid.MustParse(req.Msg.GetEmployeeId()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.ResendInvitationResponse{Invitation: InvitationToProto(inv)}), nil
}

// ListSignIns implements AuthService.
func (h *Handler) ListSignIns(ctx context.Context, req *connect.Request[salesappv1.ListSignInsRequest]) (*connect.Response[salesappv1.ListSignInsResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	f := auth.SignInFilter{PageSize: int(m.GetPageSize()), PageToken: m.GetPageToken()}
	if m.GetEmployeeId() != "" {
		f.EmployeeID = uuid.MustParse(m.GetEmployeeId())
	}
	records, next, err := h.svc.ListSignIns(ctx, p, f)
	if err != nil {
		return nil, err
	}
	out := make([]*salesappv1.SignInRecord, len(records))
	for i, r := range records {
		out[i] = &salesappv1.SignInRecord{Id: r.ID.String(), EmployeeId: r.EmployeeID.String(), EmployeeName: r.EmployeeName,
			At: timestamppb.New(r.At), Result: outcomeToProto(r.Outcome), DeviceId: r.DeviceID, DeviceName: r.DeviceName,
			Address: r.Address}
	}
	return connect.NewResponse(&salesappv1.ListSignInsResponse{Records: out, NextPageToken: next}), nil
}

func outcomeToProto(o auth.Outcome) salesappv1.SignInResult {
	switch o {
	case auth.OutcomeSuccess:
		return salesappv1.SignInResult_SIGN_IN_RESULT_SUCCESS
	case auth.OutcomeWrongPassword:
		return salesappv1.SignInResult_SIGN_IN_RESULT_WRONG_PASSWORD
	case auth.OutcomeLocked:
		return salesappv1.SignInResult_SIGN_IN_RESULT_LOCKED
	case auth.OutcomeDisabled:
		return salesappv1.SignInResult_SIGN_IN_RESULT_DISABLED
	case auth.OutcomeTenantExpired:
		return salesappv1.SignInResult_SIGN_IN_RESULT_TENANT_EXPIRED
	}
	return salesappv1.SignInResult_SIGN_IN_RESULT_UNSPECIFIED
}

func signedInToProto(in auth.SignedIn) *salesappv1.SignedIn {
	return &salesappv1.SignedIn{Tokens: PairToProto(in.Tokens), TenantId: in.TenantID.String(), EmployeeId: in.EmployeeID.String()}
}

// InvitationToProto converts an invitation for the wire.
func InvitationToProto(inv auth.Invitation) *salesappv1.Invitation {
	return &salesappv1.Invitation{EmployeeId: inv.EmployeeID.String(), Code: inv.Code, Url: inv.URL, ExpiresAt: timestamppb.New(inv.ExpiresAt)}
}

// PairToProto converts a token pair for the wire.
func PairToProto(p auth.TokenPair) *salesappv1.TokenPair {
	return &salesappv1.TokenPair{
		AccessToken: p.AccessToken, AccessTokenExpiresAt: timestamppb.New(p.AccessTokenExpiresAt),
		RefreshToken: p.RefreshToken, RefreshTokenExpiresAt: timestamppb.New(p.RefreshTokenExpiresAt),
	}
}
