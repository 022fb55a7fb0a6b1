package wechat

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/salesapp/scrm/backend/platform"
)

// maxImageBytes bounds a mini-program code image (a few tens of KiB at the sizes we ask for).
const maxImageBytes = 2 << 20

// image is an answer that is an image, not JSON.
type image []byte

// MaxSceneLen is the longest scene getwxacodeunlimit takes.
const MaxSceneLen = 32

// sceneChars are the characters WeChat allows in a scene.
const sceneChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&'()*+,/:;=?@-._~"

// ValidScene reports whether scene is one getwxacodeunlimit takes: 1 to 32 of the characters it allows.
func ValidScene(scene string) bool {
	if scene == "" || len(scene) > MaxSceneLen {
		return false
	}
	for _, r := range scene {
		if !strings.ContainsRune(sceneChars, r) {
			return false
		}
	}
	return true
}

// MiniProgramCode makes the mini-program code (a PNG) that opens page (e.g. "pages/share/index", empty: the
// home page) with scene, which the page reads from its launch options. width is the code's size in pixels
// (280 to 1280). The client must be the mini-program's.
func (c *Client) MiniProgramCode(ctx context.Context, scene, page string, width int) ([]byte, error) {
	if !ValidScene(scene) {
		return nil, platform.Invalid("scene", fmt.Sprintf("1 to %d of the characters WeChat allows", MaxSceneLen))
	}
	body, err := json.Marshal(struct {
		Scene     string `json:"scene"`
		Page      string `json:"page,omitempty"`
		Width     int    `json:"width"`
		CheckPath bool   `json:"check_path"`
	}{scene, page, min(max(width, 280), 1280), false})
	if err != nil {
		return nil, fmt.Errorf("wechat getwxacodeunlimit: encode the request: %w", err)
	}
	var out image
	if err := c.callWithToken(ctx, "getwxacodeunlimit", http.MethodPost, "/wxa/getwxacodeunlimit", nil, body, &out); err != nil {
		return nil, translate(err, platform.KindInternal, "")
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("wechat getwxacodeunlimit: empty image")
	}
	return out, nil
}
