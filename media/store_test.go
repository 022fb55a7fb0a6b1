package media_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/media"
	"github.com/salesapp/scrm/media/miniotest"
)

func newStore(t *testing.T) *media.Store {
	t.Helper()
	s, err := media.New(context.Background(), miniotest.New(t))
	require.NoError(t, err)
	return s
}

// pngBytes is a real, small PNG.
func pngBytes(t testing.TB) []byte {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for i := range m.Pix {
		m.Pix[i] = byte(i * 7)
	}
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, m))
	return b.Bytes()
}

func pdfBytes() []byte {
	return []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
}

// mp4Bytes starts like a real MP4 (or, with brand "qt  ", an iPhone .mov): an ftyp box, then some box.
func mp4Bytes(brand string) []byte {
	b := []byte{0, 0, 0, 24}
	b = append(b, "ftyp"+brand+"\x00\x00\x02\x00isomiso2"...)
	b = append(b, 0, 0, 0, 16)
	b = append(b, "free01234567"...)
	return append(b, bytes.Repeat([]byte{0xAB}, 700)...)
}

func webpBytes(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/blue-purple-pink.lossy.webp")
	require.NoError(t, err)
	return b
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(body)
}

// putUpload uploads body the way a phone would with the ticket's PUT, with the given Content-Type.
func putUpload(t *testing.T, tk media.UploadTicket, contentType string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, tk.PutURL, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range tk.PutHeaders {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", contentType)
	return do(t, req)
}

// postUpload uploads body the way a browser form would with the ticket's POST policy: the fields, then
// the file last. override replaces form fields (to try breaking the policy).
func postUpload(t *testing.T, tk media.UploadTicket, body []byte, override map[string]string) (int, string) {
	t.Helper()
	var form bytes.Buffer
	w := multipart.NewWriter(&form)
	for k, v := range tk.PostFields {
		if o, ok := override[k]; ok {
			v = o
		}
		require.NoError(t, w.WriteField(k, v))
	}
	fw, err := w.CreateFormFile("file", "upload.bin")
	require.NoError(t, err)
	_, err = fw.Write(body)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	req, err := http.NewRequest(http.MethodPost, tk.PostURL, &form)
	require.NoError(t, err)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return do(t, req)
}

func download(t *testing.T, rawURL string) (int, []byte, http.Header) {
	t.Helper()
	res, err := (&http.Client{Timeout: 30 * time.Second}).Get(rawURL)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, body, res.Header
}

func requireKind(t *testing.T, err error, kind platform.Kind, field string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, kind, platform.KindOf(err), "error: %v", err)
	if field != "" {
		var pe *platform.Error
		require.True(t, errors.As(err, &pe))
		require.Equal(t, field, pe.Field, "error: %v", err)
	}
}

func requireGone(t *testing.T, s *media.Store, key string) {
	t.Helper()
	_, err := s.Stat(context.Background(), key)
	requireKind(t, err, platform.KindNotFound, "")
}

