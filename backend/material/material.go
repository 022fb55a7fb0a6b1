// Package material is the material library: posters, articles, brochures, videos and moments copy in three
// tiers (platform, enterprise, personal), with folders, tags, search, review before publishing, and posters
// personalized with the salesperson's QR code and name.
//
// Who sees what: salespeople see published platform and enterprise materials and their own personal ones;
// admins and managers also see enterprise materials in every status. Only published materials can be
// shared, and customers only ever see published ones.
package material

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // poster formats media accepts
	_ "image/jpeg" // poster formats media accepts
	_ "image/png"  // poster formats media accepts
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/microcosm-cc/bluemonday"
	_ "golang.org/x/image/webp" // poster formats media accepts
	"golang.org/x/sync/singleflight"

	"github.com/salesapp/scrm/backend/audit"
	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/material/internal/materialdb"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/upload"
	"github.com/salesapp/scrm/media"
	"github.com/salesapp/scrm/media/poster"
)

// Tier says whose a material is.
type Tier string

// The tiers.
const (
	TierPlatform   Tier = "platform"
	TierEnterprise Tier = "enterprise"
	TierPersonal   Tier = "personal"
)

// Kind is what a material is.
type Kind string

// The kinds.
const (
	KindPoster   Kind = "poster"
	KindArticle  Kind = "article"
	KindBrochure Kind = "brochure"
	KindVideo    Kind = "video"
	KindMoments  Kind = "moments"
)

func (k Kind) valid() bool {
	switch k {
	case KindPoster, KindArticle, KindBrochure, KindVideo, KindMoments:
		return true
	}
	return false
}

// Status is where a material is in review.
type Status string

// The statuses.
const (
	StatusDraft     Status = "draft"
	StatusInReview  Status = "in_review"
	StatusPublished Status = "published"
	StatusRejected  Status = "rejected"
)

// Content is what an author writes.
type Content struct {
	Title, Summary string
	// BodyHTML is sanitized on write.
	BodyHTML  string
	TextBody  string
	FileKey   string
	ImageKeys []string
	CoverKey  string
	Layout    *poster.Layout
	Tags      []string
	FolderID  uuid.UUID
}

// Material is one library item.
type Material struct {
	ID           uuid.UUID
	Tier         Tier
	OwnerID      uuid.UUID
	Kind         Kind
	Status       Status
	RejectReason string
	Content
	Version    int64
	ShareCount int64
	// ThumbKey is the thumbnail of the cover (or poster), once made.
	ThumbKey    string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	PublishedAt *time.Time
}

// View is a material with short-lived download URLs for its objects.
type View struct {
	Material
	FileURL, CoverURL, ThumbnailURL string
	ImageURLs                       []string
}

// Summary is a material as a card lists it.
type Summary struct {
	ID       uuid.UUID
	Title    string
	Kind     Kind
	CoverURL string
	// ThumbnailURL is empty until the thumbnail is made.
	ThumbnailURL string
}

// Sharer gives personalized posters their share link (the share package implements it).
type Sharer interface {
	// StandingShareTx returns the caller's latest own share of the material on the channel, making one
	// when there is none, inside the caller's transaction.
	StandingShareTx(ctx context.Context, tx pgx.Tx, p authn.Principal, materialID uuid.UUID, ch event.Channel) (token, url string, err error)
}

// Jobs enqueues background work in the caller's transaction.
type Jobs interface {
	DeleteObjects(ctx context.Context, tx pgx.Tx, keys []string) error
}

// Service holds the library's rules.
type Service struct {
	db       *platform.DB
	store    *media.Store
	renderer *poster.Renderer
	sharer   Sharer
	jobs     Jobs
	policy   *bluemonday.Policy
	urlTTL   time.Duration
	// renders lets one render per cache key run at a time on this node.
	renders singleflight.Group
}

// NewService builds the service: sharer gives personalized posters their links, and jobs deletes the
// objects of deleted materials.
func NewService(db *platform.DB, store *media.Store, renderer *poster.Renderer, jobs Jobs, sharer Sharer) *Service {
	return &Service{db: db, store: store, renderer: renderer, jobs: jobs, sharer: sharer, policy: articlePolicy(), urlTTL: 30 * time.Minute}
}

