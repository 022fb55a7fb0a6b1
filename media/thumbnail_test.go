package media_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/media"
)

func decodeJPEG(t *testing.T, b []byte) image.Image {
	t.Helper()
	m, format, err := image.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	require.Equal(t, "jpeg", format)
	return m
}

func encodePNG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, m))
	return b.Bytes()
}

func TestThumbnailScalesDownKeepingAspect(t *testing.T) {
	t.Parallel()
	src := image.NewRGBA(image.Rect(0, 0, 2000, 1000))
	for y := 0; y < 1000; y++ {
		for x := 0; x < 2000; x++ {
			// Left half red, right half blue: the halves must stay where they were.
			c := color.RGBA{R: 255, A: 255}
			if x >= 1000 {
				c = color.RGBA{B: 255, A: 255}
			}
			src.SetRGBA(x, y, c)
		}
	}
	out, err := media.Thumbnail(context.Background(), nil, bytes.NewReader(encodePNG(t, src)), 320)
	require.NoError(t, err)
	m := decodeJPEG(t, out)
	require.Equal(t, image.Rect(0, 0, 320, 160), m.Bounds())
	r, _, b, _ := m.At(40, 80).RGBA()
	require.Greater(t, r>>8, uint32(200))
	require.Less(t, b>>8, uint32(60))
	r, _, b, _ = m.At(280, 80).RGBA()
	require.Less(t, r>>8, uint32(60))
	require.Greater(t, b>>8, uint32(200))
}

func TestThumbnailOfEveryFormat(t *testing.T) {
	t.Parallel()
	tall := image.NewPaletted(image.Rect(0, 0, 100, 400), []color.Color{color.Black, color.White})
	var g bytes.Buffer
	require.NoError(t, gif.Encode(&g, tall, nil))
	var j bytes.Buffer
	require.NoError(t, jpeg.Encode(&j, image.NewGray(image.Rect(0, 0, 640, 480)), nil))

	cases := []struct {
		name string
		in   []byte
		want image.Rectangle
	}{
		{"gif", g.Bytes(), image.Rect(0, 0, 50, 200)},
		{"jpeg", j.Bytes(), image.Rect(0, 0, 200, 150)},
		{"webp", webpBytes(t), image.Rect(0, 0, 150, 100)}, // 150×100: small enough already, not enlarged
	}
	for _, c := range cases {
		out, err := media.Thumbnail(context.Background(), nil, bytes.NewReader(c.in), 200)
		require.NoError(t, err, c.name)
		require.Equal(t, c.want, decodeJPEG(t, out).Bounds(), c.name)
	}
}

func TestThumbnailFlattensTransparencyOntoWhite(t *testing.T) {
	t.Parallel()
	src := image.NewNRGBA(image.Rect(0, 0, 64, 64)) // all transparent
	out, err := media.Thumbnail(context.Background(), nil, bytes.NewReader(encodePNG(t, src)), 32)
	require.NoError(t, err)
	r, g, b, _ := decodeJPEG(t, out).At(16, 16).RGBA()
	require.Greater(t, r>>8, uint32(245))
	require.Greater(t, g>>8, uint32(245))
	require.Greater(t, b>>8, uint32(245))
}

func TestThumbnailAppliesEXIFOrientation(t *testing.T) {
	t.Parallel()
	// A landscape sensor image whose left column is red; EXIF 6 says "turn a quarter clockwise to view",
	// so the result is portrait with the red column at the top.
	src := image.NewRGBA(image.Rect(0, 0, 400, 200))
	for y := 0; y < 200; y++ {
		for x := 0; x < 400; x++ {
			c := color.RGBA{R: 255, G: 255, B: 255, A: 255}
			if x < 100 {
				c = color.RGBA{R: 255, A: 255}
			}
			src.SetRGBA(x, y, c)
		}
	}
	var j bytes.Buffer
	require.NoError(t, jpeg.Encode(&j, src, &jpeg.Options{Quality: 95}))
	in := withEXIFOrientation(j.Bytes(), 6)

	out, err := media.Thumbnail(context.Background(), nil, bytes.NewReader(in), 100)
	require.NoError(t, err)
	m := decodeJPEG(t, out)
	require.Equal(t, image.Rect(0, 0, 50, 100), m.Bounds())
	r, g, _, _ := m.At(25, 5).RGBA()
	require.Greater(t, r>>8, uint32(200), "top is red")
	require.Less(t, g>>8, uint32(60))
	_, g, _, _ = m.At(25, 95).RGBA()
	require.Greater(t, g>>8, uint32(200), "bottom is white")
}

