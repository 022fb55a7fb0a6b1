// Package trackingrpc is the adapter of tracking: the TrackingService RPC and the plain beacon endpoint
// (POST /t) that navigator.sendBeacon calls as a page closes. Both are public and rate limited per visitor
// (and, by the server's interceptor or the beacon handler itself, per client address).
package trackingrpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/event/eventrpc"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/module"
	"github.com/salesapp/scrm/backend/platform/ratelimit"
	"github.com/salesapp/scrm/backend/platform/rpcserver"
	"github.com/salesapp/scrm/backend/tracking"
)

// PublicProcedures need no access token.
var PublicProcedures = []string{salesappv1connect.TrackingServiceTrackProcedure}

// MaxVisitorsPerRequest bounds how many visitors one request speaks for.
const MaxVisitorsPerRequest = 10

// BeaconPath is where pages send beacons.
const BeaconPath = "/t"

// maxBeaconBytes bounds a beacon body: 100 events of a few hundred bytes each.
const maxBeaconBytes = 64 << 10

// Handler serves TrackingService and the beacon endpoint.
type Handler struct {
	svc      *tracking.Service
	visitors *ratelimit.Limiter
	perIP    *ratelimit.Limiter
	origins  []string
}

// New builds the handler. visitors limits requests per visitor id; perIP limits beacons per address (the
// RPC is limited per address by the server's interceptor); origins are the H5 origins allowed by CORS.
func New(svc *tracking.Service, visitors, perIP *ratelimit.Limiter, origins []string) (*Handler, error) {
	return &Handler{svc: svc, visitors: visitors, perIP: perIP, origins: origins}, nil
}

var _ salesappv1connect.TrackingServiceHandler = (*Handler)(nil)

// Track implements TrackingService.
func (h *Handler) Track(ctx context.Context, req *connect.Request[salesappv1.TrackRequest]) (*connect.Response[salesappv1.TrackResponse], error) {
	res, err := h.track(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.TrackResponse{Accepted: int32(res.Accepted), Duplicates: int32(res.Duplicates)}), nil
}

var errVisitorTooFast = platform.ResourceExhausted("too many events from this visitor: slow down")

func (h *Handler) track(ctx context.Context, msg *salesappv1.TrackRequest) (tracking.Result, error) {
	events := make([]tracking.Event, len(msg.GetEvents()))
	var visitors []string
	for i, e := range msg.GetEvents() {
		// The beacon path skips protovalidate (tracking checks every field itself), so ids are parsed here.
		id, err := uuid.Parse(e.GetEventId())
		if err != nil {
			return tracking.Result{}, platform.Invalid(fmt.Sprintf("events[%d].event_id", i), "must be a UUID")
		}
		ev := tracking.Event{
			ID: id, Kind: eventrpc.KindFromProto(e.GetKind()), ShareToken: e.GetShareToken(),
			VisitorID: e.GetVisitorId(), DwellMs: int(e.GetDwellMs()), Value: int(e.GetValue()), Phone: e.GetPhone(),
		}
		if e.GetOccurredAt() != nil {
			ev.OccurredAt = e.GetOccurredAt().AsTime()
		}
		if v := e.GetViewId(); v != "" {
			if ev.ViewID, err = uuid.Parse(v); err != nil {
				return tracking.Result{}, platform.Invalid(fmt.Sprintf("events[%d].view_id", i), "must be a UUID")
			}
		}
		events[i] = ev
		if !slices.Contains(visitors, ev.VisitorID) {
			visitors = append(visitors, ev.VisitorID)
		}
	}
	// A page sends its own visitor's events; a handful of pages' worth in one request is plenty, and more
	// would let one address fill a salesperson's list with made-up customers.
	if len(visitors) > MaxVisitorsPerRequest {
		return tracking.Result{}, platform.Invalid("events", fmt.Sprintf("events of at most %d visitors per request", MaxVisitorsPerRequest))
	}
	for _, v := range visitors {
		if !h.visitors.Allow(v) {
			return tracking.Result{}, errVisitorTooFast
		}
	}
	return h.svc.Ingest(ctx, events)
}

// ServeHTTP is the beacon endpoint: a TrackRequest as JSON, answered 204 once committed (sendBeacon does
// not read answers, but fetch(keepalive) fallbacks do), 400 for bad input, 429 when too fast.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if origin := r.Header.Get("Origin"); origin != "" && slices.Contains(h.origins, origin) {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Vary", "Origin")
		w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
		w.Header().Set("Access-Control-Max-Age", "86400")
	}
	switch r.Method {
	case http.MethodOptions:
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "POST, OPTIONS")
		http.Error(w, "POST a TrackRequest as JSON", http.StatusMethodNotAllowed)
		return
	}
	if !h.perIP.Allow(ratelimit.ClientIP(r.RemoteAddr)) {
		http.Error(w, "too many requests from your address", http.StatusTooManyRequests)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBeaconBytes))
	if err != nil {
		http.Error(w, "body too large (64 KiB at most)", http.StatusRequestEntityTooLarge)
		return
	}
	var msg salesappv1.TrackRequest
	if err := protojson.Unmarshal(body, &msg); err != nil {
		http.Error(w, "not a TrackRequest in JSON", http.StatusBadRequest)
		return
	}
	if _, err := h.track(r.Context(), &msg); err != nil {
		ce := new(connect.Error)
		errors.As(rpcserver.ToConnect(err), &ce)
		status := map[connect.Code]int{
			connect.CodeInvalidArgument: http.StatusBadRequest, connect.CodeNotFound: http.StatusNotFound,
			connect.CodeResourceExhausted: http.StatusTooManyRequests,
		}[ce.Code()]
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
		http.Error(w, ce.Message(), status)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Module is what tracking contributes: TrackingService (its Track public) and the beacon route. The
// service's committers stop with it.
func Module(svc *tracking.Service, h *Handler) module.Module {
	return module.Module{
		Name:     "tracking",
		Services: []module.Service{module.Connect[salesappv1connect.TrackingServiceHandler](salesappv1connect.TrackingServiceName, salesappv1connect.NewTrackingServiceHandler, h, PublicProcedures...)},
		Routes:   []module.Route{{Pattern: BeaconPath, Handler: h}},
		Stop:     func(context.Context) error { svc.Close(); return nil },
	}
}
