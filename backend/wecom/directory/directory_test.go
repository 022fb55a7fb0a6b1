package directory_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/tenant"
	"github.com/salesapp/scrm/backend/wecom"
	"github.com/salesapp/scrm/backend/wecom/bridgetest"
	"github.com/salesapp/scrm/backend/wecom/directory"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
	"github.com/salesapp/scrm/backend/wecom/wecomtest"
)

// The official sample's callback keys.
type env struct {
	db     *pgtest.DB
	tenant pgtest.Tenant
	fake   *wecomtest.Server
	wecom  *wecom.Service
	dir    *directory.Service
	sender *wecomtest.CallbackSender
	// forgotten are the employees whose cached sessions the directory dropped (EmployeeChanged).
	forgotten sync.Map
	// sent counts the callbacks send made.
	sent int64
}

// setup builds the bridge and the directory for a new tenant whose fake WeCom holds fill's directory,
// runs the dispatcher and the sync worker, and connects the tenant (which queues the first full sync).
func setup(t testing.TB, fill func(*wecomtest.Server)) *env { return build(t, fill, true) }

// build is setup, its workers started only when run (a benchmark syncs by itself).
func build(t testing.TB, fill func(*wecomtest.Server), run bool) *env {
	t.Helper()
	e := &env{}
	b := bridgetest.New(t, fill, func(b *bridgetest.Bridge) {
		e.dir = directory.NewService(directory.Config{DB: b.DB.App, WeCom: b.WeCom, Queue: b.Queue,
			EmployeeChanged: func(id uuid.UUID) { e.forgotten.Store(id, true) }})
		e.dir.Register(b.WeCom)
		e.dir.Workers(b.Queue.Workers())
	}, run)
	e.db, e.tenant, e.fake, e.wecom, e.sender = b.DB, b.Tenant, b.Fake, b.WeCom, b.Sender
	return e
}

// waitSync waits for the full sync that connecting queued and checks that it succeeded.
func (e *env) waitSync(t *testing.T) *directory.Status {
	t.Helper()
	st := e.finishedSync(t)
	require.Empty(t, st.Error)
	return st
}

// finishedSync waits for the full sync that connecting queued and returns how it went.
func (e *env) finishedSync(t *testing.T) *directory.Status {
	t.Helper()
	var st *directory.Status
	require.Eventually(t, func() bool {
		var err error
		st, err = e.dir.LastSync(context.Background(), e.tenant.Admin)
		require.NoError(t, err)
		return st != nil && !st.FinishedAt.IsZero()
	}, 15*time.Second, 20*time.Millisecond)
	return st
}

type emp struct {
	ID     uuid.UUID
	Name   string
	Role   string
	Team   string
	Status string
	Phone  string
}

// employee reads the employee tied to a WeCom userid.
func (e *env) employee(t *testing.T, userID string) emp {
	t.Helper()
	var out emp
	require.NoError(t, e.db.Super.QueryRow(context.Background(), `SELECT e.id, e.name, e.role, coalesce(t.name, ''), e.status, e.phone
		FROM employees e LEFT JOIN teams t ON t.tenant_id = e.tenant_id AND t.id = e.team_id
		WHERE e.tenant_id = $1 AND e.wecom_userid = $2`, e.tenant.ID, userID).
		Scan(&out.ID, &out.Name, &out.Role, &out.Team, &out.Status, &out.Phone))
	return out
}

// send posts a change_contact callback (and WeCom's resend of it, stored once) and waits until it is
// processed. Each call is a new event (its own CreateTime).
func (e *env) send(t *testing.T, changeType string, fields ...string) {
	t.Helper()
	e.sent++
	for range 2 {
		_, err := e.sender.Send(context.Background(), wecomtest.ChangeContactEvent(e.fake.CorpID, changeType, 1700000000+e.sent, fields...))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		return e.count(t, "SELECT count(*) FROM wecom_events WHERE tenant_id = $1 AND status = 'pending'", e.tenant.ID) == 0
	}, 15*time.Second, 20*time.Millisecond)
	require.Zero(t, e.count(t, "SELECT count(*) FROM wecom_events WHERE tenant_id = $1 AND status <> 'done'", e.tenant.ID))
}

