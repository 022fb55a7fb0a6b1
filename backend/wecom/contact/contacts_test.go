package contact_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/backend/wecom"
	"github.com/salesapp/scrm/backend/wecom/bridgetest"
	"github.com/salesapp/scrm/backend/wecom/contact"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
	"github.com/salesapp/scrm/backend/wecom/wecomtest"
	"github.com/salesapp/scrm/push/alert"
)

// The official sample's callback keys.
type env struct {
	db       *pgtest.DB
	tenant   pgtest.Tenant
	fake     *wecomtest.Server
	wecom    *wecom.Service
	contacts *contact.Service
	sender   *wecomtest.CallbackSender
	queue    *jobs.Queue
	sales    authn.Principal
	// woken are the alert streams the handlers woke, after their commits.
	mu    sync.Mutex
	woken []alert.Key
	// images are the objects the welcome's Image reads (PNGs), by key: the storage of the mini-program
	// cards' covers.
	images map[string][]byte
}

// setup builds the bridge and the contact handlers for a new tenant configured against a fake WeCom, with a
// salesperson whose WeCom userid is "zhangsan", and runs the dispatcher and the welcome worker.
func setup(t *testing.T) *env {
	t.Helper()
	e := &env{images: map[string][]byte{}}
	b := bridgetest.New(t, nil, func(b *bridgetest.Bridge) {
		e.contacts = contact.NewService(contact.Config{DB: b.DB.App, WeCom: b.WeCom, Queue: b.Queue,
			Shares: share.NewService(b.DB.App, "https://crm.example.com"),
			Picture: func(_ context.Context, tenantID uuid.UUID, key string) (string, error) {
				return "https://files.example/" + tenantID.String() + "/" + key, nil
			},
			MiniProgram: contact.MiniProgram{AppID: "wxmini0123456789", Page: "pages/share/index"},
			Image: func(_ context.Context, _ uuid.UUID, key string) ([]byte, string, error) {
				e.mu.Lock()
				defer e.mu.Unlock()
				if b, ok := e.images[key]; ok {
					return b, "image/png", nil
				}
				return nil, "", platform.NotFound("object")
			},
			Wake: func(keys []alert.Key) {
				e.mu.Lock()
				e.woken = append(e.woken, keys...)
				e.mu.Unlock()
			}})
		e.contacts.Register(b.WeCom)
		e.contacts.Workers(b.Queue.Workers())
		b.Queue.AddPeriodic(e.contacts.Periodic()...)
	}, true)
	e.db, e.tenant, e.fake, e.wecom, e.sender, e.queue = b.DB, b.Tenant, b.Fake, b.WeCom, b.Sender, b.Queue
	e.sales = e.employee(t, "zhangsan")
	return e
}

// employee adds a salesperson with a WeCom userid.
func (e *env) employee(t *testing.T, userID string) authn.Principal {
	t.Helper()
	p := e.db.NewEmployee(t, e.tenant.ID, authn.RoleSales, e.db.NewTeam(t, e.tenant.ID, "Team "+userID))
	_, err := e.db.Super.Exec(context.Background(), "UPDATE employees SET wecom_userid = $1, name = $2 WHERE id = $3", userID, "Sales "+userID, p.EmployeeID)
	require.NoError(t, err)
	return p
}

func (e *env) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, e.db.Super.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// send posts an external contact event (and WeCom's resend of it) and waits until it is processed.
func (e *env) send(t *testing.T, changeType, userID, extID, state, welcomeCode string, createTime int64) {
	t.Helper()
	e.post(t, wecomtest.ExternalContactEvent(e.fake.CorpID, changeType, userID, extID, createTime, state, welcomeCode))
}

// post sends a callback (and WeCom's resend of it) and waits until it is processed.
func (e *env) post(t *testing.T, msg []byte) {
	t.Helper()
	for range 2 {
		_, err := e.sender.Send(context.Background(), msg)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		return e.count(t, "SELECT count(*) FROM wecom_events WHERE status <> 'pending'") ==
			e.count(t, "SELECT count(*) FROM wecom_events")
	}, 15*time.Second, 20*time.Millisecond)
	require.Zero(t, e.count(t, "SELECT count(*) FROM wecom_events WHERE status <> 'done'"), "every event processed")
}

