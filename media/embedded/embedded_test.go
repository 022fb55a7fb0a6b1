package embedded_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/media"
	"github.com/salesapp/scrm/media/embedded"
)

func start(t *testing.T, dir string) (*embedded.Server, *media.Store) {
	t.Helper()
	srv, err := embedded.Start(context.Background(), dir, "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	store, err := media.New(context.Background(), srv.Config("media"))
	require.NoError(t, err)
	return srv, store
}

func pngBytes(t *testing.T) []byte {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, 30, 20))
	for i := range m.Pix {
		m.Pix[i] = byte(i * 13)
	}
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, m))
	return b.Bytes()
}

func send(t *testing.T, req *http.Request) (int, []byte, http.Header) {
	t.Helper()
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, body, res.Header
}

func put(t *testing.T, tk media.UploadTicket, contentType string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, tk.PutURL, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	status, msg, _ := send(t, req)
	require.Less(t, status, 300, string(msg))
	return status
}

func get(t *testing.T, url string) ([]byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	status, body, hdr := send(t, req)
	require.Equal(t, http.StatusOK, status, string(body))
	return body, hdr
}

func TestPresignedRoundTrip(t *testing.T) {
	t.Parallel()
	_, s := start(t, t.TempDir())
	ctx := context.Background()
	tenant := uuid.New()
	body := pngBytes(t)

	tk, err := s.PresignUpload(ctx, tenant, media.KindImage, "image/png", int64(len(body)))
	require.NoError(t, err)
	put(t, tk, tk.PutHeaders["Content-Type"], body)
	info, err := s.Finalize(ctx, tenant, tk.Key, media.KindImage, "image/png", int64(len(body)))
	require.NoError(t, err)
	require.Equal(t, int64(len(body)), info.Size)
	require.Equal(t, "image/png", info.ContentType)

	require.NotEqual(t, tk.Key, info.Key, "finalize copies the checked bytes to a key no ticket can write")
	u, err := s.PresignGet(ctx, tenant, info.Key, 0)
	require.NoError(t, err)
	got, hdr := get(t, u)
	require.Equal(t, body, got)
	require.Equal(t, "image/png", hdr.Get("Content-Type"))
}

func TestPresignedPostRoundTrip(t *testing.T) {
	t.Parallel()
	_, s := start(t, t.TempDir())
	ctx := context.Background()
	tenant := uuid.New()
	body := []byte("%PDF-1.7\n%%EOF\n")

	tk, err := s.PresignUpload(ctx, tenant, media.KindPDF, "application/pdf", int64(len(body)))
	require.NoError(t, err)
	var form bytes.Buffer
	w := multipart.NewWriter(&form)
	for k, v := range tk.PostFields {
		require.NoError(t, w.WriteField(k, v))
	}
	fw, err := w.CreateFormFile("file", "brochure.pdf")
	require.NoError(t, err)
	_, err = fw.Write(body)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	req, err := http.NewRequest(http.MethodPost, tk.PostURL, &form)
	require.NoError(t, err)
	req.Header.Set("Content-Type", w.FormDataContentType())
	status, msg, _ := send(t, req)
	require.Less(t, status, 300, string(msg))

	info, err := s.Finalize(ctx, tenant, tk.Key, media.KindPDF, "application/pdf", int64(len(body)))
	require.NoError(t, err)
	u, err := s.PresignDownload(ctx, tenant, info.Key, time.Minute, "手册.pdf")
	require.NoError(t, err)
	got, hdr := get(t, u)
	require.Equal(t, body, got)
	require.Contains(t, hdr.Get("Content-Disposition"), "attachment")
}

// The embedded store accepts what MinIO would refuse (here, a PUT with another content type than
// signed); Finalize is what catches it.
func TestFinalizeGuardsWhatTheStoreDoesNotEnforce(t *testing.T) {
	t.Parallel()
	_, s := start(t, t.TempDir())
	ctx := context.Background()
	tenant := uuid.New()
	html := []byte("<html><script>alert(1)</script></html>")

	tk, err := s.PresignUpload(ctx, tenant, media.KindImage, "image/png", int64(len(html)))
	require.NoError(t, err)
	put(t, tk, "text/html", html)
	_, err = s.Finalize(ctx, tenant, tk.Key, media.KindImage, "image/png", int64(len(html)))
	require.Equal(t, platform.KindInvalid, platform.KindOf(err), "%v", err)
	_, err = s.Stat(ctx, tk.Key)
	require.Equal(t, platform.KindNotFound, platform.KindOf(err), "the refused upload is gone")
}

