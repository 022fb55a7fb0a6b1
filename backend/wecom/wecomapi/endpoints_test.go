package wecomapi_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
	"github.com/salesapp/scrm/backend/wecom/wecomtest"
)

func TestDirectory(t *testing.T) {
	t.Parallel()
	srv := wecomtest.New(t)
	srv.SeedDirectory(3, 7)
	srv.AddDepartment(wecomapi.Department{ID: 9, Name: "华东组", ParentID: 2, Leaders: []string{"u00001"}})
	srv.AddUser(wecomapi.User{UserID: "zhangsan", Name: "张三", Departments: []int64{9}, Mobile: "13800000000"})
	c, logs := newClient(t, srv.Config(wecomtest.AppSecret))
	ctx := t.Context()

	depts, err := c.Departments(ctx, 0)
	require.NoError(t, err)
	assert.Len(t, depts, 5)
	sub, err := c.Departments(ctx, 2)
	require.NoError(t, err)
	require.Len(t, sub, 2)
	assert.Equal(t, []string{"u00001"}, sub[1].Leaders)
	_, err = c.Departments(ctx, 77)
	require.Error(t, err)

	all, err := c.DepartmentUsers(ctx, 1, true)
	require.NoError(t, err)
	assert.Len(t, all, 8)
	own, err := c.DepartmentUsers(ctx, 2, false)
	require.NoError(t, err)
	assert.Len(t, own, 3, "u00001, u00004, u00007")
	withChild, err := c.DepartmentUsers(ctx, 2, true)
	require.NoError(t, err)
	assert.Len(t, withChild, 4)

	var ids []wecomapi.DeptUser
	cursor, pages := "", 0
	for {
		p, err := c.UserIDs(ctx, cursor, 3)
		require.NoError(t, err)
		ids, cursor, pages = append(ids, p.Users...), p.NextCursor, pages+1
		if cursor == "" {
			break
		}
	}
	assert.Len(t, ids, 8)
	assert.Equal(t, 3, pages)
	_, err = c.UserIDs(ctx, "", 10001)
	assert.Equal(t, "limit", platformErr(t, err, platform.KindInvalid).Field)

	u, err := c.User(ctx, "zhangsan")
	require.NoError(t, err)
	assert.Equal(t, wecomapi.User{UserID: "zhangsan", Name: "张三", Departments: []int64{9}, MainDepartment: 9,
		Mobile: "13800000000", Status: wecomapi.UserActive}, u)
	_, err = c.User(ctx, "nobody")
	platformErr(t, err, platform.KindNotFound)

	a, err := c.Agent(ctx, wecomtest.DefaultAgentID)
	require.NoError(t, err)
	assert.Equal(t, int64(wecomtest.DefaultAgentID), a.AgentID)
	assert.False(t, a.Closed)
	assert.Equal(t, []int64{1}, a.AllowDepartmentIDs)
	_, err = c.Agent(ctx, 42)
	platformErr(t, err, platform.KindPermissionDenied)

	srv.AddSignInCode("member-code", wecomapi.Identity{UserID: "zhangsan"})
	srv.AddSignInCode("guest-code", wecomapi.Identity{OpenID: "oGuest", ExternalUserID: "wmGuest"})
	id, err := c.UserInfoByCode(ctx, "member-code")
	require.NoError(t, err)
	assert.Equal(t, "zhangsan", id.UserID)
	assert.NotEmpty(t, id.UserTicket)
	_, err = c.UserInfoByCode(ctx, "member-code")
	platformErr(t, err, platform.KindUnauthenticated)
	id, err = c.UserInfoByCode(ctx, "guest-code")
	require.NoError(t, err)
	assert.Equal(t, wecomapi.Identity{OpenID: "oGuest", ExternalUserID: "wmGuest"}, id)
	assert.NotContains(t, logs.String(), "13800000000")
}

