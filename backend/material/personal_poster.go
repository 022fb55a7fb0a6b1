package material

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/material/internal/materialdb"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/media"
	"github.com/salesapp/scrm/media/poster"
)

// PersonalPoster is a poster rendered for one salesperson.
type PersonalPoster struct {
	ImageURL   string
	ShareToken string
	ShareURL   string
	// Rendered is false when a cached render was served.
	Rendered bool
}

// maxPosterBytes bounds what is read into memory for a render (the upload limit of images).
const maxPosterBytes = 10 << 20

// PersonalizedPoster returns the caller's version of a poster: their standing share link of it on the
// channel (the same link for every version of the poster, so attribution survives a reprint), encoded in a QR code and
// drawn with their name where the admin placed them. A render is kept per (material version, layout,
// salesperson details, link) and served again without rendering until one of those changes.
func (s *Service) PersonalizedPoster(ctx context.Context, p authn.Principal, id uuid.UUID, channel event.Channel) (PersonalPoster, error) {
	var (
		m        Material
		personal poster.Personal
		out      PersonalPoster
		cacheKey string
		cached   string
	)
	err := s.tx(ctx, p.TenantID, func(q *materialdb.Queries, tx pgx.Tx) error {
		var err error
		if m, err = load(ctx, q, p.TenantID, id); err != nil {
			return err
		}
		if _, err := ShareableTx(ctx, tx, p, id); err != nil {
			return err
		}
		if m.Kind != KindPoster || m.Layout == nil {
			return platform.FailedPrecondition("this material is not a poster with a layout for personalizing")
		}
		who, err := q.PersonalOf(ctx, materialdb.PersonalOfParams{TenantID: p.TenantID, EmployeeID: p.EmployeeID})
		if err != nil {
			return err
		}
		if out.ShareToken, out.ShareURL, err = s.sharer.StandingShareTx(ctx, tx, p, id, channel); err != nil {
			return err
		}
		personal = poster.Personal{Name: who.Name, Title: who.Title, QRContent: out.ShareURL}
		cacheKey = poster.CacheKey(m.ID.String(), m.Version, *m.Layout, personal)
		cached, err = q.GetPosterRender(ctx, materialdb.GetPosterRenderParams{TenantID: p.TenantID, CacheKey: cacheKey})
		if errors.Is(err, pgx.ErrNoRows) {
			cached, err = "", nil
		}
		return err
	})
	if err != nil {
		return PersonalPoster{}, err
	}
	if cached == "" {
		if cached, out.Rendered, err = s.renderOnce(ctx, p, m, channel, personal, cacheKey, out.ShareToken); err != nil {
			return PersonalPoster{}, err
		}
	}
	out.ImageURL, err = s.store.PresignGet(ctx, p.TenantID, cached, s.urlTTL)
	return out, err
}

// renderOnce renders and records the poster of cacheKey unless it is recorded already, one render per key
// at a time on this node: concurrent requests for the same render wait for the one under way instead of
// each decoding the poster (hundreds of megabytes for a large one). It returns the render's object key and
// whether this call rendered it.
//
// The render runs detached from the first caller's cancellation, so that the callers sharing it are not
// failed by one of them going away; each caller stops waiting when its own context ends, with the retry
// hint of a busy server.
func (s *Service) renderOnce(ctx context.Context, p authn.Principal, m Material, channel event.Channel, personal poster.Personal, cacheKey, token string) (string, bool, error) {
	var mine atomic.Bool
	ch := s.renders.DoChan(renderKey(p.TenantID, cacheKey), func() (any, error) {
		mine.Store(true)
		return s.renderAndRecord(context.WithoutCancel(ctx), p, m, channel, personal, cacheKey, token)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", false, r.Err
		}
		res := r.Val.(renderResult)
		return res.key, res.rendered && mine.Load(), nil
	case <-ctx.Done():
		return "", false, platform.RetryLater("the poster is still being rendered; try again in a few seconds", renderRetryAfter)
	}
}

// renderRetryAfter is the retry hint of a caller that stopped waiting for a render: about one render.
const renderRetryAfter = 5 * time.Second

type renderResult struct {
	key      string
	rendered bool
}

