package wecomtest

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/salesapp/scrm/backend/wecom/wecomapi"
)

// fakeContact is a customer and the members following them, in the order they added the customer.
type fakeContact struct {
	info    wecomapi.ExternalContact
	follows []wecomapi.FollowUser
}

func (c *fakeContact) follow(userID string) *wecomapi.FollowUser {
	for i := range c.follows {
		if c.follows[i].UserID == userID {
			return &c.follows[i]
		}
	}
	return nil
}

// AddContact adds a customer (or updates one) followed by the members of follows; a follow of a member who
// follows already replaces theirs. TagIDs of a follow are its corp tags (ids from AddCorpTags or the API).
func (s *Server) AddContact(c wecomapi.ExternalContact, follows ...wecomapi.FollowUser) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addContact(c, follows...)
}

func (s *Server) addContact(c wecomapi.ExternalContact, follows ...wecomapi.FollowUser) {
	if c.Type == 0 {
		c.Type = wecomapi.ContactWeChat
	}
	ct, ok := s.contacts[c.ExternalUserID]
	if !ok {
		ct = &fakeContact{}
		s.contacts[c.ExternalUserID] = ct
	}
	ct.info = c
	for _, f := range follows {
		if f.CreateTime == 0 {
			f.CreateTime = s.clock.Unix()
		}
		if old := ct.follow(f.UserID); old != nil {
			*old = f
			continue
		}
		ct.follows = append(ct.follows, f)
		s.byUser[f.UserID] = append(s.byUser[f.UserID], c.ExternalUserID)
	}
}

// SeedContacts adds n customers ("wm00000001"…, each with a unionid) followed round-robin by the members of
// userIDs, without a request: the data set of an import benchmark.
func (s *Server) SeedContacts(n int, userIDs []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, n)
	for i := range n {
		id := fmt.Sprintf("wm%08d", i+1)
		ids[i] = id
		s.addContact(wecomapi.ExternalContact{ExternalUserID: id, Name: fmt.Sprintf("客户%d", i+1), UnionID: fmt.Sprintf("ou%08d", i+1)},
			wecomapi.FollowUser{UserID: userIDs[i%len(userIDs)], AddWay: wecomapi.AddWayQRCode, State: "seed"})
	}
	return ids
}

// Follows returns the follow users of a customer as the server holds them (nil for an unknown customer).
func (s *Server) Follows(externalUserID string) []wecomapi.FollowUser {
	s.mu.Lock()
	defer s.mu.Unlock()
	ct, ok := s.contacts[externalUserID]
	if !ok {
		return nil
	}
	out := slices.Clone(ct.follows)
	for i := range out {
		out[i].TagIDs = slices.Clone(out[i].TagIDs)
	}
	return out
}

// maxFollowsPerPage is how many follow users externalcontact/get answers at once.
const maxFollowsPerPage = 500

func (s *Server) contactGet(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ct, ok := s.contacts[q.Get("external_userid")]
	if !ok || len(ct.follows) == 0 {
		writeErrcode(w, wecomapi.CodeNotExternalContact, "not external contact")
		return
	}
	start, good := offsetCursor(w, q.Get("cursor"))
	if !good {
		return
	}
	from, to, next := pageRange(len(ct.follows), start, maxFollowsPerPage)
	follows := make([]map[string]any, 0, to-from)
	for _, f := range ct.follows[from:to] {
		tags := []map[string]any{}
		for _, id := range f.TagIDs {
			g, t := s.findTag(id)
			if t != nil {
				tags = append(tags, map[string]any{"group_name": g.GroupName, "tag_name": t.Name, "tag_id": t.ID, "type": wecomapi.TagCorp})
			}
		}
		follows = append(follows, map[string]any{"userid": f.UserID, "remark": f.Remark, "description": f.Description,
			"createtime": f.CreateTime, "tags": tags, "remark_corp_name": f.RemarkCorpName, "remark_mobiles": f.RemarkMobiles,
			"oper_userid": f.OperUserID, "add_way": f.AddWay, "state": f.State})
	}
	answerOK(w, map[string]any{"external_contact": ct.info, "follow_user": follows, "next_cursor": next})
}

// batchCursor is the position in a batch/get_by_user listing: the member's index in userid_list and the
// customer's index in their list.
func batchCursor(u, c int) string { return fmt.Sprintf("b%d.%d", u, c) }

