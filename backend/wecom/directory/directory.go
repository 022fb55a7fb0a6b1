// Package directory keeps teams and employees in step with a tenant's WeCom directory (issue 16, point
// 4): a full sync when the tenant connects and on demand (a River job, one at a time per tenant), and each
// change_contact callback as it comes. The writes are the tenant domain's (tenant.ApplyDirectoryTx); this
// package reads WeCom and says what the directory is.
package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"golang.org/x/sync/errgroup"

	"github.com/salesapp/scrm/backend/auth"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/tenant"
	"github.com/salesapp/scrm/backend/wecom"
	"github.com/salesapp/scrm/backend/wecom/directory/internal/directorydb"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
)

// The change types of change_contact this package handles.
const (
	ChangeCreateUser   = "create_user"
	ChangeUpdateUser   = "update_user"
	ChangeDeleteUser   = "delete_user"
	ChangeCreateParty  = "create_party"
	ChangeUpdateParty  = "update_party"
	ChangeDeleteParty  = "delete_party"
	eventChangeContact = "change_contact"
)

// Kinds are the callback kinds OnChange handles.
var Kinds = []wecom.Kind{
	{MsgType: "event", Event: eventChangeContact, ChangeType: ChangeCreateUser},
	{MsgType: "event", Event: eventChangeContact, ChangeType: ChangeUpdateUser},
	{MsgType: "event", Event: eventChangeContact, ChangeType: ChangeDeleteUser},
	{MsgType: "event", Event: eventChangeContact, ChangeType: ChangeCreateParty},
	{MsgType: "event", Event: eventChangeContact, ChangeType: ChangeUpdateParty},
	{MsgType: "event", Event: eventChangeContact, ChangeType: ChangeDeleteParty},
}

// Config is what the service is built from.
type Config struct {
	DB    *platform.DB
	WeCom *wecom.Service
	// Queue inserts the sync jobs (in the transaction that connects a tenant, or on demand).
	Queue jobs.Inserter
	// EmployeeChanged drops this node's cached view of the sessions of an employee the directory disabled
	// or changed, after commit (nil: none; other nodes see the change within the cache's TTL).
	EmployeeChanged func(uuid.UUID)
	// Synced runs in the transaction that records a full sync's success (nil: nothing): the contacts'
	// first import, which needs the employees the sync made.
	Synced func(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID) error
	Log    *slog.Logger
	// Now tells the time (time.Now when nil).
	Now func() time.Time
}

// Service syncs directories.
type Service struct {
	cfg Config
}

// NewService builds the service.
func NewService(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}
}

// Register gives the bridge the handlers of every kind in Kinds, and queues a full sync whenever a
// tenant's WeCom configuration is set.
func (s *Service) Register(w *wecom.Service) {
	for _, k := range Kinds {
		w.Handle(k, s.OnChange)
	}
	w.OnConfigured(s.queueTx)
}

// Workers registers the full sync's worker.
func (s *Service) Workers(w *river.Workers) { river.AddWorker(w, &SyncWorker{s: s}) }

// SyncArgs is the job of one tenant's full sync.
type SyncArgs struct {
	TenantID uuid.UUID `json:"tenant_id"`
}

// Kind implements river.JobArgs.
func (SyncArgs) Kind() string { return "wecom_directory_sync" }

// syncAttempts bounds the tries of a full sync (WeCom down, a frequency limit).
const syncAttempts = 5

// InsertOpts implements river.JobArgsWithInsertOpts: one sync waiting or running per tenant (River requires
// a running job to count; a change made while a sync runs still comes by its callback).
func (SyncArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueWeCom, MaxAttempts: syncAttempts, UniqueOpts: river.UniqueOpts{
		ByArgs: true, ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
			rivertype.JobStateRunning, rivertype.JobStateScheduled, rivertype.JobStateRetryable},
	}}
}

func (s *Service) queueTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID) error {
	if err := s.cfg.Queue.InsertTx(ctx, tx, SyncArgs{TenantID: tenantID}, nil); err != nil {
		return fmt.Errorf("queue the directory sync: %w", err)
	}
	return nil
}

// SyncWorker runs SyncArgs.
type SyncWorker struct {
	river.WorkerDefaults[SyncArgs]
	s *Service
}