func TestExternalContacts(t *testing.T) {
	t.Parallel()
	srv := wecomtest.New(t)
	srv.SeedDirectory(1, 2)
	g := srv.AddCorpTags("意向", "种植牙意向")
	srv.AddContact(wecomapi.ExternalContact{ExternalUserID: "wmA", Name: "李四", UnionID: "ouA"},
		wecomapi.FollowUser{UserID: "u00001", Remark: "老客户", State: "ch-1", AddWay: wecomapi.AddWayQRCode, TagIDs: []string{g.Tags[0].ID},
			RemarkMobiles: []string{"13900000000"}},
		wecomapi.FollowUser{UserID: "u00002"})
	c, _ := newClient(t, srv.Config(wecomtest.ContactSecret))
	ctx := t.Context()

	d, err := c.ExternalContact(ctx, "wmA", "")
	require.NoError(t, err)
	assert.Equal(t, "ouA", d.Contact.UnionID)
	assert.Equal(t, wecomapi.ContactWeChat, d.Contact.Type)
	require.Len(t, d.FollowUsers, 2)
	f := d.FollowUsers[0]
	assert.Equal(t, "ch-1", f.State)
	assert.Equal(t, "老客户", f.Remark)
	assert.Equal(t, []string{g.Tags[0].ID}, f.TagIDs, "filled from tags")
	assert.Equal(t, []wecomapi.FollowTag{{GroupName: "意向", TagName: "种植牙意向", TagID: g.Tags[0].ID, Type: wecomapi.TagCorp}}, f.Tags)
	assert.Empty(t, d.NextCursor)

	_, err = c.ExternalContact(ctx, "wmNobody", "")
	platformErr(t, err, platform.KindNotFound)

	ids, err := c.ExternalContactIDs(ctx, "u00002")
	require.NoError(t, err)
	assert.Equal(t, []string{"wmA"}, ids)

	_, err = c.ExternalContactsByUser(ctx, wecomapi.BatchRequest{UserIDs: make([]string, 101)})
	assert.Equal(t, "userid_list", platformErr(t, err, platform.KindInvalid).Field)
	_, err = c.ExternalContactsByUser(ctx, wecomapi.BatchRequest{UserIDs: []string{"u00001"}, Limit: 101})
	assert.Equal(t, "limit", platformErr(t, err, platform.KindInvalid).Field)
	assert.Zero(t, srv.Calls(wecomtest.ContactBatchGet), "refused before WeCom is asked")
}

