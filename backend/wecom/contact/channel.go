package contact

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/material"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/wecom"
	"github.com/salesapp/scrm/backend/wecom/contact/internal/contactdb"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
)

// credited is the channel an add came through (zero when its state names none).
type credited struct {
	ID   uuid.UUID
	Name string
}

// creditChannelTx credits the channel whose state an add carried with the customer (once per customer)
// and puts the channel's tags on them.
func (s *Service) creditChannelTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, state string, customerID, employeeID uuid.UUID) (credited, error) {
	if state == "" {
		return credited{}, nil
	}
	q := contactdb.New(tx)
	ch, err := q.ChannelByState(ctx, contactdb.ChannelByStateParams{TenantID: tenantID, State: state})
	if errors.Is(err, pgx.ErrNoRows) {
		return credited{}, nil // a state of a contact way made elsewhere
	}
	if err != nil {
		return credited{}, err
	}
	n, err := q.CreditChannel(ctx, contactdb.CreditChannelParams{TenantID: tenantID, ChannelID: ch.ID, CustomerID: customerID,
		EmployeeID: uuid.NullUUID{UUID: employeeID, Valid: employeeID != uuid.Nil}})
	if err != nil {
		return credited{}, err
	}
	// Only a capped channel counts the day's adds: the add callback's path pays nothing for the others.
	if n == 1 && employeeID != uuid.Nil && ch.DailyCap > 0 {
		if err := s.capTx(ctx, tx, tenantID, ch.ID, employeeID); err != nil {
			return credited{}, err
		}
	}
	if err := customer.AddTagsTx(ctx, tx, tenantID, customerID, ch.Tags); err != nil {
		return credited{}, err
	}
	return credited{ID: ch.ID, Name: ch.Name}, nil
}

// Channel is a channel code as listed.
type Channel struct {
	ID                uuid.UUID
	Name, State       string
	QRCode            string
	EmployeeIDs       []uuid.UUID
	Tags              []string
	WelcomeText       string
	WelcomeMaterialID uuid.UUID
	// WelcomeMiniProgram: the welcome's card is a mini-program card (when the platform has a mini-program).
	WelcomeMiniProgram bool
	DailyCap           int
	// PausedIDs are the employees who reached DailyCap today.
	PausedIDs         []uuid.UUID
	Adds, Leads, Wins int
	CreatedAt         time.Time
}

// ChannelInput is what an admin sets of a channel.
type ChannelInput struct {
	Name        string
	EmployeeIDs []uuid.UUID
	Tags        []string
	WelcomeText string
	// WelcomeMaterialID is the material the welcome's card opens (uuid.Nil: the salesperson's card).
	WelcomeMaterialID uuid.UUID
	// WelcomeMiniProgram sends that card as a mini-program card rather than a link card.
	WelcomeMiniProgram bool
	// DailyCap is the most adds per employee a day (0: none).
	DailyCap int
}

// checkInputTx checks what way does not: the welcome material and the cap.
func checkInputTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, in ChannelInput) error {
	if in.DailyCap < 0 || in.DailyCap > 10000 {
		return platform.Invalid("fields.daily_cap", "0 (no cap) to 10000")
	}
	if in.WelcomeMaterialID == uuid.Nil {
		return nil
	}
	_, err := material.WelcomeTx(ctx, tx, tenantID, in.WelcomeMaterialID)
	if platform.KindOf(err) == platform.KindNotFound {
		return platform.Invalid("fields.welcome_material_id", "not a published material of the enterprise or the platform")
	}
	return err
}

func mayManage(p authn.Principal) error {
	if p.Role != authn.RoleAdmin && p.Role != authn.RoleManager {
		return platform.PermissionDenied("only admins and managers manage channel codes")
	}
	return nil
}

