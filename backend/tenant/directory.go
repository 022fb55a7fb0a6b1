package tenant

import (
	"context"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/salesapp/scrm/backend/audit"
	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/tenant/internal/tenantdb"
)

// Directory is an outside directory's view of the enterprise (WeCom's departments and members), to be
// mirrored into teams and employees by ApplyDirectoryTx.
type Directory struct {
	Departments []Department
	Members     []Member
	// RemovedDepartments are departments deleted outside: their teams stay, no longer tied to them.
	RemovedDepartments []int64
	// Complete says Members is everyone: an employee tied to a member who is not in it has left.
	Complete bool
}

// Department is a department of the directory; it becomes (or updates) the team tied to its id.
type Department struct {
	ID   int64
	Name string
}

// Member is a member of the directory; they become (or update) the employee tied to their UserID.
type Member struct {
	UserID string
	Name   string
	// Department is the member's main department: their team (0, or one not in the directory: unchanged).
	Department int64
	// Leads are the departments they lead (any of theirs, their main one included). A salesperson who
	// leads their main department becomes a manager; a manager leads each one's team besides their own
	// (team_leads, migration 055), for as long as the directory says so.
	Leads []int64
	// Active is false for a member who left or was disabled outside: their employee is disabled.
	Active bool
	// Title, Phone and Email overwrite the employee's when not empty (a directory that may not read a
	// phone number leaves the one typed here).
	Title, Phone, Email string
}

// leadsOwnDepartment says the member leads their main department.
func (m Member) leadsOwnDepartment() bool {
	return m.Department > 0 && slices.Contains(m.Leads, m.Department)
}

// DirectoryResult counts what ApplyDirectoryTx did.
type DirectoryResult struct {
	TeamsCreated int `json:"teams_created"`
	TeamsUpdated int `json:"teams_updated"`
	Created      int `json:"employees_created"`
	Updated      int `json:"employees_updated"`
	Disabled     int `json:"employees_disabled"`
	// Enabled counts members who returned: employees the directory had disabled when they left.
	Enabled          int `json:"employees_enabled"`
	NoSeat           int `json:"members_without_seat"`
	AwaitingHandover int `json:"awaiting_handover"`
	// LastAdminKept counts admins who left outside but are the last active admin here: kept active.
	LastAdminKept int `json:"last_admin_kept"`
	// LeadsChanged counts the teams managers began or stopped leading for the directory.
	LeadsChanged int `json:"leads_changed"`
	// DisabledIDs are the employees disabled: the caller ends their sessions in the same transaction.
	DisabledIDs []uuid.UUID `json:"-"`
	// ChangedIDs are the employees updated (their role or team among what may have changed) and the
	// managers whose led teams it changed: what a node cached of their sessions is stale.
	ChangedIDs []uuid.UUID `json:"-"`
}

// maxNameRunes is the length teams' and employees' names may have.
const maxNameRunes = 64

