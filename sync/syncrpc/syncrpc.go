// Package syncrpc is the Connect adapter of delta sync: SyncService.
package syncrpc

import (
	"context"

	"connectrpc.com/connect"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/sync/delta"
)

// Handler serves SyncService.
type Handler struct{ engine *delta.Engine }

// New builds the handler.
func New(engine *delta.Engine) *Handler { return &Handler{engine: engine} }

var _ salesappv1connect.SyncServiceHandler = (*Handler)(nil)

// Pull implements SyncService.
func (h *Handler) Pull(ctx context.Context, req *connect.Request[salesappv1.PullRequest]) (*connect.Response[salesappv1.PullResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	out, err := h.engine.Pull(ctx, p, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// Push implements SyncService.
func (h *Handler) Push(ctx context.Context, req *connect.Request[salesappv1.PushRequest]) (*connect.Response[salesappv1.PushResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	out, err := h.engine.Push(ctx, p, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}
