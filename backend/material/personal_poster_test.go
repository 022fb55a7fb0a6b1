package material_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/material"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/media"
	"github.com/salesapp/scrm/media/miniotest"
	"github.com/salesapp/scrm/media/poster"
)

// posterFixture is a library that renders, with a published 1200×1800 poster with a layout.
type posterFixture struct {
	svc    *material.Service
	shares *share.Service
	store  *media.Store
	sales  authn.Principal
	poster uuid.UUID
}

func setupPoster(t *testing.T, imageMemory int64) posterFixture {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	cfg := miniotest.New(t)
	cfg.ImageMemory, cfg.ImageWait = imageMemory, 200*time.Millisecond
	store, err := media.New(ctx, cfg)
	require.NoError(t, err)
	renderer, err := poster.NewRenderer(nil)
	require.NoError(t, err)
	shares := share.NewService(db.App, "https://share.example.com")
	svc := material.NewService(db.App, store, renderer, &deletions{}, shares)
	a := db.NewTenant(t, "A")
	team := db.NewTeam(t, a.ID, "East")
	mgr := db.NewEmployee(t, a.ID, authn.RoleManager, team)

	// Large enough that a render takes a while, so concurrent requests overlap it.
	img := image.NewRGBA(image.Rect(0, 0, 1200, 1800))
	for y := range 1800 {
		for x := range 1200 {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	key := media.TenantKey(a.ID, media.UploadPurpose, "png")
	require.NoError(t, store.Put(ctx, key, bytes.NewReader(buf.Bytes()), int64(buf.Len()), "image/png"))
	_, err = db.Super.Exec(ctx, "INSERT INTO uploads (tenant_id, object_key, kind, content_type, size_bytes, uploaded_by) VALUES ($1, $2, 'image', 'image/png', $3, $4)",
		a.ID, key, buf.Len(), uuid.New())
	require.NoError(t, err)
	layout := &poster.Layout{QR: poster.QRBox{X: 900, Y: 1500, Size: 240},
		Name: poster.TextBox{X: 20, Y: 1600, FontSize: 32, Color: "#202020", Align: poster.AlignLeft, MaxWidth: 360}}
	v, err := svc.Create(ctx, mgr, material.TierEnterprise, material.KindPoster, material.Content{Title: "Offer", FileKey: key, Layout: layout})
	require.NoError(t, err)
	_, err = svc.Submit(ctx, mgr, v.ID)
	require.NoError(t, err)
	_, err = svc.Review(ctx, a.Admin, v.ID, true, "")
	require.NoError(t, err)
	return posterFixture{svc: svc, shares: shares, store: store, sales: db.NewEmployee(t, a.ID, authn.RoleSales, team), poster: v.ID}
}

func TestConcurrentRequestsForOnePosterRenderItOnce(t *testing.T) {
	t.Parallel()
	f := setupPoster(t, 0)
	// The salesperson's share link exists already, so every request reaches the render at the same time.
	_, err := f.shares.ShareMaterial(context.Background(), f.sales, f.poster, "chat")
	require.NoError(t, err)
	const n = 12
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		rendered int
		urls     = map[string]bool{}
		errs     []error
	)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			pp, err := f.svc.PersonalizedPoster(context.Background(), f.sales, f.poster, "chat")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			if pp.Rendered {
				rendered++
			}
			urls[pp.ShareToken] = true
		})
	}
	close(start)
	wg.Wait()
	require.Empty(t, errs)
	t.Logf("rendered %d times, %d errors", rendered, len(errs))
	require.Equal(t, 1, rendered, "one render served every request")
	require.Len(t, urls, 1)
}

func TestARenderWaitsForImageMemoryAndGivesUpWithARetryHint(t *testing.T) {
	t.Parallel()
	f := setupPoster(t, 4*media.MiB)
	ctx := context.Background()
	// The 1200×1800 RGBA poster needs 1200×1800×(4+4) bytes, about 16 MiB: more than the budget, so it
	// takes all of it and runs alone. Take the budget away and the render has to wait (200 ms here).
	release, err := f.store.Images().Acquire(ctx, f.store.Images().Size())
	require.NoError(t, err)
	_, err = f.svc.PersonalizedPoster(ctx, f.sales, f.poster, "chat")
	var de *platform.Error
	require.True(t, errors.As(err, &de), "error: %v", err)
	require.Equal(t, platform.KindResourceExhausted, de.Kind, "error: %v", err)
	require.Positive(t, de.RetryAfter)

	// Once the memory is back, the render that was waiting finishes and later requests get it.
	release()
	require.Eventually(t, func() bool {
		pp, err := f.svc.PersonalizedPoster(ctx, f.sales, f.poster, "chat")
		return err == nil && pp.ImageURL != ""
	}, 30*time.Second, 50*time.Millisecond)
}