func (s *Server) contactBatchGet(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserIDList []string `json:"userid_list"`
		Cursor     string   `json:"cursor"`
		Limit      int      `json:"limit"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if len(in.UserIDList) == 0 || len(in.UserIDList) > wecomapi.MaxBatchUsers {
		writeErrcode(w, CodeInvalidParameter, "userid_list size must be 1 to 100")
		return
	}
	// WeCom takes the maximum for a larger limit, and its default for none.
	switch {
	case in.Limit <= 0:
		in.Limit = 50
	case in.Limit > wecomapi.MaxBatchLimit:
		in.Limit = wecomapi.MaxBatchLimit
	}
	ui, ci := 0, 0
	if in.Cursor != "" {
		if _, err := fmt.Sscanf(in.Cursor, "b%d.%d", &ui, &ci); err != nil || ui < 0 || ci < 0 || batchCursor(ui, ci) != in.Cursor {
			writeErrcode(w, CodeInvalidParameter, "invalid cursor")
			return
		}
	}
	list := []map[string]any{}
	for ; ui < len(in.UserIDList) && len(list) < in.Limit; ui, ci = ui+1, 0 {
		uid := in.UserIDList[ui]
		ids := s.byUser[uid]
		for ; ci < len(ids) && len(list) < in.Limit; ci++ {
			ct := s.contacts[ids[ci]]
			f := ct.follow(uid)
			if f == nil {
				continue
			}
			list = append(list, map[string]any{"external_contact": ct.info, "follow_info": map[string]any{
				"userid": f.UserID, "remark": f.Remark, "description": f.Description, "createtime": f.CreateTime,
				"tag_id": nonNil(f.TagIDs), "remark_corp_name": f.RemarkCorpName, "remark_mobiles": nonNil(f.RemarkMobiles),
				"oper_userid": f.OperUserID, "add_way": f.AddWay, "state": f.State}})
		}
		if len(list) == in.Limit {
			break
		}
	}
	next := ""
	if len(list) == in.Limit {
		// Past the last customer of a member, the next page starts at the next member.
		if ui < len(in.UserIDList) && ci >= len(s.byUser[in.UserIDList[ui]]) {
			ui, ci = ui+1, 0
		}
		if ui < len(in.UserIDList) {
			next = batchCursor(ui, ci)
		}
	}
	answerOK(w, map[string]any{"external_contact_list": list, "next_cursor": next})
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func (s *Server) contactList(w http.ResponseWriter, r *http.Request) {
	uid := r.URL.Query().Get("userid")
	if _, ok := s.users[uid]; !ok {
		writeErrcode(w, wecomapi.CodeUserNotFound, "userid not found")
		return
	}
	var ids []string
	for _, id := range s.byUser[uid] {
		if s.contacts[id].follow(uid) != nil {
			ids = append(ids, id)
		}
	}
	answerOK(w, map[string]any{"external_userid": nonNil(ids)})
}

// ContactWays returns the contact ways the server holds, by config_id.
func (s *Server) ContactWays() map[string]wecomapi.ContactWay {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]wecomapi.ContactWay, len(s.ways))
	for id, w := range s.ways {
		out[id] = *w
	}
	return out
}

// checkWay enforces WeCom's documented limits on a contact way, answering the error itself.
func (s *Server) checkWay(w http.ResponseWriter, way wecomapi.ContactWay, creating bool) bool {
	switch {
	case creating && way.Type != wecomapi.WaySingle && way.Type != wecomapi.WayMulti:
		writeErrcode(w, CodeInvalidParameter, "invalid type")
	case creating && way.Scene != wecomapi.SceneMiniProgram && way.Scene != wecomapi.SceneQRCode:
		writeErrcode(w, CodeInvalidParameter, "invalid scene")
	case utf8.RuneCountInString(way.State) > wecomapi.MaxStateChars:
		writeErrcode(w, CodeInvalidParameter, "state exceed max length")
	case utf8.RuneCountInString(way.Remark) > wecomapi.MaxRemarkChars:
		writeErrcode(w, CodeInvalidParameter, "remark exceed max length")
	case creating && way.Type == wecomapi.WaySingle && len(way.UserIDs) != 1:
		writeErrcode(w, CodeInvalidParameter, "single contact way needs exactly one user")
	case len(way.UserIDs) > wecomapi.MaxWayUsers:
		writeErrcode(w, CodeInvalidParameter, "too many users")
	default:
		for _, u := range way.UserIDs {
			if _, ok := s.users[u]; !ok {
				writeErrcode(w, wecomapi.CodeUserNotFound, "userid not found")
				return false
			}
		}
		return true
	}
	return false
}

func (s *Server) addContactWay(w http.ResponseWriter, r *http.Request) {
	var way wecomapi.ContactWay
	if !decodeBody(w, r, &way) || !s.checkWay(w, way, true) {
		return
	}
	way.ConfigID = rand.Text()
	if way.Scene == wecomapi.SceneQRCode {
		way.QRCode = "https://wework.qpic.cn/wwpic/fake/" + way.ConfigID + "/0"
	}
	s.ways[way.ConfigID] = &way
	out := map[string]any{"config_id": way.ConfigID}
	if way.QRCode != "" {
		out["qr_code"] = way.QRCode
	}
	answerOK(w, out)
}

func (s *Server) updateContactWay(w http.ResponseWriter, r *http.Request) {
	var in wecomapi.ContactWay
	if !decodeBody(w, r, &in) {
		return
	}
	way, ok := s.ways[in.ConfigID]
	if !ok {
		writeErrcode(w, CodeInvalidConfigID, "invalid config_id")
		return
	}
	in.Type, in.Scene, in.IsTemp, in.QRCode = way.Type, way.Scene, way.IsTemp, way.QRCode
	if len(in.UserIDs) == 0 && len(in.DepartmentIDs) == 0 {
		in.UserIDs, in.DepartmentIDs = way.UserIDs, way.DepartmentIDs
	}
	if !s.checkWay(w, in, true) {
		return
	}
	*way = in
	answerOK(w, nil)
}

func (s *Server) getContactWay(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ConfigID string `json:"config_id"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	way, ok := s.ways[in.ConfigID]
	if !ok {
		writeErrcode(w, CodeInvalidConfigID, "invalid config_id")
		return
	}
	answerOK(w, map[string]any{"contact_way": way})
}

