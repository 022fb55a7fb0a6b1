package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCheckFindsEachViolation is the violating fixture: one forbidden import per rule, beside allowed ones.
func TestCheckFindsEachViolation(t *testing.T) {
	fixture := []Package{
		{ImportPath: "backend/platform/jobs", Imports: []string{"backend/platform", "backend/customer", "push/alert"}},
		{ImportPath: "sync/delta", Imports: []string{"backend/platform/authn", "backend/tracking"}},
		{ImportPath: "media", Imports: []string{"backend/card"}},
		{ImportPath: "backend/customer", Imports: []string{"backend/platform", "backend/share", connectGen, "backend/share/sharerpc"}},
		{ImportPath: "backend/card/cardrpc", Imports: []string{"backend/card", connectGen, "backend/platform/rpcserver"}},
		{ImportPath: "backend/server", Imports: []string{"backend/card/cardrpc", connectGen}},
		{ImportPath: "sync/replica", Imports: []string{connectGen}},
		{ImportPath: "backend/tracking", Imports: []string{"cmd/salesctl"}},
	}
	var got []string
	for _, v := range Check(fixture) {
		got = append(got, v.From+" -> "+v.To)
	}
	assert.Equal(t, []string{
		"backend/customer -> api/salesapp/v1/salesappv1connect",
		"backend/customer -> backend/share/sharerpc",
		"backend/platform/jobs -> backend/customer",
		"backend/platform/jobs -> push/alert",
		"backend/tracking -> cmd/salesctl",
		"media -> backend/card",
		"sync/delta -> backend/tracking",
	}, got)
}

// TestTreeFollowsTheLayers runs the check on this module, as make lint does.
func TestTreeFollowsTheLayers(t *testing.T) {
	t.Chdir("../..")
	pkgs, err := list()
	require.NoError(t, err)
	require.Greater(t, len(pkgs), 30)
	assert.Empty(t, Check(pkgs))
}
