package poster

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

const (
	posterW    = 1080
	posterH    = 1920
	shareURL   = "https://example.com/s/AbC123xyz"
	longName   = "Maximilian Alexander Fitzgerald-Worthington the Third"
	sampleName = "Alice Zhang"
)

// sampleLayout is a typical admin placement on a 1080×1920 poster: QR in the
// bottom-right corner, name and title to its left.
func sampleLayout() Layout {
	return Layout{
		QR:    QRBox{X: 780, Y: 1580, Size: 260},
		Name:  TextBox{X: 60, Y: 1600, FontSize: 56, Color: "#1A1A1A", Align: AlignLeft, MaxWidth: 640},
		Title: &TextBox{X: 60, Y: 1690, FontSize: 36, Color: "#555555", Align: AlignLeft, MaxWidth: 640},
	}
}

func samplePersonal() Personal {
	return Personal{Name: sampleName, Title: "Senior Account Manager", QRContent: shareURL}
}

// noisyPoster is a colourful gradient with per-pixel noise, close to a
// photographic poster and hostile to both JPEG and QR detection.
func noisyPoster(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(1, 2))
	for y := range h {
		row := img.Pix[y*img.Stride:]
		for x := range w {
			n := rng.IntN(48) - 24
			row[4*x+0] = clamp8(x*255/w + n)
			row[4*x+1] = clamp8(y*255/h + n)
			row[4*x+2] = clamp8(255 - (x+y)*255/(w+h) + n)
			row[4*x+3] = 0xff
		}
	}
	return img
}

func clamp8(v int) uint8 { return uint8(max(0, min(255, v))) }

func encodeJPEG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	require.NoError(tb, jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}))
	return buf.Bytes()
}

func posterJPEG(tb testing.TB) []byte {
	tb.Helper()
	return encodeJPEG(tb, noisyPoster(posterW, posterH))
}

func newRenderer(tb testing.TB, ttf []byte) *Renderer {
	tb.Helper()
	r, err := NewRenderer(ttf)
	require.NoError(tb, err)
	return r
}

// decodeQR reads a QR code from img with the same zxing decoder phones use.
func decodeQR(tb testing.TB, img image.Image) string {
	tb.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	require.NoError(tb, err)
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	res, err := gozxingqr.NewQRCodeReader().Decode(bmp, hints)
	require.NoError(tb, err)
	return res.GetText()
}

func qrRect(l Layout) image.Rectangle {
	return image.Rect(l.QR.X, l.QR.Y, l.QR.X+l.QR.Size, l.QR.Y+l.QR.Size)
}

func TestRenderJPEGQRDecodesAfterReencoding(t *testing.T) {
	t.Parallel()
	r := newRenderer(t, nil)
	l := sampleLayout()

	var out bytes.Buffer
	require.NoError(t, r.RenderJPEG(posterJPEG(t), l, samplePersonal(), &out))

	// Decode from the JPEG bytes, not the in-memory image: the QR must
	// survive the lossy encoding that every shared poster goes through.
	img, err := jpeg.Decode(bytes.NewReader(out.Bytes()))
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, posterW, posterH), img.Bounds())

	t.Run("whole poster", func(t *testing.T) {
		t.Parallel()
		assert.Equal(t, shareURL, decodeQR(t, img))
	})
	t.Run("QR region", func(t *testing.T) {
		t.Parallel()
		crop := img.(interface {
			SubImage(image.Rectangle) image.Image
		}).SubImage(qrRect(l))
		assert.Equal(t, shareURL, decodeQR(t, crop))
	})
}