// newState makes a channel's state: "ch" and 16 random base32 characters (WeCom allows 30).
func newState() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "ch" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// way is the contact way of a channel's employees. It is always WeCom's multi-member way (which rotates
// among several, and takes one too), since a way's type cannot change when employees are added later.
func (s *Service) way(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, in ChannelInput) (wecomapi.ContactWay, error) {
	rows, err := contactdb.New(tx).WeComUserIDs(ctx, contactdb.WeComUserIDsParams{TenantID: tenantID, Ids: in.EmployeeIDs})
	if err != nil {
		return wecomapi.ContactWay{}, err
	}
	byID := make(map[uuid.UUID]string, len(rows))
	for _, r := range rows {
		byID[r.ID] = r.WecomUserid
	}
	w := wecomapi.ContactWay{Type: wecomapi.WayMulti, Scene: wecomapi.SceneQRCode, SkipVerify: true, Remark: clip(in.Name, wecomapi.MaxRemarkChars)}
	for _, id := range in.EmployeeIDs {
		u, ok := byID[id]
		if !ok {
			return wecomapi.ContactWay{}, platform.Invalid("fields.employee_ids", "employee "+id.String()+" is not an active employee with a WeCom userid")
		}
		w.UserIDs = append(w.UserIDs, u)
	}
	return w, nil
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// CreateChannel creates the contact way in WeCom, then the channel. Should storing the channel fail, the
// contact way is deleted again.
func (s *Service) CreateChannel(ctx context.Context, p authn.Principal, in ChannelInput) (Channel, error) {
	if err := mayManage(p); err != nil {
		return Channel{}, err
	}
	id, state := uuid.Must(uuid.NewV7()), newState()
	var w wecomapi.ContactWay
	var client *wecomapi.Client
	err := s.cfg.DB.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		if err := checkInputTx(ctx, tx, p.TenantID, in); err != nil {
			return err
		}
		var err error
		if w, err = s.way(ctx, tx, p.TenantID, in); err != nil {
			return err
		}
		client, err = s.cfg.WeCom.ClientTx(ctx, tx, p.TenantID, wecom.AppContact)
		return err
	})
	if err != nil {
		return Channel{}, err
	}
	w.State = state
	made, err := client.AddContactWay(ctx, w)
	if err != nil {
		return Channel{}, wecomapi.Translate(err)
	}
	err = s.cfg.DB.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		return contactdb.New(tx).InsertChannel(ctx, contactdb.InsertChannelParams{TenantID: p.TenantID, ID: id, Name: in.Name,
			State: state, ConfigID: made.ConfigID, QrCode: made.QRCode, EmployeeIds: in.EmployeeIDs, Tags: nonNil(in.Tags),
			WelcomeText: in.WelcomeText, CreatedBy: p.EmployeeID, WelcomeMaterialID: nullID(in.WelcomeMaterialID), DailyCap: int32(in.DailyCap),
			WelcomeMiniProgram: in.WelcomeMiniProgram})
	})
	if err != nil {
		if derr := client.DeleteContactWay(ctx, made.ConfigID); derr != nil {
			s.cfg.Log.WarnContext(ctx, "wecom contact way left behind", "tenant_id", p.TenantID, "config_id", made.ConfigID, "error", derr)
		}
		return Channel{}, err
	}
	return s.channel(ctx, p.TenantID, id)
}

func nullID(id uuid.UUID) uuid.NullUUID { return uuid.NullUUID{UUID: id, Valid: id != uuid.Nil} }

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

var errNoChannel = platform.NotFound("channel")

// UpdateChannel changes a channel's name, employees, tags, welcome and cap, in WeCom first. The channel is
// locked meanwhile, so two updates apply one after the other. Employees paused today for the cap stay off
// the contact way until the day ends.
func (s *Service) UpdateChannel(ctx context.Context, p authn.Principal, id uuid.UUID, in ChannelInput) (Channel, error) {
	if err := mayManage(p); err != nil {
		return Channel{}, err
	}
	err := s.cfg.DB.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		if err := checkInputTx(ctx, tx, p.TenantID, in); err != nil {
			return err
		}
		q := contactdb.New(tx)
		row, err := q.ChannelRotation(ctx, contactdb.ChannelRotationParams{TenantID: p.TenantID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoChannel
		}
		if err != nil {
			return err
		}
		if _, err := s.way(ctx, tx, p.TenantID, in); err != nil {
			return err // every employee named must be a WeCom member, paused or not
		}
		on := in
		if in.DailyCap > 0 {
			on.EmployeeIDs = onRotation(in.EmployeeIDs, row.PausedToday)
		}
		if err := s.setWayTx(ctx, tx, p.TenantID, row.ConfigID, row.State, on); err != nil {
			return err
		}
		return q.UpdateChannel(ctx, contactdb.UpdateChannelParams{TenantID: p.TenantID, ID: id, Name: in.Name,
			EmployeeIds: in.EmployeeIDs, Tags: nonNil(in.Tags), WelcomeText: in.WelcomeText,
			WelcomeMaterialID: nullID(in.WelcomeMaterialID), DailyCap: int32(in.DailyCap),
			WelcomeMiniProgram: in.WelcomeMiniProgram})
	})
	if err != nil {
		return Channel{}, err
	}
	return s.channel(ctx, p.TenantID, id)
}