// renderAndRecord checks the cache again (a render that finished between the caller's look and this
// flight is served, not redone), then renders and records.
func (s *Service) renderAndRecord(ctx context.Context, p authn.Principal, m Material, channel event.Channel, personal poster.Personal, cacheKey, token string) (renderResult, error) {
	var cached string
	err := s.tx(ctx, p.TenantID, func(q *materialdb.Queries, _ pgx.Tx) error {
		var err error
		cached, err = q.GetPosterRender(ctx, materialdb.GetPosterRenderParams{TenantID: p.TenantID, CacheKey: cacheKey})
		if errors.Is(err, pgx.ErrNoRows) {
			cached, err = "", nil
		}
		return err
	})
	if err != nil || cached != "" {
		return renderResult{key: cached}, err
	}
	// Render outside the transaction: it takes tens of milliseconds and needs no lock.
	key := renderKey(p.TenantID, cacheKey)
	if err := s.render(ctx, m, personal, key); err != nil {
		return renderResult{}, err
	}
	var recorded int64
	err = s.tx(ctx, p.TenantID, func(q *materialdb.Queries, _ pgx.Tx) error {
		var err error
		recorded, err = q.InsertPosterRender(ctx, materialdb.InsertPosterRenderParams{
			TenantID: p.TenantID, CacheKey: cacheKey, MaterialID: m.ID, EmployeeID: p.EmployeeID,
			Channel: string(channel), ShareToken: token, ObjectKey: key,
		})
		return err
	})
	if err != nil {
		return renderResult{}, err
	}
	if recorded == 0 {
		// Deleted while rendering (or another node recorded the same key, which is harmless): if the
		// material is gone, so is the render.
		if _, err := s.Get(ctx, p, m.ID); err != nil {
			_ = s.store.Delete(ctx, key)
			return renderResult{}, err
		}
	}
	return renderResult{key: key, rendered: true}, nil
}

// renderKey is deterministic, so two concurrent renders of the same poster write the same object.
func renderKey(tenantID uuid.UUID, cacheKey string) string {
	return fmt.Sprintf("t/%s/poster/%s.jpg", tenantID, cacheKey)
}

// render decodes the poster, draws on it and stores the result, holding the memory the decode and the
// canvas take of the node's image budget while it does.
func (s *Service) render(ctx context.Context, m Material, personal poster.Personal, key string) error {
	rc, _, err := s.store.Get(ctx, m.FileKey)
	if err != nil {
		return err
	}
	src, err := io.ReadAll(io.LimitReader(rc, maxPosterBytes+1))
	rc.Close()
	if err != nil {
		return err
	}
	cfg, err := poster.Config(src)
	if err != nil {
		return fmt.Errorf("render poster %s: %w", m.ID, err)
	}
	release, err := s.store.Images().Acquire(ctx, media.DecodeBytes(cfg, poster.RenderBytesPerPixel))
	if err != nil {
		return err
	}
	defer release()
	var buf bytes.Buffer
	if err := s.renderer.RenderJPEG(src, *m.Layout, personal, &buf); err != nil {
		return fmt.Errorf("render poster %s: %w", m.ID, err)
	}
	return s.store.Put(ctx, key, &buf, int64(buf.Len()), "image/jpeg")
}

// SharerPosterURL returns a download URL of the sharer's newest personalized render of a poster made
// since the poster last changed, or "" when they have none (the customer's page then shows the poster
// itself). Customers' pages never render: renders are made when the salesperson shares.
func (s *Service) SharerPosterURL(ctx context.Context, tenantID, sharerID uuid.UUID, m Material) (string, error) {
	var key string
	err := s.tx(ctx, tenantID, func(q *materialdb.Queries, _ pgx.Tx) error {
		var err error
		key, err = q.LatestPosterRender(ctx, materialdb.LatestPosterRenderParams{
			TenantID: tenantID, MaterialID: m.ID, EmployeeID: sharerID, Since: m.UpdatedAt})
		if errors.Is(err, pgx.ErrNoRows) {
			key, err = "", nil
		}
		return err
	})
	if err != nil || key == "" {
		return "", err
	}
	return s.store.PresignGet(ctx, tenantID, key, s.urlTTL)
}