func TestRenderQRIsCrisp(t *testing.T) {
	t.Parallel()
	r := newRenderer(t, nil)
	l := sampleLayout()
	out, err := r.Render(noisyPoster(posterW, posterH), l, samplePersonal())
	require.NoError(t, err)
	rgba := out.(*image.RGBA)

	// Nearest-neighbour at an integer module size leaves only pure black
	// and pure white inside the QR square.
	box := qrRect(l)
	var dark int
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			c := rgba.RGBAAt(x, y)
			switch c {
			case color.RGBA{A: 0xff}:
				dark++
			case color.RGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}:
			default:
				t.Fatalf("pixel (%d,%d) = %v, want pure black or white", x, y, c)
			}
		}
	}
	assert.Positive(t, dark)
	// The in-memory image decodes too, with the pure-barcode fast path that
	// only works when modules are exact.
	bmp, err := gozxing.NewBinaryBitmapFromImage(rgba.SubImage(box))
	require.NoError(t, err)
	res, err := gozxingqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	require.NoError(t, err)
	assert.Equal(t, shareURL, res.GetText())
}

func TestRenderQRAtMinimumSize(t *testing.T) {
	t.Parallel()
	r := newRenderer(t, nil)
	l := sampleLayout()
	l.QR = QRBox{X: 10, Y: 10, Size: MinQRSize}
	out, err := r.Render(noisyPoster(posterW, posterH), l, samplePersonal())
	require.NoError(t, err)
	assert.Equal(t, shareURL, decodeQR(t, out.(*image.RGBA).SubImage(qrRect(l))))
}

func TestRenderQRContentTooLongForSize(t *testing.T) {
	t.Parallel()
	r := newRenderer(t, nil)
	l := sampleLayout()
	l.QR.Size = MinQRSize
	p := samplePersonal()
	p.QRContent = shareURL + "?" + strings.Repeat("x", 500)
	_, err := r.Render(noisyPoster(posterW, posterH), l, p)
	assert.ErrorIs(t, err, ErrBadPersonal)

	p.QRContent = ""
	_, err = r.Render(noisyPoster(posterW, posterH), l, p)
	assert.ErrorIs(t, err, ErrBadPersonal)
}

func TestRenderDoesNotModifyInput(t *testing.T) {
	t.Parallel()
	r := newRenderer(t, nil)
	l := sampleLayout()

	rgba := noisyPoster(posterW, posterH)
	before := bytes.Clone(rgba.Pix)
	out, err := r.Render(rgba, l, samplePersonal())
	require.NoError(t, err)
	assert.True(t, bytes.Equal(before, rgba.Pix), "input *image.RGBA was modified")
	assert.NotSame(t, &rgba.Pix[0], &out.(*image.RGBA).Pix[0], "output shares the input's pixels")
	assert.False(t, bytes.Equal(before, out.(*image.RGBA).Pix), "output equals input; nothing drawn")

	// JPEG decodes to *image.YCbCr, which takes a different copy path.
	ycc, err := jpeg.Decode(bytes.NewReader(posterJPEG(t)))
	require.NoError(t, err)
	y := ycc.(*image.YCbCr)
	yBefore, cbBefore, crBefore := bytes.Clone(y.Y), bytes.Clone(y.Cb), bytes.Clone(y.Cr)
	_, err = r.Render(y, l, samplePersonal())
	require.NoError(t, err)
	assert.True(t, bytes.Equal(yBefore, y.Y) && bytes.Equal(cbBefore, y.Cb) && bytes.Equal(crBefore, y.Cr), "input *image.YCbCr was modified")
}

func TestRenderIsDeterministicAndConcurrencySafe(t *testing.T) {
	t.Parallel()
	r := newRenderer(t, nil)
	src := noisyPoster(posterW, posterH)
	l := sampleLayout()
	names := []string{"Alice", "Bob", longName, "Zoë Ångström"}

	want := make([][]byte, len(names))
	for i, n := range names {
		out, err := r.Render(src, l, Personal{Name: n, QRContent: shareURL})
		require.NoError(t, err)
		want[i] = out.(*image.RGBA).Pix
	}

	// Renderers are shared by concurrent jobs; the face cache must hold up
	// (run with -race) and give the same pixels as sequential renders.
	var wg sync.WaitGroup
	got := make([][]byte, 4*len(names))
	errs := make([]error, len(got))
	for i := range got {
		wg.Go(func() {
			out, err := r.Render(src, l, Personal{Name: names[i%len(names)], QRContent: shareURL})
			errs[i] = err
			if err == nil {
				got[i] = out.(*image.RGBA).Pix
			}
		})
	}
	wg.Wait()
	for i := range got {
		require.NoError(t, errs[i])
		assert.True(t, bytes.Equal(want[i%len(names)], got[i]), "render %d differs from sequential render", i)
	}
}

