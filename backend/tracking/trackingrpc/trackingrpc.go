// Package trackingrpc is the adapter of tracking: the TrackingService RPC and the plain beacon endpoint
// (POST /t) that navigator.sendBeacon calls as a page closes. Both are public and rate limited per visitor
// (and, by the server's interceptor or the beacon handler itself, per client address).
package trackingrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/customer"
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

// beaconStoreTimeout bounds how long a beacon waits for its events to be stored; beyond, the database is
// taken to be down.
const beaconStoreTimeout = 5 * time.Second

// beaconRetryAfter is what beacons are told while the database is down (seconds).
const beaconRetryAfter = "5"

// Handler serves TrackingService and the beacon endpoint.
type Handler struct {
	svc      *tracking.Service
	sessions *customer.Sessions
	visitors *ratelimit.Limiter
	perIP    *ratelimit.Limiter
	origins  []string
	db       dbHealth
}

// dbHealth remembers that storing failed for want of the database, so that beacons are answered 503 at
// once, rather than each waiting for a connection that will not come, until a ping succeeds again.
type dbHealth struct {
	down    atomic.Bool
	probing atomic.Bool
	// every is the pause between pings while down.
	every time.Duration
}

// failed marks the database down and starts pinging it until it answers.
func (h *Handler) failed() {
	h.db.down.Store(true)
	if !h.db.probing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer h.db.probing.Store(false)
		for {
			time.Sleep(h.db.every)
			ctx, cancel := context.WithTimeout(context.Background(), beaconStoreTimeout)
			err := h.svc.Ping(ctx)
			cancel()
			if err == nil {
				h.db.down.Store(false)
				return
			}
		}
	}()
}

// New builds the handler. visitors limits requests per visitor id; perIP limits beacons per address (the
// RPC is limited per address by the server's interceptor); origins are the H5 origins allowed by CORS.
//
// sessions checks the customer sessions (customer.SessionHeader) a mini-program's Track calls carry: their
// events are the session's visitor's. nil: a call carrying one is refused.
func New(svc *tracking.Service, sessions *customer.Sessions, visitors, perIP *ratelimit.Limiter, origins []string) (*Handler, error) {
	h := &Handler{svc: svc, sessions: sessions, visitors: visitors, perIP: perIP, origins: origins}
	h.db.every = time.Second
	return h, nil
}

var _ salesappv1connect.TrackingServiceHandler = (*Handler)(nil)

// Track implements TrackingService.
func (h *Handler) Track(ctx context.Context, req *connect.Request[salesappv1.TrackRequest]) (*connect.Response[salesappv1.TrackResponse], error) {
	sess, err := h.sessions.Carried(req.Header().Get(customer.SessionHeader))
	if err != nil {
		return nil, err
	}
	res, err := h.track(ctx, req.Msg, sess)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.TrackResponse{Accepted: int32(res.Accepted), Duplicates: int32(res.Duplicates),
		Rejected: int32(res.Rejected)}), nil
}

var errVisitorTooFast = platform.ResourceExhausted("too many events from this visitor: slow down")

// track stores the events of msg; with a session, they are its visitor's (an event naming another visitor
// is refused).
func (h *Handler) track(ctx context.Context, msg *salesappv1.TrackRequest, sess *customer.Session) (tracking.Result, error) {
	events := make([]tracking.Event, len(msg.GetEvents()))
	for i, e := range msg.GetEvents() {
		ev, err := toEvent(e)
		if err != nil {
			return tracking.Result{}, tracking.AtIndex(err, i)
		}
		if sess != nil {
			if ev.VisitorID, err = customer.VisitorOf(sess, ev.VisitorID, "visitor_id"); err != nil {
				return tracking.Result{}, tracking.AtIndex(err, i)
			}
		}
		events[i] = ev
	}
	if err := h.allowVisitors(events); err != nil {
		return tracking.Result{}, err
	}
	return h.svc.Ingest(ctx, events)
}

// toEvent converts one wire event. The beacon path skips protovalidate (tracking checks every field
// itself), so ids are parsed here.
func toEvent(e *salesappv1.TrackEvent) (tracking.Event, error) {
	id, err := uuid.Parse(e.GetEventId())
	if err != nil {
		return tracking.Event{}, platform.Invalid("event_id", "must be a UUID")
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
			return tracking.Event{}, platform.Invalid("view_id", "must be a UUID")
		}
	}
	return ev, nil
}

// allowVisitors applies the per-request and per-visitor limits.
func (h *Handler) allowVisitors(events []tracking.Event) error {
	var visitors []string
	for _, ev := range events {
		if !slices.Contains(visitors, ev.VisitorID) {
			visitors = append(visitors, ev.VisitorID)
		}
	}
	// A page sends its own visitor's events; a handful of pages' worth in one request is plenty, and more
	// would let one address fill a salesperson's list with made-up customers.
	if len(visitors) > MaxVisitorsPerRequest {
		return platform.Invalid("events", fmt.Sprintf("events of at most %d visitors per request", MaxVisitorsPerRequest))
	}
	for _, v := range visitors {
		if !h.visitors.Allow(v) {
			return errVisitorTooFast
		}
	}
	return nil
}

// BeaconAnswer is the beacon endpoint's JSON answer (lowerCamel, like protojson).
type BeaconAnswer struct {
	// Accepted were stored now, Duplicates had been stored before.
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	// Rejected are the events left out, by index in the request.
	Rejected []BeaconRejection `json:"rejected,omitempty"`
}

