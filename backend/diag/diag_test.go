package diag

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestInfoChecksTheAcceptedRange(t *testing.T) {
	t.Parallel()
	i, err := NewInfo("2.1", "3.0.5")
	require.NoError(t, err)
	require.NotEmpty(t, i.ServerVersion)
	for v, want := range map[string]Status{
		"": Unknown, "x": Unknown, "2.0.9": TooOld, "2.1.0": Supported, "2.1.0-beta": Supported,
		"3.0.5+77": Supported, "3.0.6": TooNew, "10.0": TooNew,
	} {
		require.Equal(t, want, i.Check(v), v)
	}

	open, err := NewInfo("", "")
	require.NoError(t, err)
	require.Equal(t, Supported, open.Check("0.0.1"))
	require.Equal(t, Supported, open.Check("999999"))

	_, err = NewInfo("3", "2")
	require.ErrorContains(t, err, "SALESD_MAX_APP_VERSION")
	_, err = NewInfo("v1", "")
	require.ErrorContains(t, err, "SALESD_MIN_APP_VERSION")
}
