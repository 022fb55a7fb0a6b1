package web_test

import (
	"bytes"
	"context"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/web"
	"github.com/salesapp/scrm/backend/wechat"
	"github.com/salesapp/scrm/backend/wechat/wechattest"
)

// A card's mini-program code carries its share in the scene, and the mini-program resolves it back.
func TestMiniProgramCodeSceneResolvesToItsShare(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	wx := wechattest.New(t)
	d := f.deps
	d.WeChat = wechat.New(wx.Config(), nil)
	svc := web.NewService(d, 0)
	sh, err := f.shares.ShareCard(ctx, f.sales, event.ChannelChat)
	require.NoError(t, err)

	png, err := svc.MiniProgramCode(ctx, sh.Token)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(png, []byte("\x89PNG")))
	scenes := wx.Scenes()
	require.Len(t, scenes, 1)
	require.LessOrEqual(t, len(scenes[0]), wechat.MaxSceneLen)

	for _, scene := range []string{scenes[0], url.QueryEscape(scenes[0])} {
		got, err := svc.ResolveScene(ctx, scene)
		require.NoError(t, err, scene)
		require.Equal(t, sh.ID, got.ID)
		require.Equal(t, sh.Token, got.Token)
	}
	for _, bad := range []string{"s=unknown-token00", "x=" + sh.Token, sh.Token, "s=", "s=%zz"} {
		_, err := svc.ResolveScene(ctx, bad)
		require.Error(t, err, bad)
		require.Contains(t, []platform.Kind{platform.KindNotFound, platform.KindInvalid}, platform.KindOf(err), bad)
	}

	// Without a mini-program, codes are the H5 link's QR code (the caller's fallback).
	_, err = f.pages(0).MiniProgramCode(ctx, sh.Token)
	require.Equal(t, platform.KindFailedPrecondition, platform.KindOf(err))
	require.False(t, f.pages(0).HasMiniProgram())
}
