package embedded

import (
	"bufio"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestChunkReader(t *testing.T) {
	t.Parallel()
	read := func(body string) (string, error) {
		b, err := io.ReadAll(&chunkReader{r: bufio.NewReader(strings.NewReader(body))})
		return string(b), err
	}
	got, err := read("5;chunk-signature=ab\r\nhello\r\n6;chunk-signature=cd\r\n world\r\n0;chunk-signature=ef\r\n\r\n")
	require.NoError(t, err)
	require.Equal(t, "hello world", got)

	got, err = read("3\r\nabc\r\n0\r\nx-amz-checksum-crc32c:AAAAAA==\r\nx-amz-trailer-signature:00\r\n\r\n")
	require.NoError(t, err)
	require.Equal(t, "abc", got)

	got, err = read("3\r\nabc\r\n0\r\n")
	require.NoError(t, err, "a body cut after the last chunk")
	require.Equal(t, "abc", got)

	for _, bad := range []string{"", "zz\r\nabc\r\n", "5\r\nabc", "3\r\nabcXY0\r\n\r\n", "-1\r\n"} {
		_, err := read(bad)
		require.Error(t, err, "%q", bad)
	}
}
