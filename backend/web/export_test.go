package web

import "time"

// SetSignInClock makes the sign-in tell time by now (states and cookies expire by it).
func SetSignInClock(s *Service, now func() time.Time) { s.signin.now = now }

// CacheLoads counts the page cache's loads that reached the database.
func CacheLoads(s *Service) int64 { return s.cache.loads.Load() }

// CacheUsage reports the page cache's entries and bytes.
func CacheUsage(s *Service) (int, int64) { return s.cache.usage() }
