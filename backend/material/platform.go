package material

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/salesapp/scrm/backend/material/internal/materialdb"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/media"
	"github.com/salesapp/scrm/media/poster"
)

// platformFileKinds are the kinds of platform material with a file, and the file's media kind.
var platformFileKinds = map[Kind]media.Kind{KindPoster: media.KindImage, KindBrochure: media.KindPDF, KindVideo: media.KindVideo}

// posterLayout checks a poster's layout against its image (read from img up to its header) and encodes it;
// errors name fileField or layoutField.
func posterLayout(l *poster.Layout, img io.Reader, fileField, layoutField string) ([]byte, error) {
	cfg, _, err := image.DecodeConfig(img)
	if err != nil {
		return nil, platform.Invalid(fileField, "the poster is not a readable image")
	}
	if err := l.Validate(cfg.Width, cfg.Height); err != nil {
		return nil, platform.Invalid(layoutField, err.Error())
	}
	return json.Marshal(l)
}

// PlatformFile is the object of a platform poster, brochure or video, as the operator supplies it.
type PlatformFile struct {
	Data        []byte
	ContentType string
}

// CreatePlatform publishes a platform material, visible to the tenants on plans (none: every tenant). It is the SaaS operator's
// (salesctl), and skips review: the operator is the reviewer. A file given is stored as a platform file,
// and then the material is added as OperatorService adds one (AddPlatform's checks, the owner's function
// of migration 047), through owner, the table owner's pool.
func (s *Service) CreatePlatform(ctx context.Context, owner *pgxpool.Pool, kind Kind, c Content, file *PlatformFile, plans []string) (uuid.UUID, error) {
	mk, needsFile := platformFileKinds[kind]
	switch {
	case needsFile && file == nil:
		return uuid.Nil, platform.Invalid("file", "a "+string(kind)+" needs a file")
	case !needsFile && file != nil:
		return uuid.Nil, platform.Invalid("file", "a "+string(kind)+" has no file")
	case file == nil:
		return s.addPlatform(ctx, materialdb.New(owner), kind, c, plans)
	}
	ct, err := media.CheckUpload(mk, file.ContentType, int64(len(file.Data)))
	if err != nil {
		return uuid.Nil, err
	}
	ext := map[media.Kind]string{media.KindImage: strings.TrimPrefix(ct, "image/"), media.KindPDF: "pdf", media.KindVideo: "mp4"}[mk]
	if ext == "jpeg" {
		ext = "jpg"
	}
	c.FileKey = media.PlatformKey(media.FilePurpose, ext)
	if err := s.store.Put(ctx, c.FileKey, bytes.NewReader(file.Data), int64(len(file.Data)), ct); err != nil {
		return uuid.Nil, err
	}
	id, err := s.addPlatform(ctx, materialdb.New(owner), kind, c, plans)
	if err != nil {
		// Refused: the file is referenced by nothing.
		if derr := s.store.Delete(context.WithoutCancel(ctx), c.FileKey); derr != nil {
			err = errors.Join(err, derr)
		}
	}
	return id, err
}

// The operator's platform materials (OperatorService): the application role reaches rows of no tenant only
// through the owner's functions of migration 036. Every kind is added (its file uploaded by presigned
// request first), edited, withdrawn, published again and deleted here.

// PlatformItem is a platform material as the operator lists it.
type PlatformItem struct {
	ID             uuid.UUID
	Kind           Kind
	Published      bool
	Title, Summary string
	Tags           []string
	// Plans are the plans whose enterprises see it; empty: every plan.
	Plans                []string
	CreatedAt, UpdatedAt time.Time
}

// PlatformEdit is what an edit changes; nil fields stay.
type PlatformEdit struct {
	Title, Summary, BodyHTML, TextBody *string
	Tags                               *[]string
}

var errNoPlatformMaterial = platform.NotFound("platform material")

