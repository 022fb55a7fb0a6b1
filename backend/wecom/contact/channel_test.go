package contact_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/wecom/contact"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
)

// A channel code is a WeCom contact way with a generated state; adds through it are credited once per
// customer, and its counts follow the customers' stages. Updating and deleting reach WeCom too.
func TestChannelLifecycleAndCounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, lisi := setupTwo(t)
	admin := e.tenant.Admin

	_, err := e.contacts.CreateChannel(ctx, e.sales, contact.ChannelInput{Name: "Fair", EmployeeIDs: []uuid.UUID{e.sales.EmployeeID}})
	require.Equal(t, platform.KindPermissionDenied, platform.KindOf(err), "salespeople do not manage channels")
	_, err = e.contacts.CreateChannel(ctx, admin, contact.ChannelInput{Name: "Fair", EmployeeIDs: []uuid.UUID{admin.EmployeeID}})
	require.Equal(t, platform.KindInvalid, platform.KindOf(err), "an employee without a WeCom userid")
	var pe *platform.Error
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "fields.employee_ids", pe.Field)

	ch, err := e.contacts.CreateChannel(ctx, admin, contact.ChannelInput{Name: "Spring fair", EmployeeIDs: []uuid.UUID{e.sales.EmployeeID, lisi.EmployeeID},
		Tags: []string{"fair"}, WelcomeText: "Hi from the fair"})
	require.NoError(t, err)
	require.LessOrEqual(t, len(ch.State), wecomapi.MaxStateChars)
	require.NotEmpty(t, ch.QRCode)
	ways := e.fake.ContactWays()
	require.Len(t, ways, 1)
	for _, w := range ways {
		require.Equal(t, ch.State, w.State)
		require.Equal(t, []string{"zhangsan", "lisi"}, w.UserIDs, "WeCom rotates among both")
	}

	// Two customers come through it (one twice); one of them is later won.
	for i, ext := range []string{"wmA", "wmB"} {
		e.fake.AddContact(wecomapi.ExternalContact{ExternalUserID: ext, Name: ext}, wecomapi.FollowUser{UserID: "lisi", State: ch.State})
		e.send(t, contact.ChangeAdd, "lisi", ext, ch.State, "", int64(1700000000+i))
	}
	e.fake.AddContact(wecomapi.ExternalContact{ExternalUserID: "wmA", Name: "wmA"}, wecomapi.FollowUser{UserID: "zhangsan", State: ch.State})
	e.send(t, contact.ChangeAdd, "zhangsan", "wmA", ch.State, "", 1700000010)
	won := customer.StageWon
	_, err = customer.NewService(e.db.App).Update(ctx, lisi, e.customerOf(t, customer.IdentityExternalUserID, "wmB"), customer.Change{Stage: &won})
	require.NoError(t, err)

	list, next, err := e.contacts.ListChannels(ctx, admin, 10, "")
	require.NoError(t, err)
	require.Empty(t, next)
	require.Len(t, list, 1)
	require.Equal(t, 2, list[0].Adds, "a customer added twice counts once")
	require.Equal(t, 1, list[0].Leads)
	require.Equal(t, 1, list[0].Wins)

	// Update: one employee now, new text; WeCom is told.
	up, err := e.contacts.UpdateChannel(ctx, admin, ch.ID, contact.ChannelInput{Name: "Summer fair", EmployeeIDs: []uuid.UUID{lisi.EmployeeID}})
	require.NoError(t, err)
	require.Equal(t, "Summer fair", up.Name)
	require.Equal(t, ch.State, up.State, "the state stays")
	for _, w := range e.fake.ContactWays() {
		require.Equal(t, []string{"lisi"}, w.UserIDs)
	}
	_, err = e.contacts.UpdateChannel(ctx, admin, uuid.Must(uuid.NewV7()), contact.ChannelInput{Name: "x", EmployeeIDs: []uuid.UUID{lisi.EmployeeID}})
	require.Equal(t, platform.KindNotFound, platform.KindOf(err))

	// Delete: the QR code stops working.
	require.NoError(t, e.contacts.DeleteChannel(ctx, admin, ch.ID))
	require.Empty(t, e.fake.ContactWays())
	require.Equal(t, platform.KindNotFound, platform.KindOf(e.contacts.DeleteChannel(ctx, admin, ch.ID)))
	list, _, err = e.contacts.ListChannels(ctx, admin, 10, "")
	require.NoError(t, err)
	require.Empty(t, list)
}