// Timeout implements river.Worker: reading 10,000 members one by one (where WeCom refuses user/list)
// takes minutes.
func (*SyncWorker) Timeout(*river.Job[SyncArgs]) time.Duration { return 15 * time.Minute }

// Work implements river.Worker.
func (w *SyncWorker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	_, err := w.s.Sync(ctx, job.Args.TenantID)
	if errors.Is(err, errNotConfigured) {
		return river.JobCancel(err)
	}
	if k := platform.KindOf(err); k == platform.KindPermissionDenied || k == platform.KindFailedPrecondition {
		return river.JobCancel(err) // retrying will not grant the permission or widen the range; the status says which
	}
	return err
}

var errNotConfigured = errors.New("directory: WeCom is not configured")

// RequestSync queues a full sync of the caller's tenant. Admin only.
func (s *Service) RequestSync(ctx context.Context, p authn.Principal) error {
	if p.Role != authn.RoleAdmin {
		return platform.PermissionDenied("only an admin may sync the WeCom directory")
	}
	if _, err := s.cfg.WeCom.Client(ctx, p.TenantID, wecom.AppAgent); err != nil {
		return err
	}
	return s.cfg.DB.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error { return s.queueTx(ctx, tx, p.TenantID) })
}

// Status is how the last full sync went.
type Status struct {
	StartedAt  time.Time
	FinishedAt time.Time // zero while it runs
	Result     tenant.DirectoryResult
	Error      string
}

// LastSync reads the last full sync of the caller's tenant (nil when none ran). Admin only.
func (s *Service) LastSync(ctx context.Context, p authn.Principal) (*Status, error) {
	if p.Role != authn.RoleAdmin {
		return nil, platform.PermissionDenied("only an admin may read the WeCom directory's sync")
	}
	var out *Status
	err := s.cfg.DB.InTenantSnapshot(ctx, p.TenantID, func(tx pgx.Tx) error {
		r, err := directorydb.New(tx).GetSync(ctx, p.TenantID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		out = &Status{StartedAt: r.StartedAt, Error: r.Error}
		if r.FinishedAt != nil {
			out.FinishedAt = *r.FinishedAt
		}
		return json.Unmarshal(r.Result, &out.Result)
	})
	return out, err
}

// Sync reads the tenant's whole directory from WeCom and applies it in one transaction, recording how it
// went for LastSync.
func (s *Service) Sync(ctx context.Context, tenantID uuid.UUID) (tenant.DirectoryResult, error) {
	if err := s.cfg.DB.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		return directorydb.New(tx).StartSync(ctx, directorydb.StartSyncParams{TenantID: tenantID, StartedAt: s.cfg.Now()})
	}); err != nil {
		return tenant.DirectoryResult{}, err
	}
	res, err := s.sync(ctx, tenantID)
	msg := ""
	if err != nil {
		msg = wecom.ClipError(err)
	}
	body, merr := json.Marshal(res)
	if merr != nil {
		return res, merr
	}
	if ferr := s.cfg.DB.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		if err := directorydb.New(tx).FinishSync(ctx, directorydb.FinishSyncParams{TenantID: tenantID, FinishedAt: ptr(s.cfg.Now()),
			Result: body, Error: msg}); err != nil || msg != "" || s.cfg.Synced == nil {
			return err
		}
		return s.cfg.Synced(ctx, tx, tenantID)
	}); ferr != nil {
		return res, errors.Join(err, ferr)
	}
	if err != nil {
		s.cfg.Log.WarnContext(ctx, "wecom directory sync failed", "tenant", tenantID, "err", err)
	}
	return res, err
}

func (s *Service) sync(ctx context.Context, tenantID uuid.UUID) (tenant.DirectoryResult, error) {
	client, err := s.cfg.WeCom.Client(ctx, tenantID, wecom.AppAgent)
	if platform.KindOf(err) == platform.KindFailedPrecondition {
		return tenant.DirectoryResult{}, errors.Join(errNotConfigured, err)
	}
	if err != nil {
		return tenant.DirectoryResult{}, err
	}
	dir, err := readDirectory(ctx, client)
	if err != nil {
		return tenant.DirectoryResult{}, err
	}
	return s.apply(ctx, tenantID, dir)
}

