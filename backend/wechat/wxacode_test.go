package wechat_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/wechat"
	"github.com/salesapp/scrm/backend/wechat/wechattest"
)

func TestMiniProgramCode(t *testing.T) {
	t.Parallel()
	srv := wechattest.New(t)
	c, _ := newClient(t, srv)

	png, err := c.MiniProgramCode(t.Context(), "s=AbCd-_0123456789", "", 430)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(png, []byte("\x89PNG")))
	assert.Equal(t, []string{"s=AbCd-_0123456789"}, srv.Scenes())

	// A stale token is refreshed once, as for every API that takes one.
	srv.ExpireToken()
	_, err = c.MiniProgramCode(t.Context(), "s=x", "", 430)
	require.NoError(t, err)
	assert.Equal(t, 2, srv.TokenFetches())

	// Scenes WeChat would refuse are refused before calling it.
	for _, bad := range []string{"", strings.Repeat("a", 33), "s=中文", "a b", "s=%"} {
		_, err := c.MiniProgramCode(t.Context(), bad, "", 430)
		assert.Equal(t, platform.KindInvalid, platform.KindOf(err), bad)
	}
	assert.Len(t, srv.Scenes(), 2)

	// An errcode instead of the image is an error, not an image.
	srv.FailNext(wechattest.WXACode, 1, 45009)
	_, err = c.MiniProgramCode(t.Context(), "s=y", "", 430)
	assert.Equal(t, 45009, apiCode(t, err))
	assert.True(t, wechat.ValidScene("s=AbCd-_0123456789"))
}