// customerOf is the customer holding an identity.
func (e *env) customerOf(t *testing.T, kind, value string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	require.NoError(t, e.db.Super.QueryRow(context.Background(),
		"SELECT customer_id FROM customer_identities WHERE tenant_id = $1 AND kind = $2 AND value = $3", e.tenant.ID, kind, value).Scan(&id))
	return id
}

// A customer adds a salesperson through a channel code: they become the salesperson's customer with the
// remark mirrored, the channel's tag and credit, a timeline entry and an alert naming the channel, and the
// channel's welcome text with a link card of the salesperson's card, once, though WeCom sent the callback
// twice.
func TestAddMakesCustomerAlertsAndWelcomesOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	channel := uuid.Must(uuid.NewV7())
	_, err := e.db.Super.Exec(ctx, `INSERT INTO wecom_channels (tenant_id, id, name, state, employee_ids, tags, welcome_text, created_by)
		VALUES ($1, $2, 'Spring fair', 'c-spring', $3, '{implants}', 'Welcome from the spring fair!', $4)`,
		e.tenant.ID, channel, []uuid.UUID{e.sales.EmployeeID}, e.tenant.Admin.EmployeeID)
	require.NoError(t, err)
	e.fake.AddContact(wecomapi.ExternalContact{ExternalUserID: "wmWang", Name: "Wang Fang", Avatar: "https://wx.example.com/a.png"},
		wecomapi.FollowUser{UserID: "zhangsan", Remark: "Dentist lead", Description: "wants implants", State: "c-spring"})
	code := e.fake.NewWelcomeCode("zhangsan", "wmWang")

	e.send(t, contact.ChangeAdd, "zhangsan", "wmWang", "c-spring", code, 1700000000)

	id := e.customerOf(t, customer.IdentityExternalUserID, "wmWang")
	var owner uuid.UUID
	var name, remark string
	var tags []string
	require.NoError(t, e.db.Super.QueryRow(ctx, "SELECT owner_id, display_name, remark, tags FROM customers WHERE id = $1", id).
		Scan(&owner, &name, &remark, &tags))
	require.Equal(t, e.sales.EmployeeID, owner, "the follow user owns a new customer")
	require.Equal(t, "Wang Fang", name)
	require.Equal(t, "Dentist lead · wants implants", remark)
	require.Equal(t, []string{"implants"}, tags, "the channel's auto-tag")

	require.Equal(t, 1, e.count(t, "SELECT count(*) FROM events WHERE customer_id = $1 AND kind = 'wecom_added'", id))
	require.Equal(t, 1, e.count(t, "SELECT count(*) FROM wecom_channel_adds WHERE channel_id = $1 AND customer_id = $2", channel, id))
	var body string
	require.NoError(t, e.db.Super.QueryRow(ctx, "SELECT body FROM alerts WHERE employee_id = $1 AND kind = 'wecom_added'", e.sales.EmployeeID).Scan(&body))
	require.Equal(t, "Wang Fang added you on WeCom through channel 《Spring fair》", body)

	// The timeline says it.
	items, _, err := customer.NewService(e.db.App).Timeline(ctx, e.sales, id, 10, "")
	require.NoError(t, err)
	require.Len(t, items, 1)
	require.Equal(t, "Added you on WeCom", customer.Text(items[0]))

	woken := func() []alert.Key {
		e.mu.Lock()
		defer e.mu.Unlock()
		return slices.Clone(e.woken)
	}
	require.Eventually(t, func() bool { return len(woken()) > 0 }, 15*time.Second, 20*time.Millisecond)
	require.Equal(t, []alert.Key{{TenantID: e.tenant.ID, EmployeeID: e.sales.EmployeeID}}, woken(),
		"the salesperson's WebSocket is woken after the commit, once though WeCom sent the callback twice")
	require.Eventually(t, func() bool { return len(e.fake.Welcomes()) == 1 }, 15*time.Second, 20*time.Millisecond)
	w := e.fake.Welcomes()[0]
	require.Equal(t, "Welcome from the spring fair!", w.Text)
	require.Len(t, w.Attachments, 1)
	link, _ := w.Attachments[0]["link"].(map[string]any)
	require.Equal(t, "Sales zhangsan's card", link["title"])
	url, _ := link["url"].(string)
	require.True(t, strings.HasPrefix(url, "https://crm.example.com/s/"), url)
	require.Equal(t, 1, e.count(t, "SELECT count(*) FROM shares WHERE employee_id = $1 AND target_kind = 'card' AND channel = 'chat'", e.sales.EmployeeID),
		"the card link is the salesperson's own share")
	require.Equal(t, 1, e.count(t, "SELECT count(*) FROM river_job WHERE kind = 'wecom_welcome'"), "queued once")

	// An edit mirrors a changed remark and the corp tags the member put on, and adds no entry, alert or
	// welcome.
	vip := e.fake.AddCorpTags("Level", "VIP").Tags[0].ID
	e.fake.AddContact(wecomapi.ExternalContact{ExternalUserID: "wmWang", Name: "Wang Fang"},
		wecomapi.FollowUser{UserID: "zhangsan", Remark: "Implant lead", State: "c-spring", TagIDs: []string{vip}})
	e.send(t, contact.ChangeEdit, "zhangsan", "wmWang", "", "", 1700000100)
	require.NoError(t, e.db.Super.QueryRow(ctx, "SELECT remark, tags FROM customers WHERE id = $1", id).Scan(&remark, &tags))
	require.Equal(t, "Implant lead", remark)
	require.Equal(t, []string{"implants", "VIP"}, tags)
	require.Equal(t, 1, e.count(t, "SELECT count(*) FROM events WHERE customer_id = $1", id))
	require.Equal(t, 1, e.count(t, "SELECT count(*) FROM alerts WHERE employee_id = $1", e.sales.EmployeeID))

	// The customer deletes the salesperson: they are told.
	e.send(t, contact.ChangeDelFollow, "zhangsan", "wmWang", "", "", 1700000200)
	require.Equal(t, 1, e.count(t, "SELECT count(*) FROM alerts WHERE employee_id = $1 AND kind = 'wecom_deleted'", e.sales.EmployeeID))
}

