package contact

import (
	"context"
	"errors"
	"fmt"
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

// Work sends the text and a link card of the salesperson's card through a share link of their own (so its
// opening is tracked). A code WeCom says was used already (41051) is done, not failed; past the window the
// job gives up, since WeCom would refuse the code.
func (w *WelcomeWorker) Work(ctx context.Context, job *river.Job[WelcomeArgs]) error {
	s, a := w.s, job.Args
	if !a.ReceivedAt.IsZero() && s.cfg.Now().Sub(a.ReceivedAt) > WelcomeWindow {
		return river.JobCancel(fmt.Errorf("welcome message of event %s: past WeCom's %s window", a.EventID, WelcomeWindow))
	}
	var msg wecomapi.WelcomeMsg
	var client *wecomapi.Client
	err := s.cfg.DB.InTenantTx(ctx, a.TenantID, func(tx pgx.Tx) error {
		q := contactdb.New(tx)
		name, err := q.EmployeeName(ctx, contactdb.EmployeeNameParams{TenantID: a.TenantID, ID: a.EmployeeID})
		if err != nil {
			return err
		}
		text := fmt.Sprintf(DefaultWelcome, name)
		var materialID uuid.UUID
		if a.ChannelID != uuid.Nil {
			ch, err := q.ChannelWelcome(ctx, contactdb.ChannelWelcomeParams{TenantID: a.TenantID, ID: a.ChannelID})
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			if ch.WelcomeText != "" {
				text = ch.WelcomeText
			}
			materialID = ch.WelcomeMaterialID.UUID
		}
		link, err := s.welcomeLinkTx(ctx, tx, a.TenantID, a.EmployeeID, name, materialID)
		if err != nil {
			return err
		}
		msg = wecomapi.WelcomeMsg{WelcomeCode: a.WelcomeCode, Text: text, Attachments: []wecomapi.Attachment{{Link: &link}}}
		client, err = s.cfg.WeCom.ClientTx(ctx, tx, a.TenantID, wecom.AppContact)
		return err
	})
	if err != nil {
		return wecom.CancelIfNotInPlan(err)
	}
	err = client.SendWelcomeMsg(ctx, msg)
	if wecomapi.IsAlreadySent(err) {
		return nil
	}
	return err
}

// welcomeLinkTx is the welcome message's link card: the channel's material through the salesperson's own
// share link, or (no material, or one unpublished since) their card.
func (s *Service) welcomeLinkTx(ctx context.Context, tx pgx.Tx, tenantID, employeeID uuid.UUID, name string, materialID uuid.UUID) (wecomapi.Link, error) {
	if materialID != uuid.Nil {
		url, w, ok, err := s.cfg.Shares.WelcomeMaterialShareTx(ctx, tx, tenantID, employeeID, materialID)
		if err != nil {
			return wecomapi.Link{}, err
		}
		if ok {
			link := wecomapi.Link{Title: clip(w.Title, maxLinkTitle), Desc: clip(w.Summary, maxLinkDesc), URL: url}
			if w.ImageKey != "" && s.cfg.Picture != nil {
				if link.PicURL, err = s.cfg.Picture(ctx, tenantID, w.ImageKey); err != nil {
					return wecomapi.Link{}, err
				}
			}
			return link, nil
		}
	}
	_, url, err := s.cfg.Shares.WelcomeCardShareTx(ctx, tx, tenantID, employeeID)
	if err != nil {
		return wecomapi.Link{}, err
	}
	return wecomapi.Link{Title: name + "'s card", Desc: "Tap to see how to reach me", URL: url}, nil
}

// WeCom takes a link card's title up to 128 bytes and its description up to 512: in characters of up to
// three bytes (Chinese), 42 and 170.
const (
	maxLinkTitle = 42
	maxLinkDesc  = 170
)
