// Package poster personalizes a material-library poster for one salesperson:
// it composes the salesperson's QR code (their share URL) and their name, and
// optionally their title, onto the poster at the places an admin chose.
//
// Rendering is pure and deterministic: the same poster bytes, [Layout] and
// [Personal] always give the same pixels, so a caller can cache results under
// [CacheKey] and regenerate only when the material version, the layout or the
// salesperson's details change.
//
// # Fonts
//
// A [Renderer] draws text with one font. Without one it uses Go Regular,
// which covers Latin only: Chinese names need a CJK font, for example
// Debian's fonts-wqy-microhei (/usr/share/fonts/truetype/wqy/wqy-microhei.ttc).
// Both .ttf/.otf files and .ttc/.otc collections are accepted; from a
// collection the first font is used. A character the font lacks is drawn as
// the font's notdef glyph (usually an empty box), never silently dropped, so
// a wrong font shows up in review rather than as a half-missing name.
package poster

import (
	"errors"
	"fmt"
	"math"
)

// Text alignments accepted in [TextBox.Align].
const (
	AlignLeft   = "left"
	AlignCenter = "center"
	AlignRight  = "right"
)

// Limits enforced by [Layout.Validate].
const (
	// MinQRSize is the smallest QR side in pixels; below it a printed or
	// on-screen code is hard for phone cameras to scan.
	MinQRSize = 64
	// MinFontSize and MaxFontSize bound [TextBox.FontSize], in pixels.
	MinFontSize = 8
	MaxFontSize = 200
)

// lineHeightFactor sets a text box's height from its font size. It mirrors
// the CSS "normal" line height so the box an admin sees in a browser editor
// matches the one validated and clipped here.
const lineHeightFactor = 1.25

// Layout is where an admin placed the personal elements on a poster, in the
// poster's pixel coordinates with (0, 0) at its top-left corner. It is
// stored as JSON alongside the material.
type Layout struct {
	// QR is the square that receives the salesperson's QR code.
	QR QRBox `json:"qr"`
	// Name is where the salesperson's name is written.
	Name TextBox `json:"name"`
	// Title, when set, is where the salesperson's job title is written.
	Title *TextBox `json:"title,omitempty"`
}

// QRBox is the square area of a QR code, quiet zone included.
type QRBox struct {
	// X and Y are the top-left corner of the square.
	X int `json:"x"`
	Y int `json:"y"`
	// Size is the side of the square in pixels.
	Size int `json:"size"`
}

// TextBox is a one-line text area. The box spans MaxWidth pixels from X and
// one line (FontSize × 1.25, rounded up) down from Y; text is aligned inside
// it, shortened with an ellipsis when too wide, and never drawn outside it.
type TextBox struct {
	// X and Y are the top-left corner of the box.
	X int `json:"x"`
	Y int `json:"y"`
	// FontSize is the em size in pixels.
	FontSize float64 `json:"font_size"`
	// Color is the text color as #RRGGBB.
	Color string `json:"color"`
	// Align is left, center or right within the box; empty means left.
	Align string `json:"align"`
	// MaxWidth is the width of the box in pixels.
	MaxWidth int `json:"max_width"`
}

// FieldError is one problem found by [Layout.Validate]. Field is the JSON
// path of the offending value (e.g. "qr.size"), so an admin UI can point at
// the control to fix.
type FieldError struct {
	// Field is the JSON path of the value, e.g. "name.font_size".
	Field string
	// Message says what is wrong and what is allowed.
	Message string
}

// Error formats the problem as "field: message".
func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Validate checks that the layout fits a w×h poster: the QR square and the
// text boxes lie inside it, the QR side is between [MinQRSize] and min(w, h),
// font sizes are between [MinFontSize] and [MaxFontSize], colors are #RRGGBB
// and alignments are known. All problems are reported at once, each as a
// [*FieldError] joined with [errors.Join], so an admin fixes them in one go.
func (l Layout) Validate(w, h int) error {
	if w <= 0 || h <= 0 {
		return &FieldError{Field: "poster", Message: fmt.Sprintf("size %dx%d is empty", w, h)}
	}
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}

	q := l.QR
	maxQR := min(w, h)
	if q.Size < MinQRSize || q.Size > maxQR {
		add("qr.size", "must be between %d and %d", MinQRSize, maxQR)
	}
	if q.X < 0 || q.X+q.Size > w {
		add("qr.x", "square from x=%d to x=%d must lie inside the %d px wide poster", q.X, q.X+q.Size, w)
	}
	if q.Y < 0 || q.Y+q.Size > h {
		add("qr.y", "square from y=%d to y=%d must lie inside the %d px high poster", q.Y, q.Y+q.Size, h)
	}

	l.Name.validate("name", w, h, add)
	if l.Title != nil {
		l.Title.validate("title", w, h, add)
	}
	return errors.Join(errs...)
}

func (t TextBox) validate(prefix string, w, h int, add func(field, format string, args ...any)) {
	// The NaN check matters: NaN fails both range comparisons and would
	// otherwise pass.
	fontOK := !math.IsNaN(t.FontSize) && t.FontSize >= MinFontSize && t.FontSize <= MaxFontSize
	if !fontOK {
		add(prefix+".font_size", "must be between %d and %d", MinFontSize, MaxFontSize)
	}
	if _, err := parseColor(t.Color); err != nil {
		add(prefix+".color", "%v", err)
	}
	switch t.Align {
	case "", AlignLeft, AlignCenter, AlignRight:
	default:
		add(prefix+".align", "must be one of left, center, right; got %q", t.Align)
	}
	if t.MaxWidth <= 0 {
		add(prefix+".max_width", "must be positive")
	} else if t.X < 0 || t.X+t.MaxWidth > w {
		add(prefix+".x", "box from x=%d to x=%d must lie inside the %d px wide poster", t.X, t.X+t.MaxWidth, w)
	}
	// Without a valid font size the box height is unknown; the font_size
	// error already covers it.
	if fontOK {
		if bottom := t.Y + t.lineHeight(); t.Y < 0 || bottom > h {
			add(prefix+".y", "box from y=%d to y=%d must lie inside the %d px high poster", t.Y, bottom, h)
		}
	}
}

// lineHeight is the box height in pixels.
func (t TextBox) lineHeight() int {
	return int(math.Ceil(t.FontSize * lineHeightFactor))
}

// parseColor reads #RRGGBB (hex digits in either case) as opaque RGB.
func parseColor(s string) ([3]uint8, error) {
	var rgb [3]uint8
	if len(s) != 7 || s[0] != '#' {
		return rgb, fmt.Errorf("must be #RRGGBB; got %q", s)
	}
	for i := range rgb {
		hi, ok1 := hexDigit(s[1+2*i])
		lo, ok2 := hexDigit(s[2+2*i])
		if !ok1 || !ok2 {
			return rgb, fmt.Errorf("must be #RRGGBB; got %q", s)
		}
		rgb[i] = hi<<4 | lo
	}
	return rgb, nil
}

func hexDigit(c byte) (uint8, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
