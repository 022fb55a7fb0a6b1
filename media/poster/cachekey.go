package poster

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"strconv"
)

// renderVersion names the rendering algorithm. Bump it whenever a change to
// this package alters output pixels, so cached posters from the old code are
// not served as if they were current.
const renderVersion = "poster/v1"

// CacheKey identifies the output of [Renderer.Render] for one material
// version, layout and salesperson: the first 32 hex characters of a SHA-256
// over everything that changes the pixels. A new material version, any
// layout change, a renamed salesperson, a new title or a new share URL gives
// a new key; the same inputs always give the same key.
//
// The renderer's font is not an input: a deployment that switches fonts
// must flush cached posters. Changes to this package's drawing are covered
// by an internal version tag that is part of the key.
func CacheKey(materialID string, materialVersion int64, layout Layout, p Personal) string {
	h := sha256.New()
	// Every field is length-prefixed so that no two distinct inputs can
	// produce the same byte stream (e.g. name "ab"+title "c" vs "a"+"bc").
	k := keyWriter{h: h}
	k.str(renderVersion)
	k.str(materialID)
	k.int(materialVersion)
	k.int(int64(layout.QR.X))
	k.int(int64(layout.QR.Y))
	k.int(int64(layout.QR.Size))
	k.text(layout.Name)
	if layout.Title == nil {
		k.str("no-title")
	} else {
		k.str("title")
		k.text(*layout.Title)
	}
	k.str(p.Name)
	k.str(p.Title)
	k.str(p.QRContent)
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// keyWriter feeds typed, length-prefixed values into a hash.
type keyWriter struct {
	h   hash.Hash
	buf [binary.MaxVarintLen64]byte
}

func (k *keyWriter) str(s string) {
	n := binary.PutUvarint(k.buf[:], uint64(len(s)))
	k.h.Write(k.buf[:n])
	k.h.Write([]byte(s))
}

func (k *keyWriter) int(v int64) {
	n := binary.PutVarint(k.buf[:], v)
	k.h.Write(k.buf[:n])
}

func (k *keyWriter) text(t TextBox) {
	k.int(int64(t.X))
	k.int(int64(t.Y))
	// The shortest exact representation: equal floats give equal strings,
	// and NaN still hashes to something stable.
	k.str(strconv.FormatFloat(t.FontSize, 'g', -1, 64))
	k.str(t.Color)
	k.str(t.Align)
	k.int(int64(t.MaxWidth))
}