func TestUploadFinalizeDownload(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	cases := []struct {
		name string
		kind media.Kind
		ct   string
		body []byte
		post bool
	}{
		{"png by put", media.KindImage, "image/png", pngBytes(t), false},
		{"png by post", media.KindImage, "image/png", pngBytes(t), true},
		{"webp by put", media.KindImage, "image/webp", webpBytes(t), false},
		{"pdf by post", media.KindPDF, "application/pdf", pdfBytes(), true},
		{"mp4 by put", media.KindVideo, "video/mp4", mp4Bytes("isom"), false},
		{"mov by post", media.KindVideo, "video/quicktime", mp4Bytes("qt  "), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			tenant := uuid.New()
			tk, err := s.PresignUpload(ctx, tenant, c.kind, c.ct, int64(len(c.body)))
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(tk.Key, "t/"+tenant.String()+"/upload/"), tk.Key)
			require.Equal(t, int64(len(c.body)), tk.MaxBytes)
			require.Equal(t, c.ct, tk.PutHeaders["Content-Type"])
			require.WithinDuration(t, time.Now().Add(media.UploadTTL), tk.ExpiresAt, 5*time.Second)

			var status int
			var msg string
			if c.post {
				status, msg = postUpload(t, tk, c.body, nil)
			} else {
				status, msg = putUpload(t, tk, c.ct, c.body)
			}
			require.Less(t, status, 300, msg)

			info, err := s.Finalize(ctx, tenant, tk.Key, c.kind, c.ct, int64(len(c.body)))
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(info.Key, "t/"+tenant.String()+"/file/"), info.Key)
			require.True(t, strings.HasSuffix(info.Key, path.Ext(tk.Key)), info.Key)
			require.Equal(t, media.ObjectInfo{Key: info.Key, Size: int64(len(c.body)), ContentType: c.ct, ETag: info.ETag}, info)
			require.NotEmpty(t, info.ETag)

			// The checked bytes moved to a key no ticket names; the ticket's key is free again, so a
			// second finalize finds nothing there (upload.Service answers it from its records).
			requireGone(t, s, tk.Key)
			_, err = s.Finalize(ctx, tenant, tk.Key, c.kind, c.ct, int64(len(c.body)))
			requireKind(t, err, platform.KindNotFound, "")

			u, err := s.PresignGet(ctx, tenant, info.Key, 0)
			require.NoError(t, err)
			status, got, hdr := download(t, u)
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, c.body, got)
			require.Equal(t, c.ct, hdr.Get("Content-Type"))
		})
	}
}

func TestPresignRefusesWhatTheKindDoesNotAllow(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	tenant := uuid.New()
	cases := []struct {
		kind  media.Kind
		ct    string
		size  int64
		field string
	}{
		{media.KindImage, "application/pdf", 100, "content_type"},
		{media.KindImage, "image/svg+xml", 100, "content_type"},
		{media.KindImage, "text/html", 100, "content_type"},
		{media.KindPDF, "image/png", 100, "content_type"},
		{media.KindVideo, "video/x-msvideo", 100, "content_type"},
		{media.Kind("exe"), "application/octet-stream", 100, "content_type"},
		{media.KindImage, "not a type", 100, "content_type"},
		{media.KindImage, "image/png", 10*media.MiB + 1, "size"},
		{media.KindPDF, "application/pdf", 50*media.MiB + 1, "size"},
		{media.KindVideo, "video/mp4", 500*media.MiB + 1, "size"},
		{media.KindImage, "image/png", 0, "size"},
		{media.KindImage, "image/png", -1, "size"},
	}
	for _, c := range cases {
		_, err := s.PresignUpload(ctx, tenant, c.kind, c.ct, c.size)
		requireKind(t, err, platform.KindInvalid, c.field)
		_, err = s.PresignPlatformUpload(ctx, c.kind, c.ct, c.size)
		requireKind(t, err, platform.KindInvalid, c.field)
	}

	// The limits themselves are fine, and types are compared without case or parameters.
	tk, err := s.PresignUpload(ctx, tenant, media.KindVideo, "Video/MP4; codecs=avc1", 500*media.MiB)
	require.NoError(t, err)
	require.Equal(t, "video/mp4", tk.PutHeaders["Content-Type"])
	require.True(t, strings.HasSuffix(tk.Key, ".mp4"))
}

