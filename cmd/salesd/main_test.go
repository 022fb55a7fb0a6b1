package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform/pgtest"
)

func TestHelpPrintsTheConfigTable(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(context.Background(), []string{"-h"}, func(string) string { return "" }, &out)
	require.True(t, errors.Is(err, flag.ErrHelp))
	for _, v := range []string{"SALESD_HTTP_ADDR", "SALESD_DATABASE_URL", "SALESD_TOKEN_KEYS", "SALESD_SHUTDOWN_TIMEOUT"} {
		require.Contains(t, out.String(), v)
	}
}

func TestMissingConfigurationIsNamed(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(context.Background(), nil, func(string) string { return "" }, &out)
	require.ErrorContains(t, err, "SALESD_DATABASE_URL")
	require.ErrorContains(t, err, "SALESD_TOKEN_KEYS")
}

// salesd refuses to start as a role that row-level security does not bind, and says why.
func TestRefusesARoleThatBypassesRowLevelSecurity(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	for dbURL, want := range map[string]string{db.OwnerURL: "owns tables", db.SuperURL: "superuser"} {
		env := map[string]string{"SALESD_DATABASE_URL": dbURL, "SALESD_TOKEN_KEYS": strings.Repeat("ab", 32), "SALESD_HTTP_ADDR": "127.0.0.1:0"}
		var out bytes.Buffer
		err := run(context.Background(), nil, func(k string) string { return env[k] }, &out)
		require.ErrorContains(t, err, want)
		require.ErrorContains(t, err, "SALESD_DATABASE_URL")
	}
}