// articlePolicy keeps what articles need (text formatting, links, images, tables) and drops scripts,
// event handlers, styles that can overlay the page, iframes and unknown tags.
func articlePolicy() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.RequireNoFollowOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
}

func (s *Service) tx(ctx context.Context, tenantID uuid.UUID, fn func(q *materialdb.Queries, tx pgx.Tx) error) error {
	return s.db.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error { return fn(materialdb.New(tx), tx) })
}

func canAuthorEnterprise(p authn.Principal) bool {
	return p.Role == authn.RoleAdmin || p.Role == authn.RoleManager
}

// visible applies the who-sees-what rule to a material row already limited by row-level security.
func visible(p authn.Principal, m Material) bool {
	switch m.Tier {
	case TierPlatform:
		return m.Status == StatusPublished
	case TierEnterprise:
		return m.Status == StatusPublished || canAuthorEnterprise(p)
	case TierPersonal:
		return m.OwnerID == p.EmployeeID
	}
	return false
}

// Filter narrows a list.
type Filter struct {
	Tier       Tier
	Kind       Kind
	Status     Status
	FolderID   uuid.UUID
	Tag, Query string
	MostShared bool
	PageSize   int
	PageToken  string
}

// List pages through what the caller may see.
func (s *Service) List(ctx context.Context, p authn.Principal, f Filter) ([]View, string, error) {
	size := f.PageSize
	if size <= 0 {
		size = 20
	}
	skip := 0
	if f.PageToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(f.PageToken)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "o:"))
		if err != nil || err2 != nil || n < 0 || n > 1_000_000 || !strings.HasPrefix(string(b), "o:") {
			return nil, "", platform.Invalid("page_token", "not a token this server issued")
		}
		skip = n
	}
	params := materialdb.ListMaterialsParams{
		TenantID: p.TenantID, ViewerID: p.EmployeeID, SeeUnpublished: canAuthorEnterprise(p),
		MostShared: f.MostShared, MaxRows: int32(size + 1), SkipRows: int32(skip),
		Tier: optional(string(f.Tier)), Kind: optional(string(f.Kind)), Status: optional(string(f.Status)),
		Tag: optional(strings.ToLower(strings.TrimSpace(f.Tag))), FolderID: uuid.NullUUID{UUID: f.FolderID, Valid: f.FolderID != uuid.Nil},
	}
	if !canAuthorEnterprise(p) && f.Status != "" && f.Status != StatusPublished {
		return nil, "", platform.PermissionDenied("salespeople see published materials only")
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		pat := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q) + "%"
		params.TitlePattern = &pat
	}
	var rows []materialdb.ListMaterialsRow
	err := s.tx(ctx, p.TenantID, func(q *materialdb.Queries, _ pgx.Tx) error {
		var err error
		rows, err = q.ListMaterials(ctx, params)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > size {
		rows = rows[:size]
		next = base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(skip+size)))
	}
	out := make([]View, 0, len(rows))
	for _, r := range rows {
		v, err := s.view(ctx, p.TenantID, fromRow(r))
		if err != nil {
			return nil, "", err
		}
		out = append(out, v)
	}
	return out, next, nil
}

// Get reads one material the caller may see.
func (s *Service) Get(ctx context.Context, p authn.Principal, id uuid.UUID) (View, error) {
	var m Material
	err := s.tx(ctx, p.TenantID, func(q *materialdb.Queries, _ pgx.Tx) error {
		var err error
		m, err = load(ctx, q, p.TenantID, id)
		if err == nil && !visible(p, m) {
			err = errNotFound
		}
		return err
	})
	if err != nil {
		return View{}, err
	}
	return s.view(ctx, p.TenantID, m)
}

var errNotFound = platform.NotFound("material")

