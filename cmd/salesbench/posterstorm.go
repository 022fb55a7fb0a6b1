package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/media"
)

// Sizes of poster-storm (issue 13: "32 concurrent personalized-poster requests for a 50 MP poster:
// resident memory ≤ 1.5 GB, every request succeeds or gets ResourceExhausted/Unavailable with a retry
// hint"). An image may have at most media.MaxImagePixels (25 MP) since that issue's fix, so the 50 MP
// poster is refused at upload and the storm renders the largest poster accepted, a 16-bit PNG (the
// costliest to decode: 8 bytes a pixel).
const (
	stormRequests    = 32
	stormSide        = 5000 // 5000² = 25 MP
	stormRefusedSide = 7072 // 7072² ≈ 50 MP
	stormDeadline    = 3 * time.Minute
)

// posterStorm makes a tenant with an admin and stormRequests salespeople; the admin tries to upload a
// 50 MP poster, then uploads and publishes the 25 MP one with a layout; then every salesperson asks for
// their personalized version at once (a render each: the QR code of their own link). salesd's resident
// memory is sampled throughout. A request refused for lack of memory is retried after the hint it
// carries, until every salesperson has their poster.
func posterStorm(ctx context.Context, b *bench) (rows []row, err error) {
	admin, sellers, err := b.crowd(ctx, "Poster storm", stormRequests)
	if err != nil {
		return nil, fmt.Errorf("seed the salespeople: %w", err)
	}
	s, err := b.startReady(ctx, "poster-storm")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	httpClient, protocol := loadClient(stormRequests, b.opts.http1)
	defer httpClient.CloseIdleConnections()
	// A phone waits as long as iOS's URLSession does by default; a render queued behind others takes
	// longer than the load scenarios' 10 s.
	httpClient.Timeout = time.Minute
	base := "http://" + s.addr
	mediaClient := salesappv1connect.NewMediaServiceClient(httpClient, base)
	materials := salesappv1connect.NewMaterialServiceClient(httpClient, base)

	huge, err := encodePNG(image.NewGray(image.Rect(0, 0, stormRefusedSide, stormRefusedSide)))
	if err != nil {
		return nil, err
	}
	_, err = uploadImage(ctx, mediaClient, admin, huge)
	if connect.CodeOf(err) != connect.CodeInvalidArgument {
		return nil, fmt.Errorf("a 50 MP poster was not refused at upload: %v", err)
	}
	refusal := err.(*connect.Error).Message()

	poster, err := encodePNG(stormPoster())
	if err != nil {
		return nil, err
	}
	key, err := uploadImage(ctx, mediaClient, admin, poster)
	if err != nil {
		return nil, fmt.Errorf("upload the poster: %w", err)
	}
	materialID, err := publishPoster(ctx, materials, admin, key)
	if err != nil {
		return nil, err
	}

	pid := s.cmd.Process.Pid
	rss0, err := residentKB(pid)
	if err != nil {
		return nil, err
	}
	rss := sampleRSS(ctx, pid, rss0, 20*time.Millisecond)

	// The storm: each salesperson asks until they have their poster, waiting out each refusal's hint.
	var (
		mu               sync.Mutex
		firstTry         = map[string]int{}
		refusals, noHint int
		doneAt           []time.Duration
		failure          error
		wg               sync.WaitGroup
		requestsSent     atomic.Int64
	)
	note := func(f func()) { mu.Lock(); defer mu.Unlock(); f() }
	fail := func(err error) {
		note(func() {
			if failure == nil {
				failure = err
			}
		})
	}
	stormCtx, giveUp := context.WithTimeout(ctx, stormDeadline)
	started := time.Now()
	defer giveUp()
	for i, token := range sellers {
		wg.Go(func() {
			for try := 0; ; try++ {
				req := connect.NewRequest(&salesappv1.GetPersonalizedPosterRequest{MaterialId: materialID, Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT})
				req.Header().Set("Authorization", "Bearer "+token)
				requestsSent.Add(1)
				_, err := materials.GetPersonalizedPoster(stormCtx, req)
				if try == 0 {
					note(func() { firstTry[codeOrOK(err)]++ })
				}
				if err == nil {
					note(func() { doneAt = append(doneAt, time.Since(started)) })
					return
				}
				code := connect.CodeOf(err)
				wait, hinted := retryAfter(err)
				note(func() {
					refusals++
					if !hinted {
						noHint++
					}
				})
				if (code != connect.CodeResourceExhausted && code != connect.CodeUnavailable) || !hinted {
					fail(fmt.Errorf("salesperson %d: %w", i, err))
					return
				}
				select {
				case <-stormCtx.Done():
					fail(fmt.Errorf("salesperson %d had no poster after %s", i, stormDeadline))
					return
				case <-time.After(wait):
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(started)
	peak := rss.finish()
	if failure != nil {
		return nil, failure
	}
	rss1, err := residentKB(pid)
	if err != nil {
		return nil, err
	}
	sort.Slice(doneAt, func(i, j int) bool { return doneAt[i] < doneAt[j] })
	var first []string
	for k, n := range firstTry {
		first = append(first, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(first)
	return []row{
		{"a 50 MP poster (7072², 8-bit PNG) at upload", "refused: InvalidArgument, " + strconv.Quote(refusal), "refused or bounded"},
		{"poster", fmt.Sprintf("%d×%d 16-bit PNG (%s MB file; %s MB decoded)", stormSide, stormSide, thousands(int64(len(poster))>>20),
			thousands(int64(stormSide)*stormSide*8>>20)), ""},
		{"client", fmt.Sprintf("%s, %d salespeople at once, each its own render", protocol, stormRequests), ""},
		{"first answers", fmt.Sprint(first), "ok, or ResourceExhausted/Unavailable with a retry hint"},
		{"refusals, and refusals without a retry hint", fmt.Sprintf("%d, %d", refusals, noHint), "…, 0"},
		{"every poster rendered (retrying after the hints)", fmt.Sprintf("%d of %d in %s, %d requests; first %s, median %s",
			len(doneAt), stormRequests, took.Round(time.Millisecond), requestsSent.Load(), doneAt[0].Round(time.Millisecond),
			doneAt[len(doneAt)/2].Round(time.Millisecond)), ""},
		{"salesd resident memory: before / peak / after", fmt.Sprintf("%s / %s / %s MB", thousands(rss0>>10), thousands(peak>>10),
			thousands(rss1>>10)), "peak ≤ 1,536 MB"},
	}, nil
}

// codeOrOK is err's Connect code, or ok when err is nil.
func codeOrOK(err error) string {
	if err == nil {
		return "ok"
	}
	return connect.CodeOf(err).String()
}

// retryAfter reads an error's retry hint (the Retry-After header salesd sets beside RetryInfo).
func retryAfter(err error) (time.Duration, bool) {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return 0, false
	}
	n, perr := strconv.Atoi(ce.Meta().Get("Retry-After"))
	if perr != nil || n < 0 {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// stormPoster is a 16-bit poster of bands of colour (16-bit: the costliest decode per pixel; bands: a
// file small enough to upload).
func stormPoster() image.Image {
	img := image.NewNRGBA64(image.Rect(0, 0, stormSide, stormSide))
	for y := range stormSide {
		c := color.NRGBA64{R: uint16(y * 13), G: 0x8000, B: uint16(0xffff - y*7), A: 0xffff}
		row := img.Pix[y*img.Stride : (y+1)*img.Stride]
		for x := 0; x < stormSide; x++ {
			o := x * 8
			row[o], row[o+1] = uint8(c.R>>8), uint8(c.R)
			row[o+2], row[o+3] = uint8(c.G>>8), uint8(c.G)
			row[o+4], row[o+5] = uint8(c.B>>8), uint8(c.B)
			row[o+6], row[o+7] = 0xff, 0xff
		}
	}
	return img
}

func encodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img)
	return buf.Bytes(), err
}

// uploadImage puts a PNG through the API's presigned upload as the admin and returns its object key.
func uploadImage(ctx context.Context, mc salesappv1connect.MediaServiceClient, admin string, body []byte) (string, error) {
	kind, typ, size := salesappv1.MediaKind_MEDIA_KIND_IMAGE, "image/png", int32(len(body))
	create := connect.NewRequest(&salesappv1.CreateUploadRequest{Kind: kind, ContentType: typ, SizeBytes: size})
	create.Header().Set("Authorization", "Bearer "+admin)
	tk, err := mc.CreateUpload(ctx, create)
	if err != nil {
		return "", err
	}
	put, err := http.NewRequestWithContext(ctx, http.MethodPut, tk.Msg.Ticket.PutUrl, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	for k, v := range tk.Msg.Ticket.PutHeaders {
		put.Header.Set(k, v)
	}
	// The object store speaks HTTP/1.1, not the RPCs' h2c.
	resp, err := (&http.Client{Timeout: time.Minute}).Do(put)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("presigned PUT: %s", resp.Status)
	}
	fin := connect.NewRequest(&salesappv1.FinalizeUploadRequest{ObjectKey: tk.Msg.Ticket.ObjectKey, Kind: kind, ContentType: typ, SizeBytes: size})
	fin.Header().Set("Authorization", "Bearer "+admin)
	f, err := mc.FinalizeUpload(ctx, fin)
	if err != nil {
		return "", err
	}
	return f.Msg.ObjectKey, nil
}

// publishPoster makes an enterprise poster of the file with a layout (QR code bottom right, name bottom
// left) and publishes it, returning its id.
func publishPoster(ctx context.Context, mc salesappv1connect.MaterialServiceClient, admin, key string) (string, error) {
	as := func(r connect.AnyRequest) { r.Header().Set("Authorization", "Bearer "+admin) }
	layout := &salesappv1.PosterLayout{QrX: stormSide - 900, QrY: stormSide - 900, QrSize: 800, NameX: 200, NameY: stormSide - 300,
		NameFontSize: 120, NameColor: "#202020", NameAlign: "left", NameMaxWidth: 3000}
	create := connect.NewRequest(&salesappv1.CreateMaterialRequest{
		Tier: salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, Kind: salesappv1.MaterialKind_MATERIAL_KIND_POSTER,
		Content: &salesappv1.MaterialContent{Title: "Storm poster", FileKey: key, PosterLayout: layout}})
	as(create)
	made, err := mc.CreateMaterial(ctx, create)
	if err != nil {
		return "", fmt.Errorf("create the poster: %w", err)
	}
	id := made.Msg.Material.Id
	submit := connect.NewRequest(&salesappv1.SubmitMaterialRequest{MaterialId: id})
	as(submit)
	if _, err := mc.SubmitMaterial(ctx, submit); err != nil {
		return "", fmt.Errorf("submit the poster: %w", err)
	}
	review := connect.NewRequest(&salesappv1.ReviewMaterialRequest{MaterialId: id, Approve: true})
	as(review)
	if _, err := mc.ReviewMaterial(ctx, review); err != nil {
		return "", fmt.Errorf("publish the poster: %w", err)
	}
	return id, nil
}

// The storm's poster is within the cap on images (this fails to compile if the cap is lowered below it).
const _ = uint64(media.MaxImagePixels - stormSide*stormSide)
