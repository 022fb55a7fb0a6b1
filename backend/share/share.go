// Package share makes share links and follows their forwards. A salesperson's share is the root of a tree;
// each customer forward adds a child, and every node is credited to the salesperson at the root, so views
// through any chain of forwards count for the person who started it.
package share

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/material"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/share/internal/sharedb"
	"github.com/salesapp/scrm/backend/stats"
	"github.com/salesapp/scrm/backend/task"
	"github.com/salesapp/scrm/push/alert"
)

// MaxDepth bounds forward chains: deeper forwards are still allowed, but credited to the deepest node,
// so a bot forwarding in a loop cannot grow a chain without end.
const MaxDepth = 64

// Share is one share link.
type Share struct {
	ID       uuid.UUID
	TenantID uuid.UUID
	Token    string
	// EmployeeID is who the share credits: its sharer, or, once the sharer is disabled after a handover,
	// their successor (Resolve fills it so; the tracking, the customer owner rule and the card shown
	// follow it).
	EmployeeID uuid.UUID
	// SharerID is who made the share (or whose share a forward descends from); it stays in the forward
	// tree whoever is credited.
	SharerID uuid.UUID
	// MaterialID is uuid.Nil for card shares.
	MaterialID uuid.UUID
	Channel    event.Channel
	ParentID   uuid.UUID
	RootID     uuid.UUID
	Depth      int
	Forwarder  string
	CreatedAt  time.Time
	// TaskID is the marketing task the share was made for (uuid.Nil: none); forwards carry their root's.
	TaskID uuid.UUID
	// PagesUntil is when the customer pages of the share stop showing (Resolve fills it): PageGrace after
	// the tenant's subscription ends. Tracking goes on after it, so a renewal shows everything.
	PagesUntil time.Time
}

// PageGrace is how long customers' pages keep working after a tenant's subscription ends (or it is
// suspended): the link a customer holds does not break the day a renewal is late.
const PageGrace = 7 * 24 * time.Hour

// Showable reports whether the share's pages show at now (false: a neutral page in their place).
func (s Share) Showable(now time.Time) bool { return now.Before(s.PagesUntil) }

// Service makes and resolves share links.
type Service struct {
	db      *platform.DB
	baseURL string
	// notify records the alerts a share causes (a task completed by it): pushed through its jobs (nil:
	// recorded, not pushed), streams woken after commit. See AlertThrough.
	notify alert.Notifier
}

// NewService builds the service; share URLs are baseURL + "/s/" + token.
func NewService(db *platform.DB, baseURL string) *Service {
	return &Service{db: db, baseURL: baseURL}
}

// AlertThrough has the alerts a share causes (a marketing task it completes) pushed through jobs and
// their streams woken through wake after the commit. Call it before the service serves.
func (s *Service) AlertThrough(jobs alert.Jobs, wake func([]alert.Key)) {
	s.notify = alert.Notifier{Jobs: jobs, Wake: wake}
}

// URL is the link a customer opens for token.
func (s *Service) URL(token string) string { return s.baseURL + "/s/" + token }

// tokenBytes is a token's randomness: 96 bits, unguessable, and short enough for a QR code and a chat.
const tokenBytes = 12

