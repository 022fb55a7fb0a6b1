package contact

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/salesapp/scrm/backend/wecom"
	"github.com/salesapp/scrm/backend/wecom/contact/internal/contactdb"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
)

// WelcomeWindow is how long after the add event WeCom accepts its welcome code.
const WelcomeWindow = 20 * time.Second

// welcomeAttempts bounds the tries of a welcome message: all of them fall inside its window.
const welcomeAttempts = 3

// WelcomeArgs is the job sending the welcome message of one add event. It is inserted in the transaction
// that processes the event, so it exists once however often the event's handler ran.
type WelcomeArgs struct {
	TenantID       uuid.UUID `json:"tenant_id"`
	EventID        uuid.UUID `json:"event_id"`
	EmployeeID     uuid.UUID `json:"employee_id"`
	ExternalUserID string    `json:"external_user_id"`
	WelcomeCode    string    `json:"welcome_code"`
	// ChannelID is the channel the customer came through (uuid.Nil: none); its welcome text is sent.
	ChannelID uuid.UUID `json:"channel_id"`
	// ReceivedAt is when the callback arrived: the window runs from about then.
	ReceivedAt time.Time `json:"received_at"`
}

// Kind implements river.JobArgs.
func (WelcomeArgs) Kind() string { return "wecom_welcome" }

// WelcomeWorker sends welcome messages.
type WelcomeWorker struct {
	river.WorkerDefaults[WelcomeArgs]
	s *Service
}

// Timeout keeps a try inside the window.
func (*WelcomeWorker) Timeout(*river.Job[WelcomeArgs]) time.Duration { return 10 * time.Second }

// NextRetry retries soon: the code is dead after WelcomeWindow.
func (*WelcomeWorker) NextRetry(*river.Job[WelcomeArgs]) time.Time {
	return time.Now().Add(time.Second)
}

// DefaultWelcome is the text when the channel has none.
const DefaultWelcome = "Hello, I'm %s. Thanks for adding me! Here is my card."