func load(ctx context.Context, q *materialdb.Queries, tenantID, id uuid.UUID) (Material, error) {
	row, err := q.GetMaterial(ctx, materialdb.GetMaterialParams{TenantID: tenantID, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return Material{}, errNotFound
	}
	if err != nil {
		return Material{}, err
	}
	return fromRow(materialdb.ListMaterialsRow(row)), nil
}

// Create adds a material: enterprise ones (admins and managers) start as drafts; personal ones are the
// author's own and published at once.
func (s *Service) Create(ctx context.Context, p authn.Principal, tier Tier, kind Kind, c Content) (View, error) {
	switch {
	case tier == TierEnterprise && !canAuthorEnterprise(p):
		return View{}, platform.PermissionDenied("only admins and managers add enterprise materials")
	case tier != TierEnterprise && tier != TierPersonal:
		return View{}, platform.Invalid("tier", "must be enterprise or personal")
	case !kind.valid():
		return View{}, platform.Invalid("kind", "unknown kind")
	}
	id := uuid.Must(uuid.NewV7())
	err := s.tx(ctx, p.TenantID, func(q *materialdb.Queries, tx pgx.Tx) error {
		c, layout, err := s.checkContent(ctx, q, tx, p, tier, kind, c)
		if err != nil {
			return err
		}
		params := materialdb.InsertMaterialParams{
			ID: id, TenantID: uuid.NullUUID{UUID: p.TenantID, Valid: true}, Tier: string(tier), Kind: string(kind),
			Status: string(StatusDraft), FolderID: nullID(c.FolderID), Title: c.Title, Summary: c.Summary,
			BodyHtml: c.BodyHTML, TextBody: c.TextBody, FileKey: c.FileKey, ImageKeys: nonNil(c.ImageKeys),
			CoverKey: c.CoverKey, PosterLayout: layout, Tags: nonNil(c.Tags), CreatedBy: nullID(p.EmployeeID),
		}
		if tier == TierPersonal {
			now := time.Now()
			params.OwnerID, params.Status, params.PublishedAt = nullID(p.EmployeeID), string(StatusPublished), &now
		}
		return q.InsertMaterial(ctx, params)
	})
	if err != nil {
		return View{}, err
	}
	return s.Get(ctx, p, id)
}

// checkContent sanitizes and validates content for a kind: required objects are finalized uploads of the
// right media kind, the folder is one the caller may file into, the poster layout fits.
func (s *Service) checkContent(ctx context.Context, q *materialdb.Queries, tx pgx.Tx, p authn.Principal, tier Tier, kind Kind, c Content) (Content, []byte, error) {
	c.BodyHTML = s.policy.Sanitize(c.BodyHTML)
	c.Tags = normalizeTags(c.Tags)
	need := func(field, key string, kinds ...media.Kind) error {
		if key == "" {
			return platform.Invalid(field, "required for a "+string(kind))
		}
		return upload.Require(ctx, tx, p.TenantID, field, key, kinds...)
	}
	var err error
	switch kind {
	case KindPoster:
		err = need("content.file_key", c.FileKey, media.KindImage)
	case KindBrochure:
		err = need("content.file_key", c.FileKey, media.KindPDF)
	case KindVideo:
		err = need("content.file_key", c.FileKey, media.KindVideo)
	case KindArticle:
		if strings.TrimSpace(c.BodyHTML) == "" {
			err = platform.Invalid("content.body_html", "an article needs a body (after removing unsafe HTML)")
		}
	case KindMoments:
		if strings.TrimSpace(c.TextBody) == "" && len(c.ImageKeys) == 0 {
			err = platform.Invalid("content.text_body", "moments copy needs text or images")
		}
	}
	if err != nil {
		return c, nil, err
	}
	if kind != KindPoster && kind != KindBrochure && kind != KindVideo && c.FileKey != "" {
		return c, nil, platform.Invalid("content.file_key", "a "+string(kind)+" has no file")
	}
	for i, k := range c.ImageKeys {
		if err := upload.Require(ctx, tx, p.TenantID, fmt.Sprintf("content.image_keys[%d]", i), k, media.KindImage); err != nil {
			return c, nil, err
		}
	}
	if c.CoverKey != "" {
		if err := upload.Require(ctx, tx, p.TenantID, "content.cover_key", c.CoverKey, media.KindImage); err != nil {
			return c, nil, err
		}
	}
	if c.FolderID != uuid.Nil {
		f, err := q.GetFolder(ctx, materialdb.GetFolderParams{TenantID: p.TenantID, ID: c.FolderID})
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && (Tier(f.Tier) != tier || (tier == TierPersonal && f.OwnerID.UUID != p.EmployeeID))) {
			return c, nil, platform.Invalid("content.folder_id", "no such folder in this tier")
		}
		if err != nil {
			return c, nil, err
		}
	}
	var layout []byte
	if c.Layout != nil {
		if kind != KindPoster {
			return c, nil, platform.Invalid("content.poster_layout", "only posters have a layout")
		}
		if err := s.checkLayout(ctx, c.FileKey, *c.Layout); err != nil {
			return c, nil, err
		}
		layout, _ = json.Marshal(c.Layout)
	}
	return c, layout, nil
}

