package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"io"

	// Formats Thumbnail decodes; image.Decode finds them by their magic.
	_ "image/gif"
	_ "image/png"

	_ "golang.org/x/image/webp"

	"golang.org/x/image/draw"

	"github.com/salesapp/scrm/backend/platform"
)

// ThumbnailQuality is the JPEG quality of thumbnails: past ~82 files grow fast for no visible gain at
// thumbnail sizes; below ~75 flat areas of posters start to band.
const ThumbnailQuality = 82

// Thumbnail decodes a JPEG, PNG, GIF (first frame) or WebP image and returns it as a JPEG whose longer
// side is at most maxSide, aspect ratio kept, never enlarged. Transparent areas become white (JPEG has no
// alpha, and posters sit on white), and a JPEG's EXIF orientation is applied, so phone photos come out
// upright. Images that are not one of these formats, or larger than MaxImagePixels, are refused with
// platform.Invalid("image", ...) before their pixels are decoded: a few hundred bytes of PNG can claim
// billions of pixels. The decode holds its estimated memory of budget while it runs (nil means no budget)
// and fails with ResourceExhausted when that cannot be had in time (DecodeBudget.Acquire).
//
// Scaling uses Catmull-Rom, not ApproxBiLinear: when shrinking 3-6×, as here, ApproxBiLinear samples only
// the four nearest source pixels and aliases visibly on the text and thin lines posters are made of,
// while the kernel scalers widen to cover every source pixel. That costs: for a 1080×1920 JPEG the
// scaling takes about as long as the decoding, where ApproxBiLinear is some thirty times cheaper (see
// BenchmarkThumbnail). A thumbnail is made once per upload, in a job, and then served many times, so
// quality wins.
func Thumbnail(ctx context.Context, budget *DecodeBudget, r io.Reader, maxSide int) ([]byte, error) {
	if maxSide <= 0 {
		return nil, errors.New("media: thumbnail size must be positive")
	}
	// DecodeConfig reads only the header; keep what it read so that Decode can start over without the
	// whole file being buffered first.
	var head bytes.Buffer
	cfg, format, err := image.DecodeConfig(io.TeeReader(r, &head))
	if err != nil {
		return nil, platform.Invalid("image", "not a JPEG, PNG, GIF or WebP image")
	}
	if err := CheckImageSize("image", cfg); err != nil {
		return nil, err
	}
	if budget != nil {
		// The thumbnail canvas is small next to the decoded source, which is what the estimate counts.
		release, err := budget.Acquire(ctx, DecodeBytes(cfg, 0))
		if err != nil {
			return nil, err
		}
		defer release()
	}
	orientation := 1
	if format == "jpeg" {
		// EXIF sits before the frame header, so DecodeConfig has read it into head.
		orientation = jpegOrientation(head.Bytes())
	}
	src, _, err := image.Decode(io.MultiReader(&head, r))
	if err != nil {
		return nil, platform.Invalid("image", "the image is damaged")
	}

	sb := src.Bounds()
	w, h := fit(sb.Dx(), sb.Dy(), maxSide)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	op := draw.Src
	if o, ok := src.(interface{ Opaque() bool }); !ok || !o.Opaque() {
		draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
		op = draw.Over
	}
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, sb, op, nil)

	var out bytes.Buffer
	if err := jpeg.Encode(&out, orient(dst, orientation), &jpeg.Options{Quality: ThumbnailQuality}); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// fit scales w×h so that the longer side is at most limit, rounding, never below 1 pixel, never
// enlarging.
func fit(w, h, limit int) (int, int) {
	long := max(w, h)
	if long <= limit {
		return w, h
	}
	return max((w*limit+long/2)/long, 1), max((h*limit+long/2)/long, 1)
}

// orient turns an image stored with EXIF orientation o (1-8) upright. It runs on the thumbnail, after
// scaling, where a per-pixel loop costs nothing.
func orient(m *image.RGBA, o int) *image.RGBA {
	if o <= 1 || o > 8 {
		return m
	}
	w, h := m.Bounds().Dx(), m.Bounds().Dy()
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	out := image.NewRGBA(image.Rect(0, 0, ow, oh))
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			var sx, sy int
			switch o {
			case 2: // mirrored
				sx, sy = w-1-x, y
			case 3: // upside down
				sx, sy = w-1-x, h-1-y
			case 4: // mirrored upside down
				sx, sy = x, h-1-y
			case 5: // transposed
				sx, sy = y, x
			case 6: // needs a quarter turn clockwise (phone held upright, camera sensor landscape)
				sx, sy = y, h-1-x
			case 7: // transversed
				sx, sy = w-1-y, h-1-x
			case 8: // needs a quarter turn counter-clockwise
				sx, sy = w-1-y, x
			}
			i, j := m.PixOffset(sx, sy), out.PixOffset(x, y)
			copy(out.Pix[j:j+4], m.Pix[i:i+4])
		}
	}
	return out
}

// jpegOrientation returns the EXIF orientation (1-8) found in the APP1 segment of a JPEG's header, or 1
// when there is none or it cannot be read: a wrong guess must never fail the thumbnail.
func jpegOrientation(b []byte) int {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return 1
	}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			return 1
		}
		marker := b[i+1]
		switch {
		case marker == 0xFF: // fill byte
			i++
			continue
		case marker == 0xDA || marker == 0xD9: // start of scan, end of image: no EXIF past here
			return 1
		case marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7): // markers without a length
			i += 2
			continue
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return 1
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xE1 && len(seg) > 6 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 1
}

// tiffOrientation reads tag 0x0112 (Orientation) from IFD0 of an EXIF TIFF structure.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(t[2:]) != 42 {
		return 1
	}
	off := int64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > int64(len(t)) {
		return 1
	}
	entries := int64(bo.Uint16(t[off:]))
	for k := int64(0); k < entries; k++ {
		e := off + 2 + 12*k
		if e+12 > int64(len(t)) {
			return 1
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		// Type SHORT, count 1: the value sits in the first two bytes of the value field.
		if bo.Uint16(t[e+2:]) != 3 || bo.Uint32(t[e+4:]) != 1 {
			return 1
		}
		if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
			return v
		}
		return 1
	}
	return 1
}
