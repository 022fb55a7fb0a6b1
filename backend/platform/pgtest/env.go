package pgtest

import "os"

// getenv is the one place this package reads the process environment: tests have no other way to learn
// where the cluster `make test` started is.
func getenv(k string) string { return os.Getenv(k) }
