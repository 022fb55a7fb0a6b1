package material

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/salesapp/scrm/backend/material/internal/materialdb"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/media"
)

// PlatformFile is the object of a platform poster, brochure or video, as the operator supplies it.
type PlatformFile struct {
	Data        []byte
	ContentType string
}

// CreatePlatform publishes a platform material, visible to every tenant. It is the SaaS operator's
// (salesctl), runs as the table owner, and skips review: the operator is the reviewer. Row-level security
// binds the owner too; its platform_operator policy (migration 008) admits rows of no tenant, and only those.
func (s *Service) CreatePlatform(ctx context.Context, owner *pgxpool.Pool, kind Kind, c Content, file *PlatformFile) (uuid.UUID, error) {
	if !kind.valid() {
		return uuid.Nil, platform.Invalid("kind", "unknown kind")
	}
	if strings.TrimSpace(c.Title) == "" {
		return uuid.Nil, platform.Invalid("title", "required")
	}
	c.BodyHTML = s.policy.Sanitize(c.BodyHTML)
	c.Tags = normalizeTags(c.Tags)
	want := map[Kind]media.Kind{KindPoster: media.KindImage, KindBrochure: media.KindPDF, KindVideo: media.KindVideo}
	mk, needsFile := want[kind]
	switch {
	case needsFile && file == nil:
		return uuid.Nil, platform.Invalid("file", "a "+string(kind)+" needs a file")
	case !needsFile && file != nil:
		return uuid.Nil, platform.Invalid("file", "a "+string(kind)+" has no file")
	case kind == KindArticle && strings.TrimSpace(c.BodyHTML) == "":
		return uuid.Nil, platform.Invalid("body", "an article needs a body")
	case kind == KindMoments && strings.TrimSpace(c.TextBody) == "":
		return uuid.Nil, platform.Invalid("text", "moments copy needs text")
	}
	if file != nil {
		ct, err := media.CheckUpload(mk, file.ContentType, int64(len(file.Data)))
		if err != nil {
			return uuid.Nil, err
		}
		ext := map[media.Kind]string{media.KindImage: strings.TrimPrefix(ct, "image/"), media.KindPDF: "pdf", media.KindVideo: "mp4"}[mk]
		if ext == "jpeg" {
			ext = "jpg"
		}
		c.FileKey = media.PlatformKey("material", ext)
		if err := s.store.Put(ctx, c.FileKey, bytes.NewReader(file.Data), int64(len(file.Data)), ct); err != nil {
			return uuid.Nil, err
		}
	}
	var layout []byte
	if c.Layout != nil {
		if kind != KindPoster {
			return uuid.Nil, platform.Invalid("layout", "only posters have a layout")
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(file.Data))
		if err != nil {
			return uuid.Nil, platform.Invalid("file", "the poster is not a readable image")
		}
		if err := c.Layout.Validate(cfg.Width, cfg.Height); err != nil {
			return uuid.Nil, platform.Invalid("layout", err.Error())
		}
		layout, _ = json.Marshal(c.Layout)
	}
	id := uuid.Must(uuid.NewV7())
	err := materialdb.New(owner).InsertPlatformMaterial(ctx, materialdb.InsertPlatformMaterialParams{
		ID: id, Kind: string(kind), Title: c.Title, Summary: c.Summary, BodyHtml: c.BodyHTML, TextBody: c.TextBody,
		FileKey: c.FileKey, PosterLayout: layout, Tags: nonNil(c.Tags),
	})
	return id, err
}