// setWayTx sets the channel's contact way in WeCom to in's employees.
func (s *Service) setWayTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, configID, state string, in ChannelInput) error {
	w, err := s.way(ctx, tx, tenantID, in)
	if err != nil {
		return err
	}
	client, err := s.cfg.WeCom.ClientTx(ctx, tx, tenantID, wecom.AppContact)
	if err != nil {
		return err
	}
	w.ConfigID, w.State = configID, state
	if err := client.UpdateContactWay(ctx, w); err != nil {
		return wecomapi.Translate(err)
	}
	return nil
}

// onRotation is employees without those paused; all of them when everyone is paused (a contact way needs
// one, and a cap all have reached holds nobody back).
func onRotation(employees, paused []uuid.UUID) []uuid.UUID {
	var out []uuid.UUID
	for _, id := range employees {
		if !slices.Contains(paused, id) {
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		return employees
	}
	return out
}

// DeleteChannel deletes the contact way in WeCom (one WeCom no longer has is gone already) and the
// channel with its credits.
func (s *Service) DeleteChannel(ctx context.Context, p authn.Principal, id uuid.UUID) error {
	if err := mayManage(p); err != nil {
		return err
	}
	return s.cfg.DB.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := contactdb.New(tx)
		row, err := q.LockChannel(ctx, contactdb.LockChannelParams{TenantID: p.TenantID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoChannel
		}
		if err != nil {
			return err
		}
		client, err := s.cfg.WeCom.ClientTx(ctx, tx, p.TenantID, wecom.AppContact)
		if err != nil {
			return err
		}
		if err := client.DeleteContactWay(ctx, row.ConfigID); err != nil && !wecomapi.HasCode(err, codeInvalidConfigID) {
			return wecomapi.Translate(err)
		}
		return q.DeleteChannel(ctx, contactdb.DeleteChannelParams{TenantID: p.TenantID, ID: id})
	})
}

// codeInvalidConfigID is WeCom's answer for a contact way it does not have.
const codeInvalidConfigID = 41044

func (s *Service) channel(ctx context.Context, tenantID, id uuid.UUID) (Channel, error) {
	var out []Channel
	err := s.cfg.DB.InTenantSnapshot(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = listChannels(ctx, tx, contactdb.ListChannelsParams{TenantID: tenantID, OnlyID: uuid.NullUUID{UUID: id, Valid: true}, MaxRows: 1})
		return err
	})
	if err == nil && len(out) == 0 {
		err = errNoChannel
	}
	if err != nil {
		return Channel{}, err
	}
	return out[0], nil
}

func listChannels(ctx context.Context, tx pgx.Tx, params contactdb.ListChannelsParams) ([]Channel, error) {
	rows, err := contactdb.New(tx).ListChannels(ctx, params)
	if err != nil {
		return nil, err
	}
	out := make([]Channel, len(rows))
	for i, r := range rows {
		out[i] = Channel{ID: r.ID, Name: r.Name, State: r.State, QRCode: r.QrCode, EmployeeIDs: r.EmployeeIds, Tags: r.Tags,
			WelcomeText: r.WelcomeText, WelcomeMaterialID: r.WelcomeMaterialID.UUID, WelcomeMiniProgram: r.WelcomeMiniProgram,
			DailyCap: int(r.DailyCap), PausedIDs: r.PausedToday,
			Adds: int(r.Adds), Leads: int(r.Leads), Wins: int(r.Wins), CreatedAt: r.CreatedAt}
	}
	return out, nil
}

// ListChannels lists the tenant's channels, newest first, a page at a time (size ≤ 200, 50 by default).
func (s *Service) ListChannels(ctx context.Context, p authn.Principal, size int, token string) ([]Channel, string, error) {
	if err := mayManage(p); err != nil {
		return nil, "", err
	}
	if size <= 0 {
		size = 50
	}
	size = min(size, 200)
	params := contactdb.ListChannelsParams{TenantID: p.TenantID, MaxRows: int32(size + 1)}
	if token != "" {
		b, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(b) != 24 {
			return nil, "", platform.Invalid("page_token", "is not a token this list gave")
		}
		params.HasCursor, params.BeforeAt = true, time.UnixMicro(int64(binary.BigEndian.Uint64(b[:8])))
		params.BeforeID, _ = uuid.FromBytes(b[8:])
	}
	var out []Channel
	err := s.cfg.DB.InTenantSnapshot(ctx, p.TenantID, func(tx pgx.Tx) error {
		var err error
		out, err = listChannels(ctx, tx, params)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > size {
		out = out[:size]
		last := out[size-1]
		b := binary.BigEndian.AppendUint64(nil, uint64(last.CreatedAt.UnixMicro()))
		next = base64.RawURLEncoding.EncodeToString(append(b, last.ID[:]...))
	}
	return out, next, nil
}