// AddPlatform publishes a platform material to the enterprises on plans (empty: every plan). A poster,
// brochure or video names its file by a key FinalizePlatformUpload answered, whose object must be of the
// kind's type; a poster may have a layout, checked against its image.
func (s *Service) AddPlatform(ctx context.Context, kind Kind, c Content, plans []string) (uuid.UUID, error) {
	return s.addPlatform(ctx, materialdb.New(s.db.Pool), kind, c, plans)
}

// addPlatform is AddPlatform through q: the application's pool, or the table owner's (salesctl).
func (s *Service) addPlatform(ctx context.Context, q *materialdb.Queries, kind Kind, c Content, plans []string) (uuid.UUID, error) {
	mk, needsFile := platformFileKinds[kind]
	switch {
	case !kind.valid():
		return uuid.Nil, platform.Invalid("kind", "unknown kind")
	case strings.TrimSpace(c.Title) == "":
		return uuid.Nil, platform.Invalid("title", "required")
	case needsFile && c.FileKey == "":
		return uuid.Nil, platform.Invalid("file_key", "a "+string(kind)+" needs a file: upload it with CreatePlatformUpload and FinalizePlatformUpload")
	case !needsFile && c.FileKey != "":
		return uuid.Nil, platform.Invalid("file_key", "a "+string(kind)+" has no file")
	case c.Layout != nil && kind != KindPoster:
		return uuid.Nil, platform.Invalid("poster_layout", "only posters have a layout")
	}
	c.BodyHTML = s.policy.Sanitize(c.BodyHTML)
	switch {
	case kind == KindArticle && strings.TrimSpace(c.BodyHTML) == "":
		return uuid.Nil, platform.Invalid("body_html", "an article needs a body")
	case kind == KindMoments && strings.TrimSpace(c.TextBody) == "":
		return uuid.Nil, platform.Invalid("text_body", "moments copy needs text")
	}
	plans, err := checkPlans(ctx, q, plans)
	if err != nil {
		return uuid.Nil, err
	}
	var layout []byte
	if needsFile {
		if layout, err = s.checkPlatformFile(ctx, c.FileKey, mk, c.Layout); err != nil {
			return uuid.Nil, err
		}
	}
	id := uuid.Must(uuid.NewV7())
	err = q.OperatorAddPlatformMaterial(ctx, materialdb.OperatorAddPlatformMaterialParams{ID: id,
		Kind: string(kind), Title: strings.TrimSpace(c.Title), Summary: c.Summary, BodyHtml: c.BodyHTML, TextBody: c.TextBody,
		Tags: nonNil(normalizeTags(c.Tags)), Plans: plans, FileKey: c.FileKey, PosterLayout: layout})
	return id, err
}

// checkPlatformFile checks that key is a finalized platform upload whose object is of kind mk, and a
// poster's layout against its image; it answers the layout encoded (nil: none).
func (s *Service) checkPlatformFile(ctx context.Context, key string, mk media.Kind, l *poster.Layout) ([]byte, error) {
	if !media.IsPlatformFile(key) {
		return nil, platform.Invalid("file_key", "not a key FinalizePlatformUpload answered")
	}
	info, err := s.store.Stat(ctx, key)
	if platform.KindOf(err) == platform.KindNotFound {
		return nil, platform.Invalid("file_key", "no such file")
	}
	if err != nil {
		return nil, err
	}
	if _, err := media.CheckUpload(mk, info.ContentType, info.Size); err != nil {
		return nil, platform.Invalid("file_key", "the file is "+info.ContentType+"; this kind needs a "+string(mk))
	}
	if l == nil {
		return nil, nil
	}
	body, _, err := s.store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return posterLayout(l, body, "file_key", "poster_layout")
}

// PlatformUpload hands out a presigned upload of a platform object (the operator's; FinalizePlatformUpload
// checks it).
func (s *Service) PlatformUpload(ctx context.Context, kind media.Kind, contentType string, size int64) (media.UploadTicket, error) {
	return s.store.PresignPlatformUpload(ctx, kind, contentType, size)
}

