// Package contact turns WeCom's external contact callbacks into customers: a customer who adds a
// salesperson on WeCom becomes (or joins) a customer of theirs, with a timeline entry, an alert and a
// welcome message. It plugs into the bridge (backend/wecom) by the handlers it gives wecom.Service.Handle.
package contact

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/backend/wecom"
	"github.com/salesapp/scrm/backend/wecom/contact/internal/contactdb"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
	"github.com/salesapp/scrm/push/alert"
)

// The change types of change_external_contact this package handles.
const (
	ChangeAdd        = "add_external_contact"
	ChangeEdit       = "edit_external_contact"
	ChangeDel        = "del_external_contact"
	ChangeDelFollow  = "del_follow_user"
	eventExternalChg = "change_external_contact"
)

// Kinds are the callback kinds OnChange handles.
var Kinds = []wecom.Kind{
	{MsgType: "event", Event: eventExternalChg, ChangeType: ChangeAdd},
	{MsgType: "event", Event: eventExternalChg, ChangeType: ChangeEdit},
	{MsgType: "event", Event: eventExternalChg, ChangeType: ChangeDel},
	{MsgType: "event", Event: eventExternalChg, ChangeType: ChangeDelFollow},
}

// Config is what the service is built from.
type Config struct {
	DB    *platform.DB
	WeCom *wecom.Service
	// Queue inserts the welcome jobs in the handler's transaction.
	Queue jobs.Inserter
	// Pushes queues the alerts' pushes (nil: alerts are recorded, not pushed).
	Pushes alert.Jobs
	// Wake tells the WebSocket connections of the salespeople whose alert streams grew, after the commit
	// (nil: they see the alerts at their hub's next poll).
	Wake func([]alert.Key)
	// Shares makes the salesperson's share link of their card for the welcome message.
	Shares *share.Service
	// Picture answers a URL WeCom and WeChat can fetch an object of the tenant's at for a while: the
	// picture of a welcome message's material link card (nil: link cards without a picture).
	Picture func(ctx context.Context, tenantID uuid.UUID, key string) (string, error)
	// MiniProgram is the platform's mini-program, for channels whose welcome is a mini-program card (no
	// AppID: link cards only).
	MiniProgram MiniProgram
	// Image reads an object of the tenant's, up to wecomapi.MaxImageBytes, with its content type: a
	// mini-program card's cover (nil: link cards only).
	Image func(ctx context.Context, tenantID uuid.UUID, key string) ([]byte, string, error)
	Log   *slog.Logger
	// Now tells the time (time.Now when nil).
	Now func() time.Time
}

// MiniProgram names the platform's mini-program and its share page, which opens a share link by the token
// in its query (page?token=...).
type MiniProgram struct {
	AppID, Page string
}

// Service handles external contact callbacks.
type Service struct {
	cfg Config
	// libraries caches each tenant's corp tag library by name (TagPushWorker).
	libraries *expirable.LRU[uuid.UUID, map[string]string]
}

// NewService builds the service.
func NewService(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, libraries: newLibraryCache()}
}

// Register gives the bridge the handlers of every kind in Kinds and TagKinds.
func (s *Service) Register(w *wecom.Service) {
	for _, k := range Kinds {
		w.Handle(k, s.OnChange)
	}
	for _, k := range TagKinds {
		w.Handle(k, s.OnTagChange)
	}
}

// Workers registers the service's River workers: the welcome messages and the import of existing
// contacts.
func (s *Service) Workers(w *river.Workers) {
	river.AddWorker(w, &WelcomeWorker{s: s})
	river.AddWorker(w, &ImportWorker{s: s})
	river.AddWorker(w, &TagPushWorker{s: s})
	river.AddWorker(w, &TagScanWorker{s: s})
	river.AddWorker(w, &RotationWorker{s: s})
}

// employee is the employee a WeCom member is, zero when none.
type employee struct {
	ID   uuid.UUID
	Name string
}

func (s *Service) employeeOf(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, userID string) (employee, error) {
	if userID == "" {
		return employee{}, nil
	}
	r, err := contactdb.New(tx).EmployeeByWeComUserID(ctx, contactdb.EmployeeByWeComUserIDParams{TenantID: tenantID, WecomUserid: userID})
	if errors.Is(err, pgx.ErrNoRows) {
		return employee{}, nil
	}
	return employee{ID: r.ID, Name: r.Name}, err
}