func TestStorageEnforcesTheTicket(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	tenant := uuid.New()
	body := pngBytes(t)
	ticket := func() media.UploadTicket {
		tk, err := s.PresignUpload(ctx, tenant, media.KindImage, "image/png", int64(len(body)))
		require.NoError(t, err)
		return tk
	}

	t.Run("post larger than declared", func(t *testing.T) {
		t.Parallel()
		tk := ticket()
		status, msg := postUpload(t, tk, append(body, 0), nil)
		require.Equal(t, http.StatusBadRequest, status, msg)
		require.Contains(t, msg, "EntityTooLarge")
		requireGone(t, s, tk.Key)
	})
	t.Run("post smaller than declared", func(t *testing.T) {
		t.Parallel()
		tk := ticket()
		status, msg := postUpload(t, tk, body[:len(body)-1], nil)
		require.Equal(t, http.StatusBadRequest, status, msg)
		require.Contains(t, msg, "EntityTooSmall")
		requireGone(t, s, tk.Key)
	})
	t.Run("post with another content type", func(t *testing.T) {
		t.Parallel()
		tk := ticket()
		status, msg := postUpload(t, tk, body, map[string]string{"Content-Type": "text/html"})
		require.Equal(t, http.StatusForbidden, status, msg)
		requireGone(t, s, tk.Key)
	})
	t.Run("post to another key", func(t *testing.T) {
		t.Parallel()
		tk := ticket()
		other := media.TenantKey(uuid.New(), media.UploadPurpose, "png")
		status, msg := postUpload(t, tk, body, map[string]string{"key": other})
		require.Equal(t, http.StatusForbidden, status, msg)
		requireGone(t, s, other)
	})
	t.Run("put with another content type", func(t *testing.T) {
		t.Parallel()
		tk := ticket()
		status, msg := putUpload(t, tk, "text/html", body)
		require.Equal(t, http.StatusForbidden, status, msg)
		require.Contains(t, msg, "SignatureDoesNotMatch")
		requireGone(t, s, tk.Key)
	})
	t.Run("put larger than declared", func(t *testing.T) {
		t.Parallel()
		tk := ticket()
		status, msg := putUpload(t, tk, "image/png", append(body, 0))
		require.Equal(t, http.StatusForbidden, status, msg)
		require.Contains(t, msg, "SignatureDoesNotMatch", "the Content-Length is signed")
		requireGone(t, s, tk.Key)
	})
}

