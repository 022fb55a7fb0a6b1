package contact

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/wecom"
	"github.com/salesapp/scrm/backend/wecom/contact/internal/contactdb"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
)

// Our tags go to WeCom (issue 16, point 9, "synced both ways"): a change to the tags of a customer who is
// a WeCom contact is recorded in the wecom_tag_changes outbox in its own transaction (the
// customers_wecom_tags trigger, migrations 034 and 038, so every way tags change is covered). Every
// tagScanEvery a periodic job (TagScanArgs) queues one TagPushArgs job per tenant with changes, which marks
// them on WeCom in order, as the customer's owner, for the tags the corp tag library has by name, and
// deletes them. A tag the library lacks stays ours: an admin "configures" a tag for WeCom by making it there
// (AddCorpTags). The way back is the mirror of add and edit callbacks (tags.go), which only adds: a tag we
// push comes back as one the customer has.

// tagScanEvery is how often the outbox is looked at: what a tag change may wait before it is marked.
const tagScanEvery = 3 * time.Second

// TagScanArgs is the periodic job queuing the tenants' tag pushes.
type TagScanArgs struct{}

// Kind implements river.JobArgs.
func (TagScanArgs) Kind() string { return "wecom_tag_scan" }

// TagPushArgs is the job marking a tenant's tag changes on WeCom.
type TagPushArgs struct {
	TenantID uuid.UUID `json:"tenant_id"`
}

// Kind implements river.JobArgs.
func (TagPushArgs) Kind() string { return "wecom_mark_tags" }

// Periodic are the contact domain's periodic jobs: the outbox scan.
func (s *Service) Periodic() []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(tagScanEvery),
		func() (river.JobArgs, *river.InsertOpts) {
			return TagScanArgs{}, &river.InsertOpts{Queue: jobs.QueueWeCom}
		},
		&river.PeriodicJobOpts{RunOnStart: true})}
}

// TagScanWorker queues a TagPushArgs job for each tenant with tag changes, one at a time per tenant.
type TagScanWorker struct {
	river.WorkerDefaults[TagScanArgs]
	s *Service
}

// Work implements river.Worker.
func (w *TagScanWorker) Work(ctx context.Context, _ *river.Job[TagScanArgs]) error {
	tenants, err := contactdb.New(w.s.cfg.DB.Pool).TagChangeTenants(ctx)
	if err != nil || len(tenants) == 0 {
		return err
	}
	in := make([]river.InsertManyParams, len(tenants))
	for i, t := range tenants {
		// One job per tenant waiting or running: a running one takes the changes made meanwhile, and what
		// it misses the next scan queues.
		in[i] = river.InsertManyParams{Args: TagPushArgs{TenantID: t}, InsertOpts: &river.InsertOpts{Queue: jobs.QueueWeCom,
			UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{rivertype.JobStateAvailable,
				rivertype.JobStatePending, rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}}}}
	}
	return pgx.BeginFunc(ctx, w.s.cfg.DB.Pool, func(tx pgx.Tx) error { return w.s.cfg.Queue.InsertManyTx(ctx, tx, in) })
}

// TagPushWorker marks a tenant's tag changes on WeCom.
type TagPushWorker struct {
	river.WorkerDefaults[TagPushArgs]
	s *Service
}

// libraryTTL is how long a tenant's corp tag library (names to ids) is used before it is read again: a
// rule's first pass may change thousands of customers.
const libraryTTL = time.Minute

func newLibraryCache() *expirable.LRU[uuid.UUID, map[string]string] {
	return expirable.NewLRU[uuid.UUID, map[string]string](1000, nil, libraryTTL)
}

// tagPage is how many changes are read at a time.
const tagPage = 100

// Work marks the tenant's changes in order until none are left, deleting each once done. WeCom saying the
// owner does not follow the customer, a change with no tag the library knows, or a customer no longer a
// contact (or no owner in WeCom, or a plan without WeCom) is done with nothing to mark; WeCom refusing for
// want of permission drops the change with a warning (a retry would be refused the same way); any other
// error leaves the change, and those after it, for River's retry.
func (w *TagPushWorker) Work(ctx context.Context, job *river.Job[TagPushArgs]) error {
	s, tenantID := w.s, job.Args.TenantID
	for {
		var changes []contactdb.NextTagChangesRow
		err := s.cfg.DB.InTenantSnapshot(ctx, tenantID, func(tx pgx.Tx) error {
			var err error
			changes, err = contactdb.New(tx).NextTagChanges(ctx, contactdb.NextTagChangesParams{TenantID: tenantID, MaxRows: tagPage})
			return err
		})
		if err != nil || len(changes) == 0 {
			return err
		}
		for _, c := range changes {
			err := s.markChange(ctx, tenantID, c)
			if wecomapi.IsPermission(err) {
				s.cfg.Log.WarnContext(ctx, "wecom tags not marked: permission refused", "tenant_id", tenantID, "error", err)
				err = nil
			}
			if err != nil {
				return err
			}
			if err := s.cfg.DB.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
				return contactdb.New(tx).DeleteTagChange(ctx, contactdb.DeleteTagChangeParams{TenantID: tenantID, ID: c.ID})
			}); err != nil {
				return err
			}
		}
	}
}