// OnChange handles a change_external_contact callback inside the dispatcher's transaction. An add or an
// edit reads the customer from WeCom (externalcontact/get) and ties them to their customer (by unionid,
// then external userid; customer.WeComContactTx), owned by the member for a new customer, with the
// member's remark and corp tags mirrored. An add also records the timeline entry and alerts the salesperson, credits the
// channel its state names and queues the welcome message when the event carries a welcome code. A customer
// deleting the salesperson (del_follow_user) alerts them; a salesperson deleting the customer changes
// nothing here. A resent callback is stored once by the bridge; this runs in the transaction that marks
// it done, so its writes happen once.
func (s *Service) OnChange(ctx context.Context, tx pgx.Tx, ev wecom.Event) error {
	userID, extID := ev.Fields["UserID"], ev.Fields["ExternalUserID"]
	if extID == "" {
		return nil // a change of a group chat's member or a malformed event: nothing to tie
	}
	at := s.cfg.Now()
	if sec, err := strconv.ParseInt(ev.Fields["CreateTime"], 10, 64); err == nil && sec > 0 {
		at = time.Unix(sec, 0)
	}
	emp, err := s.employeeOf(ctx, tx, ev.TenantID, userID)
	if err != nil {
		return err
	}
	switch ev.Kind.ChangeType {
	case ChangeDel:
		return nil
	case ChangeDelFollow:
		id, err := customer.CustomerByExternalUserIDTx(ctx, tx, ev.TenantID, extID)
		if err != nil || id == uuid.Nil || emp.ID == uuid.Nil {
			return err
		}
		return s.alert(ctx, tx, ev.TenantID, alert.Alert{Kind: alert.KindWeComDeleted, EmployeeID: emp.ID, CustomerID: id, At: at,
			Body: "A customer deleted you on WeCom"})
	case ChangeAdd, ChangeEdit:
	default:
		return nil
	}
	client, err := s.cfg.WeCom.ClientTx(ctx, tx, ev.TenantID, wecom.AppContact)
	if err != nil {
		return err
	}
	detail, follow, err := readContact(ctx, client, extID, userID)
	if platform.KindOf(err) == platform.KindNotFound || wecomapi.HasCode(err, wecomapi.CodeNotExternalContact) {
		return nil // deleted again before we read it: nothing to tie
	}
	if err != nil {
		return err
	}
	state := ev.Fields["State"]
	if state == "" && follow != nil {
		state = follow.State
	}
	in := customer.WeComContact{ExternalUserID: extID, UnionID: detail.Contact.UnionID, Name: detail.Contact.Name,
		AvatarURL: detail.Contact.Avatar, OwnerID: emp.ID}
	if follow != nil {
		in.Remark, in.Description = follow.Remark, follow.Description
	}
	c, err := customer.WeComContactTx(ctx, tx, ev.TenantID, in)
	if err != nil {
		return err
	}
	if follow != nil {
		if err := customer.AddTagsTx(ctx, tx, ev.TenantID, c.ID, corpTagNames(*follow, nil)); err != nil {
			return err
		}
	}
	if ev.Kind.ChangeType != ChangeAdd {
		return nil
	}
	added, err := customer.RecordWeComAddedTx(ctx, tx, ev.TenantID, ev.ID, c.ID, emp.ID, at)
	if err != nil || !added {
		return err
	}
	channel, err := s.creditChannelTx(ctx, tx, ev.TenantID, state, c.ID, emp.ID)
	if err != nil {
		return err
	}
	if emp.ID != uuid.Nil {
		body := alert.Who(c.DisplayName) + " added you on WeCom"
		if channel.Name != "" {
			body += " through channel 《" + channel.Name + "》"
		}
		if err := s.alert(ctx, tx, ev.TenantID, alert.Alert{Kind: alert.KindWeComAdded, EmployeeID: emp.ID, CustomerID: c.ID, At: at, Body: body}); err != nil {
			return err
		}
	}
	if code := ev.Fields["WelcomeCode"]; code != "" && emp.ID != uuid.Nil {
		args := WelcomeArgs{TenantID: ev.TenantID, EventID: ev.ID, EmployeeID: emp.ID, ExternalUserID: extID,
			WelcomeCode: code, ChannelID: channel.ID, ReceivedAt: ev.ReceivedAt}
		if err := s.cfg.Queue.InsertTx(ctx, tx, args, &river.InsertOpts{Queue: jobs.QueueWeCom, MaxAttempts: welcomeAttempts}); err != nil {
			return fmt.Errorf("queue the welcome message: %w", err)
		}
	}
	return nil
}

// readContact reads the customer and the member's follow info, paging through the follow users.
func readContact(ctx context.Context, c *wecomapi.Client, extID, userID string) (wecomapi.ExternalContactDetail, *wecomapi.FollowUser, error) {
	var first wecomapi.ExternalContactDetail
	cursor := ""
	for page := 0; page < 20; page++ {
		d, err := c.ExternalContact(ctx, extID, cursor)
		if err != nil {
			return wecomapi.ExternalContactDetail{}, nil, err
		}
		if page == 0 {
			first = d
		}
		for i := range d.FollowUsers {
			if d.FollowUsers[i].UserID == userID {
				f := d.FollowUsers[i]
				return first, &f, nil
			}
		}
		if d.NextCursor == "" {
			break
		}
		cursor = d.NextCursor
	}
	return first, nil, nil
}

// alert records an alert in tx, its push jobs queued in tx too. Once the dispatcher has committed, the
// runners are told to fetch the pushes and the salesperson's WebSocket connections to read the stream,
// so the alert arrives within the second rather than at the next polls.
func (s *Service) alert(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, a alert.Alert) error {
	keys, err := alert.Record(ctx, tx, s.cfg.Pushes, tenantID, []alert.Alert{a}, s.cfg.Now())
	if err != nil {
		return err
	}
	wecom.AfterCommit(ctx, func() {
		if s.cfg.Pushes != nil {
			s.cfg.Pushes.Committed()
		}
		if s.cfg.Wake != nil && len(keys) > 0 {
			s.cfg.Wake(keys)
		}
	})
	return nil
}