// checkLayout validates the layout against the poster image's real size.
func (s *Service) checkLayout(ctx context.Context, key string, l poster.Layout) error {
	rc, _, err := s.store.Get(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	cfg, _, err := image.DecodeConfig(rc)
	w, h := cfg.Width, cfg.Height
	if err != nil {
		return platform.Invalid("content.file_key", "the poster is not a readable image")
	}
	if err := l.Validate(w, h); err != nil {
		return platform.Invalid("content.poster_layout", err.Error())
	}
	return nil
}

func normalizeTags(tags []string) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// lockForEdit loads a material of the caller's tenant for a change, applying the authoring rules.
func lockForEdit(ctx context.Context, q *materialdb.Queries, p authn.Principal, id uuid.UUID) (Material, error) {
	if _, err := q.LockMaterial(ctx, materialdb.LockMaterialParams{TenantID: p.TenantID, ID: id}); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return Material{}, errNotFound
		}
		return Material{}, err
	}
	m, err := load(ctx, q, p.TenantID, id)
	if err != nil {
		return m, err
	}
	switch m.Tier {
	case TierPersonal:
		if m.OwnerID != p.EmployeeID {
			return m, errNotFound
		}
	case TierEnterprise:
		if !canAuthorEnterprise(p) {
			if m.Status == StatusPublished {
				return m, platform.PermissionDenied("enterprise materials are edited by admins and managers")
			}
			return m, errNotFound
		}
	default:
		return m, errNotFound
	}
	return m, nil
}

// Update replaces a material's content and bumps its version. A published enterprise material stays
// published (only admins may change one); its share links keep pointing at it.
func (s *Service) Update(ctx context.Context, p authn.Principal, id uuid.UUID, c Content) (View, error) {
	err := s.tx(ctx, p.TenantID, func(q *materialdb.Queries, tx pgx.Tx) error {
		m, err := lockForEdit(ctx, q, p, id)
		if err != nil {
			return err
		}
		if m.Tier == TierEnterprise && m.Status == StatusPublished && p.Role != authn.RoleAdmin {
			return platform.PermissionDenied("only an admin may change a published enterprise material")
		}
		if m.Tier == TierEnterprise && m.Status == StatusInReview {
			return platform.FailedPrecondition("the material is in review: wait for the decision")
		}
		c, layout, err := s.checkContent(ctx, q, tx, p, m.Tier, m.Kind, c)
		if err != nil {
			return err
		}
		return q.UpdateMaterialContent(ctx, materialdb.UpdateMaterialContentParams{
			ID: id, TenantID: p.TenantID, FolderID: nullID(c.FolderID), Title: c.Title, Summary: c.Summary,
			BodyHtml: c.BodyHTML, TextBody: c.TextBody, FileKey: c.FileKey, ImageKeys: nonNil(c.ImageKeys),
			CoverKey: c.CoverKey, PosterLayout: layout, Tags: nonNil(c.Tags),
		})
	})
	if err != nil {
		return View{}, err
	}
	return s.Get(ctx, p, id)
}

