package authn

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestTokensRoundTripAndRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	claims := Claims{TenantID: uuid.New(), EmployeeID: uuid.New(), SessionID: uuid.New(), DeviceID: "phone"}

	old, err := NewTokens([][]byte{oldKey}, time.Minute, nil)
	require.NoError(t, err)
	tok, exp := old.Issue(claims)
	got, err := old.Verify(tok)
	require.NoError(t, err)
	require.True(t, exp.Equal(got.ExpiresAt))
	got.ExpiresAt = time.Time{}
	require.Equal(t, claims, got)

	// After rotation the new key issues and the old key's tokens still verify.
	rotated, err := NewTokens([][]byte{newKey, oldKey}, time.Minute, nil)
	require.NoError(t, err)
	_, err = rotated.Verify(tok)
	require.NoError(t, err)
	fresh, _ := rotated.Issue(claims)
	_, err = old.Verify(fresh)
	require.ErrorIs(t, err, ErrInvalidToken)
}

func TestTokensRefuseExpiredAndMalformed(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{3}, 32)
	now := time.Now()
	clock := func() time.Time { return now }
	tokens, err := NewTokens([][]byte{key}, time.Minute, clock)
	require.NoError(t, err)
	tok, _ := tokens.Issue(Claims{TenantID: uuid.New(), EmployeeID: uuid.New(), SessionID: uuid.New(), DeviceID: "d"})
	for _, bad := range []string{"", "Bearer x", "v4.local.", "v4.public." + tok[9:], tok + "A", tok[:len(tok)-2]} {
		_, err := tokens.Verify(bad)
		require.ErrorIs(t, err, ErrInvalidToken, bad)
	}
	now = now.Add(2 * time.Minute)
	_, err = tokens.Verify(tok)
	require.ErrorIs(t, err, ErrInvalidToken)

	_, err = NewTokens(nil, time.Minute, nil)
	require.Error(t, err)
	_, err = NewTokens([][]byte{{1, 2, 3}}, time.Minute, nil)
	require.Error(t, err)
}

func BenchmarkVerify(b *testing.B) {
	tokens, err := NewTokens([][]byte{bytes.Repeat([]byte{4}, 32)}, time.Minute, nil)
	require.NoError(b, err)
	tok, _ := tokens.Issue(Claims{TenantID: uuid.New(), EmployeeID: uuid.New(), SessionID: uuid.New(), DeviceID: "d"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tokens.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}