func TestFinalizeRefusesAndDeletes(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	tenant := uuid.New()
	body := pngBytes(t)
	upload := func(t *testing.T, ct string, body []byte) media.UploadTicket {
		t.Helper()
		tk, err := s.PresignUpload(ctx, tenant, media.KindImage, ct, int64(len(body)))
		require.NoError(t, err)
		status, msg := putUpload(t, tk, ct, body)
		require.Equal(t, http.StatusOK, status, msg)
		return tk
	}

	t.Run("size mismatch", func(t *testing.T) {
		t.Parallel()
		tk := upload(t, "image/png", body)
		_, err := s.Finalize(ctx, tenant, tk.Key, media.KindImage, "image/png", int64(len(body))+1)
		requireKind(t, err, platform.KindInvalid, "size")
		requireGone(t, s, tk.Key)
	})
	t.Run("type mismatch", func(t *testing.T) {
		t.Parallel()
		tk := upload(t, "image/png", body)
		_, err := s.Finalize(ctx, tenant, tk.Key, media.KindImage, "image/jpeg", int64(len(body)))
		requireKind(t, err, platform.KindInvalid, "content_type")
		requireGone(t, s, tk.Key)
	})
	t.Run("kind mismatch", func(t *testing.T) {
		t.Parallel()
		tk := upload(t, "image/png", body)
		_, err := s.Finalize(ctx, tenant, tk.Key, media.KindPDF, "image/png", int64(len(body)))
		requireKind(t, err, platform.KindInvalid, "content_type")
		requireGone(t, s, tk.Key)
	})
	t.Run("text signed and uploaded as png", func(t *testing.T) {
		t.Parallel()
		text := []byte("<html><script>alert(1)</script></html>")
		tk := upload(t, "image/png", text)
		_, err := s.Finalize(ctx, tenant, tk.Key, media.KindImage, "image/png", int64(len(text)))
		requireKind(t, err, platform.KindInvalid, "content_type")
		requireGone(t, s, tk.Key)
	})
	t.Run("renamed executable as pdf", func(t *testing.T) {
		t.Parallel()
		exe := append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), make([]byte, 600)...)
		tk, err := s.PresignUpload(ctx, tenant, media.KindPDF, "application/pdf", int64(len(exe)))
		require.NoError(t, err)
		status, msg := postUpload(t, tk, exe, nil)
		require.Less(t, status, 300, msg)
		_, err = s.Finalize(ctx, tenant, tk.Key, media.KindPDF, "application/pdf", int64(len(exe)))
		requireKind(t, err, platform.KindInvalid, "content_type")
		requireGone(t, s, tk.Key)
	})
	t.Run("png uploaded as video", func(t *testing.T) {
		t.Parallel()
		tk, err := s.PresignUpload(ctx, tenant, media.KindVideo, "video/mp4", int64(len(body)))
		require.NoError(t, err)
		status, msg := putUpload(t, tk, "video/mp4", body)
		require.Equal(t, http.StatusOK, status, msg)
		_, err = s.Finalize(ctx, tenant, tk.Key, media.KindVideo, "video/mp4", int64(len(body)))
		requireKind(t, err, platform.KindInvalid, "content_type")
		requireGone(t, s, tk.Key)
	})
	t.Run("nothing uploaded", func(t *testing.T) {
		t.Parallel()
		tk, err := s.PresignUpload(ctx, tenant, media.KindImage, "image/png", 10)
		require.NoError(t, err)
		_, err = s.Finalize(ctx, tenant, tk.Key, media.KindImage, "image/png", 10)
		requireKind(t, err, platform.KindNotFound, "")
	})
	t.Run("server objects are not uploads", func(t *testing.T) {
		t.Parallel()
		key := media.TenantKey(tenant, "qrcode", "png")
		require.NoError(t, s.Put(ctx, key, bytes.NewReader(body), int64(len(body)), "image/png"))
		_, err := s.Finalize(ctx, tenant, key, media.KindImage, "image/png", 1)
		requireKind(t, err, platform.KindPermissionDenied, "")
		_, err = s.Stat(ctx, key)
		require.NoError(t, err, "a refused finalize of a key that is not an upload deletes nothing")
	})
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	a, b := uuid.New(), uuid.New()
	body := pngBytes(t)

	tk, err := s.PresignUpload(ctx, b, media.KindImage, "image/png", int64(len(body)))
	require.NoError(t, err)
	status, msg := putUpload(t, tk, "image/png", body)
	require.Equal(t, http.StatusOK, status, msg)

	// Tenant A can neither finalize (and so delete, by lying) nor read B's object.
	_, err = s.Finalize(ctx, a, tk.Key, media.KindImage, "image/png", 1)
	requireKind(t, err, platform.KindPermissionDenied, "")
	_, err = s.PresignGet(ctx, a, tk.Key, time.Minute)
	requireKind(t, err, platform.KindPermissionDenied, "")
	_, err = s.PresignDownload(ctx, a, tk.Key, time.Minute, "x.png")
	requireKind(t, err, platform.KindPermissionDenied, "")
	bObject, err := s.Finalize(ctx, b, tk.Key, media.KindImage, "image/png", int64(len(body)))
	require.NoError(t, err, "B's object is untouched")

	// Keys that only look like A's are refused: another spelling could reach another object.
	rest := strings.TrimPrefix(tk.Key, "t/"+b.String()+"/")
	for _, key := range []string{
		"t/" + a.String() + "/../" + b.String() + "/" + rest,
		"t/" + a.String() + "/./" + rest,
		"t/" + a.String() + "//" + rest,
		"t/" + strings.ToUpper(a.String()) + "/" + rest,
		"t/" + a.String() + "/upload/../../" + b.String() + "/" + rest,
		"/t/" + a.String() + "/" + rest,
		"t/" + a.String(),
		"platform/../t/" + b.String() + "/" + rest,
		"",
	} {
		_, err = s.PresignGet(ctx, a, key, time.Minute)
		requireKind(t, err, platform.KindPermissionDenied, "")
		_, err = s.Finalize(ctx, a, key, media.KindImage, "image/png", int64(len(body)))
		requireKind(t, err, platform.KindPermissionDenied, "")
	}

	// Platform objects are readable by every tenant, and only FinalizePlatform finalizes them.
	pt, err := s.PresignPlatformUpload(ctx, media.KindImage, "image/png", int64(len(body)))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(pt.Key, media.PlatformPrefix+"upload/"), pt.Key)
	status, msg = postUpload(t, pt, body, nil)
	require.Less(t, status, 300, msg)
	_, err = s.Finalize(ctx, a, pt.Key, media.KindImage, "image/png", int64(len(body)))
	requireKind(t, err, platform.KindPermissionDenied, "")
	_, err = s.FinalizePlatform(ctx, tk.Key, media.KindImage, "image/png", int64(len(body)))
	requireKind(t, err, platform.KindPermissionDenied, "")
	pinfo, err := s.FinalizePlatform(ctx, pt.Key, media.KindImage, "image/png", int64(len(body)))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(pinfo.Key, media.PlatformPrefix+"file/"), pinfo.Key)
	for _, tenant := range []uuid.UUID{a, b} {
		u, err := s.PresignGet(ctx, tenant, pinfo.Key, time.Minute)
		require.NoError(t, err)
		status, got, _ := download(t, u)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, body, got)
		// ReadOf reads it whole, for either tenant (a cover handed on to WeCom), within its bound.
		data, ct, err := s.ReadOf(ctx, tenant, pinfo.Key, int64(len(body)))
		require.NoError(t, err)
		require.Equal(t, body, data)
		require.Equal(t, "image/png", ct)
		_, _, err = s.ReadOf(ctx, tenant, pinfo.Key, int64(len(body))-1)
		requireKind(t, err, platform.KindInvalid, "object")
	}
	// ReadOf reads a tenant's own objects only.
	_, _, err = s.ReadOf(ctx, a, bObject.Key, 1<<20)
	requireKind(t, err, platform.KindPermissionDenied, "")
	data, _, err := s.ReadOf(ctx, b, bObject.Key, 1<<20)
	require.NoError(t, err)
	require.Equal(t, body, data)
}

