// Package appversion reads and orders the app's version numbers ("2.3.1", "2.3.1-beta.2", "2.3.1+45"),
// for the range of app versions a server accepts (SALESD_MIN_APP_VERSION, SALESD_MAX_APP_VERSION). Only
// the dotted numbers count: a pre-release or build suffix is ignored, and missing parts are zeros (2.3 is
// 2.3.0).
package appversion

import (
	"errors"
	"strconv"
	"strings"
)

// Version is a parsed version: up to four dotted numbers.
type Version [4]int

// maxPart bounds each number (six digits), so that parsing never overflows.
const maxPart = 999_999

var errSyntax = errors.New("must be dotted numbers such as 2.3.1 (a -suffix or +suffix is allowed)")

// Parse reads a version.
func Parse(s string) (Version, error) {
	var v Version
	core, _, _ := strings.Cut(s, "+")
	core, _, _ = strings.Cut(core, "-")
	parts := strings.Split(core, ".")
	if core == "" || len(parts) > len(v) {
		return v, errSyntax
	}
	for i, p := range parts {
		if p == "" || len(p) > 6 || strings.TrimLeft(p, "0123456789") != "" {
			return v, errSyntax
		}
		n, err := strconv.Atoi(p)
		if err != nil || n > maxPart {
			return v, errSyntax
		}
		v[i] = n
	}
	return v, nil
}

// Compare returns -1, 0 or 1 as a is older than, the same as, or newer than b.
func Compare(a, b Version) int {
	for i := range a {
		switch {
		case a[i] < b[i]:
			return -1
		case a[i] > b[i]:
			return 1
		}
	}
	return 0
}
