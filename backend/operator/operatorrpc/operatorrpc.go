// Package operatorrpc is the Connect adapter of the operator domain: OperatorService.
package operatorrpc

import (
	"context"
	"github.com/riverqueue/river"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/usage"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/material"
	"github.com/salesapp/scrm/backend/operator"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/module"
)

// Module is what the operator domain contributes: OperatorService, authenticated by operator tokens only
// (its own authenticator; the employees' one passes it by), and the hourly measure of every tenant's usage.
func Module(svc *operator.Service, tenants *operator.Tenants, tokens *authn.Tokens, materials *material.Service) module.Module {
	public := []string{salesappv1connect.OperatorServiceOperatorSignInProcedure}
	s := module.Connect[salesappv1connect.OperatorServiceHandler](salesappv1connect.OperatorServiceName,
		salesappv1connect.NewOperatorServiceHandler, &Handler{svc: svc, tenants: tenants, materials: materials}, public...)
	s.Authn = authn.NewOperatorAuthenticator(tokens, svc, public...)
	return module.Module{Name: "operator", Services: []module.Service{s},
		Workers:  func(w *river.Workers) { river.AddWorker(w, tenants.UsageWorker()) },
		Periodic: []*river.PeriodicJob{jobs.Hourly(usage.MeasureArgs{})}}
}

// Handler serves OperatorService.
type Handler struct {
	svc     *operator.Service
	tenants *operator.Tenants
	// materials manages the platform materials.
	materials *material.Service
}

var _ salesappv1connect.OperatorServiceHandler = (*Handler)(nil)

// OperatorSignIn implements OperatorService.
func (h *Handler) OperatorSignIn(ctx context.Context, req *connect.Request[salesappv1.OperatorSignInRequest]) (*connect.Response[salesappv1.OperatorSignInResponse], error) {
	a, token, exp, err := h.svc.SignIn(ctx, req.Msg.Email, req.Msg.Password)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.OperatorSignInResponse{OperatorToken: token, ExpiresAt: timestamppb.New(exp),
		Operator: &salesappv1.OperatorAccount{OperatorId: a.ID.String(), Email: a.Email}}), nil
}

// GetOperator implements OperatorService.
func (h *Handler) GetOperator(ctx context.Context, _ *connect.Request[salesappv1.GetOperatorRequest]) (*connect.Response[salesappv1.GetOperatorResponse], error) {
	o, err := authn.RequireOperator(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.GetOperatorResponse{Operator: &salesappv1.OperatorAccount{OperatorId: o.ID.String(), Email: o.Email}}), nil
}