// setupTwo is setup with a second salesperson, Li Si, both of them members in the fake WeCom.
func setupTwo(t *testing.T) (*env, authn.Principal) {
	t.Helper()
	e := setup(t)
	lisi := e.employee(t, "lisi")
	e.fake.AddUser(wecomapi.User{UserID: "zhangsan", Name: "Zhang San"})
	e.fake.AddUser(wecomapi.User{UserID: "lisi", Name: "Li Si"})
	return e, lisi
}

// wayUsers is the user lists of the fake's contact ways.
func (e *env) wayUsers() [][]string {
	var out [][]string
	for _, w := range e.fake.ContactWays() {
		out = append(out, w.UserIDs)
	}
	return out
}

// A rotation with a daily cap: an employee who reaches it is taken off the contact way for the rest of the
// day (WeCom sends the next customers to the others); when everyone has, the way goes back to all; when
// the day ends, the paused come back.
func TestARotationsDailyCapPausesWhoReachedIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, lisi := setupTwo(t)
	admin := e.tenant.Admin
	_, err := e.contacts.CreateChannel(ctx, admin, contact.ChannelInput{Name: "Fair", EmployeeIDs: []uuid.UUID{e.sales.EmployeeID}, DailyCap: -1})
	require.Equal(t, platform.KindInvalid, platform.KindOf(err))
	ch, err := e.contacts.CreateChannel(ctx, admin, contact.ChannelInput{Name: "Fair", EmployeeIDs: []uuid.UUID{e.sales.EmployeeID, lisi.EmployeeID}, DailyCap: 2})
	require.NoError(t, err)
	require.Equal(t, 2, ch.DailyCap)
	add := func(userID, ext string) {
		t.Helper()
		e.fake.AddContact(wecomapi.ExternalContact{ExternalUserID: ext, Name: ext}, wecomapi.FollowUser{UserID: userID, State: ch.State})
		e.send(t, contact.ChangeAdd, userID, ext, ch.State, "", 1700000000)
	}
	waitWay := func(want ...string) {
		t.Helper()
		require.Eventually(t, func() bool {
			ways := e.wayUsers()
			return len(ways) == 1 && slices.Equal(ways[0], want)
		}, 15*time.Second, 20*time.Millisecond, "want %v, have %v", want, e.wayUsers())
	}
	paused := func() []uuid.UUID {
		list, _, err := e.contacts.ListChannels(ctx, admin, 10, "")
		require.NoError(t, err)
		return list[0].PausedIDs
	}

	add("lisi", "wmA")
	require.Empty(t, paused(), "one of two")
	add("lisi", "wmA") // the same customer again: not a second add
	require.Empty(t, paused())
	add("lisi", "wmB")
	require.Equal(t, []uuid.UUID{lisi.EmployeeID}, paused())
	waitWay("zhangsan")
	require.Equal(t, 1, e.count(t, "SELECT count(*) FROM river_job WHERE kind = 'wecom_channel_rotation' AND state = 'scheduled' AND scheduled_at > now() + interval '1 second'"),
		"the way is set back at the day's end")

	// An update keeps Li Si off for today.
	_, err = e.contacts.UpdateChannel(ctx, admin, ch.ID, contact.ChannelInput{Name: "Fair 2", EmployeeIDs: []uuid.UUID{e.sales.EmployeeID, lisi.EmployeeID}, DailyCap: 2})
	require.NoError(t, err)
	waitWay("zhangsan")

	add("zhangsan", "wmC")
	add("zhangsan", "wmD")
	require.ElementsMatch(t, []uuid.UUID{lisi.EmployeeID, e.sales.EmployeeID}, paused())
	waitWay("zhangsan", "lisi") // everyone is at the cap: WeCom rotates among all again

	// Back to Li Si alone paused (as after the first cap), then the day ends (as if): the pause becomes
	// yesterday's, and the jobs scheduled for the day's end set the way to everyone.
	_, err = e.db.Super.Exec(ctx, "UPDATE wecom_channels SET paused_ids = $1 WHERE id = $2", []uuid.UUID{lisi.EmployeeID}, ch.ID)
	require.NoError(t, err)
	_, err = e.contacts.UpdateChannel(ctx, admin, ch.ID, contact.ChannelInput{Name: "Fair 3", EmployeeIDs: []uuid.UUID{e.sales.EmployeeID, lisi.EmployeeID}, DailyCap: 2})
	require.NoError(t, err)
	waitWay("zhangsan")
	_, err = e.db.Super.Exec(ctx, "UPDATE wecom_channels SET paused_on = paused_on - 1 WHERE id = $1", ch.ID)
	require.NoError(t, err)
	require.Empty(t, paused())
	_, err = e.db.Super.Exec(ctx, "UPDATE river_job SET scheduled_at = now() WHERE kind = 'wecom_channel_rotation' AND state = 'scheduled'")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return e.count(t, "SELECT count(*) FROM river_job WHERE kind = 'wecom_channel_rotation' AND state <> 'completed'") == 0
	}, 30*time.Second, 50*time.Millisecond)
	waitWay("zhangsan", "lisi")
}

