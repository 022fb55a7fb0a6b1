package web

import "time"

// SetSignInClock makes the sign-in tell time by now (states and cookies expire by it).
func SetSignInClock(s *Service, now func() time.Time) { s.signin.now = now }
