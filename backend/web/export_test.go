package web

import (
	"time"

	"golang.org/x/time/rate"
)

// SetSignInClock makes the sign-in tell time by now (states and cookies expire by it).
func SetSignInClock(s *Service, now func() time.Time) { s.signin.now = now }

// CacheLoads counts the page cache's loads that reached the database.
func CacheLoads(s *Service) int64 { return s.cache.loads.Load() }

// CacheUsage reports the page cache's entries and bytes.
func CacheUsage(s *Service) (int, int64) { return s.cache.usage() }

// SetLookupRate replaces the node's budget of uncached link lookups with perSecond, in bursts of one.
func SetLookupRate(s *Service, perSecond float64) {
	s.lookups = &lookupGate{lim: rate.NewLimiter(rate.Limit(perSecond), 1)}
}
