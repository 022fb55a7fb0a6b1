// Package diag answers what the app may ask before anyone signs in: that the server is there, what build
// it runs, and which app versions it accepts.
package diag

import (
	"errors"
	"runtime/debug"

	"github.com/salesapp/scrm/backend/platform/appversion"
)

// APIVersion is the API the server speaks.
const APIVersion = "salesapp.v1"

// Status is what the server makes of an app's version.
type Status int

// The statuses.
const (
	// Unknown: the app did not say (or said something that is not a version).
	Unknown Status = iota
	// Supported: within the accepted range.
	Supported
	// TooOld: older than the oldest accepted; the app must be updated.
	TooOld
	// TooNew: newer than the newest accepted.
	TooNew
)

// Info is the server's description of itself.
type Info struct {
	// ServerVersion is the build's version (see BuildVersion).
	ServerVersion string
	// MinAppVersion is the oldest app version accepted; MaxAppVersion the newest ("" for no bound).
	MinAppVersion, MaxAppVersion string

	min, max appversion.Version
	hasMax   bool
}

// NewInfo checks the accepted range (as the configuration gives it) and describes this build.
func NewInfo(minApp, maxApp string) (Info, error) {
	if minApp == "" {
		minApp = "0"
	}
	i := Info{ServerVersion: BuildVersion(), MinAppVersion: minApp, MaxAppVersion: maxApp}
	var err error
	if i.min, err = appversion.Parse(minApp); err != nil {
		return Info{}, errors.New("SALESD_MIN_APP_VERSION: " + err.Error())
	}
	if maxApp != "" {
		if i.max, err = appversion.Parse(maxApp); err != nil {
			return Info{}, errors.New("SALESD_MAX_APP_VERSION: " + err.Error())
		}
		if appversion.Compare(i.max, i.min) < 0 {
			return Info{}, errors.New("SALESD_MAX_APP_VERSION: must not be older than SALESD_MIN_APP_VERSION")
		}
		i.hasMax = true
	}
	return i, nil
}

// Check says whether the server accepts an app version.
func (i Info) Check(appVersion string) Status {
	v, err := appversion.Parse(appVersion)
	switch {
	case appVersion == "" || err != nil:
		return Unknown
	case appversion.Compare(v, i.min) < 0:
		return TooOld
	case i.hasMax && appversion.Compare(v, i.max) > 0:
		return TooNew
	}
	return Supported
}

// BuildVersion names the running build: the main module's version when it was built from a tagged
// module, else its VCS revision (with "-dirty" for uncommitted changes), else "devel".
func BuildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}
