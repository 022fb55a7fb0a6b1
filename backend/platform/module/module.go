// Package module is the contract between salesd's parts and the server that composes them. Each domain
// (and each of sync, push and media) says in one Module what it contributes: its Connect services and
// which of their procedures need no token, plain HTTP routes, River workers and periodic jobs, and the
// offline mutations it applies. backend/server iterates over one list of modules; adding a domain adds
// one entry there and touches nothing else of the server.
package module

import (
	"context"
	"net/http"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"google.golang.org/protobuf/proto"

	"github.com/salesapp/scrm/backend/platform/authn"
)

// Module is what one part of salesd contributes. Every field is optional.
type Module struct {
	// Name identifies the module in logs and errors.
	Name string
	// Feature, when set, is the plan feature all of the module's services and offline mutations belong
	// to: callers whose enterprise's plan lacks it are refused with PermissionDenied saying so.
	Feature authn.Feature
	// Services are the Connect services it serves.
	Services []Service
	// Routes are plain HTTP routes (beacons, the WebSocket), served beside the Connect services.
	Routes []Route
	// Workers registers its River workers.
	Workers func(w *river.Workers)
	// Periodic are its River periodic jobs.
	Periodic []*river.PeriodicJob
	// Mutations apply the offline mutations it owns, by the name of the sync Mutation's op field
	// (add_note, set_stage...).
	Mutations map[string]Applier
	// Start starts background work once the workers run; Stop stops it (after the workers stopped). Stop
	// runs in the reverse order of the modules.
	Start func(ctx context.Context) error
	Stop  func(ctx context.Context) error
}

// Service is one Connect service.
type Service struct {
	// Name is the fully qualified service name (salesapp.v1.CardService), listed by gRPC reflection.
	Name string
	// Mount builds the handler with the server's options (interceptors, limits, compression) and returns
	// its path prefix, as the generated New…ServiceHandler functions do.
	Mount func(opts ...connect.HandlerOption) (string, http.Handler)
	// Public lists the procedures (full names, "/salesapp.v1.AuthService/RefreshToken") callable without
	// an access token; they are rate limited per client address instead.
	Public []string
	// Features puts single procedures (full names) behind plan features, for a service only part of
	// which belongs to one (rankings in StatsService).
	Features map[string]authn.Feature
	// Authn, when set, authenticates the service's callers in place of the employees' authenticator: the
	// operator service, whose callers are the platform's staff and belong to no tenant. An employee's token
	// then reaches none of its procedures, and its procedures are not tenant RPCs.
	Authn connect.Interceptor
}

// Route is a plain HTTP route.
type Route struct {
	// Pattern is an http.ServeMux pattern ("/t", "GET /ws").
	Pattern string
	Handler http.Handler
}

// Applier applies one offline mutation inside the sync push's transaction, by the same domain rules as
// the online RPC. op is the Mutation's op message (for add_note, *salesappv1.AddNote), already checked
// against the proto's rules. A *platform.Error of kind NotFound or PermissionDenied means the mutation lost
// a conflict (what it edits was deleted or left the caller's scope); any other *platform.Error, or data
// PostgreSQL refused, rejects it for good; anything else is transient and fails the whole push.
type Applier func(ctx context.Context, tx pgx.Tx, p authn.Principal, op proto.Message) error

// Connect describes a Connect service from its generated handler constructor
// (salesappv1connect.NewCardServiceHandler), the implementation and the procedures that need no token.
func Connect[H any](name string, newHandler func(H, ...connect.HandlerOption) (string, http.Handler), impl H, public ...string) Service {
	return Service{
		Name:   name,
		Mount:  func(o ...connect.HandlerOption) (string, http.Handler) { return newHandler(impl, o...) },
		Public: public,
	}
}

// Gates lists what the modules put behind plan features, for authn.Authenticator.Gate: each service of a
// module with a Feature by its path prefix, and each procedure a service names.
func Gates(mods []Module) map[string]authn.Feature {
	out := map[string]authn.Feature{}
	for _, m := range mods {
		for _, svc := range m.Services {
			if m.Feature != "" {
				out["/"+svc.Name+"/"] = m.Feature
			}
			for proc, f := range svc.Features {
				out[proc] = f
			}
		}
	}
	return out
}

// Gated wraps an offline mutation of a plan feature: a caller whose plan lacks it is refused with
// PermissionDenied (the mutation is rejected, as one that left the caller's scope).
func Gated(f authn.Feature, apply Applier) Applier {
	if f == "" {
		return apply
	}
	return func(ctx context.Context, tx pgx.Tx, p authn.Principal, op proto.Message) error {
		if err := p.RequireFeature(f); err != nil {
			return err
		}
		return apply(ctx, tx, p, op)
	}
}
