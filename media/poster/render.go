package poster

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"strings"
	"sync"
	"unicode"

	qrcode "github.com/skip2/go-qrcode"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/webp"

	"github.com/salesapp/scrm/media"
)

// JPEGQuality is the quality [Renderer.RenderJPEG] encodes with: high enough
// that QR modules and small text keep sharp edges, small enough for chat
// apps that recompress large images.
const JPEGQuality = 88

// MaxPosterPixels bounds the width×height of a poster [Renderer.RenderJPEG]
// accepts: the cap on every accepted image, [media.MaxImagePixels]. The
// header is checked before decoding so a hostile or broken upload cannot
// make a render allocate gigabytes.
const MaxPosterPixels = media.MaxImagePixels

// RenderBytesPerPixel is what a render holds per poster pixel besides the
// decoded poster: its RGBA canvas.
const RenderBytesPerPixel = 4

// maxCachedFaces bounds the per-size face cache. Admins pick a handful of
// sizes, but FontSize is a float stored in JSON, so the set of sizes is
// unbounded in principle; past the cap a face is built per call instead.
const maxCachedFaces = 64

// ErrBadPoster reports poster bytes that cannot be used: an unsupported
// format, a corrupt file or an oversized image. Retrying will not help.
var ErrBadPoster = errors.New("poster: unusable poster image")

// ErrBadPersonal reports personal data that cannot be drawn, such as an
// empty QR content or one too long to fit the QR square. Retrying will not
// help.
var ErrBadPersonal = errors.New("poster: unusable personal data")

// Personal is what a poster is personalized with.
type Personal struct {
	// Name is the salesperson's display name.
	Name string
	// Title is the salesperson's job title; drawn only when the layout has
	// a title box.
	Title string
	// QRContent is encoded into the QR code, typically the share URL.
	QRContent string
}

// Renderer draws personal data onto posters with one font. Build it once
// with [NewRenderer] and share it: its methods are safe for concurrent use.
type Renderer struct {
	font *sfnt.Font
	// ellipsis marks a shortened text; "…" when the font has that glyph,
	// otherwise three dots so the mark never renders as notdef.
	ellipsis string

	mu    sync.Mutex
	faces map[float64]*sizedFace
}

// sizedFace is a face at one size with its own lock: an opentype face keeps
// scratch buffers and must not be used by two goroutines at once, while the
// map lock is held only for lookups.
type sizedFace struct {
	mu   sync.Mutex
	face font.Face
}

// NewRenderer parses fontTTF once for all renders. It accepts a TrueType or
// OpenType font (.ttf, .otf) or a collection (.ttc, .otc), of which the first
// font is used. With nil it uses Go Regular, which has Latin glyphs only;
// Chinese names need a CJK font such as fonts-wqy-microhei's
// /usr/share/fonts/truetype/wqy/wqy-microhei.ttc. The renderer keeps
// referring to fontTTF, which must not be modified afterwards.
func NewRenderer(fontTTF []byte) (*Renderer, error) {
	if fontTTF == nil {
		fontTTF = goregular.TTF
	}
	var (
		f   *sfnt.Font
		err error
	)
	// A collection starts with the "ttcf" tag; opentype.Parse rejects it.
	if len(fontTTF) >= 4 && string(fontTTF[:4]) == "ttcf" {
		var c *opentype.Collection
		c, err = opentype.ParseCollection(fontTTF)
		if err == nil {
			f, err = c.Font(0)
		}
	} else {
		f, err = opentype.Parse(fontTTF)
	}
	if err != nil {
		return nil, fmt.Errorf("poster: parse font: %w", err)
	}

	ellipsis := "..."
	var buf sfnt.Buffer
	if gi, err := f.GlyphIndex(&buf, '…'); err == nil && gi != 0 {
		ellipsis = "…"
	}
	return &Renderer{font: f, ellipsis: ellipsis, faces: make(map[float64]*sizedFace)}, nil
}

// face returns the face for size, building and caching it on first use.
func (r *Renderer) face(size float64) (*sizedFace, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if sf, ok := r.faces[size]; ok {
		return sf, nil
	}
	// DPI 72 makes the point size equal the pixel size the admin chose.
	// No hinting keeps advances fractional, so centred and right-aligned
	// text lands where the editor preview put it.
	face, err := opentype.NewFace(r.font, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		return nil, fmt.Errorf("poster: font face at %g px: %w", size, err)
	}
	sf := &sizedFace{face: face}
	if len(r.faces) < maxCachedFaces {
		r.faces[size] = sf
	}
	return sf, nil
}