// A channel's welcome may open a material rather than the card: through the salesperson's own share link
// of it; should the material be unpublished, the card goes instead.
func TestAChannelsWelcomeOpensItsMaterial(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	e.fake.AddUser(wecomapi.User{UserID: "zhangsan", Name: "Zhang San"})
	admin := e.tenant.Admin
	material := func(tier, status string) uuid.UUID {
		id := uuid.Must(uuid.NewV7())
		owner := uuid.NullUUID{}
		if tier == "personal" {
			owner = uuid.NullUUID{UUID: e.sales.EmployeeID, Valid: true}
		}
		_, err := e.db.Super.Exec(ctx, `INSERT INTO materials (id, tenant_id, tier, owner_id, kind, status, title, summary, cover_key)
			VALUES ($1, $2, $3, $4, 'article', $5, '种植牙的十个问题', 'What to ask before an implant', 'covers/implant.jpg')`,
			id, e.tenant.ID, tier, owner, status)
		require.NoError(t, err)
		return id
	}
	for _, bad := range []uuid.UUID{material("personal", "published"), material("enterprise", "draft"), uuid.Must(uuid.NewV7())} {
		_, err := e.contacts.CreateChannel(ctx, admin, contact.ChannelInput{Name: "Fair", EmployeeIDs: []uuid.UUID{e.sales.EmployeeID}, WelcomeMaterialID: bad})
		var pe *platform.Error
		require.ErrorAs(t, err, &pe)
		require.Equal(t, "fields.welcome_material_id", pe.Field)
	}
	guide := material("enterprise", "published")
	ch, err := e.contacts.CreateChannel(ctx, admin, contact.ChannelInput{Name: "Fair", EmployeeIDs: []uuid.UUID{e.sales.EmployeeID},
		WelcomeText: "Welcome!", WelcomeMaterialID: guide})
	require.NoError(t, err)
	require.Equal(t, guide, ch.WelcomeMaterialID)

	welcome := func(ext string) map[string]any {
		t.Helper()
		n := len(e.fake.Welcomes())
		e.fake.AddContact(wecomapi.ExternalContact{ExternalUserID: ext, Name: ext}, wecomapi.FollowUser{UserID: "zhangsan", State: ch.State})
		e.send(t, contact.ChangeAdd, "zhangsan", ext, ch.State, e.fake.NewWelcomeCode("zhangsan", ext), 1700000000)
		require.Eventually(t, func() bool { return len(e.fake.Welcomes()) == n+1 }, 15*time.Second, 20*time.Millisecond)
		w := e.fake.Welcomes()[n]
		require.Equal(t, "Welcome!", w.Text)
		link, _ := w.Attachments[0]["link"].(map[string]any)
		return link
	}
	link := welcome("wmA")
	require.Equal(t, "种植牙的十个问题", link["title"])
	require.Equal(t, "What to ask before an implant", link["desc"])
	require.Equal(t, "https://files.example/"+e.tenant.ID.String()+"/covers/implant.jpg", link["picurl"], "the material's picture")
	require.Equal(t, 1, e.count(t, "SELECT count(*) FROM shares WHERE employee_id = $1 AND material_id = $2 AND channel = 'chat'",
		e.sales.EmployeeID, guide), "the salesperson's own share of the material")

	_, err = e.db.Super.Exec(ctx, "UPDATE materials SET status = 'draft' WHERE id = $1", guide)
	require.NoError(t, err)
	link = welcome("wmB")
	require.Equal(t, "Sales zhangsan's card", link["title"])
	require.NotContains(t, link, "picurl")
}