// newToken returns tokenBytes random bytes, URL-safe.
func newToken() string {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// WellFormed reports whether token could be one newToken made (16 characters of base64url). Anything else
// is an unknown link without a lookup: what strangers type into /s/… reaches neither PostgreSQL nor a cache.
func WellFormed(token string) bool {
	if len(token) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return false
	}
	for i := range len(token) {
		c := token[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ShareMaterial makes a share link for a material the caller may share.
func (s *Service) ShareMaterial(ctx context.Context, p authn.Principal, materialID uuid.UUID, ch event.Channel) (Share, error) {
	return s.ShareMaterialForTask(ctx, p, materialID, ch, uuid.Nil)
}

// ShareMaterialForTask is ShareMaterial for a marketing task the caller is on (uuid.Nil: none): the share
// and every forward of it count toward the task (task.ShareTx checks and counts it).
func (s *Service) ShareMaterialForTask(ctx context.Context, p authn.Principal, materialID uuid.UUID, ch event.Channel, taskID uuid.UUID) (Share, error) {
	var out Share
	var n alert.Notice
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		sh, alerts, err := s.shareMaterialTx(ctx, tx, p, materialID, ch, taskID)
		if err != nil {
			return err
		}
		out = sh
		return s.notify.RecordTx(ctx, tx, &n, p.TenantID, alerts, time.Now())
	})
	if err == nil {
		s.notify.After(&n)
	}
	return out, err
}

// ShareMaterialTx is ShareMaterial inside the caller's tenant transaction (personalized posters make their
// share in the same transaction as the render record).
func (s *Service) ShareMaterialTx(ctx context.Context, tx pgx.Tx, p authn.Principal, materialID uuid.UUID, ch event.Channel) (Share, error) {
	sh, _, err := s.shareMaterialTx(ctx, tx, p, materialID, ch, uuid.Nil) // (no task: no alerts)
	return sh, err
}

func (s *Service) shareMaterialTx(ctx context.Context, tx pgx.Tx, p authn.Principal, materialID uuid.UUID, ch event.Channel, taskID uuid.UUID) (Share, []alert.Alert, error) {
	platformTier, err := material.ShareableTx(ctx, tx, p, materialID)
	if err != nil {
		return Share{}, nil, err
	}
	sh, alerts, err := ownShareTx(ctx, tx, p, materialID, ch, taskID)
	if err != nil {
		return Share{}, nil, err
	}
	q := sharedb.New(tx)
	if platformTier {
		err = q.BumpPlatformMaterialShares(ctx, sharedb.BumpPlatformMaterialSharesParams{TenantID: p.TenantID, MaterialID: materialID})
	} else {
		_, err = q.BumpMaterialShares(ctx, sharedb.BumpMaterialSharesParams{TenantID: p.TenantID, MaterialID: materialID})
	}
	return sh, alerts, err
}

// ownShareTx makes a share the caller made themselves, of a material (checked by the caller) or of their
// card (materialID uuid.Nil): for a task when taskID is set (task.ShareTx checks the caller may share for it
// and counts the share; the alerts of a completion it causes are answered, to record), and counted in
// their share stats.
func ownShareTx(ctx context.Context, tx pgx.Tx, p authn.Principal, materialID uuid.UUID, ch event.Channel, taskID uuid.UUID) (Share, []alert.Alert, error) {
	if !ch.Valid() {
		return Share{}, nil, platform.Invalid("channel", "unknown channel")
	}
	var alerts []alert.Alert
	if taskID != uuid.Nil {
		var err error
		if alerts, err = task.ShareTx(ctx, tx, p.TenantID, p.EmployeeID, taskID, materialID); err != nil {
			return Share{}, nil, err
		}
	}
	sh, err := insertShare(ctx, sharedb.New(tx), p.TenantID, p.EmployeeID, materialID, ch, nil, "", false, taskID)
	if err != nil {
		return Share{}, nil, err
	}
	return sh, alerts, stats.RecordShareTx(ctx, tx, p.TenantID, p.EmployeeID, materialID, sh.CreatedAt)
}

// StandingShareTx returns the caller's latest own share of a material on a channel, making one when there
// is none (material.Sharer: personalized posters keep one link across versions).
func (s *Service) StandingShareTx(ctx context.Context, tx pgx.Tx, p authn.Principal, materialID uuid.UUID, ch event.Channel) (string, string, error) {
	row, err := sharedb.New(tx).LatestOwnShare(ctx, sharedb.LatestOwnShareParams{
		TenantID: p.TenantID, EmployeeID: p.EmployeeID, MaterialID: uuid.NullUUID{UUID: materialID, Valid: true}, Channel: string(ch),
	})
	if err == nil {
		return row.Token, s.URL(row.Token), nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return "", "", err
	}
	sh, err := s.ShareMaterialTx(ctx, tx, p, materialID, ch)
	if err != nil {
		return "", "", err
	}
	return sh.Token, s.URL(sh.Token), nil
}

// StandingShare is StandingShareTx in a transaction of its own, for a salesperson's material opened from
// their card by a customer (the card's featured materials): it returns the salesperson's latest own link of
// the material on the channel, making one the first time. The material must be one they may share.
func (s *Service) StandingShare(ctx context.Context, tenantID, employeeID, materialID uuid.UUID, ch event.Channel) (string, error) {
	var token string
	err := s.db.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		p := authn.Principal{TenantID: tenantID, EmployeeID: employeeID, Role: authn.RoleSales}
		token, _, err = s.StandingShareTx(ctx, tx, p, materialID, ch)
		return err
	})
	return token, err
}

// ShareCard makes a share link for the caller's own card.
func (s *Service) ShareCard(ctx context.Context, p authn.Principal, ch event.Channel) (Share, error) {
	return s.ShareCardForTask(ctx, p, ch, uuid.Nil)
}