// withEXIFOrientation inserts an APP1 EXIF segment holding only the orientation tag after the SOI.
func withEXIFOrientation(jpg []byte, o uint16) []byte {
	var tiff bytes.Buffer
	tiff.WriteString("MM")
	be := binary.BigEndian
	_ = binary.Write(&tiff, be, uint16(42))
	_ = binary.Write(&tiff, be, uint32(8))
	_ = binary.Write(&tiff, be, uint16(1))      // one entry
	_ = binary.Write(&tiff, be, uint16(0x0112)) // Orientation
	_ = binary.Write(&tiff, be, uint16(3))      // SHORT
	_ = binary.Write(&tiff, be, uint32(1))
	_ = binary.Write(&tiff, be, o)
	_ = binary.Write(&tiff, be, uint16(0))
	_ = binary.Write(&tiff, be, uint32(0)) // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	be.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

func TestThumbnailRefusesDecompressionBombs(t *testing.T) {
	t.Parallel()
	// A valid 1×1 PNG whose header then claims 50000×50000 pixels (2.5 GP, 10 GB decoded). The file is
	// tiny; decoding it would try to allocate the lot.
	b := encodePNG(t, image.NewGray(image.Rect(0, 0, 1, 1)))
	binary.BigEndian.PutUint32(b[16:], 50000)
	binary.BigEndian.PutUint32(b[20:], 50000)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	require.NoError(t, err, "the forged header is well-formed")
	require.Equal(t, 50000, cfg.Width)

	_, err = media.Thumbnail(context.Background(), nil, bytes.NewReader(b), 320)
	require.Equal(t, platform.KindInvalid, platform.KindOf(err), "%v", err)
	require.Contains(t, err.Error(), "at most 25 megapixels")
}

// forgedPNG is a valid 1×1 PNG whose header claims w×h pixels.
func forgedPNG(t *testing.T, w, h uint32) []byte {
	b := encodePNG(t, image.NewGray(image.Rect(0, 0, 1, 1)))
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

func TestThumbnailRefusesImagesAboveTheCapBeforeDecoding(t *testing.T) {
	t.Parallel()
	// 30 MP: accepted before the cap was lowered to 25 MP (a 16-bit PNG of it is 240 MB decoded).
	_, err := media.Thumbnail(context.Background(), nil, bytes.NewReader(forgedPNG(t, 6000, 5000)), 320)
	var de *platform.Error
	require.ErrorAs(t, err, &de)
	require.Equal(t, platform.KindInvalid, de.Kind, "%v", err)
	require.Equal(t, "image", de.Field)
	require.Contains(t, de.Msg, "6000×5000")
	require.Contains(t, de.Msg, "25000000 pixels")
}

func TestThumbnailWaitsForDecodeMemoryAndGivesUpWithARetryHint(t *testing.T) {
	t.Parallel()
	budget := media.NewDecodeBudget(1<<20, time.Hour)
	img := encodePNG(t, image.NewRGBA(image.Rect(0, 0, 64, 64)))
	release, err := budget.Acquire(context.Background(), budget.Size())
	require.NoError(t, err)

	// The budget is taken: the decode waits, and its context ending ends the wait with ResourceExhausted.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = media.Thumbnail(ctx, budget, bytes.NewReader(img), 32)
	var de *platform.Error
	require.ErrorAs(t, err, &de)
	require.Equal(t, platform.KindResourceExhausted, de.Kind, "%v", err)
	require.Positive(t, de.RetryAfter)

	// Given back, it serves the next decode, and each decode gives back what it took.
	release()
	for range 3 {
		_, err = media.Thumbnail(context.Background(), budget, bytes.NewReader(img), 32)
		require.NoError(t, err)
	}
	release, err = budget.Acquire(context.Background(), budget.Size())
	require.NoError(t, err)
	release()
}

func TestDecodeBytesCountsTheDecodedPixelFormat(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		model color.Model
		want  int64
	}{{color.RGBA64Model, 8}, {color.NRGBAModel, 4}, {color.YCbCrModel, 3}, {color.GrayModel, 1}, {color.Palette{color.Black}, 1}} {
		require.Equal(t, 100*c.want+100*4, media.DecodeBytes(image.Config{ColorModel: c.model, Width: 10, Height: 10}, 4), "%T", c.model)
	}
}

func TestThumbnailRefusesWhatIsNotAnImage(t *testing.T) {
	t.Parallel()
	for _, in := range [][]byte{nil, []byte("%PDF-1.4 not an image"), []byte("\x89PNG\r\n\x1a\n truncated")} {
		_, err := media.Thumbnail(context.Background(), nil, bytes.NewReader(in), 320)
		require.Equal(t, platform.KindInvalid, platform.KindOf(err), "%v", err)
	}
	_, err := media.Thumbnail(context.Background(), nil, bytes.NewReader(encodePNG(t, image.NewGray(image.Rect(0, 0, 4, 4)))), 0)
	require.Error(t, err)
}

// photoJPEG is a 1080×1920 JPEG with the detail of a photo (smooth gradients plus noise), the shape of a
// phone screenshot or poster.
func photoJPEG(b *testing.B) []byte {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	m := image.NewRGBA(image.Rect(0, 0, 1080, 1920))
	for y := 0; y < 1920; y++ {
		for x := 0; x < 1080; x++ {
			n := uint8(rng.IntN(40))
			m.SetRGBA(x, y, color.RGBA{R: uint8(x/5) + n, G: uint8(y/8) + n, B: uint8((x+y)/12) + n, A: 255})
		}
	}
	var out bytes.Buffer
	require.NoError(b, jpeg.Encode(&out, m, &jpeg.Options{Quality: 90}))
	return out.Bytes()
}

func BenchmarkThumbnail(b *testing.B) {
	in := photoJPEG(b)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := media.Thumbnail(context.Background(), nil, bytes.NewReader(in), 320); err != nil {
			b.Fatal(err)
		}
	}
}