// A channel may greet with a mini-program card: the platform's mini-program at its share page with the
// salesperson's own share token, its cover the material's picture (or their card's avatar) uploaded to
// WeCom once and reused while the media id works. Without a picture to show, the link card goes instead.
func TestAChannelsWelcomeMayBeAMiniProgramCard(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	e.fake.AddUser(wecomapi.User{UserID: "zhangsan", Name: "Zhang San"})
	png := []byte("\x89PNG\r\n\x1a\n-a-cover-")
	e.mu.Lock()
	e.images["covers/implant.png"], e.images["avatars/zhang.png"] = png, png
	e.mu.Unlock()
	guide := uuid.Must(uuid.NewV7())
	_, err := e.db.Super.Exec(ctx, `INSERT INTO materials (id, tenant_id, tier, kind, status, title, summary, cover_key)
		VALUES ($1, $2, 'enterprise', 'article', 'published', '种植牙的十个问题', 'What to ask', 'covers/implant.png')`, guide, e.tenant.ID)
	require.NoError(t, err)
	channel := func(material uuid.UUID) contact.Channel {
		t.Helper()
		ch, err := e.contacts.CreateChannel(ctx, e.tenant.Admin, contact.ChannelInput{Name: "Mini " + material.String()[:8],
			EmployeeIDs: []uuid.UUID{e.sales.EmployeeID}, WelcomeMaterialID: material, WelcomeMiniProgram: true})
		require.NoError(t, err)
		require.True(t, ch.WelcomeMiniProgram)
		return ch
	}
	welcome := func(ch contact.Channel, ext string) map[string]any {
		t.Helper()
		n := len(e.fake.Welcomes())
		e.fake.AddContact(wecomapi.ExternalContact{ExternalUserID: ext, Name: ext}, wecomapi.FollowUser{UserID: "zhangsan", State: ch.State})
		e.send(t, contact.ChangeAdd, "zhangsan", ext, ch.State, e.fake.NewWelcomeCode("zhangsan", ext), 1700000000)
		require.Eventually(t, func() bool { return len(e.fake.Welcomes()) == n+1 }, 15*time.Second, 20*time.Millisecond)
		return e.fake.Welcomes()[n].Attachments[0]
	}
	tokenOf := func(material uuid.UUID) string {
		t.Helper()
		var token string
		require.NoError(t, e.db.Super.QueryRow(ctx, `SELECT token FROM shares WHERE employee_id = $1 AND material_id IS NOT DISTINCT FROM $2
			ORDER BY created_at DESC LIMIT 1`, e.sales.EmployeeID, uuid.NullUUID{UUID: material, Valid: material != uuid.Nil}).Scan(&token))
		return token
	}

	ch := channel(guide)
	a := welcome(ch, "wmMiniA")
	require.Equal(t, "miniprogram", a["msgtype"])
	mp := a["miniprogram"].(map[string]any)
	require.Equal(t, "种植牙的十个问题", mp["title"])
	require.Equal(t, "wxmini0123456789", mp["appid"])
	require.Equal(t, "pages/share/index?token="+tokenOf(guide), mp["page"], "the salesperson's own share of the material")
	up := e.fake.Uploads()
	require.Len(t, up, 1)
	require.Equal(t, up[0].ID, mp["pic_media_id"])
	require.Equal(t, png, up[0].Data, "the material's picture")
	// The next customer's card reuses the cover.
	mp = welcome(ch, "wmMiniB")["miniprogram"].(map[string]any)
	require.Equal(t, up[0].ID, mp["pic_media_id"])
	require.Len(t, e.fake.Uploads(), 1)

	// The card, with the salesperson's avatar as the cover; without an avatar, the link card.
	cardCh := channel(uuid.Nil)
	link := welcome(cardCh, "wmMiniC")
	require.Equal(t, "link", link["msgtype"], "no picture to show")
	_, err = e.db.Super.Exec(ctx, "INSERT INTO cards (tenant_id, employee_id, display_name, avatar_key) VALUES ($1, $2, 'Zhang', 'avatars/zhang.png')",
		e.tenant.ID, e.sales.EmployeeID)
	require.NoError(t, err)
	mp = welcome(cardCh, "wmMiniD")["miniprogram"].(map[string]any)
	require.Equal(t, "Sales zhangsan's card", mp["title"])
	require.Equal(t, "pages/share/index?token="+tokenOf(uuid.Nil), mp["page"])
	require.Len(t, e.fake.Uploads(), 2)

	// A picture storage cannot give: the link card, not a failed welcome.
	_, err = e.db.Super.Exec(ctx, "UPDATE materials SET cover_key = 'covers/missing.png' WHERE id = $1", guide)
	require.NoError(t, err)
	require.Equal(t, "link", welcome(ch, "wmMiniE")["msgtype"])
}