// ApplyDirectoryTx mirrors d into the tenant's teams and employees inside tx. Departments become teams
// tied to their id (a team of the same name made by hand is tied rather than duplicated; a name another
// team holds gets the department's id appended). Members become employees tied to their userid (an
// unlinked employee with the member's phone number is tied rather than duplicated), salespeople unless they
// lead their department; new members take free seats and those beyond the plan's seats are counted, not
// added. Members who left are disabled and keep their customers, awaiting an admin's handover; the last
// active admin is never disabled. A member who returns is enabled again, seat permitting, when it was the
// directory that disabled them (never an employee an admin disabled). Roles are never lowered and admins are left as they are. It records one
// audit entry per employee disabled and one for the whole change.
func ApplyDirectoryTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, d Directory) (DirectoryResult, error) {
	q := tenantdb.New(tx)
	var res DirectoryResult
	limit, err := q.LockTenantSeats(ctx, tenantID)
	if err != nil {
		return res, notFound(err, "tenant")
	}
	teamOf, err := applyDepartments(ctx, q, tenantID, d, &res)
	if err != nil {
		return res, err
	}
	rows, staff, err := directoryEmployees(ctx, q, tenantID, d)
	if err != nil {
		return res, err
	}
	byUserID := make(map[string]int, len(rows))
	byPhone := map[string]int{}
	for i, r := range rows {
		if r.WecomUserid != "" {
			byUserID[r.WecomUserid] = i
		} else if r.Phone != "" {
			if _, dup := byPhone[r.Phone]; dup {
				byPhone[r.Phone] = -1 // two employees share it: tie neither
			} else {
				byPhone[r.Phone] = i
			}
		}
	}
	free := int(limit) - staff.active
	var upd, ins employeeColumns
	var leaving, returning []int
	var led directoryLeads
	seen := make(map[string]bool, len(d.Members))
	for _, m := range d.Members {
		if m.UserID == "" || seen[m.UserID] {
			continue
		}
		seen[m.UserID] = true
		i, ok := byUserID[m.UserID]
		if !ok && m.Phone != "" {
			if j, hit := byPhone[m.Phone]; hit && j >= 0 {
				i, ok = j, true
				delete(byPhone, m.Phone)
			}
		}
		if ok {
			r := rows[i]
			if !m.Active {
				if r.Status == string(StatusActive) {
					leaving = append(leaving, i)
				}
				continue
			}
			if r.Status == string(StatusDisabled) && r.LeftDirectory {
				if free > 0 {
					free--
					returning = append(returning, i)
				} else {
					res.NoSeat++
				}
			}
			next := r
			next.WecomUserid = m.UserID
			next.Name = clip(m.Name, m.UserID)
			if t, ok := teamOf[m.Department]; ok {
				next.TeamID = uuid.NullUUID{UUID: t, Valid: true}
			}
			if m.leadsOwnDepartment() && r.Role == string(authn.RoleSales) {
				next.Role = string(authn.RoleManager)
			}
			next.Title, next.Phone, next.Email = keep(m.Title, r.Title), keep(m.Phone, r.Phone), keep(m.Email, r.Email)
			led.add(next.ID, authn.Role(next.Role), m.Leads, teamOf)
			if next != r {
				upd.add(next.ID, next.Name, next.Role, next.TeamID.UUID, next.Title, next.Phone, next.Email, next.WecomUserid)
			}
			continue
		}
		if !m.Active {
			continue
		}
		if free <= 0 {
			res.NoSeat++
			continue
		}
		free--
		role := authn.RoleSales
		if m.leadsOwnDepartment() {
			role = authn.RoleManager
		}
		id := uuid.Must(uuid.NewV7())
		ins.add(id, clip(m.Name, m.UserID), string(role), teamOf[m.Department], m.Title, m.Phone, m.Email, m.UserID)
		led.add(id, role, m.Leads, teamOf)
	}
	if d.Complete {
		for _, r := range rows {
			if r.WecomUserid != "" && !seen[r.WecomUserid] && r.Status == string(StatusActive) {
				leaving = append(leaving, byUserID[r.WecomUserid])
			}
		}
	}
	if len(upd.ids) > 0 {
		if err := q.UpdateDirectoryEmployees(ctx, upd.updateParams(tenantID)); err != nil {
			return res, employeeWriteError(err)
		}
		res.Updated = len(upd.ids)
		res.ChangedIDs = append(res.ChangedIDs, upd.ids...)
	}
	if len(ins.ids) > 0 {
		if err := q.InsertDirectoryEmployees(ctx, ins.insertParams(tenantID)); err != nil {
			return res, employeeWriteError(err)
		}
		res.Created = len(ins.ids)
	}
	if res.LeadsChanged, err = led.apply(ctx, q, tenantID); err != nil {
		return res, err
	}
	if res.LeadsChanged > 0 {
		res.ChangedIDs = append(res.ChangedIDs, led.named...)
	}
	if err := disableLeavers(ctx, tx, q, tenantID, rows, staff.admins, leaving, &res); err != nil {
		return res, err
	}
	if err := enableReturning(ctx, tx, q, tenantID, rows, returning, &res); err != nil {
		return res, err
	}
	if res.TeamsCreated+res.TeamsUpdated+res.Created+res.Updated+res.Disabled+res.Enabled+res.NoSeat+res.LastAdminKept+res.LeadsChanged == 0 {
		return res, nil
	}
	return res, audit.RecordTx(ctx, tx, tenantID, audit.Entry{Action: audit.DirectorySync, TargetKind: audit.TargetTenant,
		TargetID: tenantID, After: res})
}

