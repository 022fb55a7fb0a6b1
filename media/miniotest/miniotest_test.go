package miniotest_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/media"
	"github.com/salesapp/scrm/media/miniotest"
)

func TestEachTestGetsItsOwnBucket(t *testing.T) {
	t.Parallel()
	a, b := miniotest.New(t), miniotest.New(t)
	require.Equal(t, a.Endpoint, b.Endpoint, "one server per process")
	require.NotEqual(t, a.Bucket, b.Bucket)

	ctx := context.Background()
	sa, err := media.New(ctx, a)
	require.NoError(t, err)
	sb, err := media.New(ctx, b)
	require.NoError(t, err)
	require.NoError(t, sa.Put(ctx, "k", bytes.NewReader([]byte("hello")), 5, "text/plain"))

	r, info, err := sa.Get(ctx, "k")
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	require.NoError(t, r.Close())
	require.NoError(t, err)
	require.Equal(t, "hello", string(got))
	require.Equal(t, "text/plain", info.ContentType)

	_, err = sb.Stat(ctx, "k")
	require.Error(t, err, "the other bucket does not have it")
}