// FinalizePlatformUpload checks an uploaded platform object as a tenant's upload is checked (it exists,
// its size and type are as declared, its bytes are what the type says) and answers the key of the checked
// copy, which AddPlatform takes.
func (s *Service) FinalizePlatformUpload(ctx context.Context, key string, kind media.Kind, contentType string, size int64) (string, error) {
	info, err := s.store.FinalizePlatform(ctx, key, kind, contentType, size)
	return info.Key, err
}

// checkPlans answers plans trimmed, each once, in order (nil for none: every plan), or InvalidArgument naming
// a plan that does not exist.
func checkPlans(ctx context.Context, q *materialdb.Queries, plans []string) ([]string, error) {
	var out []string
	for _, p := range plans {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	unknown, err := q.UnknownPlans(ctx, out)
	if err != nil {
		return nil, err
	}
	if len(unknown) > 0 {
		return nil, platform.Invalid("plans", "no plan is named "+strings.Join(unknown, ", "))
	}
	return out, nil
}

// EditPlatform changes a platform material's text.
func (s *Service) EditPlatform(ctx context.Context, id uuid.UUID, e PlatformEdit) error {
	p := materialdb.OperatorEditPlatformMaterialParams{ID: id, Title: e.Title, Summary: e.Summary, TextBody: e.TextBody}
	if e.Title != nil && strings.TrimSpace(*e.Title) == "" {
		return platform.Invalid("title", "cannot be empty")
	}
	if e.BodyHTML != nil {
		clean := s.policy.Sanitize(*e.BodyHTML)
		p.BodyHtml = &clean
	}
	if e.Tags != nil {
		p.Tags = nonNil(normalizeTags(*e.Tags))
	}
	n, err := materialdb.New(s.db.Pool).OperatorEditPlatformMaterial(ctx, p)
	if err == nil && n == 0 {
		return errNoPlatformMaterial
	}
	return err
}

// PublishPlatform publishes a platform material (true) to the enterprises on plans (empty: every plan), or
// withdraws it (false, with no plans). Changing the plans of a published material publishes it again: the
// enterprises it leaves stop seeing it, their devices get tombstones.
func (s *Service) PublishPlatform(ctx context.Context, id uuid.UUID, published bool, plans []string) error {
	if !published && len(plans) > 0 {
		return platform.Invalid("plans", "a material is withdrawn from every plan at once; publish it to the plans that keep it instead")
	}
	plans, err := checkPlans(ctx, materialdb.New(s.db.Pool), plans)
	if err != nil {
		return err
	}
	n, err := materialdb.New(s.db.Pool).OperatorPublishPlatformMaterial(ctx, materialdb.OperatorPublishPlatformMaterialParams{ID: id,
		Published: published, Plans: plans})
	if err == nil && n == 0 {
		return errNoPlatformMaterial
	}
	return err
}

// DeletePlatform deletes a platform material for good, and its file, cover and images in the background
// (those no other platform material names), as Delete does a tenant's.
func (s *Service) DeletePlatform(ctx context.Context, id uuid.UUID) error {
	return pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		r, err := materialdb.New(tx).OperatorDeletePlatformMaterial(ctx, id)
		switch {
		case err != nil:
			return err
		case r.Changed == 0:
			return errNoPlatformMaterial
		case len(r.ObjectKeys) == 0:
			return nil
		}
		return s.jobs.DeleteObjects(ctx, tx, r.ObjectKeys)
	})
}

// ListPlatform lists the platform materials not deleted, newest first.
func (s *Service) ListPlatform(ctx context.Context) ([]PlatformItem, error) {
	rows, err := materialdb.New(s.db.Pool).OperatorPlatformMaterials(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]PlatformItem, len(rows))
	for i, r := range rows {
		out[i] = PlatformItem{ID: r.ID, Kind: Kind(r.Kind), Published: r.Status == string(StatusPublished), Title: r.Title,
			Summary: r.Summary, Tags: r.Tags, Plans: r.Plans, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	}
	return out, nil
}