func TestPresignGetExpiry(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	tenant := uuid.New()
	key := media.TenantKey(tenant, "qrcode", "png")
	expires := func(ttl time.Duration) string {
		u, err := s.PresignGet(ctx, tenant, key, ttl)
		require.NoError(t, err)
		parsed, err := url.Parse(u)
		require.NoError(t, err)
		return parsed.Query().Get("X-Amz-Expires")
	}
	require.Equal(t, "600", expires(0))
	require.Equal(t, "120", expires(2*time.Minute))
	require.Equal(t, "3600", expires(5*time.Hour))
	_, err := s.PresignGet(ctx, tenant, key, -time.Second)
	requireKind(t, err, platform.KindInvalid, "ttl")
}

func TestPresignDownloadNamesTheFile(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	tenant := uuid.New()
	key := media.TenantKey(tenant, "brochure", "pdf")
	require.NoError(t, s.Put(ctx, key, bytes.NewReader(pdfBytes()), int64(len(pdfBytes())), "application/pdf"))

	u, err := s.PresignDownload(ctx, tenant, key, time.Minute, "产品手册 2026/v2.pdf")
	require.NoError(t, err)
	status, got, hdr := download(t, u)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, pdfBytes(), got)
	disp, params, err := mime.ParseMediaType(hdr.Get("Content-Disposition"))
	require.NoError(t, err)
	require.Equal(t, "attachment", disp)
	require.Equal(t, "产品手册 2026v2.pdf", params["filename"], "slashes are dropped from file names")

	_, err = s.PresignDownload(ctx, tenant, key, time.Minute, "\x00/\\")
	requireKind(t, err, platform.KindInvalid, "filename")
}