// apply applies dir in one transaction and ends the sessions of whoever it disabled.
func (s *Service) apply(ctx context.Context, tenantID uuid.UUID, dir tenant.Directory) (tenant.DirectoryResult, error) {
	var res tenant.DirectoryResult
	err := s.cfg.DB.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		res, err = s.applyTx(ctx, tx, tenantID, dir)
		return err
	})
	if err == nil {
		s.forget(res.DisabledIDs)
		s.forget(res.ChangedIDs)
	}
	return res, err
}

func (s *Service) applyTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, dir tenant.Directory) (tenant.DirectoryResult, error) {
	res, err := tenant.ApplyDirectoryTx(ctx, tx, tenantID, dir)
	if err != nil {
		return res, err
	}
	for _, id := range res.DisabledIDs {
		if err := auth.EndSessionsTx(ctx, tx, tenantID, id, uuid.Nil); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (s *Service) forget(ids []uuid.UUID) {
	if s.cfg.EmployeeChanged == nil {
		return
	}
	for _, id := range ids {
		s.cfg.EmployeeChanged(id)
	}
}

// readDirectory reads every department the app may see and every member in them: user/list from each
// top department with its sub-departments (one call each), or, where WeCom refuses user/list to the app
// (apps made after 2022-08-15), every userid (user/list_id) read one by one.
func readDirectory(ctx context.Context, c *wecomapi.Client) (tenant.Directory, error) {
	depts, err := c.Departments(ctx, 0)
	if err != nil {
		return tenant.Directory{}, err
	}
	visible := make(map[int64]bool, len(depts))
	for _, d := range depts {
		visible[d.ID] = true
	}
	dir := tenant.Directory{Complete: true}
	leaders := map[int64][]string{}
	for _, d := range depts {
		dir.Departments = append(dir.Departments, tenant.Department{ID: d.ID, Name: d.Name})
		leaders[d.ID] = d.Leaders
	}
	var users []wecomapi.User
	for _, d := range depts {
		if visible[d.ParentID] {
			continue // listed with its top department
		}
		list, err := c.DepartmentUsers(ctx, d.ID, true)
		if wecomapi.HasCode(err, wecomapi.CodeAPIForbidden) {
			users, err = readOneByOne(ctx, c)
			if err != nil {
				return tenant.Directory{}, err
			}
			break
		}
		if err != nil {
			return tenant.Directory{}, err
		}
		users = append(users, list...)
	}
	if len(users) == 0 {
		// Everyone gone at once is an app that sees nobody, not a company that emptied: disabling every
		// employee on its word would lock the tenant out.
		return tenant.Directory{}, platform.FailedPrecondition("the WeCom app sees no members: widen its visible range (可见范围) in the WeCom admin console, then sync again")
	}
	seen := map[string]bool{}
	for _, u := range users {
		if seen[u.UserID] {
			continue
		}
		seen[u.UserID] = true
		dir.Members = append(dir.Members, memberOf(u, leaders))
	}
	return dir, nil
}

// readConcurrency bounds the user/get calls in flight when members are read one by one.
const readConcurrency = 8

func readOneByOne(ctx context.Context, c *wecomapi.Client) ([]wecomapi.User, error) {
	var ids []string
	seen := map[string]bool{}
	for cursor, pages := "", 0; ; pages++ {
		if pages > 1000 {
			return nil, errors.New("wecom user/list_id: more than 1000 pages")
		}
		page, err := c.UserIDs(ctx, cursor, wecomapi.MaxUserIDLimit)
		if err != nil {
			return nil, err
		}
		for _, du := range page.Users {
			if !seen[du.UserID] {
				seen[du.UserID] = true
				ids = append(ids, du.UserID)
			}
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	users := make([]wecomapi.User, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(readConcurrency)
	for i, id := range ids {
		g.Go(func() error {
			u, err := c.User(gctx, id)
			if platform.KindOf(err) == platform.KindNotFound {
				u, err = wecomapi.User{UserID: id, Status: wecomapi.UserResigned}, nil // gone since listed
			}
			users[i] = u
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return users, nil
}

func mainDepartment(u wecomapi.User) int64 {
	if u.MainDepartment > 0 {
		return u.MainDepartment
	}
	if len(u.Departments) > 0 {
		return u.Departments[0]
	}
	return 0
}

// memberOf is the member u is, given the leaders of (at least) their departments: the leader of their
// main department becomes a manager, and leads the teams of every department of theirs they lead.
func memberOf(u wecomapi.User, leaders map[int64][]string) tenant.Member {
	m := tenant.Member{UserID: u.UserID, Name: u.Name, Department: mainDepartment(u),
		Active: u.Status != wecomapi.UserDisabled && u.Status != wecomapi.UserResigned,
		Title:  u.Position, Phone: u.Mobile, Email: u.Email}
	for _, d := range departmentsOf(u) {
		if slices.Contains(leaders[d], u.UserID) {
			m.Leads = append(m.Leads, d)
		}
	}
	return m
}

// departmentsOf are u's departments, their main one first.
func departmentsOf(u wecomapi.User) []int64 {
	out := make([]int64, 0, len(u.Departments)+1)
	if main := mainDepartment(u); main > 0 {
		out = append(out, main)
	}
	for _, d := range u.Departments {
		if d > 0 && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// OnChange applies a change_contact callback inside the dispatcher's transaction. A member created or
// updated is read from WeCom (user/get: the callback carries only what changed) with their main
// department; a member deleted is disabled, keeping their customers. A department created or renamed
// becomes or renames its team; one deleted leaves its team untied.
func (s *Service) OnChange(ctx context.Context, tx pgx.Tx, ev wecom.Event) error {
	f := ev.Fields
	var dir tenant.Directory
	switch ev.Kind.ChangeType {
	case ChangeCreateUser, ChangeUpdateUser:
		userID := f["UserID"]
		if userID == "" {
			return nil
		}
		if nu := f["NewUserID"]; nu != "" && nu != userID {
			if _, err := tenant.RenameDirectoryUserTx(ctx, tx, ev.TenantID, userID, nu); err != nil {
				return err
			}
			userID = nu
		}
		client, err := s.cfg.WeCom.ClientTx(ctx, tx, ev.TenantID, wecom.AppAgent)
		if err != nil {
			return err
		}
		u, err := client.User(ctx, userID)
		if platform.KindOf(err) == platform.KindNotFound {
			return nil // deleted again before we read them: delete_user follows
		}
		if err != nil {
			return err
		}
		// Their departments, for their names and leaders: one department/list of all the app sees (a
		// member may be in up to 100 departments; the list answers the whole tree in one call).
		leaders := map[int64][]string{}
		if theirs := departmentsOf(u); len(theirs) > 0 {
			depts, err := client.Departments(ctx, 0)
			if err != nil {
				return err
			}
			for _, dep := range depts {
				if slices.Contains(theirs, dep.ID) {
					dir.Departments = append(dir.Departments, tenant.Department{ID: dep.ID, Name: dep.Name})
					leaders[dep.ID] = dep.Leaders
				}
			}
		}
		dir.Members = []tenant.Member{memberOf(u, leaders)}
	case ChangeDeleteUser:
		if f["UserID"] == "" {
			return nil
		}
		dir.Members = []tenant.Member{{UserID: f["UserID"], Active: false}}
	case ChangeCreateParty, ChangeUpdateParty:
		id, err := strconv.ParseInt(f["Id"], 10, 64)
		if err != nil || id <= 0 || f["Name"] == "" {
			return nil // an update that did not rename (a move, a new order) changes nothing here
		}
		dir.Departments = []tenant.Department{{ID: id, Name: f["Name"]}}
	case ChangeDeleteParty:
		id, err := strconv.ParseInt(f["Id"], 10, 64)
		if err != nil || id <= 0 {
			return nil
		}
		dir.RemovedDepartments = []int64{id}
	default:
		return nil
	}
	res, err := s.applyTx(ctx, tx, ev.TenantID, dir)
	if err != nil {
		return err
	}
	// The dispatcher commits after this returns; a cache dropped before could reload the state before the
	// commit. So this node's cached view of a disabled member's sessions is dropped after it (other nodes
	// drop theirs within the sessions' cache TTL).
	wecom.AfterCommit(ctx, func() {
		s.forget(res.DisabledIDs)
		s.forget(res.ChangedIDs)
	})
	return nil
}

func ptr[T any](v T) *T { return &v }
