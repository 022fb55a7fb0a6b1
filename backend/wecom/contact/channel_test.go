package contact_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/wecom/contact"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
)

// A channel code is a WeCom contact way with a generated state; adds through it are credited once per
// customer, and its counts follow the customers' stages. Updating and deleting reach WeCom too.
func TestChannelLifecycleAndCounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	lisi := e.employee(t, "lisi")
	e.fake.AddUser(wecomapi.User{UserID: "zhangsan", Name: "Zhang San"})
	e.fake.AddUser(wecomapi.User{UserID: "lisi", Name: "Li Si"})
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