// directoryLeads are the teams the directory says its managers lead: pairs (managers[i] leads teams[i]) of
// the managers it named, each of whom leads exactly those for the directory afterwards.
type directoryLeads struct {
	named           []uuid.UUID
	managers, teams []uuid.UUID
}

// add names an employee the directory has just written, with the departments they lead: a manager
// leads their teams (departments not tied to a team are skipped); anyone else none.
func (d *directoryLeads) add(id uuid.UUID, role authn.Role, depts []int64, teamOf map[int64]uuid.UUID) {
	if role != authn.RoleManager {
		return // (team_leads holds managers only: whoever stops being one loses every row)
	}
	d.named = append(d.named, id)
	from := len(d.teams)
	for _, dep := range depts {
		if t, ok := teamOf[dep]; ok && !slices.Contains(d.teams[from:], t) {
			d.managers, d.teams = append(d.managers, id), append(d.teams, t)
		}
	}
}

// apply makes team_leads say what the directory says for the managers it named, and counts the rows it
// changed.
func (d *directoryLeads) apply(ctx context.Context, q *tenantdb.Queries, tenantID uuid.UUID) (int, error) {
	if len(d.named) == 0 {
		return 0, nil
	}
	managers, teams := append([]uuid.UUID{}, d.managers...), append([]uuid.UUID{}, d.teams...) // (never NULL)
	n1, err := q.UndirectLeads(ctx, tenantdb.UndirectLeadsParams{TenantID: tenantID, Managers: d.named, ManagerIds: managers, TeamIds: teams})
	if err != nil {
		return 0, err
	}
	n2, err := q.DropDirectoryLeads(ctx, tenantdb.DropDirectoryLeadsParams{TenantID: tenantID, Managers: d.named, ManagerIds: managers, TeamIds: teams})
	if err != nil {
		return 0, err
	}
	n3, err := q.DirectLeads(ctx, tenantdb.DirectLeadsParams{TenantID: tenantID, ManagerIds: managers, TeamIds: teams})
	return int(n1 + n2 + n3), err
}

// staffCounts are the tenant's active employees (seats taken) and active admins.
type staffCounts struct{ active, admins int }

// directoryEmployees reads the employees d may touch, and the staff counts. A complete directory reads
// them all (members missing from it leave); a partial change (a callback) reads only those tied to its
// members' userids or untied with their phones, and counts the rest in the database.
func directoryEmployees(ctx context.Context, q *tenantdb.Queries, tenantID uuid.UUID, d Directory) ([]tenantdb.ListDirectoryEmployeesRow, staffCounts, error) {
	var c staffCounts
	if d.Complete {
		rows, err := q.ListDirectoryEmployees(ctx, tenantID)
		for _, r := range rows {
			if r.Status == string(StatusActive) {
				c.active++
				if r.Role == string(authn.RoleAdmin) {
					c.admins++
				}
			}
		}
		return rows, c, err
	}
	if len(d.Members) == 0 {
		return nil, c, nil
	}
	userIDs := make([]string, 0, len(d.Members))
	phones := []string{}
	for _, m := range d.Members {
		userIDs = append(userIDs, m.UserID)
		if m.Phone != "" {
			phones = append(phones, m.Phone)
		}
	}
	found, err := q.ListDirectoryEmployeesFor(ctx, tenantdb.ListDirectoryEmployeesForParams{TenantID: tenantID, Userids: userIDs, Phones: phones})
	if err != nil {
		return nil, c, err
	}
	counts, err := q.CountDirectoryStaff(ctx, tenantID)
	c.active, c.admins = int(counts.Active), int(counts.Admins)
	rows := make([]tenantdb.ListDirectoryEmployeesRow, len(found))
	for i, r := range found {
		rows[i] = tenantdb.ListDirectoryEmployeesRow(r)
	}
	return rows, c, err
}