func TestServerSideObjects(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	key := media.PlatformKey("thumb", "jpg")
	missing := media.PlatformKey("thumb", "jpg")

	require.NoError(t, s.Put(ctx, key, strings.NewReader("jpeg bytes"), -1, "image/jpeg"))
	info, err := s.Stat(ctx, key)
	require.NoError(t, err)
	require.Equal(t, int64(10), info.Size)
	require.Equal(t, "image/jpeg", info.ContentType)

	r, info2, err := s.Get(ctx, key)
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	require.Equal(t, "jpeg bytes", string(got))
	require.Equal(t, info, info2)

	_, _, err = s.Get(ctx, missing)
	requireKind(t, err, platform.KindNotFound, "")
	_, err = s.Stat(ctx, missing)
	requireKind(t, err, platform.KindNotFound, "")

	require.NoError(t, s.Delete(ctx, key, missing))
	requireGone(t, s, key)
	require.NoError(t, s.Delete(ctx, key), "deleting again is fine")
	require.NoError(t, s.Delete(ctx))
}

func TestPublicEndpointSignsForTheClientsHost(t *testing.T) {
	t.Parallel()
	cfg := miniotest.New(t)
	_, port, ok := strings.Cut(cfg.Endpoint, ":")
	require.True(t, ok)
	cfg.PublicEndpoint = "http://localhost:" + port
	s, err := media.New(context.Background(), cfg)
	require.NoError(t, err)
	ctx := context.Background()
	tenant := uuid.New()
	body := pngBytes(t)

	tk, err := s.PresignUpload(ctx, tenant, media.KindImage, "image/png", int64(len(body)))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(tk.PutURL, "http://localhost:"+port+"/"), tk.PutURL)
	require.True(t, strings.HasPrefix(tk.PostURL, "http://localhost:"+port+"/"), tk.PostURL)
	status, msg := putUpload(t, tk, "image/png", body)
	require.Equal(t, http.StatusOK, status, msg)
	info, err := s.Finalize(ctx, tenant, tk.Key, media.KindImage, "image/png", int64(len(body)))
	require.NoError(t, err)
	u, err := s.PresignGet(ctx, tenant, info.Key, 0)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(u, "http://localhost:"+port+"/"), u)
	status, got, _ := download(t, u)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, body, got)
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	good := media.Config{Endpoint: "127.0.0.1:1", AccessKey: "a", SecretKey: "b", Bucket: "c"}
	for _, mutate := range []func(*media.Config){
		func(c *media.Config) { c.Endpoint = "" },
		func(c *media.Config) { c.Bucket = "" },
		func(c *media.Config) { c.SecretKey = "" },
		func(c *media.Config) { c.Endpoint = "http://127.0.0.1:1" },
		func(c *media.Config) { c.PublicEndpoint = "ftp://files.example.com" },
		func(c *media.Config) { c.PublicEndpoint = "https://files.example.com/some/path" },
	} {
		cfg := good
		mutate(&cfg)
		_, err := media.New(ctx, cfg)
		require.Error(t, err, "%+v", cfg)
	}
}

func TestStaleUploadsAreSweptAndFinalizedOnesStay(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	a, b := uuid.New(), uuid.New()
	body := pngBytes(t)
	put := func(key string) {
		require.NoError(t, s.Put(ctx, key, bytes.NewReader(body), int64(len(body)), "image/png"))
	}
	pending := []string{media.TenantKey(a, media.UploadPurpose, "png"), media.TenantKey(b, media.UploadPurpose, "png"),
		media.PlatformKey(media.UploadPurpose, "png")}
	kept := []string{media.TenantKey(a, media.FilePurpose, "png"), media.TenantKey(a, "thumb", "jpg"),
		media.TenantKey(b, "poster", "jpg"), media.PlatformKey(media.FilePurpose, "png")}
	for _, k := range append(append([]string{}, pending...), kept...) {
		put(k)
	}

	// Nothing was written before an hour ago.
	n, err := s.DeleteStaleUploads(ctx, time.Now().Add(-time.Hour), nil)
	require.NoError(t, err)
	require.Zero(t, n)
	// Everything was written before the cutoff: the upload keys go, the rest stays.
	n, err = s.DeleteStaleUploads(ctx, time.Now().Add(time.Hour), nil)
	require.NoError(t, err)
	require.Equal(t, len(pending), n)
	for _, k := range pending {
		requireGone(t, s, k)
	}
	for _, k := range kept {
		_, err := s.Stat(ctx, k)
		require.NoError(t, err, k)
	}
}
