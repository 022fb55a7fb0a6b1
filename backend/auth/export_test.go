package auth

// HashesComputed counts the argon2id computations s has made: what tests of the work sign-in does read.
func HashesComputed(s *Service) int64 { return s.pw.computed.Load() }

// LoginKey and MaskLogin expose the login forms to the external tests.
var (
	LoginKey  = loginKey
	MaskLogin = maskLogin
)
