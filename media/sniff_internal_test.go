package media

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBytesMatchType(t *testing.T) {
	t.Parallel()
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	jpg := []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00")
	gif := []byte("GIF89a\x01\x00\x01\x00")
	webp := []byte("RIFF\x10\x00\x00\x00WEBPVP8 ")
	pdf := []byte("%PDF-1.4\n")
	mp4 := append([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"), make([]byte, 8)...)
	mov := append([]byte("\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  "), make([]byte, 8)...)
	exe := []byte("MZ\x90\x00\x03\x00\x00\x00")
	html := []byte("<!DOCTYPE html><html>")

	cases := []struct {
		ct   string
		head []byte
		ok   bool
	}{
		{"image/png", png, true}, {"image/jpeg", jpg, true}, {"image/gif", gif, true}, {"image/webp", webp, true},
		{"application/pdf", pdf, true}, {"video/mp4", mp4, true}, {"video/quicktime", mov, true},
		{"video/mp4", mov, true}, {"video/quicktime", mp4, true},
		{"image/png", jpg, false}, {"image/jpeg", png, false}, {"image/png", exe, false}, {"image/png", html, false},
		{"application/pdf", exe, false}, {"application/pdf", append([]byte(" "), pdf...), false},
		{"video/mp4", exe, false}, {"video/mp4", png, false}, {"video/mp4", nil, false},
		{"video/mp4", []byte("\x00\x00\x00\x09ftypmp42\x00\x00\x00\x00"), false}, // box too short
		{"video/mp4", []byte("\x00\x00\x00\x18ftyp\x00\x01\x02\x03\x00\x00\x00\x00"), false},
		{"text/html", html, false}, {"image/png", nil, false},
	}
	for _, c := range cases {
		require.Equal(t, c.ok, bytesMatchType(c.ct, c.head), "%s %q", c.ct, c.head)
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	good := "t/0190a0b2-7c4e-7d41-9a3e-0123456789ab/upload/0190a0b2-7c4e-7d41-9a3e-0123456789ab.png"
	sc, ok := parseKey(good)
	require.True(t, ok)
	require.Equal(t, "0190a0b2-7c4e-7d41-9a3e-0123456789ab", sc.tenant.String())
	require.Equal(t, "upload", sc.purpose)

	sc, ok = parseKey("platform/poster/abc_1.jpg")
	require.True(t, ok)
	require.True(t, sc.platform)

	for _, k := range []string{
		"", "t", "t/", "platform/", "platform/x", "platform/x/", "platform/x/.", "platform/x/..", "platform/X/a",
		"t/00000000-0000-0000-0000-000000000000/upload/a.png",
		"t/{0190a0b2-7c4e-7d41-9a3e-0123456789ab}/upload/a.png",
		"t/0190a0b27c4e7d419a3e0123456789ab/upload/a.png",
		"t/0190a0b2-7c4e-7d41-9a3e-0123456789ab/upload/a b.png",
		"t/0190a0b2-7c4e-7d41-9a3e-0123456789ab/upload/a%2fb.png",
		"t/0190a0b2-7c4e-7d41-9a3e-0123456789ab/upload/sub/a.png",
		"x/0190a0b2-7c4e-7d41-9a3e-0123456789ab/upload/a.png",
	} {
		_, ok := parseKey(k)
		require.False(t, ok, k)
	}
}

func TestJPEGOrientationNeverPanics(t *testing.T) {
	t.Parallel()
	// Truncations and corruptions of a valid EXIF header must come back as 1 (upright), never panic.
	exif := []byte("\xff\xd8\xff\xe1\x00\x22Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00\xff\xda")
	require.Equal(t, 6, jpegOrientation(exif))
	for i := range exif {
		_ = jpegOrientation(exif[:i])
		for _, v := range []byte{0x00, 0xff, 0x7f} {
			b := bytes.Clone(exif)
			b[i] = v
			o := jpegOrientation(b)
			require.True(t, o >= 1 && o <= 8)
		}
	}
}