// Render draws p onto a copy of poster as l places it and returns the copy,
// an *image.RGBA whose bounds start at (0, 0); poster itself is never
// modified. Layout coordinates are relative to poster's top-left corner.
// Transparent parts of the poster are composed over white, because the
// result usually ends up as a JPEG.
//
// The QR code uses Medium error recovery with its standard white quiet zone
// and fills exactly l.QR.Size pixels square. Modules are an integer number of
// pixels wide; the few pixels left over widen the quiet zone, so no module is
// resampled and the code stays crisp. If the content needs more modules than
// the square has pixels, Render fails with [ErrBadPersonal].
//
// Texts that do not fit their box are shortened with an ellipsis. An empty
// name or title is not drawn.
func (r *Renderer) Render(poster image.Image, l Layout, p Personal) (image.Image, error) {
	b := poster.Bounds()
	if err := l.Validate(b.Dx(), b.Dy()); err != nil {
		return nil, fmt.Errorf("poster: invalid layout: %w", err)
	}
	if p.QRContent == "" {
		return nil, fmt.Errorf("%w: empty QR content", ErrBadPersonal)
	}

	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	// draw.Draw has fast paths from the decoders' image types into
	// *image.RGBA; this is the only full-image pass besides encoding.
	if o, ok := poster.(interface{ Opaque() bool }); ok && o.Opaque() {
		draw.Draw(dst, dst.Bounds(), poster, b.Min, draw.Src)
	} else {
		draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
		draw.Draw(dst, dst.Bounds(), poster, b.Min, draw.Over)
	}

	if err := drawQR(dst, l.QR, p.QRContent); err != nil {
		return nil, err
	}
	if err := r.drawText(dst, l.Name, p.Name); err != nil {
		return nil, err
	}
	if l.Title != nil {
		if err := r.drawText(dst, *l.Title, p.Title); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// RenderJPEG decodes a JPEG, PNG or WebP poster, renders it like
// [Renderer.Render] and writes the result to w as a JPEG of quality
// [JPEGQuality]. Posters that cannot be decoded, or larger than
// [MaxPosterPixels], fail with [ErrBadPoster].
func (r *Renderer) RenderJPEG(posterBytes []byte, l Layout, p Personal, w io.Writer) error {
	img, err := decodePoster(posterBytes)
	if err != nil {
		return err
	}
	out, err := r.Render(img, l, p)
	if err != nil {
		return err
	}
	if err := jpeg.Encode(w, out, &jpeg.Options{Quality: JPEGQuality}); err != nil {
		return fmt.Errorf("poster: encode jpeg: %w", err)
	}
	return nil
}

// Config reads a poster's header only, as [Renderer.RenderJPEG] will: the
// format from the magic bytes, then the size and color model, refusing
// posters larger than [MaxPosterPixels] with [ErrBadPoster]. Callers use it
// to reserve the memory a render takes (see [RenderBytesPerPixel]) before
// rendering.
func Config(b []byte) (image.Config, error) {
	cfg, _, err := posterConfig(b)
	return cfg, err
}

// posterConfig picks the decoder from the file's magic bytes rather than
// image.Decode, so the accepted formats are exactly the three documented
// ones whatever other decoders the binary happens to register.
func posterConfig(b []byte) (image.Config, func(io.Reader) (image.Image, error), error) {
	var (
		config func(io.Reader) (image.Config, error)
		decode func(io.Reader) (image.Image, error)
	)
	switch {
	case len(b) >= 3 && string(b[:3]) == "\xff\xd8\xff":
		config, decode = jpeg.DecodeConfig, jpeg.Decode
	case len(b) >= 8 && string(b[:8]) == "\x89PNG\r\n\x1a\n":
		config, decode = png.DecodeConfig, png.Decode
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		config, decode = webp.DecodeConfig, webp.Decode
	default:
		return image.Config{}, nil, fmt.Errorf("%w: not a JPEG, PNG or WebP file", ErrBadPoster)
	}
	cfg, err := config(bytes.NewReader(b))
	if err != nil {
		return image.Config{}, nil, fmt.Errorf("%w: %v", ErrBadPoster, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxPosterPixels {
		return image.Config{}, nil, fmt.Errorf("%w: %dx%d pixels is outside 1..%d", ErrBadPoster, cfg.Width, cfg.Height, MaxPosterPixels)
	}
	return cfg, decode, nil
}

// decodePoster decodes a poster whose header [Config] accepts.
func decodePoster(b []byte) (image.Image, error) {
	_, decode, err := posterConfig(b)
	if err != nil {
		return nil, err
	}
	img, err := decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadPoster, err)
	}
	return img, nil
}

// drawQR paints the QR code for content into box, quiet zone included.
func drawQR(dst *image.RGBA, box QRBox, content string) error {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return fmt.Errorf("%w: QR code: %v", ErrBadPersonal, err)
	}
	// Bitmap includes the 4-module quiet zone, which must stay light for
	// scanners to find the finder patterns on a busy poster.
	modules := q.Bitmap()
	n := len(modules)
	scale := box.Size / n
	if scale < 1 {
		return fmt.Errorf("%w: QR content of %d bytes needs %d px, qr.size is %d", ErrBadPersonal, len(content), n, box.Size)
	}
	// Centre the code; the remainder pixels become extra quiet zone.
	off := (box.Size - scale*n) / 2
	x0, y0 := box.X+off, box.Y+off

	draw.Draw(dst, image.Rect(box.X, box.Y, box.X+box.Size, box.Y+box.Size), image.NewUniform(color.White), image.Point{}, draw.Src)
	black := image.NewUniform(color.Black)
	for my, row := range modules {
		// One fill per horizontal run of dark modules instead of one per
		// module: fewer, longer fills keep the QR under a millisecond.
		for mx := 0; mx < n; {
			if !row[mx] {
				mx++
				continue
			}
			start := mx
			for mx < n && row[mx] {
				mx++
			}
			r := image.Rect(x0+start*scale, y0+my*scale, x0+mx*scale, y0+(my+1)*scale)
			draw.Draw(dst, r, black, image.Point{}, draw.Src)
		}
	}
	return nil
}

// drawText writes text into box, clipped to the box.
func (r *Renderer) drawText(dst *image.RGBA, box TextBox, text string) error {
	text = cleanText(text)
	if text == "" {
		return nil
	}
	rgb, err := parseColor(box.Color)
	if err != nil {
		// Unreachable after Validate; kept so drawText stands on its own.
		return fmt.Errorf("poster: text color: %w", err)
	}
	sf, err := r.face(box.FontSize)
	if err != nil {
		return err
	}
	sf.mu.Lock()
	defer sf.mu.Unlock()
	face := sf.face

	maxW := fixed.I(box.MaxWidth)
	text = fitText(face, text, maxW, r.ellipsis)
	if text == "" {
		return nil
	}
	width := font.MeasureString(face, text)

	rect := image.Rect(box.X, box.Y, box.X+box.MaxWidth, box.Y+box.lineHeight())
	x := fixed.I(rect.Min.X)
	switch box.Align {
	case AlignCenter:
		x += (maxW - width) / 2
	case AlignRight:
		x += maxW - width
	}
	// Centre the font's ascent+descent in the line, as CSS does with
	// half-leading, so Y means the top of the box for every font.
	m := face.Metrics()
	baseline := fixed.I(rect.Min.Y) + (fixed.I(rect.Dy())-m.Ascent-m.Descent)/2 + m.Ascent

	d := font.Drawer{
		// Clipping to the box keeps glyph overhangs off neighbouring
		// elements; SubImage of an *image.RGBA keeps draw's fast path.
		Dst:  dst.SubImage(rect).(*image.RGBA),
		Src:  image.NewUniform(color.RGBA{R: rgb[0], G: rgb[1], B: rgb[2], A: 0xff}),
		Face: face,
		Dot:  fixed.Point26_6{X: x, Y: baseline},
	}
	d.DrawString(text)
	return nil
}

// cleanText turns control characters (newlines, tabs) into spaces and
// collapses runs of spaces: a one-line box has no use for them, and the
// font would draw them as notdef boxes.
func cleanText(s string) string {
	s = strings.Map(func(c rune) rune {
		if unicode.IsControl(c) {
			return ' '
		}
		return c
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// fitText returns s if it fits in maxW, otherwise the longest prefix of s
// followed by ellipsis that fits, or "" if not even the ellipsis fits.
func fitText(face font.Face, s string, maxW fixed.Int26_6, ellipsis string) string {
	if font.MeasureString(face, s) <= maxW {
		return s
	}
	runes := []rune(s)
	candidate := func(k int) string {
		return strings.TrimRightFunc(string(runes[:k]), unicode.IsSpace) + ellipsis
	}
	fits := func(k int) bool { return font.MeasureString(face, candidate(k)) <= maxW }
	if !fits(0) {
		return ""
	}
	// Binary search for the longest fitting prefix; lo always fits, and
	// len(runes) is known not to (the whole string did not fit).
	lo, hi := 0, len(runes)
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return candidate(lo)
}