func TestRenderRespectsPosterOrigin(t *testing.T) {
	t.Parallel()
	r := newRenderer(t, nil)
	big := noisyPoster(posterW+100, posterH+100)
	sub := big.SubImage(image.Rect(100, 100, posterW+100, posterH+100))
	out, err := r.Render(sub, sampleLayout(), samplePersonal())
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, posterW, posterH), out.Bounds())
	assert.Equal(t, big.RGBAAt(100, 100), out.(*image.RGBA).RGBAAt(0, 0))
}

func TestRenderTransparentPNGOverWhite(t *testing.T) {
	t.Parallel()
	r := newRenderer(t, nil)
	img := image.NewNRGBA(image.Rect(0, 0, posterW, posterH)) // fully transparent
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	var out bytes.Buffer
	require.NoError(t, r.RenderJPEG(buf.Bytes(), sampleLayout(), samplePersonal(), &out))
	dec, err := jpeg.Decode(&out)
	require.NoError(t, err)
	c := color.GrayModel.Convert(dec.At(5, 5)).(color.Gray)
	assert.Greater(t, c.Y, uint8(250), "transparent area should be white, got %v", c)
}

func TestRenderJPEGRejectsBadPosters(t *testing.T) {
	t.Parallel()
	r := newRenderer(t, nil)
	l, p := sampleLayout(), samplePersonal()

	// A PNG whose header claims 10000×10000 pixels: refused before decoding.
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1))))
	huge := bytes.Clone(buf.Bytes())
	binary.BigEndian.PutUint32(huge[16:], 10000)
	binary.BigEndian.PutUint32(huge[20:], 10000)
	binary.BigEndian.PutUint32(huge[29:], crc32.ChecksumIEEE(huge[12:29]))

	for name, b := range map[string][]byte{
		"empty":     nil,
		"text":      []byte("hello, not an image"),
		"truncated": posterJPEG(t)[:2000],
		"huge":      huge,
	} {
		err := r.RenderJPEG(b, l, p, &bytes.Buffer{})
		assert.ErrorIs(t, err, ErrBadPoster, name)
	}

	// A poster smaller than the layout is a layout error, not a bad poster.
	small := encodeJPEG(t, noisyPoster(500, 500))
	err := r.RenderJPEG(small, l, p, &bytes.Buffer{})
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	assert.NotErrorIs(t, err, ErrBadPoster)
}

func TestValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, sampleLayout().Validate(posterW, posterH))
	noTitle := sampleLayout()
	noTitle.Title = nil
	require.NoError(t, noTitle.Validate(posterW, posterH))

	cases := map[string]struct {
		mutate func(*Layout)
		want   string
	}{
		"qr too small":         {func(l *Layout) { l.QR.Size = 63 }, "qr.size: must be between 64 and 1080"},
		"qr too big":           {func(l *Layout) { l.QR.X, l.QR.Y, l.QR.Size = 0, 0, 1081 }, "qr.size: must be between 64 and 1080"},
		"qr left of poster":    {func(l *Layout) { l.QR.X = -1 }, "qr.x:"},
		"qr past right edge":   {func(l *Layout) { l.QR.X = 900 }, "qr.x:"},
		"qr past bottom":       {func(l *Layout) { l.QR.Y = 1700 }, "qr.y:"},
		"name font too small":  {func(l *Layout) { l.Name.FontSize = 7.5 }, "name.font_size: must be between 8 and 200"},
		"name font too big":    {func(l *Layout) { l.Name.FontSize = 201 }, "name.font_size:"},
		"name color no hash":   {func(l *Layout) { l.Name.Color = "1A1A1A" }, "name.color:"},
		"name color short":     {func(l *Layout) { l.Name.Color = "#FFF" }, "name.color:"},
		"name color not hex":   {func(l *Layout) { l.Name.Color = "#GG0000" }, "name.color:"},
		"name align":           {func(l *Layout) { l.Name.Align = "justify" }, "name.align:"},
		"name width zero":      {func(l *Layout) { l.Name.MaxWidth = 0 }, "name.max_width:"},
		"name past right edge": {func(l *Layout) { l.Name.MaxWidth = 1100 }, "name.x:"},
		"name above poster":    {func(l *Layout) { l.Name.Y = -5 }, "name.y:"},
		"name past bottom":     {func(l *Layout) { l.Name.Y = 1900 }, "name.y:"},
		"title color":          {func(l *Layout) { l.Title.Color = "red" }, "title.color:"},
		"title font":           {func(l *Layout) { l.Title.FontSize = 0 }, "title.font_size:"},
		"title outside":        {func(l *Layout) { l.Title.X = 2000 }, "title.x:"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := sampleLayout()
			tc.mutate(&l)
			err := l.Validate(posterW, posterH)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			var fe *FieldError
			assert.ErrorAs(t, err, &fe)
		})
	}

	t.Run("all problems at once", func(t *testing.T) {
		t.Parallel()
		l := sampleLayout()
		l.QR.Size = 10
		l.Name.Color = "#12345"
		l.Title.Align = "middle"
		err := l.Validate(posterW, posterH)
		require.Error(t, err)
		for _, field := range []string{"qr.size:", "name.color:", "title.align:"} {
			assert.Contains(t, err.Error(), field)
		}
	})

	t.Run("layout outside a smaller poster", func(t *testing.T) {
		t.Parallel()
		err := sampleLayout().Validate(720, 1280)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "qr.x:")
		assert.Contains(t, err.Error(), "qr.y:")
		assert.Contains(t, err.Error(), "name.y:")
	})

	t.Run("empty poster", func(t *testing.T) {
		t.Parallel()
		assert.ErrorContains(t, sampleLayout().Validate(0, 1920), "poster:")
		l := sampleLayout()
		l.QR = QRBox{Size: 800}
		assert.ErrorContains(t, l.Validate(720, 1280), "qr.size: must be between 64 and 720")
	})
}

func TestLayoutJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(sampleLayout())
	require.NoError(t, err)
	for _, key := range []string{`"qr":`, `"size":260`, `"font_size":56`, `"max_width":640`, `"align":"left"`, `"color":"#1A1A1A"`, `"title":`} {
		assert.Contains(t, string(b), key)
	}
	var back Layout
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, sampleLayout(), back)

	noTitle := sampleLayout()
	noTitle.Title = nil
	b, err = json.Marshal(noTitle)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "title")
}