func (e *env) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, e.db.Super.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

func smallDirectory(f *wecomtest.Server) {
	f.AddDepartment(wecomapi.Department{ID: 1, Name: "总部"})
	f.AddDepartment(wecomapi.Department{ID: 2, Name: "Sales", ParentID: 1, Leaders: []string{"li"}})
	f.AddDepartment(wecomapi.Department{ID: 3, Name: "Support", ParentID: 1})
	f.AddUser(wecomapi.User{UserID: "li", Name: "Li Lei", Departments: []int64{2}, Mobile: "13900000001", Position: "Head of sales"})
	f.AddUser(wecomapi.User{UserID: "wang", Name: "Wang Fang", Departments: []int64{2, 3}, MainDepartment: 2, Mobile: "13900000002"})
	f.AddUser(wecomapi.User{UserID: "zhao", Name: "Zhao Min", Departments: []int64{3}})
}

// Connecting WeCom syncs the directory: departments become teams (a team made by hand with a
// department's name is tied, not duplicated), members employees (an employee typed in by hand with the
// member's phone is tied, not duplicated), the department's leader a manager. Syncing again changes
// nothing. A member who resigns, and one deleted from WeCom, are disabled with their sessions ended; one
// who owns customers keeps them, counted as awaiting handover; the last admin is never disabled.
func TestFullSyncMirrorsTheDirectory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, smallDirectory)
	st := e.waitSync(t)
	require.Equal(t, 3, st.Result.TeamsCreated)
	require.Equal(t, 3, st.Result.Created)

	li, wang, zhao := e.employee(t, "li"), e.employee(t, "wang"), e.employee(t, "zhao")
	require.Equal(t, emp{ID: li.ID, Name: "Li Lei", Role: "manager", Team: "Sales", Status: "active", Phone: "13900000001"}, li)
	require.Equal(t, "sales", wang.Role)
	require.Equal(t, "Sales", wang.Team, "the main department is the team")
	require.Equal(t, "Support", zhao.Team)
	require.Equal(t, 3, e.count(t, "SELECT count(*) FROM teams WHERE tenant_id = $1 AND wecom_dept_id IS NOT NULL", e.tenant.ID))

	again, err := e.dir.Sync(ctx, e.tenant.ID)
	require.NoError(t, err)
	require.Equal(t, tenant.DirectoryResult{}, again, "a second sync changes nothing")

	// An employee typed in by hand with a new member's phone, and a team with a new department's name.
	e.db.NewTeam(t, e.tenant.ID, "Marketing")
	typed := e.db.NewEmployee(t, e.tenant.ID, authn.RoleSales, uuid.Nil)
	_, err = e.db.Super.Exec(ctx, "UPDATE employees SET phone = '13900000009' WHERE id = $1", typed.EmployeeID)
	require.NoError(t, err)
	e.fake.AddDepartment(wecomapi.Department{ID: 4, Name: "Marketing", ParentID: 1})
	e.fake.AddUser(wecomapi.User{UserID: "sun", Name: "Sun Li", Departments: []int64{4}, Mobile: "13900000009"})

	// Li resigns owning a customer; Zhao is deleted from WeCom; Zhao had signed in.
	customerID := uuid.Must(uuid.NewV7())
	_, err = e.db.Super.Exec(ctx, "INSERT INTO customers (id, tenant_id, owner_id, display_name) VALUES ($1, $2, $3, 'Held')",
		customerID, e.tenant.ID, li.ID)
	require.NoError(t, err)
	_, err = e.db.Super.Exec(ctx, `INSERT INTO sessions (id, tenant_id, employee_id, device_id, refresh_hash, expires_at, ends_at)
		VALUES ($1, $2, $3, 'phone', '\x00', now() + interval '1 day', now() + interval '30 days')`, uuid.Must(uuid.NewV7()), e.tenant.ID, zhao.ID)
	require.NoError(t, err)
	e.fake.AddUser(wecomapi.User{UserID: "li", Name: "Li Lei", Departments: []int64{2}, Status: wecomapi.UserResigned})
	e.fake.RemoveUser("zhao")

	res, err := e.dir.Sync(ctx, e.tenant.ID)
	require.NoError(t, err)
	require.Equal(t, 1, res.Updated, "Sun is tied to the employee typed in by hand...")
	require.Zero(t, res.Created, "...not created")
	require.Equal(t, 1, res.TeamsUpdated, "the hand-made Marketing team is tied")
	require.Zero(t, res.TeamsCreated)
	require.Equal(t, 2, res.Disabled)
	require.Equal(t, 1, res.AwaitingHandover)

	sun := e.employee(t, "sun")
	require.Equal(t, typed.EmployeeID, sun.ID)
	require.Equal(t, "Marketing", sun.Team)
	require.Equal(t, "disabled", e.employee(t, "li").Status)
	require.Equal(t, "disabled", e.employee(t, "zhao").Status)
	require.Equal(t, 1, e.count(t, "SELECT count(*) FROM customers WHERE id = $1 AND owner_id = $2", customerID, li.ID),
		"the customer stays with Li until an admin hands them over")
	require.Zero(t, e.count(t, "SELECT count(*) FROM sessions WHERE employee_id = $1 AND revoked_at IS NULL", zhao.ID))
	require.Equal(t, 1, e.count(t, "SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'employee.disable' AND target_id = $2",
		e.tenant.ID, li.ID))

	// The admin, tied to a member who leaves, is the last admin: kept.
	_, err = e.db.Super.Exec(ctx, "UPDATE employees SET wecom_userid = 'boss' WHERE id = $1", e.tenant.Admin.EmployeeID)
	require.NoError(t, err)
	res, err = e.dir.Sync(ctx, e.tenant.ID)
	require.NoError(t, err)
	require.Equal(t, 1, res.LastAdminKept)
	require.Equal(t, 1, e.count(t, "SELECT count(*) FROM employees WHERE id = $1 AND status = 'active'", e.tenant.Admin.EmployeeID))
}

