package transfer_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/customer"
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

// A resigned member's contacts that only WeCom knows (get_unassigned_list) are adopted by a handover of
// everything: each becomes a customer of a successor in turn, named and noted as WeCom has them, and is
// transferred with the rest. Contacts of other resigned members, contacts known here, and contacts WeCom no
// longer has are left alone; a handover of chosen stages adopts nothing.
func TestAResignedMembersWeComOnlyContactsAreAdopted(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	gone, to1, to2 := e.member(t, "wangwu"), e.member(t, "lisi"), e.member(t, "zhangsan")
	now := time.Now()
	e.customer(t, gone, "wmK1", "wangwu")
	e.Fake.AddUnassigned("wangwu", "wmK1", now)
	for _, id := range []string{"wmU1", "wmU2"} {
		e.Fake.AddContact(wecomapi.ExternalContact{ExternalUserID: id, Name: "Name of " + id, Type: 1},
			wecomapi.FollowUser{UserID: "wangwu", Remark: "met at the fair"})
		e.Fake.AddUnassigned("wangwu", id, now)
	}
	e.customer(t, to1, "wmO1", "wangwu") // known here, someone else's: not this handover's
	e.Fake.AddUnassigned("wangwu", "wmO1", now)
	e.Fake.AddUnassigned("wangwu", "wmNoMore", now) // WeCom has no such contact any more
	e.Fake.AddContact(wecomapi.ExternalContact{ExternalUserID: "wmX1", Name: "x", Type: 1}, wecomapi.FollowUser{UserID: "qian"})
	e.Fake.AddUnassigned("qian", "wmX1", now) // another member's
	e.Fake.RemoveUser("wangwu")
	_, err := e.DB.Super.Exec(ctx, "UPDATE employees SET status = 'disabled' WHERE id = $1", gone.EmployeeID)
	require.NoError(t, err)

	h, err := e.handovers.HandOver(ctx, e.Tenant.Admin, handover.Request{FromID: gone.EmployeeID, ToIDs: []uuid.UUID{to1.EmployeeID, to2.EmployeeID}})
	require.NoError(t, err)
	require.Equal(t, 1, h.Customers)
	list := e.settled(t, h.ID, map[string]transfer.Status{"wmK1": transfer.Waiting, "wmU1": transfer.Waiting, "wmU2": transfer.Waiting})
	takeover := map[string]string{}
	for _, tr := range list {
		takeover[tr.ExternalUserID] = tr.TakeoverUserID
		require.True(t, tr.Resigned)
	}
	owners := map[string]uuid.UUID{}
	rows, err := e.DB.Super.Query(ctx, `SELECT ci.value, c.owner_id, c.display_name FROM customers c
		JOIN customer_identities ci ON ci.tenant_id = c.tenant_id AND ci.customer_id = c.id AND ci.kind = 'external_userid'
		WHERE c.tenant_id = $1 AND ci.value IN ('wmU1', 'wmU2', 'wmNoMore', 'wmX1')`, e.Tenant.ID)
	require.NoError(t, err)
	for rows.Next() {
		var ext, name string
		var owner uuid.UUID
		require.NoError(t, rows.Scan(&ext, &owner, &name))
		require.Equal(t, "Name of "+ext, name)
		owners[ext] = owner
	}
	require.NoError(t, rows.Err())
	require.Len(t, owners, 2, "adopted: the two only WeCom knew")
	require.ElementsMatch(t, []uuid.UUID{to1.EmployeeID, to2.EmployeeID}, []uuid.UUID{owners["wmU1"], owners["wmU2"]}, "dealt in turn")
	for ext, owner := range owners {
		want := map[uuid.UUID]string{to1.EmployeeID: "lisi", to2.EmployeeID: "zhangsan"}[owner]
		require.Equal(t, want, takeover[ext], "WeCom moves it to its owner here")
	}
	require.Equal(t, 2, e.count(t, `SELECT count(*) FROM customers c JOIN customer_identities ci ON ci.tenant_id = c.tenant_id
		AND ci.customer_id = c.id AND ci.kind = 'external_userid' WHERE c.tenant_id = $1 AND ci.value IN ('wmU1', 'wmU2')
		AND c.remark = 'met at the fair'`, e.Tenant.ID), "the departing member's remark")

	// A handover of chosen stages adopts nothing.
	gone2, to3 := e.member(t, "zhaoliu"), e.member(t, "sunqi")
	e.Fake.AddUser(wecomapi.User{UserID: "sunqi", Name: "sunqi", Departments: []int64{1}})
	e.Fake.AddContact(wecomapi.ExternalContact{ExternalUserID: "wmU3", Name: "u3", Type: 1}, wecomapi.FollowUser{UserID: "zhaoliu"})
	e.Fake.AddUnassigned("zhaoliu", "wmU3", now)
	h2, err := e.handovers.HandOver(ctx, e.Tenant.Admin, handover.Request{FromID: gone2.EmployeeID, ToIDs: []uuid.UUID{to3.EmployeeID},
		Selection: customer.Selection{Stages: []customer.Stage{customer.StageWon}}})
	require.NoError(t, err)
	require.Zero(t, e.count(t, "SELECT count(*) FROM river_job WHERE kind = 'wecom_transfer' AND args->>'handover_id' = $1", h2.ID.String()))
}

func (e *env) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, e.DB.Super.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}
