package wecomapi

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"time"

	"github.com/salesapp/scrm/backend/platform"
)

// Temporary media (media/upload): what a welcome message's mini-program card shows as its cover is an image
// uploaded here, named by the media id WeCom answers, which works for MediaTTL.
const (
	// MediaTTL is how long a temporary media id works.
	MediaTTL = 3 * 24 * time.Hour
	// MaxImageBytes is the largest image WeCom takes as temporary media (JPG or PNG); the smallest is 6 bytes.
	MaxImageBytes  = 10 << 20
	minMediaBytes  = 6
	apiMediaUpload = "media/upload"
)

// UploadImage uploads a JPG or PNG image as temporary media (media/upload, type image) and answers its media
// id. filename is what WeCom shows; contentType is image/jpeg or image/png. It is not retried: each upload
// makes a new media id.
func (c *Client) UploadImage(ctx context.Context, filename, contentType string, data []byte) (string, error) {
	switch {
	case contentType != "image/jpeg" && contentType != "image/png":
		return "", platform.Invalid("image", "WeCom takes JPG or PNG images as media, not "+contentType)
	case len(data) < minMediaBytes || len(data) > MaxImageBytes:
		return "", platform.Invalid("image", fmt.Sprintf("WeCom takes images of %d bytes to %d MiB as media", minMediaBytes, MaxImageBytes>>20))
	}
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="media"; filename=%q; filelength=%d`, filename, len(data)))
	h.Set("Content-Type", contentType)
	part, err := form.CreatePart(h)
	if err != nil {
		return "", err
	}
	if _, err := part.Write(data); err != nil {
		return "", err
	}
	if err := form.Close(); err != nil {
		return "", err
	}
	var out struct {
		Type    string `json:"type"`
		MediaID string `json:"media_id"`
	}
	err = c.withToken(ctx, request{api: apiMediaUpload, method: http.MethodPost, query: url.Values{"type": {"image"}},
		body: body.Bytes(), contentType: form.FormDataContentType()}, &out)
	if err != nil {
		return "", err
	}
	if out.MediaID == "" {
		return "", fmt.Errorf("wecom %s: answer without media_id", apiMediaUpload)
	}
	return out.MediaID, nil
}