// A mini-program visitor who proved their unionid, and a WeCom contact first met without one, are one
// person: when WeCom gives the unionid, the WeCom customer is merged into the visitor's customer, whose
// owner, identities and timeline are all kept.
func TestUnionIDMergesWithTheMiniProgramCustomer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)

	// Added on WeCom before the corp bound its WeChat account: no unionid.
	e.fake.AddContact(wecomapi.ExternalContact{ExternalUserID: "wmLi", Name: "Li Lei"}, wecomapi.FollowUser{UserID: "zhangsan"})
	e.send(t, contact.ChangeAdd, "zhangsan", "wmLi", "", "", 1700000000)
	wecomCustomer := e.customerOf(t, customer.IdentityExternalUserID, "wmLi")

	// The same person signs in on the mini-program with their unionid.
	visitor, _, err := customer.NewService(e.db.App).Identify(ctx, e.tenant.ID, "visitor-li", customer.Source{},
		customer.Identity{Kind: customer.IdentityMiniProgram, Value: "openid-li"}, customer.Identity{Kind: customer.IdentityUnion, Value: "union-li"})
	require.NoError(t, err)
	require.NotEqual(t, wecomCustomer, visitor)

	// WeCom now gives the unionid.
	e.fake.AddContact(wecomapi.ExternalContact{ExternalUserID: "wmLi", Name: "Li Lei", UnionID: "union-li"}, wecomapi.FollowUser{UserID: "zhangsan", Remark: "Li"})
	e.send(t, contact.ChangeEdit, "zhangsan", "wmLi", "", "", 1700000100)

	for _, id := range []struct{ kind, value string }{{customer.IdentityExternalUserID, "wmLi"}, {customer.IdentityUnion, "union-li"},
		{customer.IdentityMiniProgram, "openid-li"}, {customer.IdentityVisitor, "visitor-li"}} {
		require.Equal(t, visitor, e.customerOf(t, id.kind, id.value), id.kind)
	}
	var merged uuid.UUID
	require.NoError(t, e.db.Super.QueryRow(ctx, "SELECT merged_into FROM customers WHERE id = $1", wecomCustomer).Scan(&merged))
	require.Equal(t, visitor, merged)
	require.Equal(t, 1, e.count(t, "SELECT count(*) FROM events WHERE customer_id = $1 AND kind = 'wecom_added'", visitor), "the timeline moved over")
	var owner uuid.UUID
	require.NoError(t, e.db.Super.QueryRow(ctx, "SELECT owner_id FROM customers WHERE id = $1", visitor).Scan(&owner))
	require.Equal(t, e.sales.EmployeeID, owner, "the unowned visitor goes to the follow user")

	// A new WeCom contact with the unionid of a known visitor joins them at once.
	other, _, err := customer.NewService(e.db.App).Identify(ctx, e.tenant.ID, "visitor-han", customer.Source{},
		customer.Identity{Kind: customer.IdentityH5, Value: "h5-han"}, customer.Identity{Kind: customer.IdentityUnion, Value: "union-han"})
	require.NoError(t, err)
	e.fake.AddContact(wecomapi.ExternalContact{ExternalUserID: "wmHan", Name: "Han Mei", UnionID: "union-han"}, wecomapi.FollowUser{UserID: "zhangsan"})
	e.send(t, contact.ChangeAdd, "zhangsan", "wmHan", "", "", 1700000200)
	require.Equal(t, other, e.customerOf(t, customer.IdentityExternalUserID, "wmHan"))
	require.Equal(t, 1, e.count(t, "SELECT count(*) FROM events WHERE customer_id = $1 AND kind = 'wecom_added'", other))
}

