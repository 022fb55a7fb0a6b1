// Package alertrpc is the Connect adapter of alert streams: AlertService.
package alertrpc

import (
	"context"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/rpcserver"
	"github.com/salesapp/scrm/push/alert"
)

// Handler serves AlertService.
type Handler struct{ svc *alert.Service }

// New builds the handler.
func New(svc *alert.Service) *Handler { return &Handler{svc: svc} }

var _ salesappv1connect.AlertServiceHandler = (*Handler)(nil)

func key(ctx context.Context) (alert.Key, error) {
	p, err := authn.Require(ctx)
	return alert.Key{TenantID: p.TenantID, EmployeeID: p.EmployeeID}, err
}

// ListAlerts implements AlertService.
func (h *Handler) ListAlerts(ctx context.Context, req *connect.Request[salesappv1.ListAlertsRequest]) (*connect.Response[salesappv1.ListAlertsResponse], error) {
	k, err := key(ctx)
	if err != nil {
		return nil, err
	}
	size := int(req.Msg.GetPageSize())
	if size == 0 {
		size = 100
	}
	// The head first: entries past it may appear meanwhile, and the app asks again from the last it got.
	epoch, head, err := h.svc.Head(ctx, k)
	if err != nil {
		return nil, err
	}
	entries, err := h.svc.Since(ctx, k, int64(req.Msg.GetAfterSeq()), size)
	if err != nil {
		return nil, err
	}
	out := &salesappv1.ListAlertsResponse{Epoch: epoch.String(), Head: rpcserver.Int32(head)}
	for _, e := range entries {
		out.Alerts = append(out.Alerts, ToProto(e))
	}
	return connect.NewResponse(out), nil
}

// ToProto converts a stream entry for the wire.
func ToProto(e alert.Entry) *salesappv1.Alert {
	a := &salesappv1.Alert{Seq: rpcserver.Int32(e.Seq), AlertId: e.AlertID.String(), Kind: kindWords.Enum(string(e.Kind)),
		Body: e.Body, CreatedAt: timestamppb.New(e.CreatedAt), Read: e.ReadAt != nil}
	if e.CustomerID != uuid.Nil { // task alerts are about no customer
		a.CustomerId = e.CustomerID.String()
	}
	if e.MaterialID.Valid {
		a.MaterialId = e.MaterialID.UUID.String()
	}
	return a
}

// MarkAlertsRead implements AlertService.
func (h *Handler) MarkAlertsRead(ctx context.Context, req *connect.Request[salesappv1.MarkAlertsReadRequest]) (*connect.Response[salesappv1.MarkAlertsReadResponse], error) {
	k, err := key(ctx)
	if err != nil {
		return nil, err
	}
	n, err := h.svc.MarkRead(ctx, k, int64(req.Msg.GetThroughSeq()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.MarkAlertsReadResponse{Marked: int32(n)}), nil
}

// GetUnreadCount implements AlertService.
func (h *Handler) GetUnreadCount(ctx context.Context, _ *connect.Request[salesappv1.GetUnreadCountRequest]) (*connect.Response[salesappv1.GetUnreadCountResponse], error) {
	k, err := key(ctx)
	if err != nil {
		return nil, err
	}
	n, err := h.svc.Unread(ctx, k)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.GetUnreadCountResponse{Unread: int32(n)}), nil
}

// UpdateAlertPrefs implements AlertService.
func (h *Handler) UpdateAlertPrefs(ctx context.Context, req *connect.Request[salesappv1.UpdateAlertPrefsRequest]) (*connect.Response[salesappv1.UpdateAlertPrefsResponse], error) {
	k, err := key(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.svc.SetPrefs(ctx, k, kinds(req.Msg.GetMutedKinds()), req.Msg.QuietStartMin, req.Msg.QuietEndMin); err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.UpdateAlertPrefsResponse{}), nil
}

// RegisterDevice implements AlertService: the registration belongs to the caller's session.
func (h *Handler) RegisterDevice(ctx context.Context, req *connect.Request[salesappv1.RegisterDeviceRequest]) (*connect.Response[salesappv1.RegisterDeviceResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	err = h.svc.RegisterDevice(ctx, alert.Key{TenantID: p.TenantID, EmployeeID: p.EmployeeID}, alert.Device{DeviceID: m.GetDeviceId(),
		Platform: m.GetPlatform(), PushToken: m.GetPushToken(), BundleID: m.GetBundleId(), Sandbox: m.GetSandbox(), Locale: m.GetLocale(),
		SessionID: p.SessionID})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.RegisterDeviceResponse{}), nil
}

// kindWords maps the alert kinds (long_read) to the API's enum (ALERT_KIND_LONG_READ) and back.
var kindWords = rpcserver.NewWords[salesappv1.AlertKind](salesappv1.AlertKind_value, "ALERT_KIND_")

func kinds(values []salesappv1.AlertKind) []alert.Kind {
	out := make([]alert.Kind, len(values))
	for i, v := range values {
		out[i] = alert.Kind(kindWords.Word(v))
	}
	return out
}
