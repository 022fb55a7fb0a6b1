package media_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/media"
)

func TestTenantKeyShape(t *testing.T) {
	t.Parallel()
	tenant := uuid.New()
	key := media.TenantKey(tenant, "qrcode", "png")
	parts := strings.Split(key, "/")
	require.Len(t, parts, 4)
	require.Equal(t, []string{"t", tenant.String(), "qrcode"}, parts[:3])
	name, ok := strings.CutSuffix(parts[3], ".png")
	require.True(t, ok)
	id, err := uuid.Parse(name)
	require.NoError(t, err)
	require.Equal(t, uuid.Version(7), id.Version())
	require.NotEqual(t, key, media.TenantKey(tenant, "qrcode", "png"))

	p := media.PlatformKey("poster-template", "jpg")
	require.True(t, strings.HasPrefix(p, "platform/poster-template/"), p)
	require.True(t, strings.HasSuffix(p, ".jpg"), p)
}

func TestTenantKeyRefusesMalformedParts(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ purpose, ext string }{
		{"", "png"}, {"QR", "png"}, {"qr/code", "png"}, {"..", "png"}, {"qr code", "png"},
		{"-qr", "png"}, {"qr-", "png"}, {"qr--code", "png"}, {"1qr", "png"}, {strings.Repeat("a", 33), "png"},
		{"qr", ""}, {"qr", ".png"}, {"qr", "PNG"}, {"qr", "p/g"}, {"qr", "abcdefghi"},
	} {
		require.Panics(t, func() { media.TenantKey(uuid.New(), c.purpose, c.ext) }, "%q %q", c.purpose, c.ext)
		require.Panics(t, func() { media.PlatformKey(c.purpose, c.ext) }, "%q %q", c.purpose, c.ext)
	}
}

func TestKindLimits(t *testing.T) {
	t.Parallel()
	require.Equal(t, int64(10<<20), media.KindImage.MaxBytes())
	require.Equal(t, int64(50<<20), media.KindPDF.MaxBytes())
	require.Equal(t, int64(500<<20), media.KindVideo.MaxBytes())
	require.Zero(t, media.Kind("other").MaxBytes())
	require.Equal(t, []string{"image/jpeg", "image/png", "image/webp", "image/gif"}, media.KindImage.ContentTypes())
	types := media.KindImage.ContentTypes()
	types[0] = "text/html"
	require.Equal(t, "image/jpeg", media.KindImage.ContentTypes()[0], "callers cannot change the allow-list")

	ct, err := media.CheckUpload(media.KindImage, " IMAGE/JPEG ; q=1", 1)
	require.NoError(t, err)
	require.Equal(t, "image/jpeg", ct)
}