// Work sends the text and a card of the salesperson's card or the channel's material through a share link
// of their own (so its opening is tracked): a link card, or a mini-program card when the channel asks for
// one and it can be made (welcomeMiniProgram). A code WeCom says was used already (41051) is done, not
// failed; past the window the job gives up, since WeCom would refuse the code.
func (w *WelcomeWorker) Work(ctx context.Context, job *river.Job[WelcomeArgs]) error {
	s, a := w.s, job.Args
	if !a.ReceivedAt.IsZero() && s.cfg.Now().Sub(a.ReceivedAt) > WelcomeWindow {
		return river.JobCancel(fmt.Errorf("welcome message of event %s: past WeCom's %s window", a.EventID, WelcomeWindow))
	}
	var (
		text, cachedMedia string
		card              welcomeCard
		mini              bool
		client            *wecomapi.Client
	)
	err := s.cfg.DB.InTenantTx(ctx, a.TenantID, func(tx pgx.Tx) error {
		q := contactdb.New(tx)
		name, err := q.EmployeeName(ctx, contactdb.EmployeeNameParams{TenantID: a.TenantID, ID: a.EmployeeID})
		if err != nil {
			return err
		}
		text = fmt.Sprintf(DefaultWelcome, name)
		var materialID uuid.UUID
		if a.ChannelID != uuid.Nil {
			ch, err := q.ChannelWelcome(ctx, contactdb.ChannelWelcomeParams{TenantID: a.TenantID, ID: a.ChannelID})
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			if ch.WelcomeText != "" {
				text = ch.WelcomeText
			}
			materialID, mini = ch.WelcomeMaterialID.UUID, ch.WelcomeMiniProgram && s.cfg.MiniProgram.AppID != ""
		}
		if card, err = s.welcomeCardTx(ctx, tx, a.TenantID, a.EmployeeID, name, materialID, mini); err != nil {
			return err
		}
		if mini && card.picKey != "" {
			cachedMedia, err = q.CachedMedia(ctx, contactdb.CachedMediaParams{TenantID: a.TenantID, ObjectKey: card.picKey,
				Since: s.cfg.Now().Add(-mediaReuse)})
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		client, err = s.cfg.WeCom.ClientTx(ctx, tx, a.TenantID, wecom.AppContact)
		return err
	})
	if err != nil {
		return wecom.CancelIfNotInPlan(err)
	}
	var attachment wecomapi.Attachment
	if mini && card.picKey != "" {
		attachment.MiniProgram = s.welcomeMiniProgram(ctx, client, a.TenantID, card, cachedMedia)
	}
	if attachment.MiniProgram == nil {
		link, err := s.welcomeLink(ctx, a.TenantID, card)
		if err != nil {
			return err
		}
		attachment.Link = &link
	}
	err = client.SendWelcomeMsg(ctx, wecomapi.WelcomeMsg{WelcomeCode: a.WelcomeCode, Text: text, Attachments: []wecomapi.Attachment{attachment}})
	if wecomapi.IsAlreadySent(err) {
		return nil
	}
	return err
}

// welcomeCard is what a welcome message's card opens and shows.
type welcomeCard struct {
	title, desc string
	// token is the salesperson's share link's token.
	token string
	// picKey is the object of its picture ("": none): the material's, or the salesperson's avatar.
	picKey string
	// material: it opens a material (its picture goes on a link card too), not the card.
	material bool
}

// welcomeCardTx makes the salesperson's share of the channel's material or (no material, or one unpublished
// since) of their card, and says what its card shows; the card's picture is their avatar when it will be
// a mini-program card's cover (avatar), none on a link card.
func (s *Service) welcomeCardTx(ctx context.Context, tx pgx.Tx, tenantID, employeeID uuid.UUID, name string, materialID uuid.UUID, avatar bool) (welcomeCard, error) {
	if materialID != uuid.Nil {
		sh, w, ok, err := s.cfg.Shares.WelcomeMaterialShareTx(ctx, tx, tenantID, employeeID, materialID)
		if err != nil {
			return welcomeCard{}, err
		}
		if ok {
			return welcomeCard{title: w.Title, desc: w.Summary, token: sh.Token, picKey: w.ImageKey, material: true}, nil
		}
	}
	sh, _, err := s.cfg.Shares.WelcomeCardShareTx(ctx, tx, tenantID, employeeID)
	if err != nil {
		return welcomeCard{}, err
	}
	c := welcomeCard{title: name + "'s card", desc: "Tap to see how to reach me", token: sh.Token}
	if avatar {
		if c.picKey, err = contactdb.New(tx).CardAvatar(ctx, contactdb.CardAvatarParams{TenantID: tenantID, EmployeeID: employeeID}); err != nil {
			return welcomeCard{}, err
		}
	}
	return c, nil
}

// welcomeLink is the card as a link card; a material's picture goes on it (an avatar does not: WeCom shows
// the salesperson's own beside the message).
func (s *Service) welcomeLink(ctx context.Context, tenantID uuid.UUID, c welcomeCard) (wecomapi.Link, error) {
	link := wecomapi.Link{Title: clip(c.title, maxLinkTitle), Desc: clip(c.desc, maxLinkDesc), URL: s.cfg.Shares.URL(c.token)}
	if c.material && c.picKey != "" && s.cfg.Picture != nil {
		var err error
		if link.PicURL, err = s.cfg.Picture(ctx, tenantID, c.picKey); err != nil {
			return wecomapi.Link{}, err
		}
	}
	return link, nil
}

// welcomeMiniProgram is the card as a mini-program card: the platform's mini-program at its share page
// with the share's token, its cover the card's picture uploaded as temporary media (reused while it
// works: cached). Nil when the cover cannot be had (a picture WeCom does not take, storage or WeCom
// failing): the caller sends the link card instead, within the welcome's short window, rather than retry.
func (s *Service) welcomeMiniProgram(ctx context.Context, client *wecomapi.Client, tenantID uuid.UUID, c welcomeCard, cached string) *wecomapi.MiniProgram {
	mp := &wecomapi.MiniProgram{Title: clip(c.title, maxMiniTitle), AppID: s.cfg.MiniProgram.AppID,
		Page: s.cfg.MiniProgram.Page + "?token=" + c.token, PicMediaID: cached}
	if cached != "" {
		return mp
	}
	fail := func(step string, err error) *wecomapi.MiniProgram {
		s.cfg.Log.WarnContext(ctx, "welcome mini-program card: sending the link card instead", slog.String("step", step),
			slog.String("tenant_id", tenantID.String()), slog.String("error", err.Error()))
		return nil
	}
	if s.cfg.Image == nil {
		return nil
	}
	data, contentType, err := s.cfg.Image(ctx, tenantID, c.picKey)
	if err != nil {
		return fail("read the picture", err)
	}
	if mp.PicMediaID, err = client.UploadImage(ctx, path.Base(c.picKey), contentType, data); err != nil {
		return fail("upload the cover", err)
	}
	err = s.cfg.DB.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		return contactdb.New(tx).SaveMedia(ctx, contactdb.SaveMediaParams{TenantID: tenantID, ObjectKey: c.picKey,
			MediaID: mp.PicMediaID, UploadedAt: s.cfg.Now()})
	})
	if err != nil {
		// The card goes out all the same; the next welcome uploads the cover again.
		s.cfg.Log.WarnContext(ctx, "welcome mini-program card: cannot remember the cover's media id", slog.String("error", err.Error()))
	}
	return mp
}

// mediaReuse is how long a cover's media id is reused: well inside the three days WeCom keeps it.
const mediaReuse = wecomapi.MediaTTL - 12*time.Hour

// maxMiniTitle is a mini-program card's title in characters: WeCom takes up to 64 bytes.
const maxMiniTitle = 21

// WeCom takes a link card's title up to 128 bytes and its description up to 512: in characters of up to
// three bytes (Chinese), 42 and 170.
const (
	maxLinkTitle = 42
	maxLinkDesc  = 170
)