// Submit sends a draft or rejected enterprise material to review.
func (s *Service) Submit(ctx context.Context, p authn.Principal, id uuid.UUID) (View, error) {
	return s.setStatus(ctx, p, id, func(m Material) (Status, string, error) {
		if m.Tier != TierEnterprise {
			return "", "", platform.FailedPrecondition("only enterprise materials go through review")
		}
		if m.Status != StatusDraft && m.Status != StatusRejected {
			return "", "", platform.FailedPrecondition("only drafts and rejected materials can be submitted")
		}
		return StatusInReview, "", nil
	})
}

// Review publishes or rejects a material in review. Admin only.
func (s *Service) Review(ctx context.Context, p authn.Principal, id uuid.UUID, approve bool, reason string) (View, error) {
	if p.Role != authn.RoleAdmin {
		return View{}, platform.PermissionDenied("only an admin reviews materials")
	}
	if !approve && strings.TrimSpace(reason) == "" {
		return View{}, platform.Invalid("reject_reason", "say why the material is rejected")
	}
	return s.setStatus(ctx, p, id, func(m Material) (Status, string, error) {
		if m.Status != StatusInReview {
			return "", "", platform.FailedPrecondition("the material is not in review")
		}
		if approve {
			return StatusPublished, "", nil
		}
		return StatusRejected, strings.TrimSpace(reason), nil
	})
}

func (s *Service) setStatus(ctx context.Context, p authn.Principal, id uuid.UUID, next func(Material) (Status, string, error)) (View, error) {
	err := s.tx(ctx, p.TenantID, func(q *materialdb.Queries, tx pgx.Tx) error {
		m, err := lockForEdit(ctx, q, p, id)
		if err != nil {
			return err
		}
		st, reason, err := next(m)
		if err != nil {
			return err
		}
		if err := q.SetMaterialStatus(ctx, materialdb.SetMaterialStatusParams{ID: id, TenantID: p.TenantID, Status: string(st), RejectReason: reason}); err != nil {
			return err
		}
		return auditStatus(ctx, tx, p.TenantID, m, st, reason)
	})
	if err != nil {
		return View{}, err
	}
	return s.Get(ctx, p, id)
}

// auditStatus records a review's outcome (publishing or rejecting) in the audit log.
func auditStatus(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, m Material, st Status, reason string) error {
	action := audit.MaterialApprove
	switch {
	case m.Status != StatusInReview:
		return nil // a submission: the author's own step, not an admin action
	case st == StatusRejected:
		action = audit.MaterialReject
	}
	after := map[string]string{"status": string(st)}
	if reason != "" {
		after["reject_reason"] = reason
	}
	return audit.RecordTx(ctx, tx, tenantID, audit.Entry{Action: action, TargetKind: audit.TargetMaterial, TargetID: m.ID,
		Before: map[string]string{"title": m.Title, "status": string(m.Status)}, After: after})
}

// Delete removes a material. Its share links stop resolving to it at once; its objects (those nothing
// else uses) and its personalized posters are deleted by a background job enqueued in the same commit.
func (s *Service) Delete(ctx context.Context, p authn.Principal, id uuid.UUID) error {
	return s.tx(ctx, p.TenantID, func(q *materialdb.Queries, tx pgx.Tx) error {
		m, err := lockForEdit(ctx, q, p, id)
		if err != nil {
			return err
		}
		if m.Tier == TierEnterprise && m.Status == StatusPublished && p.Role != authn.RoleAdmin {
			return platform.PermissionDenied("only an admin may delete a published enterprise material")
		}
		if err := q.SoftDeleteMaterial(ctx, materialdb.SoftDeleteMaterialParams{ID: id, TenantID: p.TenantID}); err != nil {
			return err
		}
		if m.Tier == TierEnterprise {
			if err := audit.RecordTx(ctx, tx, p.TenantID, audit.Entry{Action: audit.MaterialDelete, TargetKind: audit.TargetMaterial,
				TargetID: id, Before: map[string]string{"title": m.Title, "status": string(m.Status)}}); err != nil {
				return err
			}
		}
		candidates := append([]string{m.FileKey, m.CoverKey}, m.ImageKeys...)
		candidates = slices.DeleteFunc(candidates, func(k string) bool { return k == "" })
		keys, _, err := upload.ForgetUnreferencedTx(ctx, tx, p.TenantID, candidates)
		if err != nil {
			return err
		}
		renders, err := q.RenderKeysOfMaterial(ctx, materialdb.RenderKeysOfMaterialParams{TenantID: p.TenantID, MaterialID: id})
		if err != nil {
			return err
		}
		keys = append(keys, renders...)
		if len(keys) == 0 {
			return nil
		}
		return s.jobs.DeleteObjects(ctx, tx, keys)
	})
}