// Importing 250 customers of three members pages through them all, once each, and resumes from a cursor.
func TestBatchPagesOver250Contacts(t *testing.T) {
	t.Parallel()
	srv := wecomtest.New(t)
	users := srv.SeedDirectory(1, 3)
	srv.SeedContacts(250, users)
	// A customer followed by two of them comes once per member.
	srv.AddContact(wecomapi.ExternalContact{ExternalUserID: "wm00000001"}, wecomapi.FollowUser{UserID: users[1], State: "seed"})
	c, _ := newClient(t, srv.Config(wecomtest.ContactSecret))

	seen := map[string]int{}
	var cursors []string
	cursor := ""
	for {
		p, err := c.ExternalContactsByUser(t.Context(), wecomapi.BatchRequest{UserIDs: users, Cursor: cursor, Limit: 100})
		require.NoError(t, err)
		assert.LessOrEqual(t, len(p.Contacts), 100)
		for _, cf := range p.Contacts {
			seen[cf.Follow.UserID+"/"+cf.Contact.ExternalUserID]++
			assert.Equal(t, "seed", cf.Follow.State)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
		cursors = append(cursors, cursor)
	}
	assert.Len(t, seen, 251)
	for k, n := range seen {
		assert.Equal(t, 1, n, k)
	}
	assert.Equal(t, 3, srv.Calls(wecomtest.ContactBatchGet))

	// Resuming from the second page's cursor (after a crash) reads the rest and nothing more.
	rest := 0
	for cursor = cursors[1]; ; {
		p, err := c.ExternalContactsByUser(t.Context(), wecomapi.BatchRequest{UserIDs: users, Cursor: cursor, Limit: 100})
		require.NoError(t, err)
		rest += len(p.Contacts)
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	assert.Equal(t, 51, rest)
}

func TestContactWays(t *testing.T) {
	t.Parallel()
	srv := wecomtest.New(t)
	srv.SeedDirectory(1, 3)
	c, _ := newClient(t, srv.Config(wecomtest.ContactSecret))
	ctx := t.Context()
	state := strings.Repeat("渠", wecomapi.MaxStateChars)

	created, err := c.AddContactWay(ctx, wecomapi.ContactWay{Type: wecomapi.WayMulti, Scene: wecomapi.SceneQRCode,
		Remark: "门店海报", SkipVerify: true, State: state, UserIDs: []string{"u00001", "u00002"}})
	require.NoError(t, err)
	assert.NotEmpty(t, created.ConfigID)
	assert.True(t, strings.HasPrefix(created.QRCode, "https://"))

	w, err := c.ContactWay(ctx, created.ConfigID)
	require.NoError(t, err)
	assert.Equal(t, wecomapi.ContactWay{ConfigID: created.ConfigID, Type: wecomapi.WayMulti, Scene: wecomapi.SceneQRCode,
		Remark: "门店海报", SkipVerify: true, State: state, UserIDs: []string{"u00001", "u00002"}, QRCode: created.QRCode}, w)

	w.State, w.UserIDs, w.SkipVerify = "ch-2", []string{"u00003"}, false
	require.NoError(t, c.UpdateContactWay(ctx, w))
	got := srv.ContactWays()[created.ConfigID]
	assert.Equal(t, "ch-2", got.State)
	assert.Equal(t, []string{"u00003"}, got.UserIDs)
	assert.False(t, got.SkipVerify)
	assert.Equal(t, wecomapi.WayMulti, got.Type, "type cannot change")

	require.NoError(t, c.DeleteContactWay(ctx, created.ConfigID))
	assert.Empty(t, srv.ContactWays())
	_, err = c.ContactWay(ctx, created.ConfigID)
	assert.True(t, wecomapi.HasCode(err, wecomtest.CodeInvalidConfigID))

	for field, bad := range map[string]wecomapi.ContactWay{
		"state": {Type: wecomapi.WaySingle, Scene: wecomapi.SceneQRCode, UserIDs: []string{"u00001"}, State: state + "x"},
		"type":  {Type: 3, Scene: wecomapi.SceneQRCode, UserIDs: []string{"u00001"}},
		"scene": {Type: wecomapi.WaySingle, Scene: 0, UserIDs: []string{"u00001"}},
		"user":  {Type: wecomapi.WaySingle, Scene: wecomapi.SceneQRCode, UserIDs: []string{"u00001", "u00002"}},
	} {
		_, err := c.AddContactWay(ctx, bad)
		assert.Equal(t, field, platformErr(t, err, platform.KindInvalid).Field)
	}
	assert.Equal(t, 1, srv.Calls(wecomtest.AddContactWay), "bad ways are refused before WeCom is asked")
}

func TestWelcomeMessageOnceWithinItsWindow(t *testing.T) {
	t.Parallel()
	srv := wecomtest.New(t)
	c, _ := newClient(t, srv.Config(wecomtest.ContactSecret))
	ctx := t.Context()
	cover, err := c.UploadImage(ctx, "cover.png", "image/png", pngBytes)
	require.NoError(t, err)
	msg := wecomapi.WelcomeMsg{
		WelcomeCode: srv.NewWelcomeCode("u00001", "wmA"),
		Text:        "您好，我是您的专属顾问",
		Attachments: []wecomapi.Attachment{
			{Link: &wecomapi.Link{Title: "种植牙须知", URL: "https://h5.example.com/s/abc", PicURL: "https://h5.example.com/c.png"}},
			{MiniProgram: &wecomapi.MiniProgram{Title: "名片", PicMediaID: cover, AppID: "wx0123", Page: "pages/card?id=1"}},
		},
	}
	require.NoError(t, c.SendWelcomeMsg(ctx, msg))
	sent := srv.Welcomes()
	require.Len(t, sent, 1)
	assert.Equal(t, "wmA", sent[0].ExternalUserID)
	assert.Equal(t, msg.Text, sent[0].Text)
	assert.Equal(t, "link", sent[0].Attachments[0]["msgtype"])
	assert.Equal(t, "pages/card?id=1", sent[0].Attachments[1]["miniprogram"].(map[string]any)["page"])

	err = c.SendWelcomeMsg(ctx, msg)
	assert.True(t, wecomapi.IsAlreadySent(err), "%v", err)

	late := wecomapi.WelcomeMsg{WelcomeCode: srv.NewWelcomeCode("u00001", "wmB"), Text: "hi"}
	srv.Advance(wecomtest.WelcomeCodeTTL + time.Second)
	err = c.SendWelcomeMsg(ctx, late)
	assert.True(t, wecomapi.HasCode(err, wecomtest.CodeWelcomeCodeInvalid))
	assert.False(t, wecomapi.IsAlreadySent(err))

	for field, bad := range map[string]wecomapi.WelcomeMsg{
		"welcome_code": {Text: "hi"},
		"text":         {WelcomeCode: "x"},
		"attachments":  {WelcomeCode: "x", Attachments: []wecomapi.Attachment{{}}},
	} {
		err := c.SendWelcomeMsg(ctx, bad)
		assert.Equal(t, field, platformErr(t, err, platform.KindInvalid).Field)
	}
	tooMany := wecomapi.WelcomeMsg{WelcomeCode: "x"}
	for range wecomapi.MaxWelcomeAttachments + 1 {
		tooMany.Attachments = append(tooMany.Attachments, wecomapi.Attachment{Link: &wecomapi.Link{Title: "t", URL: "https://x"}})
	}
	assert.Equal(t, "attachments", platformErr(t, c.SendWelcomeMsg(ctx, tooMany), platform.KindInvalid).Field)
}

// pngBytes is a 1×1 PNG.
var pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" +
	"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")

// A mini-program card's cover is an image uploaded as temporary media: the form WeCom reads, the media id it
// answers, which works three days; what WeCom does not take is refused before it is sent.
func TestUploadImageMakesACoverThatWorksThreeDays(t *testing.T) {
	t.Parallel()
	srv := wecomtest.New(t)
	c, _ := newClient(t, srv.Config(wecomtest.ContactSecret))
	ctx := t.Context()
	id, err := c.UploadImage(ctx, "封面.png", "image/png", pngBytes)
	require.NoError(t, err)
	up := srv.Uploads()
	require.Len(t, up, 1)
	assert.Equal(t, id, up[0].ID)
	assert.Equal(t, "image", up[0].Type)
	assert.Equal(t, "封面.png", up[0].Filename)
	assert.Equal(t, "image/png", up[0].ContentType)
	assert.Equal(t, pngBytes, up[0].Data)

	card := func(media string) wecomapi.WelcomeMsg {
		return wecomapi.WelcomeMsg{WelcomeCode: srv.NewWelcomeCode("u00001", "wm"+media), Attachments: []wecomapi.Attachment{
			{MiniProgram: &wecomapi.MiniProgram{Title: "名片", PicMediaID: media, AppID: "wx0123", Page: "pages/share/index?token=t"}}}}
	}
	assert.True(t, wecomapi.HasCode(c.SendWelcomeMsg(ctx, card("unknown")), wecomtest.CodeInvalidMediaID))
	srv.Advance(wecomapi.MediaTTL + time.Minute)
	assert.True(t, wecomapi.HasCode(c.SendWelcomeMsg(ctx, card(id)), wecomtest.CodeInvalidMediaID), "expired")

	for _, bad := range []struct {
		ct   string
		data []byte
	}{{"image/webp", pngBytes}, {"image/png", []byte("tiny")}, {"image/png", make([]byte, wecomapi.MaxImageBytes+1)}} {
		_, err := c.UploadImage(ctx, "x", bad.ct, bad.data)
		assert.Equal(t, "image", platformErr(t, err, platform.KindInvalid).Field)
	}
	assert.Len(t, srv.Uploads(), 1, "nothing refused was sent")
}

func TestCorpTags(t *testing.T) {
	t.Parallel()
	srv := wecomtest.New(t)
	srv.SeedDirectory(1, 1)
	srv.AddContact(wecomapi.ExternalContact{ExternalUserID: "wmA"}, wecomapi.FollowUser{UserID: "u00001"})
	c, _ := newClient(t, srv.Config(wecomtest.ContactSecret))
	ctx := t.Context()

	g, err := c.AddCorpTags(ctx, wecomapi.NewTags{GroupName: "意向", Tags: []wecomapi.NewTag{{Name: "种植牙意向"}, {Name: "正畸意向", Order: 2}}})
	require.NoError(t, err)
	require.Len(t, g.Tags, 2)
	more, err := c.AddCorpTags(ctx, wecomapi.NewTags{GroupID: g.GroupID, Tags: []wecomapi.NewTag{{Name: "洁牙"}}})
	require.NoError(t, err)
	assert.Equal(t, g.GroupID, more.GroupID)
	_, err = c.AddCorpTags(ctx, wecomapi.NewTags{GroupID: g.GroupID, Tags: []wecomapi.NewTag{{Name: "洁牙"}}})
	assert.True(t, wecomapi.HasCode(err, wecomtest.CodeTagNameExists))

	lib, err := c.CorpTags(ctx, nil, nil)
	require.NoError(t, err)
	require.Len(t, lib, 1)
	assert.Len(t, lib[0].Tags, 3)
	one, err := c.CorpTags(ctx, []string{g.Tags[1].ID}, nil)
	require.NoError(t, err)
	require.Len(t, one, 1)
	assert.Equal(t, "正畸意向", one[0].Tags[0].Name)

	order := uint32(9)
	require.NoError(t, c.EditCorpTag(ctx, wecomapi.TagEdit{ID: g.Tags[0].ID, Name: "种植牙", Order: &order}))
	require.NoError(t, c.EditCorpTag(ctx, wecomapi.TagEdit{ID: g.GroupID, Name: "客户意向"}))
	lib = srv.CorpTags()
	assert.Equal(t, "客户意向", lib[0].GroupName)
	assert.Equal(t, wecomapi.Tag{ID: g.Tags[0].ID, Name: "种植牙", Order: 9, CreateTime: g.Tags[0].CreateTime}, lib[0].Tags[0])

	require.NoError(t, c.MarkTags(ctx, wecomapi.Marking{UserID: "u00001", ExternalUserID: "wmA", Add: []string{g.Tags[0].ID, g.Tags[1].ID}}))
	require.NoError(t, c.MarkTags(ctx, wecomapi.Marking{UserID: "u00001", ExternalUserID: "wmA", Add: []string{g.Tags[0].ID}, Remove: []string{g.Tags[1].ID}}))
	d, err := c.ExternalContact(ctx, "wmA", "")
	require.NoError(t, err)
	assert.Equal(t, []string{g.Tags[0].ID}, d.FollowUsers[0].TagIDs)
	err = c.MarkTags(ctx, wecomapi.Marking{UserID: "u00001", ExternalUserID: "wmNobody", Add: []string{g.Tags[0].ID}})
	platformErr(t, err, platform.KindNotFound)

	require.NoError(t, c.DeleteCorpTags(ctx, []string{g.Tags[1].ID}, nil))
	require.NoError(t, c.DeleteCorpTags(ctx, nil, []string{g.GroupID}))
	assert.Empty(t, srv.CorpTags())
	assert.Equal(t, "tag_id", platformErr(t, c.DeleteCorpTags(ctx, nil, nil), platform.KindInvalid).Field)
}

func TestTransfers(t *testing.T) {
	t.Parallel()
	srv := wecomtest.New(t)
	users := srv.SeedDirectory(1, 3)
	srv.SeedContacts(6, users[:1])
	c, _ := newClient(t, srv.Config(wecomtest.ContactSecret))
	ctx := t.Context()

	out, err := c.TransferCustomers(ctx, wecomapi.Transfer{HandoverUserID: users[0], TakeoverUserID: users[1],
		ExternalUserIDs: []string{"wm00000001", "wm00000002", "wmNobody"}, SuccessMsg: "您好，我是新的顾问"})
	require.NoError(t, err)
	assert.Equal(t, []wecomapi.TransferOutcome{{ExternalUserID: "wm00000001"}, {ExternalUserID: "wm00000002"},
		{ExternalUserID: "wmNobody", ErrCode: wecomapi.CodeNotExternalContact}}, out)

	p, err := c.TransferResult(ctx, users[0], users[1], "")
	require.NoError(t, err)
	require.Len(t, p.Customers, 2)
	assert.Equal(t, wecomapi.TransferWaiting, p.Customers[0].Status)
	assert.Equal(t, srv.Now().Add(24*time.Hour).Unix(), p.Customers[0].TakeoverTime)

	assert.Equal(t, 1, srv.CompleteTransfers("wm00000001", wecomapi.TransferDone))
	assert.Equal(t, 1, srv.CompleteTransfers("wm00000002", wecomapi.TransferRefused))
	p, err = c.TransferResult(ctx, users[0], users[1], "")
	require.NoError(t, err)
	assert.Equal(t, wecomapi.TransferDone, p.Customers[0].Status)
	assert.Equal(t, wecomapi.TransferRefused, p.Customers[1].Status)
	follows := srv.Follows("wm00000001")
	require.Len(t, follows, 1)
	assert.Equal(t, users[1], follows[0].UserID)

	// After resignation: the unassigned list, then a transfer of what it lists.
	left := srv.Now().Add(-time.Hour)
	for i := 3; i <= 6; i++ {
		srv.AddUnassigned(users[0], fmt.Sprintf("wm%08d", i), left)
	}
	var unassigned []wecomapi.Unassigned
	cursor := ""
	for {
		up, err := c.UnassignedContacts(ctx, cursor, 3)
		require.NoError(t, err)
		unassigned = append(unassigned, up.Contacts...)
		if cursor = up.NextCursor; cursor == "" {
			assert.True(t, up.IsLast)
			break
		}
	}
	require.Len(t, unassigned, 4)
	assert.Equal(t, left.Unix(), unassigned[0].DimissionTime)

	out, err = c.TransferResignedCustomers(ctx, wecomapi.Transfer{HandoverUserID: users[0], TakeoverUserID: users[2],
		ExternalUserIDs: []string{"wm00000003", "wm00000004"}})
	require.NoError(t, err)
	assert.Zero(t, out[0].ErrCode)
	assert.Zero(t, out[1].ErrCode)
	up, err := c.UnassignedContacts(ctx, "", 100)
	require.NoError(t, err)
	assert.Len(t, up.Contacts, 2, "transferred customers leave the list")
	srv.CompleteTransfers("wm00000003", wecomapi.TransferDone)
	rp, err := c.ResignedTransferResult(ctx, users[0], users[2], "")
	require.NoError(t, err)
	require.Len(t, rp.Customers, 2)
	assert.Equal(t, wecomapi.TransferDone, rp.Customers[0].Status)
	assert.Equal(t, wecomapi.TransferWaiting, rp.Customers[1].Status)

	tooMany := wecomapi.Transfer{HandoverUserID: users[0], TakeoverUserID: users[1], ExternalUserIDs: make([]string, 101)}
	_, err = c.TransferCustomers(ctx, tooMany)
	assert.Equal(t, "external_userid", platformErr(t, err, platform.KindInvalid).Field)
	_, err = c.TransferResignedCustomers(ctx, wecomapi.Transfer{HandoverUserID: users[0], TakeoverUserID: users[1],
		ExternalUserIDs: []string{"wm00000005"}, SuccessMsg: "hi"})
	assert.Equal(t, "transfer_success_msg", platformErr(t, err, platform.KindInvalid).Field)
	_, err = c.UnassignedContacts(ctx, "", 1001)
	assert.Equal(t, "page_size", platformErr(t, err, platform.KindInvalid).Field)
}

func TestIdentityHidesTheTicket(t *testing.T) {
	t.Parallel()
	id := wecomapi.Identity{UserID: "zhangsan", UserTicket: "secret-ticket"}
	assert.NotContains(t, fmt.Sprint(id), "secret-ticket")
	assert.NotContains(t, fmt.Sprintf("%v %+v", id, id), "secret-ticket")
}
