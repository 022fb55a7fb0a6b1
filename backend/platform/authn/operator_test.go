package authn

import (
	"bytes"
	"testing"
	"time"

	"aidanwoods.dev/go-paseto"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// Operator tokens and employees' access tokens never pass for each other, though the same keys seal both.
func TestOperatorTokensAreNotAccessTokens(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tokens, err := NewTokens([][]byte{bytes.Repeat([]byte{5}, 32)}, time.Minute, func() time.Time { return now })
	require.NoError(t, err)
	id := uuid.New()
	op, exp := tokens.IssueOperator(id)
	require.True(t, exp.After(now))
	got, err := tokens.VerifyOperator(op)
	require.NoError(t, err)
	require.Equal(t, id, got)

	_, err = tokens.Verify(op)
	require.ErrorIs(t, err, ErrInvalidToken, "an operator token is no access token")
	access, _ := tokens.Issue(Claims{TenantID: uuid.New(), EmployeeID: id, SessionID: uuid.New(), DeviceID: "d"})
	_, err = tokens.VerifyOperator(access)
	require.ErrorIs(t, err, ErrInvalidToken, "an access token is no operator token")

	// A token of the operator's purpose without the operator kind (a future kind) is refused too.
	robot := paseto.NewToken()
	robot.SetIssuedAt(now)
	robot.SetNotBefore(now.Add(-time.Minute))
	robot.SetExpiration(now.Add(time.Minute))
	robot.SetSubject(id.String())
	robot.SetString(claimKind, "robot")
	other := robot.V4Encrypt(tokens.keys[0], []byte(operatorImplicit))
	_, err = tokens.VerifyOperator(other)
	require.ErrorIs(t, err, ErrInvalidToken)

	now = now.Add(2 * time.Minute)
	_, err = tokens.VerifyOperator(op)
	require.ErrorIs(t, err, ErrInvalidToken, "expired")
}
