package media

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/salesapp/scrm/backend/platform"
)

// MaxImagePixels is the largest image (width × height) the backend accepts and decodes: FinalizeUpload
// refuses larger images, and thumbnails and poster renders check the header again before decoding. 25
// megapixels hold an A3 poster at 300 dpi (3508 × 4961 is 17.4 MP) with room to spare, while a decoded
// 16-bit PNG of that size already takes 200 MB.
const MaxImagePixels = 25_000_000

// DefaultImageMemory is the decode budget when none is configured (SALESD_IMAGE_MEMORY_MIB): room for two
// renders of the largest accepted poster at once (25 MP of 16-bit PNG: 288 MB each), or dozens of
// phone-sized ones. Renders are CPU-bound, so a third at once would not finish the queue sooner on a
// machine of two cores; it would only hold 288 MB more.
const DefaultImageMemory = 768 * MiB

// DefaultImageWait is how long a decode waits for room in the budget before the request is answered
// ResourceExhausted: long enough to ride out a burst, short enough that a phone does not time out first.
const DefaultImageWait = 10 * time.Second

// imageRetryAfter is the retry hint sent with a refusal for want of decode memory: about one render.
const imageRetryAfter = 5 * time.Second

// CheckImageSize refuses, as platform.Invalid on field, an image whose header claims no pixels or more
// than MaxImagePixels.
func CheckImageSize(field string, cfg image.Config) error {
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return platform.Invalid(field, "the image has no pixels")
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return platform.Invalid(field, fmt.Sprintf("the image is %d×%d pixels; at most %d megapixels (%d pixels) are accepted",
			cfg.Width, cfg.Height, MaxImagePixels/1_000_000, MaxImagePixels))
	}
	return nil
}

// BytesPerPixel is what one pixel of an image with this color model takes once decoded by the standard
// library's decoders: 8 for 16-bit RGBA (a 16-bit PNG), 4 for 8-bit RGBA and CMYK, 3 for YCbCr (a JPEG
// without chroma subsampling; subsampled ones take less), 2 for 16-bit gray, 1 for gray and paletted.
func BytesPerPixel(m color.Model) int64 {
	switch m {
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.YCbCrModel:
		return 3
	case color.NYCbCrAModel:
		return 4
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 4
}

// DecodeBytes estimates the memory a decode of an image with header cfg takes, plus extraPerPixel bytes a
// pixel for what the caller allocates beside it (a render's RGBA canvas is 4).
func DecodeBytes(cfg image.Config, extraPerPixel int64) int64 {
	return int64(cfg.Width) * int64(cfg.Height) * (BytesPerPixel(cfg.ColorModel) + extraPerPixel)
}

// DecodeBudget bounds the memory that image decodes (thumbnails, poster renders) take at once across a
// node: each decode holds its estimated bytes of a weighted semaphore while it runs. A decode that cannot
// get its share within the wait (or before its context ends) is refused with ResourceExhausted and a
// retry hint, rather than piling up requests each holding hundreds of megabytes.
type DecodeBudget struct {
	sem  *semaphore.Weighted
	size int64
	wait time.Duration
}

// NewDecodeBudget makes a budget of size bytes (DefaultImageMemory when not positive) whose decodes wait
// at most wait for room (DefaultImageWait when not positive).
func NewDecodeBudget(size int64, wait time.Duration) *DecodeBudget {
	if size <= 0 {
		size = DefaultImageMemory
	}
	if wait <= 0 {
		wait = DefaultImageWait
	}
	return &DecodeBudget{sem: semaphore.NewWeighted(size), size: size, wait: wait}
}

// Size is the budget in bytes.
func (b *DecodeBudget) Size() int64 { return b.size }

// Acquire waits until n bytes of the budget are free, at most the budget's wait and never past ctx, and
// returns the function that gives them back. A decode larger than the whole budget takes all of it, so it
// runs alone rather than never. When the bytes cannot be had in time, Acquire returns a
// platform.RetryLater error (ResourceExhausted with a retry hint).
func (b *DecodeBudget) Acquire(ctx context.Context, n int64) (release func(), err error) {
	n = min(max(n, 1), b.size)
	wctx, cancel := context.WithTimeout(ctx, b.wait)
	defer cancel()
	if err := b.sem.Acquire(wctx, n); err != nil {
		return nil, &platform.Error{Kind: platform.KindResourceExhausted, RetryAfter: imageRetryAfter, Cause: err,
			Msg: "the server is busy with other images; try again in a few seconds"}
	}
	return func() { b.sem.Release(n) }, nil
}
