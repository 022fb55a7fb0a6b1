// Package uploadrpc is the Connect adapter of uploads: MediaService.
package uploadrpc

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/rpcserver"
	"github.com/salesapp/scrm/backend/upload"
	"github.com/salesapp/scrm/media"
)

// Handler serves MediaService.
type Handler struct{ svc *upload.Service }

// New builds the handler.
func New(svc *upload.Service) *Handler { return &Handler{svc: svc} }

var _ salesappv1connect.MediaServiceHandler = (*Handler)(nil)

// KindFromProto is the media kind of the wire's (the operator's platform uploads take it too).
func KindFromProto(k salesappv1.MediaKind) media.Kind {
	switch k {
	case salesappv1.MediaKind_MEDIA_KIND_IMAGE:
		return media.KindImage
	case salesappv1.MediaKind_MEDIA_KIND_PDF:
		return media.KindPDF
	case salesappv1.MediaKind_MEDIA_KIND_VIDEO:
		return media.KindVideo
	}
	return ""
}

// CreateUpload implements MediaService.
func (h *Handler) CreateUpload(ctx context.Context, req *connect.Request[salesappv1.CreateUploadRequest]) (*connect.Response[salesappv1.CreateUploadResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	t, err := h.svc.Create(ctx, p, KindFromProto(req.Msg.GetKind()), req.Msg.GetContentType(), int64(req.Msg.GetSizeBytes()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.CreateUploadResponse{Ticket: TicketToProto(t)}), nil
}

// TicketToProto is an upload ticket on the wire.
func TicketToProto(t media.UploadTicket) *salesappv1.UploadTicket {
	return &salesappv1.UploadTicket{ObjectKey: t.Key, PutUrl: t.PutURL, PutHeaders: t.PutHeaders, PostUrl: t.PostURL,
		PostFields: t.PostFields, ExpiresAt: timestamppb.New(t.ExpiresAt), MaxBytes: rpcserver.Int32(t.MaxBytes)}
}

// FinalizeUpload implements MediaService.
func (h *Handler) FinalizeUpload(ctx context.Context, req *connect.Request[salesappv1.FinalizeUploadRequest]) (*connect.Response[salesappv1.FinalizeUploadResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	f, err := h.svc.Finalize(ctx, p, m.GetObjectKey(), KindFromProto(m.GetKind()), m.GetContentType(), int64(m.GetSizeBytes()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.FinalizeUploadResponse{ObjectKey: f.Key, DownloadUrl: f.URL}), nil
}