func TestCacheKey(t *testing.T) {
	t.Parallel()
	base := CacheKey("mat-1", 3, sampleLayout(), samplePersonal())
	assert.Len(t, base, 32)
	assert.Equal(t, base, CacheKey("mat-1", 3, sampleLayout(), samplePersonal()), "key is not stable")

	changed := map[string]func() string{
		"material id": func() string { return CacheKey("mat-2", 3, sampleLayout(), samplePersonal()) },
		"version":     func() string { return CacheKey("mat-1", 4, sampleLayout(), samplePersonal()) },
		"qr moved": func() string {
			l := sampleLayout()
			l.QR.X++
			return CacheKey("mat-1", 3, l, samplePersonal())
		},
		"name font": func() string {
			l := sampleLayout()
			l.Name.FontSize = 56.5
			return CacheKey("mat-1", 3, l, samplePersonal())
		},
		"title removed": func() string {
			l := sampleLayout()
			l.Title = nil
			return CacheKey("mat-1", 3, l, samplePersonal())
		},
		"title color": func() string {
			l := sampleLayout()
			l.Title.Color = "#000000"
			return CacheKey("mat-1", 3, l, samplePersonal())
		},
		"renamed": func() string {
			p := samplePersonal()
			p.Name = "Alice Wang"
			return CacheKey("mat-1", 3, sampleLayout(), p)
		},
		"new title": func() string {
			p := samplePersonal()
			p.Title = "Director"
			return CacheKey("mat-1", 3, sampleLayout(), p)
		},
		"new qr content": func() string {
			p := samplePersonal()
			p.QRContent = "https://example.com/s/Other999"
			return CacheKey("mat-1", 3, sampleLayout(), p)
		},
		// Fields are length-prefixed, so moving text between fields
		// cannot collide.
		"shifted boundary": func() string {
			p := samplePersonal()
			p.Name, p.Title = p.Name+p.Title[:1], p.Title[1:]
			return CacheKey("mat-1", 3, sampleLayout(), p)
		},
	}
	seen := map[string]string{base: "base"}
	for name, key := range changed {
		k := key()
		assert.Len(t, k, 32, name)
		if prev, dup := seen[k]; dup {
			t.Errorf("%s: key %s same as %s", name, k, prev)
		}
		seen[k] = name
	}
}

// inkBounds returns the rectangle of pixels in out that differ from the
// uniform background bg.
func inkBounds(out *image.RGBA, bg color.RGBA) image.Rectangle {
	var ink image.Rectangle
	b := out.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if out.RGBAAt(x, y) != bg {
				ink = ink.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return ink
}

func uniformPoster(bg color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, posterW, posterH))
	draw.Draw(img, img.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	return img
}

func textRect(tb TextBox) image.Rectangle {
	return image.Rect(tb.X, tb.Y, tb.X+tb.MaxWidth, tb.Y+tb.lineHeight())
}

func TestLongNameGetsEllipsisWithinMaxWidth(t *testing.T) {
	t.Parallel()
	r := newRenderer(t, nil)
	box := TextBox{X: 100, Y: 300, FontSize: 48, Color: "#000000", MaxWidth: 400}

	f, err := opentype.Parse(goregular.TTF)
	require.NoError(t, err)
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: box.FontSize, DPI: 72})
	require.NoError(t, err)
	require.Greater(t, font.MeasureString(face, longName), fixed.I(box.MaxWidth), "test name must be too long")

	fitted := fitText(face, longName, fixed.I(box.MaxWidth), r.ellipsis)
	assert.True(t, strings.HasSuffix(fitted, "…"), "got %q", fitted)
	assert.LessOrEqual(t, font.MeasureString(face, fitted), fixed.I(box.MaxWidth))
	prefix := strings.TrimSuffix(fitted, "…")
	assert.True(t, strings.HasPrefix(longName, prefix))
	// Longest fit: one more character would overflow.
	next := []rune(longName)[:len([]rune(prefix))+1]
	assert.Greater(t, font.MeasureString(face, string(next)+"…"), fixed.I(box.MaxWidth))

	// Short names are left alone.
	assert.Equal(t, "Bob", fitText(face, "Bob", fixed.I(box.MaxWidth), r.ellipsis))
	// A box too narrow even for the ellipsis draws nothing.
	assert.Empty(t, fitText(face, longName, fixed.I(5), r.ellipsis))

	// Rendered, the ink stays inside the box and reaches near its right edge.
	bg := color.RGBA{R: 200, G: 220, B: 240, A: 255}
	l := sampleLayout()
	l.Name = box
	l.Title = nil
	out, err := r.Render(uniformPoster(bg), l, Personal{Name: longName, QRContent: shareURL})
	require.NoError(t, err)
	rgba := out.(*image.RGBA)
	// Blank the QR so only text ink remains.
	draw.Draw(rgba, qrRect(l), image.NewUniform(bg), image.Point{}, draw.Src)
	ink := inkBounds(rgba, bg)
	require.False(t, ink.Empty())
	assert.True(t, ink.In(textRect(box)), "ink %v outside box %v", ink, textRect(box))
	assert.Greater(t, ink.Max.X, box.X+box.MaxWidth-40, "shortened text should fill the box")
}

