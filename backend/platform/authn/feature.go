package authn

import (
	"slices"
	"strings"

	"github.com/salesapp/scrm/backend/platform"
)

// Feature is a part of the product an enterprise's plan may include (the plans table, migration 027).
type Feature string

// The features plans sell.
const (
	FeatureTasks    Feature = "tasks"
	FeatureRankings Feature = "rankings"
	FeaturePools    Feature = "pools"
	FeatureExports  Feature = "exports"
	FeatureWeCom    Feature = "wecom"
)

// AllFeatures lists every feature, in the order operators see them.
var AllFeatures = []Feature{FeatureTasks, FeatureRankings, FeaturePools, FeatureExports, FeatureWeCom}

// Valid reports whether f is a known feature.
func (f Feature) Valid() bool { return slices.Contains(AllFeatures, f) }

// ParseFeatures converts stored feature names, leaving out any this build does not know.
func ParseFeatures(names []string) []Feature {
	out := make([]Feature, 0, len(names))
	for _, n := range names {
		if f := Feature(n); f.Valid() {
			out = append(out, f)
		}
	}
	return out
}

// label is how the refusal names the feature.
func (f Feature) label() string {
	switch f {
	case FeatureTasks:
		return "marketing tasks"
	case FeatureRankings:
		return "rankings"
	case FeaturePools:
		return "lead pools"
	case FeatureExports:
		return "exports"
	case FeatureWeCom:
		return "the WeCom bridge"
	}
	return string(f)
}

// Has reports whether the caller's plan includes f.
func (p Principal) Has(f Feature) bool { return slices.Contains(p.Features, f) }

// RequireFeature refuses, with PermissionDenied saying so, a caller whose enterprise's plan lacks f.
func (p Principal) RequireFeature(f Feature) error {
	if p.Has(f) {
		return nil
	}
	return platform.PermissionDenied("your enterprise's " + p.Plan + " plan does not include " + f.label() +
		": ask your administrator to upgrade")
}

// Gate puts procedures behind plan features: a full procedure name, or a service's path prefix
// ("/salesapp.v1.TaskService/") for all of its procedures. A caller whose enterprise's plan lacks the
// feature is refused with PermissionDenied saying so; public procedures (no caller) pass.
func (a *Authenticator) Gate(features map[string]Feature) *Authenticator {
	if a.features == nil {
		a.features = make(map[string]Feature, len(features))
	}
	for k, f := range features {
		a.features[k] = f
	}
	return a
}

// feature is what procedure needs ("" nothing).
func (a *Authenticator) feature(procedure string) Feature {
	if f, ok := a.features[procedure]; ok {
		return f
	}
	if i := strings.LastIndexByte(procedure, '/'); i > 0 {
		return a.features[procedure[:i+1]]
	}
	return ""
}

// admit checks the caller's plan against what procedure needs.
func (a *Authenticator) admit(p Principal, procedure string) error {
	if f := a.feature(procedure); f != "" {
		return p.RequireFeature(f)
	}
	return nil
}