// applyDepartments creates and renames the teams of d's departments and unties removed ones; it returns
// each known department's team.
func applyDepartments(ctx context.Context, q *tenantdb.Queries, tenantID uuid.UUID, d Directory, res *DirectoryResult) (map[int64]uuid.UUID, error) {
	if len(d.RemovedDepartments) > 0 {
		if err := q.UnlinkDirectoryTeams(ctx, tenantdb.UnlinkDirectoryTeamsParams{TenantID: tenantID, DeptIds: d.RemovedDepartments}); err != nil {
			return nil, err
		}
	}
	rows, err := q.ListDirectoryTeams(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	type team struct {
		id   uuid.UUID
		name string
		dept int64 // 0: not tied
	}
	teamOf := map[int64]uuid.UUID{}
	byName := map[string]*team{}
	byDept := map[int64]*team{}
	for _, r := range rows {
		t := &team{id: r.ID, name: r.Name, dept: r.WecomDeptID.Int64}
		byName[t.name] = t
		if r.WecomDeptID.Valid {
			byDept[t.dept] = t
			teamOf[t.dept] = t.id
		}
	}
	for _, dep := range d.Departments {
		if dep.ID <= 0 {
			continue
		}
		name := clip(dep.Name, "Department "+strconv.FormatInt(dep.ID, 10))
		t := byDept[dep.ID]
		if other := byName[name]; other != nil && other != t {
			if t == nil && other.dept == 0 {
				t = other // a team of this name made by hand: tie it to the department
			} else {
				name = clipSuffix(name, " ("+strconv.FormatInt(dep.ID, 10)+")")
			}
		}
		if t == nil {
			t = &team{id: uuid.Must(uuid.NewV7()), name: name, dept: dep.ID}
			if err := q.InsertDirectoryTeam(ctx, tenantdb.InsertDirectoryTeamParams{ID: t.id, TenantID: tenantID, Name: name,
				WecomDeptID: pgtype.Int8{Int64: dep.ID, Valid: true}}); err != nil {
				return nil, err
			}
			res.TeamsCreated++
		} else {
			if t.name == name && t.dept == dep.ID {
				continue
			}
			if err := q.UpdateDirectoryTeam(ctx, tenantdb.UpdateDirectoryTeamParams{TenantID: tenantID, ID: t.id, Name: name,
				WecomDeptID: pgtype.Int8{Int64: dep.ID, Valid: true}}); err != nil {
				return nil, err
			}
			if byName[t.name] == t {
				delete(byName, t.name)
			}
			t.name, t.dept = name, dep.ID
			res.TeamsUpdated++
		}
		byName[name], byDept[dep.ID], teamOf[dep.ID] = t, t, t.id
	}
	return teamOf, nil
}

// disableLeavers disables the employees at rows[leaving] (never the last active admin) and counts those
// who still own customers.
func disableLeavers(ctx context.Context, tx pgx.Tx, q *tenantdb.Queries, tenantID uuid.UUID, rows []tenantdb.ListDirectoryEmployeesRow, admins int, leaving []int, res *DirectoryResult) error {
	if len(leaving) == 0 {
		return nil
	}
	var ids []uuid.UUID
	for _, i := range leaving {
		if rows[i].Role == string(authn.RoleAdmin) {
			if admins <= 1 {
				res.LastAdminKept++
				continue
			}
			admins--
		}
		ids = append(ids, rows[i].ID)
	}
	if len(ids) == 0 {
		return nil
	}
	done, err := q.DisableDirectoryEmployees(ctx, tenantdb.DisableDirectoryEmployeesParams{TenantID: tenantID, Ids: ids})
	if err != nil {
		return err
	}
	res.Disabled, res.DisabledIDs = len(done), done
	for _, id := range done {
		n, err := customer.CountOwnedTx(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		after := map[string]any{"status": string(StatusDisabled), "reason": "left the WeCom directory"}
		if n > 0 {
			res.AwaitingHandover++
			after["customers_awaiting_handover"] = n
		}
		if err := audit.RecordTx(ctx, tx, tenantID, audit.Entry{Action: audit.EmployeeDisable, TargetKind: audit.TargetEmployee,
			TargetID: id, Before: map[string]string{"status": string(StatusActive)}, After: after}); err != nil {
			return err
		}
	}
	return nil
}

// enableReturning enables the employees at rows[returning], whom the directory disabled when they left
// and lists as active again, and records each.
func enableReturning(ctx context.Context, tx pgx.Tx, q *tenantdb.Queries, tenantID uuid.UUID, rows []tenantdb.ListDirectoryEmployeesRow, returning []int, res *DirectoryResult) error {
	if len(returning) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(returning))
	for k, i := range returning {
		ids[k] = rows[i].ID
	}
	done, err := q.EnableDirectoryEmployees(ctx, tenantdb.EnableDirectoryEmployeesParams{TenantID: tenantID, Ids: ids})
	if err != nil {
		return err
	}
	res.Enabled = len(done)
	for _, id := range done {
		if err := audit.RecordTx(ctx, tx, tenantID, audit.Entry{Action: audit.EmployeeEnable, TargetKind: audit.TargetEmployee,
			TargetID: id, Before: map[string]string{"status": string(StatusDisabled)},
			After: map[string]string{"status": string(StatusActive), "reason": "returned to the WeCom directory"}}); err != nil {
			return err
		}
	}
	return nil
}

// RenameDirectoryUserTx re-ties the employee of userid old to userid new (WeCom lets an admin change a
// member's userid once). It reports whether an employee was tied to old.
func RenameDirectoryUserTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, old, new string) (bool, error) {
	if old == "" || new == "" || old == new {
		return false, nil
	}
	n, err := tenantdb.New(tx).RenameWeComUserID(ctx, tenantdb.RenameWeComUserIDParams{TenantID: tenantID, OldUserid: old, NewUserid: new})
	if err != nil {
		return false, employeeWriteError(err)
	}
	return n > 0, nil
}