func TestAlignment(t *testing.T) {
	t.Parallel()
	r := newRenderer(t, nil)
	bg := color.RGBA{R: 255, G: 255, B: 255, A: 255}
	for _, align := range []string{"", AlignLeft, AlignCenter, AlignRight} {
		t.Run("align="+align, func(t *testing.T) {
			t.Parallel()
			l := sampleLayout()
			l.Title = nil
			l.Name = TextBox{X: 100, Y: 200, FontSize: 40, Color: "#FF0000", Align: align, MaxWidth: 800}
			out, err := r.Render(uniformPoster(bg), l, Personal{Name: "Hello", QRContent: shareURL})
			require.NoError(t, err)
			rgba := out.(*image.RGBA)
			ink := inkBounds(rgba.SubImage(textRect(l.Name)).(*image.RGBA), bg)
			require.False(t, ink.Empty())
			const slack = 8 // side bearings
			switch align {
			case "", AlignLeft:
				assert.InDelta(t, 100, ink.Min.X, slack)
			case AlignCenter:
				assert.InDelta(t, 500, (ink.Min.X+ink.Max.X)/2, slack)
			case AlignRight:
				assert.InDelta(t, 900, ink.Max.X, slack)
			}
			// The colour is the one asked for, at least in glyph interiors.
			assert.Contains(t, colorsIn(rgba, ink), color.RGBA{R: 255, A: 255})
		})
	}
}

func colorsIn(img *image.RGBA, r image.Rectangle) []color.RGBA {
	seen := map[color.RGBA]bool{}
	var out []color.RGBA
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if c := img.RGBAAt(x, y); !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out
}

func TestCleanText(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "Alice Zhang", cleanText("  Alice\n\tZhang \r"))
	assert.Empty(t, cleanText(" \n "))
	assert.Equal(t, "张三", cleanText("张三"))
}

// buildTTC wraps single fonts into a TrueType collection: a "ttcf" header
// with one offset per font, and every table offset moved by where its font
// now starts. It lets the collection path be tested without a system font.
func buildTTC(tb testing.TB, fonts ...[]byte) []byte {
	tb.Helper()
	header := 12 + 4*len(fonts)
	out := make([]byte, header)
	copy(out, "ttcf")
	binary.BigEndian.PutUint32(out[4:], 0x00010000)
	binary.BigEndian.PutUint32(out[8:], uint32(len(fonts)))
	for i, f := range fonts {
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
		start := len(out)
		binary.BigEndian.PutUint32(out[12+4*i:], uint32(start))
		out = append(out, f...)
		numTables := int(binary.BigEndian.Uint16(f[4:]))
		for t := range numTables {
			rec := start + 12 + 16*t
			off := binary.BigEndian.Uint32(out[rec+8:])
			binary.BigEndian.PutUint32(out[rec+8:], off+uint32(start))
		}
	}
	return out
}

// renderName renders name alone on a white poster so fonts can be compared.
func renderName(tb testing.TB, r *Renderer, name string) *image.RGBA {
	tb.Helper()
	l := sampleLayout()
	l.Title = nil
	out, err := r.Render(uniformPoster(color.RGBA{R: 255, G: 255, B: 255, A: 255}), l, Personal{Name: name, QRContent: shareURL})
	require.NoError(tb, err)
	return out.(*image.RGBA)
}

func TestFontCollectionUsesFirstFont(t *testing.T) {
	t.Parallel()
	ttc := buildTTC(t, goregular.TTF, gobold.TTF)
	fromTTC := renderName(t, newRenderer(t, ttc), sampleName)
	fromTTF := renderName(t, newRenderer(t, goregular.TTF), sampleName)
	fromBold := renderName(t, newRenderer(t, gobold.TTF), sampleName)
	fromDefault := renderName(t, newRenderer(t, nil), sampleName)

	assert.True(t, bytes.Equal(fromTTF.Pix, fromTTC.Pix), "collection should render with its first font")
	assert.True(t, bytes.Equal(fromTTF.Pix, fromDefault.Pix), "nil font should be Go Regular")
	assert.False(t, bytes.Equal(fromTTF.Pix, fromBold.Pix), "fonts should be distinguishable")

	_, err := NewRenderer([]byte("not a font"))
	assert.Error(t, err)
	_, err = NewRenderer([]byte("ttcf broken"))
	assert.Error(t, err)
}

