// Package card is the salesperson's business card: their own fields, the company fields the admin sets
// for everyone, featured materials, and a QR code of the card's own share link. Customers read it by share
// token (the web package), without signing in.
package card

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/salesapp/scrm/backend/card/internal/carddb"
	"github.com/salesapp/scrm/backend/material"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/backend/upload"
	"github.com/salesapp/scrm/media"
)

// MaxFeatured bounds the featured materials of a card.
const MaxFeatured = 20

// Company is what every card of the tenant shows about the company.
type Company struct {
	Name, LogoURL, Website, Address string
}

// View is a card as the app and the customer's page show it; URLs are presigned and short-lived.
type View struct {
	EmployeeID                                 uuid.UUID
	DisplayName, Title, Phone, WeChatID, Email string
	AvatarURL, Bio                             string
	PhotoURLs                                  []string
	IntroVideoURL                              string
	Featured                                   []material.Summary
	Company                                    Company
	QRCodeURL, ShareURL                        string
	// ShareToken is the token of ShareURL: the card's standing share, which its QR code encodes.
	ShareToken string
	Version    int64
	UpdatedAt  time.Time
}

// Change holds the card fields to change; nil leaves a field as it is.
type Change struct {
	DisplayName, Title, Phone, WeChatID, Email, AvatarKey, Bio, IntroVideoKey *string
	PhotoKeys                                                                 *[]string
	FeaturedMaterialIDs                                                       *[]uuid.UUID
}

// CompanyChange holds the company fields to change.
type CompanyChange struct {
	Name, LogoKey, Website, Address *string
}

// Service holds the card rules.
type Service struct {
	db        *platform.DB
	store     *media.Store
	materials *material.Service
	shares    *share.Service
	urlTTL    time.Duration
}

// NewService builds the service.
func NewService(db *platform.DB, store *media.Store, materials *material.Service, shares *share.Service) *Service {
	return &Service{db: db, store: store, materials: materials, shares: shares, urlTTL: 30 * time.Minute}
}

// Mine returns the caller's card, making it (and its QR code) on first use.
func (s *Service) Mine(ctx context.Context, p authn.Principal) (View, error) {
	return s.read(ctx, p.TenantID, p.EmployeeID, false)
}

// Public returns a card for a customer's page. A disabled employee whose customers were handed over is
// shown as their successor's card; other disabled employees' cards are not shown.
func (s *Service) Public(ctx context.Context, tenantID, employeeID uuid.UUID) (View, error) {
	return s.read(ctx, tenantID, employeeID, true)
}

func (s *Service) read(ctx context.Context, tenantID, employeeID uuid.UUID, public bool) (View, error) {
	var v View
	err := s.db.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		if public {
			id, err := carddb.New(tx).CreditedEmployee(ctx, carddb.CreditedEmployeeParams{TenantID: tenantID, EmployeeID: employeeID})
			if err != nil {
				return err
			}
			employeeID = id
		}
		row, err := s.ensure(ctx, tx, tenantID, employeeID)
		if err != nil {
			return err
		}
		if public && row.EmployeeStatus != "active" {
			return platform.NotFound("card")
		}
		v, err = s.view(ctx, tx, tenantID, row)
		return err
	})
	return v, err
}

// ensure makes the card and its QR code if they do not exist yet.
func (s *Service) ensure(ctx context.Context, tx pgx.Tx, tenantID, employeeID uuid.UUID) (carddb.GetCardRow, error) {
	q := carddb.New(tx)
	key := carddb.GetCardParams{TenantID: tenantID, EmployeeID: employeeID}
	row, err := q.GetCard(ctx, key)
	if errors.Is(err, pgx.ErrNoRows) {
		if err := q.EnsureCard(ctx, carddb.EnsureCardParams(key)); err != nil {
			return row, err
		}
		row, err = q.GetCard(ctx, key)
		if errors.Is(err, pgx.ErrNoRows) {
			return row, platform.NotFound("card")
		}
	}
	if err != nil || row.QrKey != "" {
		return row, err
	}
	sh, err := s.shares.CardQRShareTx(ctx, tx, tenantID, employeeID)
	if err != nil {
		return row, err
	}
	png, err := qrcode.Encode(s.shares.URL(sh.Token), qrcode.Medium, 512)
	if err != nil {
		return row, fmt.Errorf("card qr: %w", err)
	}
	objKey := media.TenantKey(tenantID, "qr", "png")
	if err := s.store.Put(ctx, objKey, bytes.NewReader(png), int64(len(png)), "image/png"); err != nil {
		return row, err
	}
	if err := q.SetCardQR(ctx, carddb.SetCardQRParams{TenantID: tenantID, EmployeeID: employeeID, QrToken: sh.Token, QrKey: objKey}); err != nil {
		return row, err
	}
	row.QrToken, row.QrKey = sh.Token, objKey
	return row, nil
}

func (s *Service) view(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, r carddb.GetCardRow) (View, error) {
	signer := s.store.Signer(ctx, tenantID, s.urlTTL)
	sign := signer.URL
	v := View{
		EmployeeID: r.EmployeeID, DisplayName: r.DisplayName, Title: r.Title, Phone: r.Phone, WeChatID: r.WechatID,
		Email: r.Email, AvatarURL: sign(r.AvatarKey), Bio: r.Bio, IntroVideoURL: sign(r.IntroVideoKey),
		QRCodeURL: sign(r.QrKey), ShareURL: s.shares.URL(r.QrToken), ShareToken: r.QrToken, Version: r.Version, UpdatedAt: r.UpdatedAt,
	}
	for _, k := range r.PhotoKeys {
		v.PhotoURLs = append(v.PhotoURLs, sign(k))
	}
	company, cerr := carddb.New(tx).GetCompany(ctx, tenantID)
	switch {
	case cerr == nil:
		v.Company = Company{Name: company.CompanyName, LogoURL: sign(company.LogoKey), Website: company.Website, Address: company.Address}
	case !errors.Is(cerr, pgx.ErrNoRows):
		return v, cerr
	}
	if signer.Err != nil {
		return v, signer.Err
	}
	var err error
	v.Featured, err = s.materials.Summaries(ctx, tx, tenantID, r.EmployeeID, r.FeaturedMaterialIds)
	return v, err
}