// A directory bigger than the plan adds members while seats last and counts the rest.
func TestFullSyncStopsAtTheSeats(t *testing.T) {
	t.Parallel()
	e := setup(t, func(f *wecomtest.Server) { f.SeedDirectory(2, 60) })
	st := e.waitSync(t)
	// The tenant has 50 seats and its admin holds one.
	require.Equal(t, 49, st.Result.Created)
	require.Equal(t, 11, st.Result.NoSeat)
	require.Equal(t, 50, e.count(t, "SELECT count(*) FROM employees WHERE tenant_id = $1 AND status = 'active'", e.tenant.ID))
}

// Where WeCom refuses user/list to the app, the sync reads every userid and each member one by one.
func TestFullSyncReadsOneByOneWhereUserListIsRefused(t *testing.T) {
	t.Parallel()
	e := setup(t, func(f *wecomtest.Server) {
		smallDirectory(f)
		f.FailNext(wecomtest.UserList, 1, wecomapi.CodeAPIForbidden)
	})
	st := e.waitSync(t)
	require.Equal(t, 3, st.Result.Created)
	require.Equal(t, "manager", e.employee(t, "li").Role)
	require.Equal(t, 3, e.fake.Calls(wecomtest.UserGet))
}

// change_contact callbacks apply each change: a member created, renamed (new userid), moved; a department
// created and deleted; a member deleted is disabled.
func TestCallbacksApplyEachChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, smallDirectory)
	e.waitSync(t)
	send := func(changeType string, fields ...string) { t.Helper(); e.send(t, changeType, fields...) }

	e.fake.AddDepartment(wecomapi.Department{ID: 5, Name: "East", ParentID: 1, Leaders: []string{"qian"}})
	send(directory.ChangeCreateParty, "Id", "5", "Name", "East", "ParentId", "1")
	require.Equal(t, 1, e.count(t, "SELECT count(*) FROM teams WHERE tenant_id = $1 AND wecom_dept_id = 5 AND name = 'East'", e.tenant.ID))

	e.fake.AddUser(wecomapi.User{UserID: "qian", Name: "Qian Yu", Departments: []int64{5}})
	send(directory.ChangeCreateUser, "UserID", "qian", "Name", "Qian Yu", "Department", "5")
	qian := e.employee(t, "qian")
	require.Equal(t, "East", qian.Team)
	require.Equal(t, "manager", qian.Role, "she leads East")

	e.fake.RemoveUser("qian")
	e.fake.AddUser(wecomapi.User{UserID: "qian.yu", Name: "Qian Yu", Departments: []int64{2}})
	send(directory.ChangeUpdateUser, "UserID", "qian", "NewUserID", "qian.yu")
	moved := e.employee(t, "qian.yu")
	require.Equal(t, qian.ID, moved.ID, "the same employee under the new userid")
	require.Equal(t, "Sales", moved.Team)

	send(directory.ChangeDeleteParty, "Id", "5")
	require.Zero(t, e.count(t, "SELECT count(*) FROM teams WHERE tenant_id = $1 AND wecom_dept_id = 5", e.tenant.ID))
	require.Equal(t, 1, e.count(t, "SELECT count(*) FROM teams WHERE tenant_id = $1 AND name = 'East'", e.tenant.ID), "the team stays")

	send(directory.ChangeDeleteUser, "UserID", "qian.yu")
	require.Equal(t, "disabled", e.employee(t, "qian.yu").Status)
	require.Eventually(t, func() bool { _, ok := e.forgotten.Load(qian.ID); return ok }, 15*time.Second, 20*time.Millisecond,
		"their cached sessions are dropped after the commit")

	// A callback reads only the employees it may touch: an untied employee made by hand with the member's
	// phone is tied, not duplicated.
	hand := uuid.Must(uuid.NewV7())
	_, err := e.db.Super.Exec(ctx, "INSERT INTO employees (id, tenant_id, name, role, phone) VALUES ($1, $2, 'Wu by hand', 'sales', '13900000077')",
		hand, e.tenant.ID)
	require.NoError(t, err)
	e.fake.AddUser(wecomapi.User{UserID: "wu", Name: "Wu Di", Mobile: "13900000077", Departments: []int64{2}})
	send(directory.ChangeCreateUser, "UserID", "wu")
	require.Equal(t, hand, e.employee(t, "wu").ID)

	// The last admin is kept when a callback says they left.
	_, err = e.db.Super.Exec(ctx, "UPDATE employees SET wecom_userid = 'boss' WHERE id = $1", e.tenant.Admin.EmployeeID)
	require.NoError(t, err)
	send(directory.ChangeDeleteUser, "UserID", "boss")
	require.Equal(t, "active", e.employee(t, "boss").Status)
}