// employeeColumns gathers employees column by column for one set-based statement.
type employeeColumns struct {
	ids, teams                                 []uuid.UUID
	names, roles, titles, phones, emails, uids []string
}

func (c *employeeColumns) add(id uuid.UUID, name, role string, team uuid.UUID, title, phone, email, userid string) {
	c.ids, c.names, c.roles, c.teams = append(c.ids, id), append(c.names, name), append(c.roles, role), append(c.teams, team)
	c.titles, c.phones, c.emails, c.uids = append(c.titles, title), append(c.phones, phone), append(c.emails, email), append(c.uids, userid)
}

func (c *employeeColumns) updateParams(tenantID uuid.UUID) tenantdb.UpdateDirectoryEmployeesParams {
	return tenantdb.UpdateDirectoryEmployeesParams{TenantID: tenantID, Ids: c.ids, Names: c.names, Roles: c.roles, TeamIds: c.teams,
		Titles: c.titles, Phones: c.phones, Emails: c.emails, WecomUserids: c.uids}
}

func (c *employeeColumns) insertParams(tenantID uuid.UUID) tenantdb.InsertDirectoryEmployeesParams {
	return tenantdb.InsertDirectoryEmployeesParams{TenantID: tenantID, Ids: c.ids, Names: c.names, Roles: c.roles, TeamIds: c.teams,
		Titles: c.titles, Phones: c.phones, Emails: c.emails, WecomUserids: c.uids}
}

// keep is v, or old when v is empty.
func keep(v, old string) string {
	if v == "" {
		return old
	}
	return v
}

// clip is s cut to the names' length, or fallback when s is empty.
func clip(s, fallback string) string {
	if s == "" {
		s = fallback
	}
	return clipSuffix(s, "")
}

// clipSuffix is s+suffix, s shortened so that the whole fits a name.
func clipSuffix(s, suffix string) string {
	room := maxNameRunes - utf8.RuneCountInString(suffix)
	if utf8.RuneCountInString(s) > room {
		r := []rune(s)
		s = string(r[:room])
	}
	return s + suffix
}
