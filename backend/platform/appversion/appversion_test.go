package appversion

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseAndCompare(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"2.3.1", "2.3.1", 0},
		{"2.3", "2.3.0", 0},
		{"2.3.1-beta.2", "2.3.1", 0},
		{"2.3.1+45", "2.3.1", 0},
		{"2.10.0", "2.9.9", 1},
		{"1.0.0", "1.0.0.1", -1},
		{"0", "0.0.1", -1},
	} {
		a, err := Parse(c.a)
		require.NoError(t, err, c.a)
		b, err := Parse(c.b)
		require.NoError(t, err, c.b)
		require.Equal(t, c.want, Compare(a, b), "%s vs %s", c.a, c.b)
	}
	for _, bad := range []string{"", "v1.2", "1..2", "1.2.3.4.5", "1.x", "1234567", "-beta", "1.2 ", " 1"} {
		_, err := Parse(bad)
		require.Error(t, err, bad)
	}
}