// Folder groups materials of one tier.
type Folder struct {
	ID   uuid.UUID
	Tier Tier
	Name string
}

// CreateFolder adds an enterprise folder (admins and managers) or a personal one.
func (s *Service) CreateFolder(ctx context.Context, p authn.Principal, tier Tier, name string) (Folder, error) {
	if tier == TierEnterprise && !canAuthorEnterprise(p) {
		return Folder{}, platform.PermissionDenied("only admins and managers add enterprise folders")
	}
	if tier != TierEnterprise && tier != TierPersonal {
		return Folder{}, platform.Invalid("tier", "must be enterprise or personal")
	}
	if strings.TrimSpace(name) == "" {
		return Folder{}, platform.Invalid("name", "must not be blank")
	}
	var f Folder
	err := s.tx(ctx, p.TenantID, func(q *materialdb.Queries, _ pgx.Tx) error {
		params := materialdb.InsertFolderParams{ID: uuid.Must(uuid.NewV7()), TenantID: p.TenantID, Tier: string(tier), Name: strings.TrimSpace(name)}
		if tier == TierPersonal {
			params.OwnerID = nullID(p.EmployeeID)
		}
		row, err := q.InsertFolder(ctx, params)
		if platform.IsUniqueViolation(err, "material_folders_name_key") {
			return platform.AlreadyExists("a folder with this name already exists")
		}
		if err != nil {
			return err
		}
		f = Folder{ID: row.ID, Tier: Tier(row.Tier), Name: row.Name}
		return nil
	})
	return f, err
}

// ListFolders lists the enterprise's folders and the caller's personal ones.
func (s *Service) ListFolders(ctx context.Context, p authn.Principal) ([]Folder, error) {
	var out []Folder
	err := s.tx(ctx, p.TenantID, func(q *materialdb.Queries, _ pgx.Tx) error {
		rows, err := q.ListFolders(ctx, materialdb.ListFoldersParams{TenantID: p.TenantID, ViewerID: p.EmployeeID})
		for _, r := range rows {
			out = append(out, Folder{ID: r.ID, Tier: Tier(r.Tier), Name: r.Name})
		}
		return err
	})
	return out, err
}

// ShareableTx checks, inside the caller's tenant transaction, that the caller may share a material now (it
// is published and visible to them), and reports whether it is of the platform tier. The share domain asks
// it before making a link.
func ShareableTx(ctx context.Context, tx pgx.Tx, p authn.Principal, id uuid.UUID) (bool, error) {
	m, err := load(ctx, materialdb.New(tx), p.TenantID, id)
	if err != nil {
		return false, err
	}
	if !visible(p, m) {
		return false, errNotFound
	}
	if m.Status != StatusPublished {
		return false, platform.FailedPrecondition("only published materials can be shared")
	}
	return m.Tier == TierPlatform, nil
}

// WelcomeTx checks a material may open a WeCom channel's welcome message, which any of the channel's
// salespeople sends: published, and the enterprise's or the platform's (a personal material is one
// salesperson's). It answers what the message's link card shows; NotFound otherwise.
func WelcomeTx(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID) (Welcome, error) {
	m, err := load(ctx, materialdb.New(tx), tenantID, id)
	if err != nil {
		return Welcome{}, err
	}
	if m.Status != StatusPublished || (m.Tier != TierEnterprise && m.Tier != TierPlatform) {
		return Welcome{}, errNotFound
	}
	w := Welcome{Title: m.Title, Summary: m.Summary, ImageKey: cmp.Or(m.ThumbKey, m.CoverKey)}
	if w.ImageKey == "" && m.Kind == KindPoster {
		w.ImageKey = m.FileKey
	}
	return w, nil
}