// A member who left WeCom and returns is enabled again, seat permitting, by a callback or a full sync; an
// employee an admin disabled here stays disabled whatever WeCom says.
func TestAMemberWhoReturnsIsEnabledAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, smallDirectory)
	e.waitSync(t)
	zhao := e.employee(t, "zhao")
	e.fake.RemoveUser("zhao")
	e.send(t, directory.ChangeDeleteUser, "UserID", "zhao")
	require.Equal(t, "disabled", e.employee(t, "zhao").Status)

	e.fake.AddUser(wecomapi.User{UserID: "zhao", Name: "Zhao Min", Departments: []int64{3}})
	e.send(t, directory.ChangeCreateUser, "UserID", "zhao")
	back := e.employee(t, "zhao")
	require.Equal(t, zhao.ID, back.ID)
	require.Equal(t, "active", back.Status)
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'employee.enable'
		AND target_id = $2 AND after->>'reason' = 'returned to the WeCom directory'`, e.tenant.ID, zhao.ID))

	// An admin disables Wang here: WeCom listing him changes nothing.
	wang := e.employee(t, "wang")
	_, err := tenant.NewService(e.db.App, keptSessions{}).SetEmployeeStatus(ctx, e.tenant.Admin, wang.ID, tenant.StatusDisabled)
	require.NoError(t, err)
	e.send(t, directory.ChangeUpdateUser, "UserID", "wang")
	require.Equal(t, "disabled", e.employee(t, "wang").Status)

	// Li leaves, and returns when every seat is taken: he waits for one, and the next full sync after a
	// seat frees enables him.
	e.fake.RemoveUser("li")
	e.send(t, directory.ChangeDeleteUser, "UserID", "li")
	_, err = e.db.Super.Exec(ctx, `UPDATE tenants SET seat_limit = (SELECT count(*) FROM employees WHERE tenant_id = $1 AND status = 'active')
		WHERE id = $1`, e.tenant.ID)
	require.NoError(t, err)
	e.fake.AddUser(wecomapi.User{UserID: "li", Name: "Li Lei", Departments: []int64{2}, Mobile: "13900000001"})
	e.send(t, directory.ChangeCreateUser, "UserID", "li")
	require.Equal(t, "disabled", e.employee(t, "li").Status)
	_, err = e.db.Super.Exec(ctx, "UPDATE tenants SET seat_limit = seat_limit + 1 WHERE id = $1", e.tenant.ID)
	require.NoError(t, err)
	res, err := e.dir.Sync(ctx, e.tenant.ID)
	require.NoError(t, err)
	require.Equal(t, 1, res.Enabled)
	require.Equal(t, "active", e.employee(t, "li").Status)
	require.Equal(t, "disabled", e.employee(t, "wang").Status)
}

// keptSessions is the session store of a test that ends no sessions it looks at.
type keptSessions struct{}

func (keptSessions) RevokeEmployeeSessions(context.Context, pgx.Tx, uuid.UUID, uuid.UUID) error {
	return nil
}
func (keptSessions) EmployeeChanged(uuid.UUID) {}

// Only admins sync or read the sync.
func TestOnlyAdminsSync(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, smallDirectory)
	e.waitSync(t)
	sales := e.db.NewEmployee(t, e.tenant.ID, authn.RoleSales, uuid.Nil)
	require.Error(t, e.dir.RequestSync(ctx, sales))
	_, err := e.dir.LastSync(ctx, sales)
	require.Error(t, err)
	require.NoError(t, e.dir.RequestSync(ctx, e.tenant.Admin))
}

// An app that sees nobody disables nobody: the sync fails, saying what to widen.
func TestFullSyncOfAnEmptyDirectoryChangesNothing(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	st := e.finishedSync(t)
	require.Contains(t, st.Error, "visible range")
	require.Equal(t, 1, e.count(t, "SELECT count(*) FROM employees WHERE tenant_id = $1 AND status = 'active'", e.tenant.ID))
}

// BenchmarkFullSync10k is the first full sync of a directory of 10,000 members in 50 departments (issue 16:
// at most 60 s), from the fake WeCom over HTTP into PostgreSQL; each iteration a new tenant.
func BenchmarkFullSync10k(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		e := build(b, func(f *wecomtest.Server) { f.SeedDirectory(50, 10_000) }, false)
		_, err := e.db.Super.Exec(ctx, "UPDATE tenants SET seat_limit = 20000 WHERE id = $1", e.tenant.ID)
		require.NoError(b, err)
		b.StartTimer()
		res, err := e.dir.Sync(ctx, e.tenant.ID)
		require.NoError(b, err)
		require.Equal(b, 10_000, res.Created)
	}
}

// leads reads the names of the teams an employee leads, with why: "Sales:home", "Support:directory".
func (e *env) leads(t *testing.T, id uuid.UUID) []string {
	t.Helper()
	rows, err := e.db.Super.Query(context.Background(), `SELECT t.name || ':' || concat_ws('+', CASE WHEN l.home THEN 'home' END,
			CASE WHEN l.granted THEN 'granted' END, CASE WHEN l.directory THEN 'directory' END)
		FROM team_leads l JOIN teams t ON t.tenant_id = l.tenant_id AND t.id = l.team_id
		WHERE l.tenant_id = $1 AND l.manager_id = $2 ORDER BY 1`, e.tenant.ID, id)
	require.NoError(t, err)
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

// A member who leads several departments leads each one's team (issue 18): by the full sync, and by
// callbacks as the directory changes; a team an admin gave them is theirs whatever the directory says.
func TestALeaderOfSeveralDepartmentsLeadsEachTeam(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, func(f *wecomtest.Server) {
		f.AddDepartment(wecomapi.Department{ID: 1, Name: "总部"})
		f.AddDepartment(wecomapi.Department{ID: 2, Name: "Sales", ParentID: 1, Leaders: []string{"li"}})
		f.AddDepartment(wecomapi.Department{ID: 3, Name: "Support", ParentID: 1, Leaders: []string{"li"}})
		f.AddDepartment(wecomapi.Department{ID: 4, Name: "Marketing", ParentID: 1})
		f.AddUser(wecomapi.User{UserID: "li", Name: "Li Lei", Departments: []int64{2, 3}, MainDepartment: 2})
		f.AddUser(wecomapi.User{UserID: "zhao", Name: "Zhao Min", Departments: []int64{3}})
	})
	st := e.waitSync(t)
	require.Equal(t, 2, st.Result.LeadsChanged, "Sales (led as her own already) and Support")
	li := e.employee(t, "li")
	require.Equal(t, "manager", li.Role)
	require.Equal(t, []string{"Sales:home+directory", "Support:directory"}, e.leads(t, li.ID))
	again, err := e.dir.Sync(ctx, e.tenant.ID)
	require.NoError(t, err)
	require.Equal(t, tenant.DirectoryResult{}, again, "a second sync changes nothing")

	// An admin gives Li Marketing as well.
	var marketing uuid.UUID
	require.NoError(t, e.db.Super.QueryRow(ctx, "SELECT id FROM teams WHERE tenant_id = $1 AND wecom_dept_id = 4", e.tenant.ID).Scan(&marketing))
	_, err = e.db.Super.Exec(ctx, "INSERT INTO team_leads (tenant_id, team_id, manager_id, granted) VALUES ($1, $2, $3, true)",
		e.tenant.ID, marketing, li.ID)
	require.NoError(t, err)

	// Li no longer leads Support, and leads Marketing in WeCom: a callback reads her departments.
	e.fake.AddDepartment(wecomapi.Department{ID: 3, Name: "Support", ParentID: 1})
	e.fake.AddDepartment(wecomapi.Department{ID: 4, Name: "Marketing", ParentID: 1, Leaders: []string{"li"}})
	e.fake.AddUser(wecomapi.User{UserID: "li", Name: "Li Lei", Departments: []int64{2, 3, 4}, MainDepartment: 2})
	e.forgotten.Delete(li.ID)
	e.send(t, directory.ChangeUpdateUser, "UserID", "li")
	require.Equal(t, []string{"Marketing:granted+directory", "Sales:home+directory"}, e.leads(t, li.ID))
	require.Eventually(t, func() bool { _, ok := e.forgotten.Load(li.ID); return ok }, 15*time.Second, 20*time.Millisecond,
		"her cached sessions are dropped: what she leads changed")

	// Out of Marketing in WeCom: still Marketing's, as the admin gave it.
	e.fake.AddDepartment(wecomapi.Department{ID: 4, Name: "Marketing", ParentID: 1})
	e.send(t, directory.ChangeUpdateUser, "UserID", "li")
	require.Equal(t, []string{"Marketing:granted", "Sales:home+directory"}, e.leads(t, li.ID))

	// Zhao, a salesperson, made leader of Support (not her main department... her only one): a manager.
	e.fake.AddDepartment(wecomapi.Department{ID: 3, Name: "Support", ParentID: 1, Leaders: []string{"zhao"}})
	e.send(t, directory.ChangeUpdateUser, "UserID", "zhao")
	zhao := e.employee(t, "zhao")
	require.Equal(t, "manager", zhao.Role)
	require.Equal(t, []string{"Support:home+directory"}, e.leads(t, zhao.ID))
}
