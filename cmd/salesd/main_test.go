package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"testing"

	"github.com/stretchr/testify/require"
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