func TestMissingGlyphsRenderAsNotdef(t *testing.T) {
	t.Parallel()
	// Go Regular has no CJK: the name must still leave visible marks (notdef
	// boxes) rather than vanish, so a missing CJK font is noticed.
	out := renderName(t, newRenderer(t, nil), "张三")
	bg := color.RGBA{R: 255, G: 255, B: 255, A: 255}
	ink := inkBounds(out.SubImage(textRect(sampleLayout().Name)).(*image.RGBA), bg)
	assert.False(t, ink.Empty())
}

// systemTTC finds a font collection installed on this machine, preferring
// the CJK font the package doc recommends.
func systemTTC() string {
	const wqy = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
	if _, err := os.Stat(wqy); err == nil {
		return wqy
	}
	var found string
	_ = filepath.WalkDir("/usr/share/fonts", func(path string, d fs.DirEntry, err error) error {
		if err != nil || found != "" {
			return fs.SkipDir
		}
		if !d.IsDir() && strings.EqualFold(filepath.Ext(path), ".ttc") {
			found = path
			return fs.SkipAll
		}
		return nil
	})
	return found
}

func TestSystemFontCollection(t *testing.T) {
	t.Parallel()
	path := systemTTC()
	if path == "" {
		// Tests an optional font, not a service: collections are still
		// covered by TestFontCollectionUsesFirstFont with a built one.
		t.Skip("no .ttc font under /usr/share/fonts (optional; install fonts-wqy-microhei to run this test)")
	}
	ttc, err := os.ReadFile(path)
	require.NoError(t, err)
	r := newRenderer(t, ttc)

	name := sampleName
	if strings.Contains(path, "wqy") {
		name = "张三丰"
	}
	out := renderName(t, r, name)
	bg := color.RGBA{R: 255, G: 255, B: 255, A: 255}
	assert.False(t, inkBounds(out.SubImage(textRect(sampleLayout().Name)).(*image.RGBA), bg).Empty())
	assert.Equal(t, shareURL, decodeQR(t, out.SubImage(qrRect(sampleLayout()))))
}

func BenchmarkRenderJPEG1080x1920(b *testing.B) {
	r := newRenderer(b, nil)
	src := posterJPEG(b)
	l, p := sampleLayout(), samplePersonal()
	var out bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		out.Reset()
		if err := r.RenderJPEG(src, l, p, &out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRender1080x1920(b *testing.B) {
	r := newRenderer(b, nil)
	img, err := jpeg.Decode(bytes.NewReader(posterJPEG(b)))
	require.NoError(b, err)
	l, p := sampleLayout(), samplePersonal()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Render(img, l, p); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPostersAboveTheImageCapAreRefusedFromTheHeader(t *testing.T) {
	// A valid 1×1 PNG whose header claims 6000×5000 (30 MP, accepted before the cap was lowered to 25 MP).
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1))))
	b := buf.Bytes()
	binary.BigEndian.PutUint32(b[16:], 6000)
	binary.BigEndian.PutUint32(b[20:], 5000)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	_, err := Config(b)
	require.ErrorIs(t, err, ErrBadPoster)
	_, err = decodePoster(b)
	require.ErrorIs(t, err, ErrBadPoster)

	cfg, err := Config(encodePNGForCap(t, 30, 20))
	require.NoError(t, err)
	require.Equal(t, image.Point{30, 20}, image.Point{cfg.Width, cfg.Height})
}

func encodePNGForCap(t *testing.T, w, h int) []byte {
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, w, h))))
	return buf.Bytes()
}
