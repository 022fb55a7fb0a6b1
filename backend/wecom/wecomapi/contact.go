package wecomapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"unicode/utf8"

	"github.com/salesapp/scrm/backend/platform"
)

// External contact types (ExternalContact.Type).
const (
	// ContactWeChat is a customer on WeChat.
	ContactWeChat = 1
	// ContactWeCom is a customer who is a member of another WeCom corp.
	ContactWeCom = 2
)

// ExternalContact is a customer as WeCom knows them.
type ExternalContact struct {
	ExternalUserID string `json:"external_userid"`
	// Name is the WeChat nickname, or the WeCom user's name.
	Name   string `json:"name"`
	Avatar string `json:"avatar"`
	// Type is ContactWeChat or ContactWeCom.
	Type int `json:"type"`
	// Gender is 0 unknown, 1 male, 2 female.
	Gender int `json:"gender"`
	// UnionID is the customer's WeChat unionid, given when the corp has bound a WeChat developer account: the
	// same person as a mini-program or official-account visitor with that unionid.
	UnionID string `json:"unionid"`
	// Position, CorpName and CorpFullName describe a ContactWeCom customer.
	Position     string `json:"position"`
	CorpName     string `json:"corp_name"`
	CorpFullName string `json:"corp_full_name"`
}

// Tag types of FollowTag.
const (
	// TagCorp is a tag of the corp tag library.
	TagCorp = 1
	// TagPersonal is a member's own tag.
	TagPersonal = 2
	// TagRule is a tag set by a rule-group.
	TagRule = 3
)

// FollowTag is a tag a member has put on a customer, as externalcontact/get gives it.
type FollowTag struct {
	GroupName string `json:"group_name"`
	TagName   string `json:"tag_name"`
	// TagID is set for TagCorp and TagRule tags.
	TagID string `json:"tag_id"`
	// Type is TagCorp, TagPersonal or TagRule.
	Type int `json:"type"`
}

// Add ways of FollowUser.AddWay (the most common; WeCom has more).
const (
	AddWayUnknown   = 0
	AddWayQRCode    = 1
	AddWayMobile    = 2
	AddWayCard      = 3
	AddWayGroupChat = 4
	AddWayShared    = 201
	AddWayAssigned  = 202
)

// FollowUser is a member who has the customer as an external contact, with what they noted about them.
type FollowUser struct {
	UserID      string `json:"userid"`
	Remark      string `json:"remark"`
	Description string `json:"description"`
	// CreateTime is when the member added the customer (Unix seconds).
	CreateTime int64 `json:"createtime"`
	// Tags are the member's tags on the customer (externalcontact/get only).
	Tags []FollowTag `json:"tags"`
	// TagIDs are the corp tags on the customer: what batch/get_by_user gives, and filled from Tags by
	// ExternalContact, so both read the same.
	TagIDs         []string `json:"tag_id"`
	RemarkCorpName string   `json:"remark_corp_name"`
	// RemarkMobiles are phone numbers the member noted. Personal: never logged.
	RemarkMobiles []string `json:"remark_mobiles"`
	// OperUserID is who added: the member, the customer (their external userid), or the admin who assigned.
	OperUserID string `json:"oper_userid"`
	// AddWay says how the customer was added (AddWayQRCode…).
	AddWay int `json:"add_way"`
	// State is the contact way's state when the customer came through one: the channel.
	State string `json:"state"`
}

// LogValue leaves remarks and phone numbers out of logs.
func (f FollowUser) LogValue() slog.Value {
	return slog.GroupValue(slog.String("userid", f.UserID), slog.String("state", f.State), slog.Int("add_way", f.AddWay))
}

// ExternalContactDetail is a customer and the members who follow them.
type ExternalContactDetail struct {
	Contact     ExternalContact
	FollowUsers []FollowUser
	// NextCursor continues the follow users when there are more than WeCom answers at once (500); empty when
	// all were given.
	NextCursor string
}

