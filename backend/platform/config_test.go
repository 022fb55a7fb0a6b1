package platform

import (
	"bytes"
	"maps"
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
	require.Empty(t, c.MigrateDatabaseURL, "never the app URL: migrating as the app role would make it own the tables")
	require.Equal(t, 15*time.Minute, c.AccessTokenTTL)
	require.Len(t, c.TokenKeys, 2)
	require.Equal(t, PasswordConfig{Time: 2, MemoryKiB: 19 << 10, Threads: 1, Slots: 0, Queue: 32}, c.Passwords)
}

func TestLoadConfigReportsEveryBadValueWithoutEchoingIt(t *testing.T) {
	t.Parallel()
	_, err := LoadConfig(env(map[string]string{
		"SALESD_DATABASE_URL": "postgres://x", "SALESD_TOKEN_KEYS": "secret-but-short",
		"SALESD_ACCESS_TOKEN_TTL": "soon", "SALESD_LOG_FORMAT": "xml", "SALESD_DB_MAX_CONNS": "-1",
		"SALESD_ARGON2_MEMORY_KIB": "64", "SALESD_ARGON2_THREADS": "0",
	}))
	require.Error(t, err)
	for _, name := range []string{"SALESD_TOKEN_KEYS", "SALESD_ACCESS_TOKEN_TTL", "SALESD_LOG_FORMAT", "SALESD_DB_MAX_CONNS",
		"SALESD_ARGON2_MEMORY_KIB", "SALESD_ARGON2_THREADS"} {
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

func TestDebugAddrIsLoopbackOnly(t *testing.T) {
	t.Parallel()
	base := map[string]string{"SALESD_DATABASE_URL": "postgres://x", "SALESD_TOKEN_KEYS": strings.Repeat("ab", 32)}
	for addr, ok := range map[string]bool{"127.0.0.1:6060": true, "[::1]:6060": true, "localhost:6060": true,
		":6060": false, "0.0.0.0:6060": false, "10.0.0.5:6060": false, "127.0.0.1": false} {
		vars := maps.Clone(base)
		vars["SALESD_DEBUG_ADDR"] = addr
		c, err := LoadConfig(env(vars))
		if ok {
			require.NoError(t, err, addr)
			require.Equal(t, addr, c.DebugAddr)
		} else {
			require.ErrorContains(t, err, "SALESD_DEBUG_ADDR", addr)
		}
	}
}

func TestSessionLifetimeAndAppVersions(t *testing.T) {
	t.Parallel()
	base := map[string]string{"SALESD_DATABASE_URL": "postgres://x", "SALESD_TOKEN_KEYS": strings.Repeat("ab", 32)}
	c, err := LoadConfig(env(base))
	require.NoError(t, err)
	require.Equal(t, 90*24*time.Hour, c.SessionLifetime)
	require.Equal(t, "0", c.MinAppVersion)
	require.Empty(t, c.MaxAppVersion)

	for vars, bad := range map[[2]string]string{
		{"SALESD_MIN_APP_VERSION", "v2"}:       "SALESD_MIN_APP_VERSION",
		{"SALESD_MAX_APP_VERSION", "1.0"}:      "SALESD_MAX_APP_VERSION", // older than the minimum below
		{"SALESD_SESSION_LIFETIME", "1m"}:      "SALESD_SESSION_LIFETIME",
		{"SALESD_MAX_APP_VERSION", "two.zero"}: "SALESD_MAX_APP_VERSION",
	} {
		m := maps.Clone(base)
		m["SALESD_MIN_APP_VERSION"] = "1.2"
		m[vars[0]] = vars[1]
		_, err := LoadConfig(env(m))
		require.ErrorContains(t, err, bad, vars)
	}
}

func TestSecretKeys(t *testing.T) {
	t.Parallel()
	base := map[string]string{"SALESD_DATABASE_URL": "postgres://x", "SALESD_TOKEN_KEYS": strings.Repeat("ab", 32)}
	c, err := LoadConfig(env(base))
	require.NoError(t, err)
	require.Empty(t, c.SecretKeys, "optional: empty turns the WeCom bridge off")

	m := maps.Clone(base)
	m["SALESD_SECRET_KEYS"] = "k2:" + strings.Repeat("A", 43) + "=,k1:" + strings.Repeat("B", 43) + "="
	c, err = LoadConfig(env(m))
	require.NoError(t, err)
	require.Len(t, c.SecretKeys, 2)
	require.Equal(t, "k2", c.SecretKeys[0].ID)

	m["SALESD_SECRET_KEYS"] = "k1:dG9vIHNob3J0"
	_, err = LoadConfig(env(m))
	require.ErrorContains(t, err, "SALESD_SECRET_KEYS")
	require.NotContains(t, err.Error(), "dG9vIHNob3J0", "values are never echoed")
}

func TestTheHeapLimitLeavesRoomForTheImageBudget(t *testing.T) {
	t.Parallel()
	base := map[string]string{"SALESD_DATABASE_URL": "postgres://app@db/x", "SALESD_TOKEN_KEYS": strings.Repeat("ab", 32)}
	c, err := LoadConfig(env(base))
	require.NoError(t, err)
	require.EqualValues(t, (768+384)<<20, c.MemoryLimit(), "the default image budget and room for the rest")
	base["SALESD_IMAGE_MEMORY_MIB"] = "2048"
	c, err = LoadConfig(env(base))
	require.NoError(t, err)
	require.EqualValues(t, (2048+384)<<20, c.MemoryLimit(), "follows the budget")
	base["SALESD_MEMORY_LIMIT_MIB"] = "4096"
	c, err = LoadConfig(env(base))
	require.NoError(t, err)
	require.EqualValues(t, 4096<<20, c.MemoryLimit(), "or is set")
	base["SALESD_MEMORY_LIMIT_MIB"] = "-1"
	_, err = LoadConfig(env(base))
	require.ErrorContains(t, err, "SALESD_MEMORY_LIMIT_MIB")
}