// ShareCardForTask is ShareCard for a marketing task the caller is on (uuid.Nil: none).
func (s *Service) ShareCardForTask(ctx context.Context, p authn.Principal, ch event.Channel, taskID uuid.UUID) (Share, error) {
	var out Share
	var n alert.Notice
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		sh, alerts, err := ownShareTx(ctx, tx, p, uuid.Nil, ch, taskID)
		if err != nil {
			return err
		}
		out = sh
		return s.notify.RecordTx(ctx, tx, &n, p.TenantID, alerts, time.Now())
	})
	if err == nil {
		s.notify.After(&n)
	}
	return out, err
}

// CardQRShareTx makes the standing share link a card's QR code encodes. It is the system's, not a share
// the salesperson made, so it does not count in their share stats (forwards of it do).
func (s *Service) CardQRShareTx(ctx context.Context, tx pgx.Tx, tenantID, employeeID uuid.UUID) (Share, error) {
	return insertShare(ctx, sharedb.New(tx), tenantID, employeeID, uuid.Nil, event.ChannelQR, nil, "", true, uuid.Nil)
}

// WelcomeCardShareTx makes a share link of a salesperson's card for the welcome message WeCom sends a
// customer who added them, on the chat channel: the customer's opening it is tracked as the salesperson's
// share. It is the system's, so it does not count in their share stats.
func (s *Service) WelcomeCardShareTx(ctx context.Context, tx pgx.Tx, tenantID, employeeID uuid.UUID) (Share, string, error) {
	sh, err := insertShare(ctx, sharedb.New(tx), tenantID, employeeID, uuid.Nil, event.ChannelChat, nil, "", false, uuid.Nil)
	if err != nil {
		return Share{}, "", err
	}
	return sh, s.URL(sh.Token), nil
}

// WelcomeMaterialShareTx is WelcomeCardShareTx for a material (material.WelcomeTx checks it may open a
// welcome message): the share (its link is URL(sh.Token)) and what the card shows. ok is false when the
// material no longer may (unpublished, deleted): the caller sends the card instead.
func (s *Service) WelcomeMaterialShareTx(ctx context.Context, tx pgx.Tx, tenantID, employeeID, materialID uuid.UUID) (sh Share, w material.Welcome, ok bool, err error) {
	w, err = material.WelcomeTx(ctx, tx, tenantID, materialID)
	if platform.KindOf(err) == platform.KindNotFound {
		return Share{}, material.Welcome{}, false, nil
	}
	if err != nil {
		return Share{}, material.Welcome{}, false, err
	}
	sh, err = insertShare(ctx, sharedb.New(tx), tenantID, employeeID, materialID, event.ChannelChat, nil, "", false, uuid.Nil)
	if err != nil {
		return Share{}, material.Welcome{}, false, err
	}
	return sh, w, true, nil
}

func insertShare(ctx context.Context, q *sharedb.Queries, tenantID, employeeID, materialID uuid.UUID, ch event.Channel, parent *sharedb.Share, forwarder string, standing bool, taskID uuid.UUID) (Share, error) {
	id := uuid.Must(uuid.NewV7())
	params := sharedb.InsertShareParams{
		ID: id, TenantID: tenantID, Token: newToken(), EmployeeID: employeeID, TargetKind: "card",
		Channel: string(ch), RootID: id, Forwarder: forwarder, Standing: standing,
	}
	if materialID != uuid.Nil {
		params.TargetKind, params.MaterialID = "material", uuid.NullUUID{UUID: materialID, Valid: true}
	}
	if parent != nil {
		params.ParentID = uuid.NullUUID{UUID: parent.ID, Valid: true}
		params.RootID, params.Depth = parent.RootID, parent.Depth+1
		// A forward carries its parent's task, which is its root's: the whole tree counts toward it.
		taskID = parent.TaskID.UUID
	}
	params.TaskID = uuid.NullUUID{UUID: taskID, Valid: taskID != uuid.Nil}
	row, err := q.InsertShare(ctx, params)
	if err != nil {
		return Share{}, err
	}
	return fromRow(row), nil
}

var errUnknownToken = platform.NotFound("share link")

