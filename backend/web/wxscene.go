package web

import (
	"context"
	"net/url"
	"strings"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/backend/wechat"
)

// scenePrefix marks a scene that carries a share token ("s=" + token: 18 characters, within WeChat's 32).
const scenePrefix = "s="

// Scene is the mini-program code scene of a share token.
func Scene(token string) string { return scenePrefix + token }

var errUnknownScene = platform.NotFound("mini-program code")

// ResolveScene returns the share a mini-program code's scene carries. The mini-program gets the scene
// URL-encoded in its launch options; either form is accepted.
func (s *Service) ResolveScene(ctx context.Context, scene string) (share.Share, error) {
	if strings.Contains(scene, "%") {
		dec, err := url.QueryUnescape(scene)
		if err != nil {
			return share.Share{}, platform.Invalid("scene", "is not a valid URL-encoded scene")
		}
		scene = dec
	}
	token, ok := strings.CutPrefix(scene, scenePrefix)
	if !ok || token == "" || !wechat.ValidScene(scene) {
		return share.Share{}, errUnknownScene
	}
	sh, err := s.shares.Resolve(ctx, token)
	if platform.KindOf(err) == platform.KindNotFound {
		return share.Share{}, errUnknownScene
	}
	return sh, err
}

// miniProgramCodeWidth is the size of the codes made for cards and posters, in pixels.
const miniProgramCodeWidth = 430

// MiniProgramCode makes the mini-program code (PNG) of a share: scanned, it opens the mini-program's home
// page with the share's scene, which ResolveScene turns back into the share. Without a mini-program
// configured it is FailedPrecondition: cards and posters then carry the H5 link's QR code instead.
func (s *Service) MiniProgramCode(ctx context.Context, token string) ([]byte, error) {
	if s.wechat == nil {
		return nil, errNoMiniProgram
	}
	return s.wechat.MiniProgramCode(ctx, Scene(token), "", miniProgramCodeWidth)
}

// HasMiniProgram reports whether a mini-program is configured (codes can be mini-program codes).
func (s *Service) HasMiniProgram() bool { return s.wechat != nil }