func TestObjectsPersistAcrossRestarts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	key := media.PlatformKey("thumb", "jpg")
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB

	srv, s := start(t, dir)
	require.NoError(t, s.Put(ctx, key, bytes.NewReader(big), int64(len(big)), "image/jpeg"))
	require.NoError(t, s.Put(ctx, "t/other/key", bytes.NewReader([]byte("x")), 1, "text/plain"))
	require.NoError(t, srv.Close())

	_, s = start(t, dir)
	r, info, err := s.Get(ctx, key)
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	require.Equal(t, big, got)
	require.Equal(t, "image/jpeg", info.ContentType)
	require.NotEmpty(t, info.ETag)

	require.NoError(t, s.Delete(ctx, key, "t/other/key", "never/was"))
	_, err = s.Stat(ctx, key)
	require.Equal(t, platform.KindNotFound, platform.KindOf(err))
}

// minio-go features beyond media.Store's own use still behave: ranges, listings with prefixes and pages,
// overwrites.
func TestBehavesLikeS3(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, t.TempDir())
	cfg := srv.Config("media")
	c, err := minio.New(cfg.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""), Region: cfg.Region})
	require.NoError(t, err)
	ctx := context.Background()

	for _, k := range []string{"a/1", "a/2", "a/b/3", "c/4", "a/0"} {
		body := []byte("content of " + k)
		_, err := c.PutObject(ctx, "media", k, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ContentType: "text/plain"})
		require.NoError(t, err)
	}
	_, err = c.PutObject(ctx, "media", "a/1", bytes.NewReader([]byte("new")), 3, minio.PutObjectOptions{})
	require.NoError(t, err)

	var keys []string
	for o := range c.ListObjects(ctx, "media", minio.ListObjectsOptions{Prefix: "a/", MaxKeys: 2}) {
		require.NoError(t, o.Err)
		keys = append(keys, o.Key)
	}
	require.Equal(t, []string{"a/0", "a/1", "a/2", "a/b/"}, keys)

	opts := minio.GetObjectOptions{}
	require.NoError(t, opts.SetRange(3, 6))
	obj, err := c.GetObject(ctx, "media", "a/2", opts)
	require.NoError(t, err)
	got, err := io.ReadAll(obj)
	require.NoError(t, err)
	require.Equal(t, "tent", string(got))

	obj, err = c.GetObject(ctx, "media", "a/1", minio.GetObjectOptions{})
	require.NoError(t, err)
	got, err = io.ReadAll(obj)
	require.NoError(t, err)
	require.Equal(t, "new", string(got))

	require.Error(t, c.RemoveBucket(ctx, "media"), "not empty")
}

func TestConfigForAllInterfaces(t *testing.T) {
	t.Parallel()
	srv, err := embedded.Start(context.Background(), t.TempDir(), "0.0.0.0:0")
	require.NoError(t, err)
	defer srv.Close()
	cfg := srv.Config("media")
	require.Regexp(t, `^127\.0\.0\.1:\d+$`, cfg.Endpoint)
	_, err = media.New(context.Background(), cfg)
	require.NoError(t, err)
	require.NoError(t, srv.Close())
	require.NoError(t, srv.Close(), "closing twice is fine")
}

// minio-go uploads objects of unknown size, or above 16 MiB, in parts with streaming signatures.
func TestMultipartPuts(t *testing.T) {
	t.Parallel()
	_, s := start(t, t.TempDir())
	ctx := context.Background()
	big := make([]byte, 17<<20)
	for i := range big {
		big[i] = byte(i * 31)
	}
	for _, c := range []struct {
		body []byte
		size int64
	}{{big, int64(len(big))}, {big[:1000], -1}} {
		key := media.PlatformKey("video", "mp4")
		require.NoError(t, s.Put(ctx, key, bytes.NewReader(c.body), c.size, "video/mp4"))
		r, info, err := s.Get(ctx, key)
		require.NoError(t, err)
		got, err := io.ReadAll(r)
		require.NoError(t, err)
		require.NoError(t, r.Close())
		require.Equal(t, int64(len(c.body)), info.Size)
		require.True(t, bytes.Equal(c.body, got), "size %d: content differs", c.size)
	}
}
