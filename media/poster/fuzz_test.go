package poster

import (
	"image"
	"image/color"
	"testing"
)

// Whatever layout an admin saves and whatever name a salesperson types: Validate refuses it, or Render
// draws it inside the poster, at the poster's size, without a panic.
func FuzzValidatedLayoutsRender(f *testing.F) {
	f.Add(60, 300, 120, 20, 30, 24.0, "#112233", "left", 200, "Sam Li")
	f.Add(0, 0, 100, 0, 0, 8.0, "#ffffff", "center", 1, "")
	f.Add(200, 300, 100, 299, 399, 200.0, "#000000", "right", 10, "名字很长的销售人员名字很长的销售人员")
	f.Add(-1, -1, 0, -5, 1<<30, 1e308, "red", "justify", -1, "\x00\u202e")
	r, err := NewRenderer(nil)
	if err != nil {
		f.Fatal(err)
	}
	const w, h = 300, 400
	base := image.NewUniform(color.RGBA{200, 220, 240, 255})
	bg := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			bg.Set(x, y, base.C)
		}
	}
	f.Fuzz(func(t *testing.T, qrX, qrY, qrSize, x, y int, fontSize float64, col, align string, maxWidth int, name string) {
		l := Layout{QR: QRBox{X: qrX, Y: qrY, Size: qrSize},
			Name: TextBox{X: x, Y: y, FontSize: fontSize, Color: col, Align: align, MaxWidth: maxWidth}}
		if l.Validate(w, h) != nil {
			return
		}
		out, err := r.Render(bg, l, Personal{Name: name, QRContent: "https://crm.example.com/s/AbCdEfGhIjKlMnOp"})
		if err != nil {
			return // a QR square too small for its content is refused, not drawn
		}
		if out.Bounds() != bg.Bounds() {
			t.Fatalf("rendered %v, want the poster's %v", out.Bounds(), bg.Bounds())
		}
	})
}
