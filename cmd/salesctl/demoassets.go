package main

import (
	"bytes"
	_ "embed"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/salesapp/scrm/media/poster"
)

// The demo's poster, brochure and video are made here rather than kept as files, except the video, which Go
// cannot encode. Their text is Latin: no CJK font ships with Go, and the demo must run with Go alone.

// demoVideo is a 4-second 360×640 H.264 test pattern, made once with
//
//	ffmpeg -f lavfi -i testsrc2=size=360x640:rate=15 -t 4 -c:v libx264 -profile:v baseline -pix_fmt yuv420p \
//	  -crf 36 -movflags +faststart cmd/salesctl/demo_video.mp4
//
//go:embed demo_video.mp4
var demoVideo []byte

// Demo poster size and where the salesperson's QR code and name go on it.
const posterW, posterH = 750, 1200

var demoPosterLayout = poster.Layout{
	QR:    poster.QRBox{X: 490, Y: 930, Size: 220},
	Name:  poster.TextBox{X: 50, Y: 990, FontSize: 44, Color: "#1F2A44", MaxWidth: 420},
	Title: &poster.TextBox{X: 50, Y: 1060, FontSize: 28, Color: "#5A6478", MaxWidth: 420},
}

// faces returns the font ttf at the given sizes.
func faces(ttf []byte, sizes ...float64) ([]font.Face, error) {
	f, err := opentype.Parse(ttf)
	if err != nil {
		return nil, err
	}
	out := make([]font.Face, len(sizes))
	for i, s := range sizes {
		if out[i], err = opentype.NewFace(f, &opentype.FaceOptions{Size: s, DPI: 72, Hinting: font.HintingFull}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// text draws s with its baseline at (x, y).
func text(dst draw.Image, face font.Face, c color.Color, x, y int, s string) {
	d := font.Drawer{Dst: dst, Src: image.NewUniform(c), Face: face, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// demoPoster draws the demo poster: a headline on a blue gradient, three promises, and a white band at the
// bottom that the salesperson's QR code and name are rendered onto.
func demoPoster() ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, posterW, posterH))
	for y := range posterH {
		t := float64(y) / posterH
		c := color.RGBA{uint8(22 + 40*t), uint8(70 + 60*t), uint8(160 + 60*t), 255}
		draw.Draw(img, image.Rect(0, y, posterW, y+1), image.NewUniform(c), image.Point{}, draw.Src)
	}
	// Soft circles for depth.
	for _, c := range []struct{ x, y, r int }{{620, 180, 150}, {560, 820, 50}, {690, 700, 60}} {
		for y := c.y - c.r; y <= c.y+c.r; y++ {
			for x := c.x - c.r; x <= c.x+c.r; x++ {
				if (x-c.x)*(x-c.x)+(y-c.y)*(y-c.y) <= c.r*c.r && image.Pt(x, y).In(img.Rect) {
					p := img.RGBAAt(x, y)
					img.SetRGBA(x, y, color.RGBA{p.R/2 + 127, p.G/2 + 127, p.B/2 + 127, 255})
				}
			}
		}
	}
	bold, err := faces(gobold.TTF, 84, 40)
	if err != nil {
		return nil, err
	}
	regular, err := faces(goregular.TTF, 34)
	if err != nil {
		return nil, err
	}
	white := color.White
	text(img, bold[0], white, 50, 260, "Protect")
	text(img, bold[0], white, 50, 360, "what matters")
	text(img, regular[0], white, 50, 430, "A family plan in three steps")
	for i, s := range []string{"1  The earners first", "2  Cover before savings", "3  Review every year"} {
		text(img, bold[1], white, 70, 560+i*90, s)
	}
	draw.Draw(img, image.Rect(0, 900, posterW, posterH), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(0, 900, posterW, 906), image.NewUniform(color.RGBA{240, 160, 40, 255}), image.Point{}, draw.Src)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// demoBrochure writes a three-page A5 PDF: a cover with the poster's picture and two pages of text.
func demoBrochure(cover []byte) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A5", "")
	pdf.SetTitle("Family protection guide", true)
	pdf.SetAuthor("Demo Insurance", true)
	pdf.AddPage()
	opts := fpdf.ImageOptions{ImageType: "PNG", ReadDpi: false}
	pdf.RegisterImageOptionsReader("cover", opts, bytes.NewReader(cover))
	pdf.ImageOptions("cover", 14, 10, 120, 0, false, opts, 0, "")
	pages := []struct {
		title string
		lines []string
	}{
		{"Who to protect first", []string{
			"If the person who earns the family's income falls ill, the income stops.",
			"Protect the parents before the children: critical illness, medical,",
			"accident and term life cover are the four foundations.",
		}},
		{"How much cover", []string{
			"Critical illness: three to five times the yearly income.",
			"Medical: a high-limit plan plus a small one for everyday bills.",
			"Term life: enough to pay off the mortgage and the children's school.",
			"",
			"Leave your number on this page and we will review your family's cover for free.",
		}},
	}
	for _, p := range pages {
		pdf.AddPage()
		pdf.SetFont("Helvetica", "B", 20)
		pdf.SetTextColor(31, 42, 68)
		pdf.MultiCell(0, 12, p.title, "", "L", false)
		pdf.Ln(4)
		pdf.SetFont("Helvetica", "", 12)
		pdf.SetTextColor(60, 60, 60)
		for _, l := range p.lines {
			pdf.MultiCell(0, 7, l, "", "L", false)
		}
	}
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("demo brochure: %w", err)
	}
	return b.Bytes(), nil
}
