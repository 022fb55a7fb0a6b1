package platform

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfigDefaultsAndRequired(t *testing.T) {
	t.Parallel()
	_, err := LoadConfig(env(nil))
	require.ErrorContains(t, err, "SALESD_DATABASE_URL")
	require.ErrorContains(t, err, "SALESD_TOKEN_KEYS")

	key := strings.Repeat("ab", 32)
	c, err := LoadConfig(env(map[string]string{"SALESD_DATABASE_URL": "postgres://app@db/x", "SALESD_TOKEN_KEYS": key + ", " + strings.Repeat("cd", 32)}))
	require.NoError(t, err)
	require.Equal(t, ":8080", c.HTTPAddr)
	require.Equal(t, "postgres://app@db/x", c.MigrateDatabaseURL, "defaults to the app URL")
	require.Equal(t, 15*time.Minute, c.AccessTokenTTL)
	require.Len(t, c.TokenKeys, 2)
}

func TestLoadConfigReportsEveryBadValueWithoutEchoingIt(t *testing.T) {
	t.Parallel()
	_, err := LoadConfig(env(map[string]string{
		"SALESD_DATABASE_URL": "postgres://x", "SALESD_TOKEN_KEYS": "secret-but-short",
		"SALESD_ACCESS_TOKEN_TTL": "soon", "SALESD_LOG_FORMAT": "xml", "SALESD_DB_MAX_CONNS": "-1",
	}))
	require.Error(t, err)
	for _, name := range []string{"SALESD_TOKEN_KEYS", "SALESD_ACCESS_TOKEN_TTL", "SALESD_LOG_FORMAT", "SALESD_DB_MAX_CONNS"} {
		require.ErrorContains(t, err, name)
	}
	require.NotContains(t, err.Error(), "secret-but-short")
}

func TestConfigUsageListsEveryVariable(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	ConfigUsage(&b)
	for _, v := range configVars() {
		require.Contains(t, b.String(), v.name)
	}
}