// markChange marks one change on every external userid of the customer, as their owner.
func (s *Service) markChange(ctx context.Context, tenantID uuid.UUID, c contactdb.NextTagChangesRow) error {
	var targets []contactdb.TagPushTargetsRow
	var client *wecomapi.Client
	err := s.cfg.DB.InTenantSnapshot(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		targets, err = contactdb.New(tx).TagPushTargets(ctx, contactdb.TagPushTargetsParams{TenantID: tenantID, CustomerID: c.CustomerID})
		if err != nil || len(targets) == 0 {
			return err
		}
		client, err = s.cfg.WeCom.ClientTx(ctx, tx, tenantID, wecom.AppContact)
		if platform.KindOf(err) == platform.KindNotFound {
			targets, err = nil, nil // no configuration any more: nothing to mark, and no retry would find one
		}
		return err
	})
	if err != nil || len(targets) == 0 {
		return err
	}
	ids, err := s.tagIDs(ctx, tenantID, client)
	if err != nil {
		return err
	}
	pick := func(names []string) []string {
		var out []string
		for _, n := range names {
			if id, ok := ids[n]; ok && !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
		return out
	}
	add, remove := pick(c.Added), pick(c.Removed)
	if len(add) == 0 && len(remove) == 0 {
		return nil
	}
	for _, t := range targets {
		err := client.MarkTags(ctx, wecomapi.Marking{UserID: t.WecomUserid, ExternalUserID: t.ExternalUserid, Add: add, Remove: remove})
		switch {
		case err == nil, wecomapi.HasCode(err, wecomapi.CodeNotExternalContact), wecomapi.HasCode(err, wecomapi.CodeUserNotFound):
			// marked, or the owner does not follow this one on WeCom
		case wecomapi.HasCode(err, wecomapi.CodeInvalidTagID):
			s.libraries.Remove(tenantID) // the library changed under us: read it again on the retry
			return err
		default:
			return err
		}
	}
	return nil
}

// tagIDs is the tenant's corp tag library by name, from the cache when fresh.
func (s *Service) tagIDs(ctx context.Context, tenantID uuid.UUID, c *wecomapi.Client) (map[string]string, error) {
	if ids, ok := s.libraries.Get(tenantID); ok {
		return ids, nil
	}
	_, names, err := s.readLibrary(ctx, tenantID, c)
	if err != nil {
		return nil, err
	}
	ids := make(map[string]string, len(names))
	for id, name := range names {
		ids[name] = id
	}
	s.libraries.Add(tenantID, ids)
	return ids, nil
}

func adminOnly(p authn.Principal) error {
	if p.Role != authn.RoleAdmin {
		return platform.PermissionDenied("only an admin manages the WeCom tag library")
	}
	return nil
}

// CorpTags reads the corp tag library (admins), keeping our copy of it (libraryReadTx).
func (s *Service) CorpTags(ctx context.Context, p authn.Principal) ([]wecomapi.TagGroup, error) {
	if err := adminOnly(p); err != nil {
		return nil, err
	}
	c, err := s.cfg.WeCom.Client(ctx, p.TenantID, wecom.AppContact)
	if err != nil {
		return nil, err
	}
	groups, _, err := s.readLibrary(ctx, p.TenantID, c)
	if err != nil {
		return nil, err
	}
	out := groups[:0]
	for _, g := range groups {
		if g.Deleted {
			continue
		}
		g.Tags = slices.DeleteFunc(g.Tags, func(t wecomapi.Tag) bool { return t.Deleted })
		out = append(out, g)
	}
	return out, nil
}

// AddCorpTags adds tags to the library in the group named groupName (admins): our tags of those names are
// marked on WeCom from then on.
func (s *Service) AddCorpTags(ctx context.Context, p authn.Principal, groupName string, names []string) (wecomapi.TagGroup, error) {
	if err := adminOnly(p); err != nil {
		return wecomapi.TagGroup{}, err
	}
	c, err := s.cfg.WeCom.Client(ctx, p.TenantID, wecom.AppContact)
	if err != nil {
		return wecomapi.TagGroup{}, err
	}
	in := wecomapi.NewTags{GroupName: groupName}
	for _, n := range names {
		in.Tags = append(in.Tags, wecomapi.NewTag{Name: n})
	}
	g, err := c.AddCorpTags(ctx, in)
	if wecomapi.HasCode(err, wecomapi.CodeTagNameExists) {
		return wecomapi.TagGroup{}, platform.AlreadyExists("the WeCom tag group has a tag of one of those names already")
	}
	if err != nil {
		return wecomapi.TagGroup{}, err
	}
	s.libraries.Remove(p.TenantID)
	return g, nil
}