func (s *Server) delContactWay(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ConfigID string `json:"config_id"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if _, ok := s.ways[in.ConfigID]; !ok {
		writeErrcode(w, CodeInvalidConfigID, "invalid config_id")
		return
	}
	delete(s.ways, in.ConfigID)
	answerOK(w, nil)
}

type welcomeCode struct {
	userID, extID string
	used          bool
	expiresAt     time.Time
}

// Welcome is a welcome message the server accepted.
type Welcome struct {
	UserID, ExternalUserID string
	Text                   string
	// Attachments are the attachments as sent, each a JSON object with its msgtype.
	Attachments []map[string]any
}

// NewWelcomeCode makes the welcome code of an add event of the customer by the member: it works once, for
// WelcomeCodeTTL by the server's clock.
func (s *Server) NewWelcomeCode(userID, externalUserID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	code := "welcome-" + rand.Text()
	s.welcomes[code] = &welcomeCode{userID: userID, extID: externalUserID, expiresAt: s.clock.Add(WelcomeCodeTTL)}
	return code
}

// Welcomes returns the welcome messages sent, in order.
func (s *Server) Welcomes() []Welcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

func (s *Server) sendWelcomeMsg(w http.ResponseWriter, r *http.Request) {
	var in struct {
		WelcomeCode string `json:"welcome_code"`
		Text        struct {
			Content string `json:"content"`
		} `json:"text"`
		Attachments []map[string]any `json:"attachments"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	wc, ok := s.welcomes[in.WelcomeCode]
	switch {
	case !ok:
		writeErrcode(w, CodeWelcomeCodeInvalid, "invalid welcome_code")
		return
	case wc.used:
		writeErrcode(w, wecomapi.CodeAlreadySent, "welcome msg already sent")
		return
	case !s.clock.Before(wc.expiresAt):
		writeErrcode(w, CodeWelcomeCodeInvalid, "welcome_code expired")
		return
	case in.Text.Content == "" && len(in.Attachments) == 0:
		writeErrcode(w, CodeInvalidParameter, "empty message")
		return
	case len(in.Attachments) > wecomapi.MaxWelcomeAttachments:
		writeErrcode(w, CodeInvalidParameter, "too many attachments")
		return
	}
	for _, a := range in.Attachments {
		t, _ := a["msgtype"].(string)
		if _, has := a[t]; !has || (t != "link" && t != "miniprogram" && t != "image" && t != "video" && t != "file") {
			writeErrcode(w, CodeInvalidParameter, "invalid attachment")
			return
		}
		if mp, _ := a["miniprogram"].(map[string]any); t == "miniprogram" {
			if id, _ := mp["pic_media_id"].(string); !s.mediaValid(id) {
				writeErrcode(w, CodeInvalidMediaID, "invalid media_id")
				return
			}
		}
	}
	wc.used = true
	s.sent = append(s.sent, Welcome{UserID: wc.userID, ExternalUserID: wc.extID, Text: in.Text.Content, Attachments: in.Attachments})
	answerOK(w, nil)
}