// ExternalContact reads a customer with their follow users (externalcontact/get), from cursor ("" first).
// A customer who is no one's external contact is platform.KindNotFound.
func (c *Client) ExternalContact(ctx context.Context, externalUserID, cursor string) (ExternalContactDetail, error) {
	if err := checkExternalUserID("external_userid", externalUserID); err != nil {
		return ExternalContactDetail{}, err
	}
	q := url.Values{"external_userid": {externalUserID}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var out struct {
		ExternalContact ExternalContact `json:"external_contact"`
		FollowUser      []FollowUser    `json:"follow_user"`
		NextCursor      string          `json:"next_cursor"`
	}
	if err := c.get(ctx, "externalcontact/get", q, &out); err != nil {
		return ExternalContactDetail{}, err
	}
	for i := range out.FollowUser {
		f := &out.FollowUser[i]
		if len(f.TagIDs) == 0 {
			for _, t := range f.Tags {
				if t.Type == TagCorp && t.TagID != "" {
					f.TagIDs = append(f.TagIDs, t.TagID)
				}
			}
		}
	}
	return ExternalContactDetail{Contact: out.ExternalContact, FollowUsers: out.FollowUser, NextCursor: out.NextCursor}, nil
}

// Limits of externalcontact/batch/get_by_user.
const (
	// MaxBatchUsers is the most members one request names.
	MaxBatchUsers = 100
	// MaxBatchLimit is the most customers one page holds.
	MaxBatchLimit = 100
)

// BatchRequest asks for the customers of members, a page at a time.
type BatchRequest struct {
	// UserIDs are the members (1…MaxBatchUsers).
	UserIDs []string
	// Cursor is the previous page's NextCursor, "" for the first page. Keep it to resume after a crash.
	Cursor string
	// Limit is the page size (1…MaxBatchLimit); MaxBatchLimit when 0.
	Limit int
}

// ContactFollow is one (customer, follow user) pair: a customer followed by two of the members asked about
// comes twice.
type ContactFollow struct {
	Contact ExternalContact `json:"external_contact"`
	Follow  FollowUser      `json:"follow_info"`
}

// BatchPage is one page of ExternalContactsByUser.
type BatchPage struct {
	Contacts []ContactFollow
	// NextCursor continues the listing; empty on the last page.
	NextCursor string
}

// ExternalContactsByUser reads the customers of the given members with each member's follow info
// (externalcontact/batch/get_by_user), a page at a time: the way to import existing contacts.
func (c *Client) ExternalContactsByUser(ctx context.Context, r BatchRequest) (BatchPage, error) {
	if len(r.UserIDs) == 0 || len(r.UserIDs) > MaxBatchUsers {
		return BatchPage{}, platform.Invalid("userid_list", fmt.Sprintf("name 1 to %d members", MaxBatchUsers))
	}
	for _, id := range r.UserIDs {
		if err := checkUserID("userid_list", id); err != nil {
			return BatchPage{}, err
		}
	}
	if r.Limit == 0 {
		r.Limit = MaxBatchLimit
	}
	if r.Limit < 0 || r.Limit > MaxBatchLimit {
		return BatchPage{}, platform.Invalid("limit", fmt.Sprintf("the page size must be 1 to %d", MaxBatchLimit))
	}
	in := struct {
		UserIDList []string `json:"userid_list"`
		Cursor     string   `json:"cursor,omitempty"`
		Limit      int      `json:"limit"`
	}{r.UserIDs, r.Cursor, r.Limit}
	var out struct {
		ExternalContactList []ContactFollow `json:"external_contact_list"`
		NextCursor          string          `json:"next_cursor"`
	}
	if err := c.read(ctx, "externalcontact/batch/get_by_user", in, &out); err != nil {
		return BatchPage{}, err
	}
	return BatchPage{Contacts: out.ExternalContactList, NextCursor: out.NextCursor}, nil
}

// ExternalContactIDs lists the external userids of a member's customers (externalcontact/list).
func (c *Client) ExternalContactIDs(ctx context.Context, userID string) ([]string, error) {
	if err := checkUserID("userid", userID); err != nil {
		return nil, err
	}
	var out struct {
		ExternalUserID []string `json:"external_userid"`
	}
	if err := c.get(ctx, "externalcontact/list", url.Values{"userid": {userID}}, &out); err != nil {
		return nil, err
	}
	return out.ExternalUserID, nil
}

// Contact way types and scenes (ContactWay.Type, ContactWay.Scene).
const (
	// WaySingle routes every add to the one member named.
	WaySingle = 1
	// WayMulti lets WeCom pick among the members and departments named.
	WayMulti = 2
	// SceneMiniProgram is a "contact me" button in a mini-program.
	SceneMiniProgram = 1
	// SceneQRCode is a QR code (活码).
	SceneQRCode = 2
)

// Limits WeCom puts on a contact way.
const (
	// MaxStateChars bounds State: WeCom refuses a longer one.
	MaxStateChars = 30
	// MaxRemarkChars bounds Remark.
	MaxRemarkChars = 30
	// MaxWayUsers bounds the members of a WayMulti contact way.
	MaxWayUsers = 100
)

// ContactWay is a "contact me" (联系我) configuration: a QR code or mini-program button that adds the
// customer to a member; the State it carries comes back on the add event and in FollowUser.State, which is
// how a channel is credited.
type ContactWay struct {
	// ConfigID identifies the way in WeCom: answered by AddContactWay, needed to change or delete it.
	ConfigID string `json:"config_id,omitempty"`
	// Type is WaySingle or WayMulti; fixed at creation.
	Type int `json:"type,omitempty"`
	// Scene is SceneMiniProgram or SceneQRCode; fixed at creation.
	Scene int `json:"scene,omitempty"`
	// Style is the mini-program button's style (1…); unused for QR codes.
	Style int `json:"style,omitempty"`
	// Remark is our note (≤ 30 characters).
	Remark string `json:"remark,omitempty"`
	// SkipVerify adds the customer without the member confirming.
	SkipVerify bool `json:"skip_verify"`
	// State names the channel (≤ 30 characters).
	State string `json:"state,omitempty"`
	// UserIDs are the members: exactly one for WaySingle, up to 100 for WayMulti.
	UserIDs []string `json:"user,omitempty"`
	// DepartmentIDs are departments whose members share the adds (WayMulti only).
	DepartmentIDs []int64 `json:"party,omitempty"`
	// IsTemp makes a temporary-chat code (WaySingle only), valid ExpiresIn seconds, the chat ChatExpiresIn.
	IsTemp        bool  `json:"is_temp,omitempty"`
	ExpiresIn     int64 `json:"expires_in,omitempty"`
	ChatExpiresIn int64 `json:"chat_expires_in,omitempty"`
	// UnionID limits a temporary code to one WeChat user.
	UnionID string `json:"unionid,omitempty"`
	// QRCode is the URL of the QR code image (answered for SceneQRCode).
	QRCode string `json:"qr_code,omitempty"`
}

func (w ContactWay) check(creating bool) error {
	if creating {
		if w.Type != WaySingle && w.Type != WayMulti {
			return platform.Invalid("type", "a contact way is for one member (1) or several (2)")
		}
		if w.Scene != SceneMiniProgram && w.Scene != SceneQRCode {
			return platform.Invalid("scene", "a contact way is a mini-program button (1) or a QR code (2)")
		}
	}
	if n := utf8.RuneCountInString(w.State); n > MaxStateChars || !utf8.ValidString(w.State) {
		return platform.Invalid("state", fmt.Sprintf("the state is at most %d characters", MaxStateChars))
	}
	if n := utf8.RuneCountInString(w.Remark); n > MaxRemarkChars || !utf8.ValidString(w.Remark) {
		return platform.Invalid("remark", fmt.Sprintf("the remark is at most %d characters", MaxRemarkChars))
	}
	for _, id := range w.UserIDs {
		if err := checkUserID("user", id); err != nil {
			return err
		}
	}
	switch {
	case w.Type == WaySingle && (len(w.UserIDs) != 1 || len(w.DepartmentIDs) > 0):
		return platform.Invalid("user", "a single-member contact way names exactly one member")
	case len(w.UserIDs) > MaxWayUsers:
		return platform.Invalid("user", fmt.Sprintf("a contact way names at most %d members", MaxWayUsers))
	case creating && len(w.UserIDs) == 0 && len(w.DepartmentIDs) == 0:
		return platform.Invalid("user", "a contact way names at least one member or department")
	case w.IsTemp && w.Type != WaySingle:
		return platform.Invalid("is_temp", "only a single-member contact way can be temporary")
	case w.ExpiresIn < 0 || w.ChatExpiresIn < 0:
		return platform.Invalid("expires_in", "expiry times cannot be negative")
	}
	return nil
}

// ContactWayCreated is what AddContactWay answers.
type ContactWayCreated struct {
	ConfigID string `json:"config_id"`
	// QRCode is the QR code image's URL (SceneQRCode).
	QRCode string `json:"qr_code"`
}

// AddContactWay creates a contact way (externalcontact/add_contact_way). ConfigID and QRCode of w are
// ignored. Keep the answered ConfigID: without it the way can be neither changed nor deleted.
func (c *Client) AddContactWay(ctx context.Context, w ContactWay) (ContactWayCreated, error) {
	if err := w.check(true); err != nil {
		return ContactWayCreated{}, err
	}
	w.ConfigID, w.QRCode = "", ""
	var out ContactWayCreated
	if err := c.write(ctx, "externalcontact/add_contact_way", w, &out); err != nil {
		return ContactWayCreated{}, err
	}
	if out.ConfigID == "" {
		return ContactWayCreated{}, fmt.Errorf("wecom externalcontact/add_contact_way: answer without config_id")
	}
	return out, nil
}

// UpdateContactWay replaces the changeable settings of the way w.ConfigID with w's (remark, skip_verify,
// style, state, members, departments, expiry): pass the whole way as ContactWay read it, changed. Members
// and departments are kept when both are empty; Type and Scene cannot change and are ignored.
func (c *Client) UpdateContactWay(ctx context.Context, w ContactWay) error {
	if w.ConfigID == "" {
		return platform.Invalid("config_id", "the contact way's config_id is missing")
	}
	if err := w.check(false); err != nil {
		return err
	}
	w.Type, w.Scene, w.IsTemp, w.QRCode = 0, 0, false, ""
	return c.write(ctx, "externalcontact/update_contact_way", w, nil)
}

// ContactWay reads a contact way (externalcontact/get_contact_way).
func (c *Client) ContactWay(ctx context.Context, configID string) (ContactWay, error) {
	if configID == "" {
		return ContactWay{}, platform.Invalid("config_id", "the contact way's config_id is missing")
	}
	in := struct {
		ConfigID string `json:"config_id"`
	}{configID}
	var out struct {
		ContactWay ContactWay `json:"contact_way"`
	}
	if err := c.read(ctx, "externalcontact/get_contact_way", in, &out); err != nil {
		return ContactWay{}, err
	}
	return out.ContactWay, nil
}

// DeleteContactWay deletes a contact way (externalcontact/del_contact_way); its QR code stops working.
func (c *Client) DeleteContactWay(ctx context.Context, configID string) error {
	if configID == "" {
		return platform.Invalid("config_id", "the contact way's config_id is missing")
	}
	in := struct {
		ConfigID string `json:"config_id"`
	}{configID}
	return c.write(ctx, "externalcontact/del_contact_way", in, nil)
}

// Limits of a welcome message.
const (
	// MaxWelcomeAttachments is the most attachments WeCom sends with a welcome message.
	MaxWelcomeAttachments = 9
	// MaxWelcomeTextBytes bounds the text.
	MaxWelcomeTextBytes = 4000
)

// WelcomeMsg greets a customer who just added a member, with the welcome code of the add event. A code
// works once, within 20 seconds of the event.
type WelcomeMsg struct {
	WelcomeCode string
	// Text is the message text (may be empty when there are attachments).
	Text string
	// Attachments are link or mini-program cards (at most MaxWelcomeAttachments).
	Attachments []Attachment
}

// Attachment is one card of a welcome message: set exactly one of Link and MiniProgram.
type Attachment struct {
	Link        *Link
	MiniProgram *MiniProgram
}

// Link is a link card.
type Link struct {
	Title  string `json:"title"`
	PicURL string `json:"picurl,omitempty"`
	Desc   string `json:"desc,omitempty"`
	URL    string `json:"url"`
}

// MiniProgram is a mini-program card; PicMediaID is a temporary media id of its cover (media/upload).
type MiniProgram struct {
	Title      string `json:"title"`
	PicMediaID string `json:"pic_media_id"`
	AppID      string `json:"appid"`
	Page       string `json:"page"`
}

// MarshalJSON writes the attachment as WeCom reads it, its msgtype first.
func (a Attachment) MarshalJSON() ([]byte, error) {
	switch {
	case a.Link != nil && a.MiniProgram == nil:
		return json.Marshal(struct {
			MsgType string `json:"msgtype"`
			Link    *Link  `json:"link"`
		}{"link", a.Link})
	case a.MiniProgram != nil && a.Link == nil:
		return json.Marshal(struct {
			MsgType     string       `json:"msgtype"`
			MiniProgram *MiniProgram `json:"miniprogram"`
		}{"miniprogram", a.MiniProgram})
	}
	return nil, fmt.Errorf("an attachment is exactly one of a link and a mini-program card")
}

func (m WelcomeMsg) check() error {
	switch {
	case m.WelcomeCode == "" || len(m.WelcomeCode) > 512:
		return platform.Invalid("welcome_code", "the welcome code is missing or too long")
	case m.Text == "" && len(m.Attachments) == 0:
		return platform.Invalid("text", "a welcome message has text or an attachment")
	case len(m.Text) > MaxWelcomeTextBytes:
		return platform.Invalid("text", fmt.Sprintf("the welcome text is at most %d bytes", MaxWelcomeTextBytes))
	case len(m.Attachments) > MaxWelcomeAttachments:
		return platform.Invalid("attachments", fmt.Sprintf("a welcome message has at most %d attachments", MaxWelcomeAttachments))
	}
	for _, a := range m.Attachments {
		switch {
		case (a.Link == nil) == (a.MiniProgram == nil):
			return platform.Invalid("attachments", "an attachment is exactly one of a link and a mini-program card")
		case a.Link != nil && (a.Link.Title == "" || a.Link.URL == ""):
			return platform.Invalid("attachments", "a link card needs a title and a URL")
		case a.MiniProgram != nil && (a.MiniProgram.Title == "" || a.MiniProgram.AppID == "" ||
			a.MiniProgram.Page == "" || a.MiniProgram.PicMediaID == ""):
			return platform.Invalid("attachments", "a mini-program card needs a title, a cover media id, an appid and a page")
		}
	}
	return nil
}

// SendWelcomeMsg sends the welcome message (externalcontact/send_welcome_msg). It is not retried, even when
// WeCom is busy: WeCom may have sent it. A code already used (or a customer who has started chatting) is an
// error for which IsAlreadySent holds: a retried job treats it as done.
func (c *Client) SendWelcomeMsg(ctx context.Context, m WelcomeMsg) error {
	if err := m.check(); err != nil {
		return err
	}
	in := struct {
		WelcomeCode string `json:"welcome_code"`
		Text        *struct {
			Content string `json:"content"`
		} `json:"text,omitempty"`
		Attachments []Attachment `json:"attachments,omitempty"`
	}{WelcomeCode: m.WelcomeCode, Attachments: m.Attachments}
	if m.Text != "" {
		in.Text = &struct {
			Content string `json:"content"`
		}{m.Text}
	}
	return c.write(ctx, "externalcontact/send_welcome_msg", in, nil)
}