// Resolve finds the share behind a token, in whichever tenant it belongs to. A disabled sharer whose
// customers were handed over is answered by their successor: the link keeps working and credits them.
// It answers shares of expired tenants too (tracking stores their events); pages check Showable.
func (s *Service) Resolve(ctx context.Context, token string) (Share, error) {
	if !WellFormed(token) {
		return Share{}, errUnknownToken
	}
	row, err := sharedb.New(s.db.ScopedRead(resolveScope, token)).ResolveShare(ctx, token)
	if errors.Is(err, pgx.ErrNoRows) {
		return Share{}, errUnknownToken
	}
	if err != nil {
		return Share{}, err
	}
	out := fromRow(row.Share)
	out.PagesUntil = row.ExpiresAt.Add(PageGrace)
	out.EmployeeID = row.CreditedID
	return out, nil
}

// resolveScope scopes a read to the tenant of the share token $1, found across tenants by the SECURITY
// DEFINER share_tenant (migration 008); an unknown token scopes it to no tenant, so it reads nothing.
const resolveScope = "SELECT set_config('app.tenant_id', coalesce(share_tenant($1)::text, ''), true)"

// Forward records that a customer forwarded the share behind token, and returns the child share to send
// on. Past MaxDepth, the forward reuses the deepest share instead of growing the chain.
func (s *Service) Forward(ctx context.Context, token string, ch event.Channel, forwarder string) (Share, error) {
	if !ch.Valid() {
		return Share{}, platform.Invalid("channel", "unknown channel")
	}
	parent, err := s.Resolve(ctx, token)
	if err != nil {
		return Share{}, err
	}
	if !parent.Showable(time.Now()) {
		// Past the grace after the tenant's subscription ended, its pages are gone: no new links.
		return Share{}, errUnknownToken
	}
	if parent.Depth >= MaxDepth {
		return parent, nil
	}
	var out Share
	err = s.db.InTenantTx(ctx, parent.TenantID, func(tx pgx.Tx) error {
		q := sharedb.New(tx)
		row, err := q.GetShareByToken(ctx, token)
		if err != nil {
			return err
		}
		// The same person forwarding the same link the same way again (or a page retrying) gets the same
		// child link: the tree records people reached, not button presses, and cannot be flooded.
		if forwarder != "" {
			prev, err := q.ExistingForward(ctx, sharedb.ExistingForwardParams{TenantID: row.TenantID,
				ParentID: uuid.NullUUID{UUID: row.ID, Valid: true}, Forwarder: forwarder, Channel: string(ch)})
			if err == nil {
				out = fromRow(prev)
				return nil
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		out, err = insertShare(ctx, q, row.TenantID, row.EmployeeID, row.MaterialID.UUID, ch, &row, forwarder, false, uuid.Nil)
		return err
	})
	return out, err
}

// MarkOpenedTx records, in the tracking ingest's transaction, that the shares among ids were viewed: the
// forwards among them opened for the first time then count as forwards (Stats).
func MarkOpenedTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, ids []uuid.UUID, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	return sharedb.New(tx).MarkOpened(ctx, sharedb.MarkOpenedParams{TenantID: tenantID, Ids: ids, At: &at})
}

// Stats counts a salesperson's shares and the forwards they led to. Salespeople see their own; managers
// their team's; admins anyone's.
func (s *Service) Stats(ctx context.Context, p authn.Principal, employeeID uuid.UUID) (shares, forwards int64, err error) {
	if employeeID == uuid.Nil {
		employeeID = p.EmployeeID
	}
	err = s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := sharedb.New(tx)
		if employeeID != p.EmployeeID {
			// Someone else's: an admin's to see if they are of the tenant, a manager's if of a team they lead.
			team, err := q.EmployeeTeam(ctx, sharedb.EmployeeTeamParams{TenantID: p.TenantID, ID: employeeID})
			if errors.Is(err, pgx.ErrNoRows) {
				return platform.NotFound("employee")
			}
			if err != nil {
				return err
			}
			if p.Role != authn.RoleAdmin && !p.LeadsTeam(team.UUID) {
				return platform.NotFound("employee")
			}
		}
		row, err := q.ShareStats(ctx, sharedb.ShareStatsParams{TenantID: p.TenantID, EmployeeID: employeeID})
		shares, forwards = row.Shares, row.Forwards
		return err
	})
	return shares, forwards, err
}

func fromRow(r sharedb.Share) Share {
	return Share{
		ID: r.ID, TenantID: r.TenantID, Token: r.Token, EmployeeID: r.EmployeeID, SharerID: r.EmployeeID, MaterialID: r.MaterialID.UUID,
		Channel: event.Channel(r.Channel), ParentID: r.ParentID.UUID, RootID: r.RootID, Depth: int(r.Depth),
		Forwarder: r.Forwarder, CreatedAt: r.CreatedAt, TaskID: r.TaskID.UUID,
	}
}
