package transfer_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/handover"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/wecom/bridgetest"
	"github.com/salesapp/scrm/backend/wecom/transfer"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
	"github.com/salesapp/scrm/backend/wecom/wecomtest"
)

type env struct {
	*bridgetest.Bridge
	transfers *transfer.Service
	handovers *handover.Service
}

func setup(t *testing.T) *env {
	t.Helper()
	e := &env{}
	e.Bridge = bridgetest.New(t, func(f *wecomtest.Server) {
		for _, id := range []string{"zhangsan", "lisi", "wangwu"} {
			f.AddUser(wecomapi.User{UserID: id, Name: id, Departments: []int64{1}})
		}
	}, func(b *bridgetest.Bridge) {
		e.transfers = transfer.NewService(transfer.Config{DB: b.DB.App, WeCom: b.WeCom, PollEvery: 50 * time.Millisecond})
		e.transfers.Workers(b.Queue.Workers())
	}, true)
	e.handovers = handover.NewService(e.DB.App, nil, transfer.Record(e.Queue))
	return e
}

// member adds an employee tied to a WeCom userid ("" for none).
func (e *env) member(t *testing.T, userID string) authn.Principal {
	t.Helper()
	p := e.DB.NewEmployee(t, e.Tenant.ID, authn.RoleSales, uuid.Nil)
	_, err := e.DB.Super.Exec(context.Background(), "UPDATE employees SET wecom_userid = $1 WHERE id = $2", userID, p.EmployeeID)
	require.NoError(t, err)
	return p
}

// customer adds a customer owned by owner, a WeCom external contact of follower when extID is set.
func (e *env) customer(t *testing.T, owner authn.Principal, extID, follower string) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	id := uuid.Must(uuid.NewV7())
	_, err := e.DB.Super.Exec(ctx, "INSERT INTO customers (id, tenant_id, owner_id) VALUES ($1, $2, $3)", id, e.Tenant.ID, owner.EmployeeID)
	require.NoError(t, err)
	if extID != "" {
		_, err = e.DB.Super.Exec(ctx, "INSERT INTO customer_identities (tenant_id, kind, value, customer_id) VALUES ($1, 'external_userid', $2, $3)",
			e.Tenant.ID, extID, id)
		require.NoError(t, err)
	}
	if follower != "" {
		e.Fake.AddContact(wecomapi.ExternalContact{ExternalUserID: extID, Name: extID, Type: 1}, wecomapi.FollowUser{UserID: follower})
	}
	return id
}

// settled waits until the handover's transfers stand as want (by external userid).
func (e *env) settled(t *testing.T, handoverID uuid.UUID, want map[string]transfer.Status) []transfer.Transfer {
	t.Helper()
	var list []transfer.Transfer
	require.Eventually(t, func() bool {
		var err error
		list, _, err = e.transfers.List(context.Background(), e.Tenant.Admin, handoverID)
		require.NoError(t, err)
		got := map[string]transfer.Status{}
		for _, tr := range list {
			got[tr.ExternalUserID] = tr.Status
		}
		return len(got) == len(want) && func() bool {
			for k, v := range want {
				if got[k] != v {
					return false
				}
			}
			return true
		}()
	}, 15*time.Second, 20*time.Millisecond, "transfers: %+v", &list)
	return list
}

// A handover asks WeCom to move the departing member's external contacts to the new owner (on the job);
// a customer WeCom does not know as theirs fails with WeCom's code, one without a WeCom identity is not
// asked about; then the job follows transfer_result: one customer moved, one refused.
func TestAHandoverTransfersTheWeComContacts(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	from, to := e.member(t, "zhangsan"), e.member(t, "lisi")
	e.customer(t, from, "wmA1", "zhangsan")
	e.customer(t, from, "wmA2", "zhangsan")
	e.customer(t, from, "wmA3", "wangwu") // not zhangsan's in WeCom
	e.customer(t, from, "", "")

	h, err := e.handovers.HandOver(ctx, e.Tenant.Admin, handover.Request{FromID: from.EmployeeID, ToIDs: []uuid.UUID{to.EmployeeID}})
	require.NoError(t, err)
	require.Equal(t, 4, h.Customers)
	list := e.settled(t, h.ID, map[string]transfer.Status{"wmA1": transfer.Waiting, "wmA2": transfer.Waiting, "wmA3": transfer.Failed})
	for _, tr := range list {
		require.Equal(t, "zhangsan", tr.HandoverUserID)
		require.Equal(t, "lisi", tr.TakeoverUserID)
		require.False(t, tr.Resigned)
		if tr.ExternalUserID == "wmA3" {
			require.Equal(t, wecomapi.CodeNotExternalContact, tr.ErrCode)
		} else {
			require.False(t, tr.RequestedAt.IsZero())
		}
	}

	require.Equal(t, 1, e.Fake.CompleteTransfers("wmA1", wecomapi.TransferDone))
	require.Equal(t, 1, e.Fake.CompleteTransfers("wmA2", wecomapi.TransferRefused))
	e.settled(t, h.ID, map[string]transfer.Status{"wmA1": transfer.Done, "wmA2": transfer.Refused, "wmA3": transfer.Failed})
	_, counts, err := e.transfers.List(ctx, e.Tenant.Admin, h.ID)
	require.NoError(t, err)
	require.Equal(t, map[transfer.Status]int{transfer.Done: 1, transfer.Refused: 1, transfer.Failed: 1}, counts)

	_, _, err = e.transfers.List(ctx, from, h.ID)
	require.Error(t, err, "admins only")
}

// A member who left WeCom (gone from its directory, their contacts listed as unassigned) has their contacts
// moved by the resigned transfer; a successor without a WeCom userid makes no transfer at all.
func TestAResignedMembersContactsAndSuccessorsWithoutWeCom(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	gone, to := e.member(t, "wangwu"), e.member(t, "lisi")
	e.customer(t, gone, "wmC1", "wangwu")
	e.Fake.AddUnassigned("wangwu", "wmC1", time.Now())
	e.Fake.RemoveUser("wangwu")
	_, err := e.DB.Super.Exec(ctx, "UPDATE employees SET status = 'disabled' WHERE id = $1", gone.EmployeeID)
	require.NoError(t, err)

	h, err := e.handovers.HandOver(ctx, e.Tenant.Admin, handover.Request{FromID: gone.EmployeeID, ToIDs: []uuid.UUID{to.EmployeeID}})
	require.NoError(t, err)
	list := e.settled(t, h.ID, map[string]transfer.Status{"wmC1": transfer.Waiting})
	require.True(t, list[0].Resigned)
	e.Fake.CompleteTransfers("wmC1", wecomapi.TransferDone)
	e.settled(t, h.ID, map[string]transfer.Status{"wmC1": transfer.Done})

	from, plain := e.member(t, "zhangsan"), e.member(t, "")
	e.customer(t, from, "wmB1", "zhangsan")
	h2, err := e.handovers.HandOver(ctx, e.Tenant.Admin, handover.Request{FromID: from.EmployeeID, ToIDs: []uuid.UUID{plain.EmployeeID}})
	require.NoError(t, err)
	require.Equal(t, 1, h2.Customers)
	list, _, err = e.transfers.List(ctx, e.Tenant.Admin, h2.ID)
	require.NoError(t, err)
	require.Empty(t, list)
}