// Update changes the caller's card. Objects must be finalized uploads of the caller's tenant; featured
// materials must be ones the caller may share.
func (s *Service) Update(ctx context.Context, p authn.Principal, c Change) (View, error) {
	var v View
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		if err := s.UpdateTx(ctx, tx, p, c); err != nil {
			return err
		}
		row, err := carddb.New(tx).GetCard(ctx, carddb.GetCardParams{TenantID: p.TenantID, EmployeeID: p.EmployeeID})
		if err != nil {
			return err
		}
		v, err = s.view(ctx, tx, p.TenantID, row)
		return err
	})
	return v, err
}

// UpdateTx changes the caller's card inside the caller's transaction; only the fields set are written.
func (s *Service) UpdateTx(ctx context.Context, tx pgx.Tx, p authn.Principal, c Change) error {
	if _, err := s.ensure(ctx, tx, p.TenantID, p.EmployeeID); err != nil {
		return err
	}
	if err := s.check(ctx, tx, p, c); err != nil {
		return err
	}
	params := carddb.UpdateCardParams{
		TenantID: p.TenantID, EmployeeID: p.EmployeeID, DisplayName: c.DisplayName, Title: c.Title, Phone: c.Phone,
		WechatID: c.WeChatID, Email: c.Email, AvatarKey: c.AvatarKey, Bio: c.Bio, IntroVideoKey: c.IntroVideoKey,
	}
	if c.PhotoKeys != nil {
		params.SetPhotos, params.PhotoKeys = true, append([]string{}, *c.PhotoKeys...)
	}
	if c.FeaturedMaterialIDs != nil {
		params.SetFeatured, params.FeaturedMaterialIds = true, append([]uuid.UUID{}, *c.FeaturedMaterialIDs...)
	}
	return carddb.New(tx).UpdateCard(ctx, params)
}

// phonePattern is what a card's phone may be: digits with an optional leading +, or empty to clear it. The
// public card page dials it, so every route that writes it (the RPC, sync) is held to it here.
var phonePattern = regexp.MustCompile(`^(\+?[0-9]{5,20})?$`)

func (s *Service) check(ctx context.Context, tx pgx.Tx, p authn.Principal, c Change) error {
	if c.Phone != nil && !phonePattern.MatchString(*c.Phone) {
		return platform.Invalid("phone", "digits with an optional leading +, 5 to 20 of them")
	}
	if c.AvatarKey != nil && *c.AvatarKey != "" {
		if err := upload.Require(ctx, tx, p.TenantID, "avatar_key", *c.AvatarKey, media.KindImage); err != nil {
			return err
		}
	}
	if c.IntroVideoKey != nil && *c.IntroVideoKey != "" {
		if err := upload.Require(ctx, tx, p.TenantID, "intro_video_key", *c.IntroVideoKey, media.KindVideo); err != nil {
			return err
		}
	}
	if c.PhotoKeys != nil {
		for i, k := range *c.PhotoKeys {
			if err := upload.Require(ctx, tx, p.TenantID, fmt.Sprintf("photo_keys[%d]", i), k, media.KindImage); err != nil {
				return err
			}
		}
	}
	if c.FeaturedMaterialIDs != nil {
		if len(*c.FeaturedMaterialIDs) > MaxFeatured {
			return platform.Invalid("featured_material_ids", fmt.Sprintf("at most %d", MaxFeatured))
		}
		for i, id := range *c.FeaturedMaterialIDs {
			if _, err := material.ShareableTx(ctx, tx, p, id); err != nil {
				var de *platform.Error
				if errors.As(err, &de) {
					return platform.Invalid(fmt.Sprintf("featured_material_ids[%d]", i), de.Msg)
				}
				return err
			}
		}
	}
	return nil
}

// UpdateCompany changes the company fields every card shows. Admin only.
func (s *Service) UpdateCompany(ctx context.Context, p authn.Principal, c CompanyChange) (Company, error) {
	if p.Role != authn.RoleAdmin {
		return Company{}, platform.PermissionDenied("only an admin sets the company fields of cards")
	}
	var out Company
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		if c.LogoKey != nil && *c.LogoKey != "" {
			if err := upload.Require(ctx, tx, p.TenantID, "logo_key", *c.LogoKey, media.KindImage); err != nil {
				return err
			}
		}
		row, err := carddb.New(tx).UpsertCompany(ctx, carddb.UpsertCompanyParams{
			TenantID: p.TenantID, CompanyName: c.Name, LogoKey: c.LogoKey, Website: c.Website, Address: c.Address,
		})
		if err != nil {
			return err
		}
		out = Company{Name: row.CompanyName, Website: row.Website, Address: row.Address}
		if row.LogoKey != "" {
			out.LogoURL, err = s.store.PresignGet(ctx, p.TenantID, row.LogoKey, s.urlTTL)
		}
		return err
	})
	return out, err
}