// A welcome code WeCom says was used already (41051) is not a failure: the job completes.
func TestWelcomeAlreadySentIsDone(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.employee(t, "lisi")
	e.fake.AddContact(wecomapi.ExternalContact{ExternalUserID: "wmZhao", Name: "Zhao"},
		wecomapi.FollowUser{UserID: "zhangsan"}, wecomapi.FollowUser{UserID: "lisi"})
	code := e.fake.NewWelcomeCode("zhangsan", "wmZhao")
	e.send(t, contact.ChangeAdd, "zhangsan", "wmZhao", "", code, 1700000000)
	require.Eventually(t, func() bool { return len(e.fake.Welcomes()) == 1 }, 15*time.Second, 20*time.Millisecond)
	// A second add carrying the same (used) code.
	e.send(t, contact.ChangeAdd, "lisi", "wmZhao", "", code, 1700000001)
	require.Eventually(t, func() bool {
		return e.count(t, "SELECT count(*) FROM river_job WHERE kind = 'wecom_welcome' AND state = 'completed'") == 2
	}, 15*time.Second, 20*time.Millisecond)
	require.Len(t, e.fake.Welcomes(), 1, "sent once")
	require.Equal(t, "Hello, I'm Sales zhangsan. Thanks for adding me! Here is my card.", e.fake.Welcomes()[0].Text)
}

// A welcome message queued before the tenant's plan lost the WeCom bridge is not sent: its job is
// cancelled at once, saying why, instead of calling WeCom or retrying.
func TestAWelcomeQueuedBeforeADowngradeIsNotSent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	_, err := e.db.Super.Exec(ctx, "UPDATE tenants SET plan = 'standard' WHERE id = $1", e.tenant.ID)
	require.NoError(t, err)
	code := e.fake.NewWelcomeCode("zhangsan", "wmLate")
	require.NoError(t, pgx.BeginFunc(ctx, e.db.Super, func(tx pgx.Tx) error {
		return e.queue.InsertTx(ctx, tx, contact.WelcomeArgs{TenantID: e.tenant.ID, EventID: uuid.New(), EmployeeID: e.sales.EmployeeID,
			ExternalUserID: "wmLate", WelcomeCode: code, ReceivedAt: time.Now()}, nil)
	}))
	require.Eventually(t, func() bool {
		return e.count(t, "SELECT count(*) FROM river_job WHERE kind = 'wecom_welcome' AND state = 'cancelled' AND attempt = 1"+
			" AND errors::text LIKE '%plan does not include the WeCom bridge%'") == 1
	}, 15*time.Second, 20*time.Millisecond)
	require.Empty(t, e.fake.Welcomes())
}
