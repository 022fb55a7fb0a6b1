package sealed_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform/sealed"
)

func key(id string, b byte) sealed.Key {
	return sealed.Key{ID: id, Secret: bytes.Repeat([]byte{b}, 32)}
}

func TestSealOpenAndBinding(t *testing.T) {
	t.Parallel()
	s, err := sealed.New([]sealed.Key{key("k1", 1)})
	require.NoError(t, err)
	v := s.Seal([]byte("agent secret"), []byte("tenant-a/agent_secret"))
	require.True(t, strings.HasPrefix(v, "v1:k1:"))
	require.NotContains(t, v, "agent secret")
	require.NotEqual(t, v, s.Seal([]byte("agent secret"), []byte("tenant-a/agent_secret")), "a fresh nonce each time")
	pt, err := s.Open(v, []byte("tenant-a/agent_secret"))
	require.NoError(t, err)
	require.Equal(t, "agent secret", string(pt))

	_, err = s.Open(v, []byte("tenant-b/agent_secret"))
	require.ErrorIs(t, err, sealed.ErrOpen, "bound to its tenant and field")
	tampered := v[:len(v)-2] + "AA"
	if tampered == v {
		tampered = v[:len(v)-2] + "BB"
	}
	_, err = s.Open(tampered, []byte("tenant-a/agent_secret"))
	require.ErrorIs(t, err, sealed.ErrOpen)
	for _, bad := range []string{"", "plain", "v1:k1", "v1:k1:!!", "v1:k1:AAAA"} {
		_, err = s.Open(bad, nil)
		require.ErrorIs(t, err, sealed.ErrOpen, bad)
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	old, err := sealed.New([]sealed.Key{key("k1", 1)})
	require.NoError(t, err)
	v1 := old.Seal([]byte("s"), []byte("ad"))

	rotated, err := sealed.New([]sealed.Key{key("k2", 2), key("k1", 1)})
	require.NoError(t, err)
	require.Equal(t, "k2", rotated.CurrentKey())
	pt, err := rotated.Open(v1, []byte("ad"))
	require.NoError(t, err, "old keys still open")
	require.Equal(t, "s", string(pt))

	v2, changed, err := rotated.Rewrap(v1, []byte("ad"))
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, "k2", sealed.KeyOf(v2))
	same, changed, err := rotated.Rewrap(v2, []byte("ad"))
	require.NoError(t, err)
	require.False(t, changed)
	require.Equal(t, v2, same)

	dropped, err := sealed.New([]sealed.Key{key("k2", 2)})
	require.NoError(t, err)
	_, err = dropped.Open(v1, []byte("ad"))
	require.ErrorIs(t, err, sealed.ErrOpen, "a dropped key opens nothing")
	pt, err = dropped.Open(v2, []byte("ad"))
	require.NoError(t, err)
	require.Equal(t, "s", string(pt))
}

func TestParseKeys(t *testing.T) {
	t.Parallel()
	a := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	b := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{8}, 32))
	keys, err := sealed.ParseKeys("k2:" + a + ", k1:" + b)
	require.NoError(t, err)
	require.Len(t, keys, 2)
	require.Equal(t, "k2", keys[0].ID)
	for _, bad := range []string{"", "k1", "k1:short", "k1:" + a + ",k1:" + b, "bad id:" + a} {
		_, err := sealed.ParseKeys(bad)
		require.Error(t, err, bad)
	}
	_, err = sealed.New([]sealed.Key{{ID: "k", Secret: []byte("short")}})
	require.Error(t, err)
}