// Welcome is what a welcome message's link card shows of a material.
type Welcome struct {
	Title, Summary string
	// ImageKey is the object of its picture: the thumbnail, else the cover, else a poster's image ("": none).
	ImageKey string
}

// Summaries returns, in the given order, the materials among ids that are published and visible to the
// employee; others are left out (a featured material that was unpublished simply disappears from cards).
func (s *Service) Summaries(ctx context.Context, tx pgx.Tx, tenantID, employeeID uuid.UUID, ids []uuid.UUID) ([]Summary, error) {
	q := materialdb.New(tx)
	viewer := authn.Principal{TenantID: tenantID, EmployeeID: employeeID, Role: authn.RoleSales}
	out := make([]Summary, 0, len(ids))
	for _, id := range ids {
		m, err := load(ctx, q, tenantID, id)
		if errors.Is(err, errNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !visible(viewer, m) || m.Status != StatusPublished {
			continue
		}
		sign := s.store.Signer(ctx, tenantID, s.urlTTL)
		sum := Summary{ID: m.ID, Title: m.Title, Kind: m.Kind, CoverURL: sign.URL(m.CoverKey), ThumbnailURL: sign.URL(m.ThumbKey)}
		if sign.Err != nil {
			return nil, sign.Err
		}
		out = append(out, sum)
	}
	return out, nil
}

// Public returns a material for a customer's page: only when it is published and not deleted, and
// (personal materials) shared by their owner.
func (s *Service) Public(ctx context.Context, tenantID, sharerID, id uuid.UUID) (View, error) {
	var m Material
	err := s.tx(ctx, tenantID, func(q *materialdb.Queries, _ pgx.Tx) error {
		var err error
		m, err = load(ctx, q, tenantID, id)
		return err
	})
	if err != nil {
		return View{}, err
	}
	if m.Status != StatusPublished || (m.Tier == TierPersonal && m.OwnerID != sharerID) {
		return View{}, errNotFound
	}
	return s.view(ctx, tenantID, m)
}

func (s *Service) view(ctx context.Context, tenantID uuid.UUID, m Material) (View, error) {
	v := View{Material: m}
	sign := s.store.Signer(ctx, tenantID, s.urlTTL)
	v.FileURL, v.CoverURL, v.ThumbnailURL = sign.URL(m.FileKey), sign.URL(m.CoverKey), sign.URL(m.ThumbKey)
	for _, k := range m.ImageKeys {
		v.ImageURLs = append(v.ImageURLs, sign.URL(k))
	}
	return v, sign.Err
}

func fromRow(r materialdb.ListMaterialsRow) Material {
	m := Material{
		ID: r.ID, Tier: Tier(r.Tier), OwnerID: r.OwnerID.UUID, Kind: Kind(r.Kind), Status: Status(r.Status),
		RejectReason: r.RejectReason,
		Content: Content{Title: r.Title, Summary: r.Summary, BodyHTML: r.BodyHtml, TextBody: r.TextBody, FileKey: r.FileKey,
			ImageKeys: r.ImageKeys, CoverKey: r.CoverKey, Tags: r.Tags, FolderID: r.FolderID.UUID},
		Version: r.Version, ShareCount: r.Shares, ThumbKey: r.ThumbKey, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, PublishedAt: r.PublishedAt,
	}
	if len(r.PosterLayout) > 0 {
		var l poster.Layout
		if json.Unmarshal(r.PosterLayout, &l) == nil {
			m.Layout = &l
		}
	}
	return m
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullID(id uuid.UUID) uuid.NullUUID { return uuid.NullUUID{UUID: id, Valid: id != uuid.Nil} }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
