package server

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	connectcors "connectrpc.com/cors"
	"github.com/rs/cors"
	"golang.org/x/sync/singleflight"

	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/tenant"
	"github.com/salesapp/scrm/backend/tracking/trackingrpc"
)

// originsTTL is how long a node trusts the set of allowed page origins it read. A preflight carries no
// token, so no tenant is known: an origin is allowed when the server's list (SALESD_BEACON_ORIGINS) or any
// unexpired tenant's page origins name it. The set is read across tenants and kept for a few seconds, so a
// tenant's new origin works on every node within originsTTL (and a removed one stops within it) without a
// query per preflight. The trade-off: tenant A's page origin may call the public procedures with tenant B's
// share tokens too; those procedures take no session, so the token in the request is the whole of what a
// caller may reach, whatever its origin, and CORS only decides which pages' scripts may read the answers.
const originsTTL = 5 * time.Second

// pageOrigins is the cached set of allowed origins.
type pageOrigins struct {
	static  []string
	tenants *tenant.Service
	log     *slog.Logger
	now     func() time.Time

	group singleflight.Group
	mu    sync.RWMutex
	set   map[string]bool
	until time.Time
}

func newPageOrigins(static []string, tenants *tenant.Service, log *slog.Logger) *pageOrigins {
	o := &pageOrigins{tenants: tenants, log: log, now: time.Now}
	for _, s := range static {
		if c, err := tenant.ParseOrigin(s); err == nil {
			o.static = append(o.static, c)
		} else {
			log.Warn("SALESD_BEACON_ORIGINS: not an origin, ignored", slog.String("origin", s), slog.String("error", err.Error()))
		}
	}
	return o
}

// allowed reports whether a browser page on origin may call the public procedures.
func (o *pageOrigins) allowed(origin string) bool {
	if slices.Contains(o.static, origin) {
		return true
	}
	o.mu.RLock()
	set, fresh := o.set, o.now().Before(o.until)
	o.mu.RUnlock()
	if !fresh {
		// One read per node at a time, whatever the number of preflights waiting on it.
		v, _, _ := o.group.Do("origins", func() (any, error) { return o.refresh(), nil })
		set = v.(map[string]bool)
	}
	return set[origin]
}

// refresh reads the tenants' origins. On failure the previous set stays (a database hiccup does not break
// the pages' calls) and is tried again at the next preflight after a short pause.
func (o *pageOrigins) refresh() map[string]bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	list, err := o.tenants.AllowedPageOrigins(ctx)
	o.mu.Lock()
	defer o.mu.Unlock()
	if err != nil {
		o.log.WarnContext(ctx, "page origins not read; keeping the previous set", slog.String("error", err.Error()))
		o.until = o.now().Add(time.Second)
		if o.set == nil {
			return map[string]bool{}
		}
		return o.set
	}
	set := make(map[string]bool, len(list))
	for _, s := range list {
		set[s] = true
	}
	o.set, o.until = set, o.now().Add(originsTTL)
	return set
}

// pagePaths are the paths customers' pages call from browsers: the public procedures of the services
// pages use (not the staff's sign-in, which apps call natively) and the beacon endpoint.
func pagePaths(public []string) []string {
	paths := []string{trackingrpc.BeaconPath}
	for _, p := range public {
		if strings.HasPrefix(p, "/"+salesappv1connect.PublicServiceName+"/") || strings.HasPrefix(p, "/"+salesappv1connect.TrackingServiceName+"/") {
			paths = append(paths, p)
		}
	}
	return paths
}

// withCORS answers CORS on the public procedures and the beacon endpoint (paths), with the methods and
// headers Connect, gRPC-Web and the beacon need, and passes every other request through untouched.
func withCORS(next http.Handler, paths []string, origins *pageOrigins) http.Handler {
	c := cors.New(cors.Options{
		AllowOriginFunc: origins.allowed,
		AllowedMethods:  connectcors.AllowedMethods(),
		AllowedHeaders:  connectcors.AllowedHeaders(),
		ExposedHeaders:  connectcors.ExposedHeaders(),
		// Browsers cap it (Chromium at 2 h); a day says "as long as you keep it".
		MaxAge: 86400,
	})
	public := make(map[string]bool, len(paths))
	for _, p := range paths {
		public[p] = true
	}
	withHeaders := c.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if public[r.URL.Path] {
			withHeaders.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