// BeaconRejection is one event the beacon endpoint left out.
type BeaconRejection struct {
	Index  int    `json:"index"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// rejection reports the event at index i of the request left out for err, a platform.Error naming a field
// within the event.
func rejection(i int, err error) BeaconRejection {
	var de *platform.Error
	if !errors.As(tracking.AtIndex(err, i), &de) {
		return BeaconRejection{Index: i, Field: fmt.Sprintf("events[%d]", i), Reason: "invalid"}
	}
	return BeaconRejection{Index: i, Field: de.Field, Reason: de.Msg}
}

// beaconJSON decodes events as the Connect JSON codec does: unknown fields (and unknown enum names) are
// ignored, so a page newer than this server still has its events stored.
var beaconJSON = protojson.UnmarshalOptions{DiscardUnknown: true}

// decodeBeacon reads a TrackRequest in JSON: an event that does not decode is rejected alone. events holds
// the decoded ones and index their positions in the request. The whole request is decoded in one pass;
// only when that fails is it split and decoded event by event, to find the events at fault.
func decodeBeacon(body []byte) (events []tracking.Event, index []int, rejected []BeaconRejection, err error) {
	var msg salesappv1.TrackRequest
	if beaconJSON.Unmarshal(body, &msg) != nil {
		return decodeBeaconEvents(body)
	}
	if len(msg.GetEvents()) > tracking.MaxBatch {
		return nil, nil, nil, errTooManyEvents
	}
	for i, e := range msg.GetEvents() {
		ev, err := toEvent(e)
		if err != nil {
			rejected = append(rejected, rejection(i, err))
			continue
		}
		events, index = append(events, ev), append(index, i)
	}
	return events, index, rejected, nil
}

var errTooManyEvents = platform.Invalid("events", fmt.Sprintf("at most %d events per request", tracking.MaxBatch))

// decodeBeaconEvents is decodeBeacon event by event, for a request that does not decode whole.
func decodeBeaconEvents(body []byte) (events []tracking.Event, index []int, rejected []BeaconRejection, err error) {
	var envelope struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &envelope); err != nil {
		return nil, nil, nil, err
	}
	if len(envelope.Events) > tracking.MaxBatch {
		return nil, nil, nil, errTooManyEvents
	}
	for i, raw := range envelope.Events {
		var e salesappv1.TrackEvent
		if err := beaconJSON.Unmarshal(raw, &e); err != nil {
			rejected = append(rejected, rejection(i, platform.Invalid("", "not a TrackEvent in JSON")))
			continue
		}
		ev, err := toEvent(&e)
		if err != nil {
			rejected = append(rejected, rejection(i, err))
			continue
		}
		events, index = append(events, ev), append(index, i)
	}
	return events, index, rejected, nil
}

// ServeHTTP is the beacon endpoint: a TrackRequest as JSON (any content type, as sendBeacon sends
// text/plain). It is as lenient as the Connect JSON codec about unknown fields and stricter checks stay per
// event: the valid events are stored and the invalid ones (a bad id or enum name, an unknown share link)
// left out, because sendBeacon never reads the answer and a page would otherwise lose every event for one
// bad one. The answer, once the stored events are committed, is always 200 with a BeaconAnswer (accepted
// and duplicate counts, rejected events by index with field and reason), so fetch(keepalive) fallbacks and
// tests can see what was dropped. Refused whole: a body that is not a JSON object with an events list
// (400), more than 100 events or events of more than 10 visitors (400), too fast (429), too large (413),
// and 503 with Retry-After when events cannot be stored: while the database is down (a store failed and no
// ping has succeeded since), at once.
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
	if !h.perIP.Allow(ratelimit.AddressKey(r.RemoteAddr)) {
		http.Error(w, "too many requests from your address", http.StatusTooManyRequests)
		return
	}
	if h.db.down.Load() {
		w.Header().Set("Retry-After", beaconRetryAfter)
		http.Error(w, "events cannot be stored now: retry later", http.StatusServiceUnavailable)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBeaconBytes))
	if err != nil {
		http.Error(w, "body too large (64 KiB at most)", http.StatusRequestEntityTooLarge)
		return
	}
	events, index, rejected, err := decodeBeacon(body)
	if err != nil {
		var de *platform.Error
		if errors.As(err, &de) {
			writeError(w, err)
			return
		}
		http.Error(w, "not a TrackRequest in JSON", http.StatusBadRequest)
		return
	}
	if err := h.allowVisitors(events); err != nil {
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), beaconStoreTimeout)
	res, refused, err := h.svc.IngestValid(ctx, events)
	cancel()
	if err != nil {
		var de *platform.Error
		if !errors.As(err, &de) && r.Context().Err() == nil {
			// Not the page's fault nor its leaving: the database failed or did not answer in time.
			h.failed()
			w.Header().Set("Retry-After", beaconRetryAfter)
		}
		writeError(w, err)
		return
	}
	for _, rj := range refused {
		// The service indexes the decoded events; the page knows the positions in what it sent.
		rejected = append(rejected, rejection(index[rj.Index], rj.Err))
	}
	slices.SortFunc(rejected, func(a, b BeaconRejection) int { return a.Index - b.Index })
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(BeaconAnswer{Accepted: res.Accepted, Duplicates: res.Duplicates, Rejected: rejected})
}

func writeError(w http.ResponseWriter, err error) {
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
