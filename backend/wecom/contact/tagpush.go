package contact

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/wecom"
	"github.com/salesapp/scrm/backend/wecom/contact/internal/contactdb"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
)

// Our tags go to WeCom (issue 16, point 9, "synced both ways"): a change to the tags of a customer who is
// a WeCom contact queues a TagPushArgs job in its own transaction (the customers_wecom_tags trigger,
// migration 034, so every way tags change is covered), and the job marks the added and removed tags on
// WeCom as the customer's owner, for the tags the corp tag library has by name. A tag the library lacks
// stays ours: an admin "configures" a tag for WeCom by making it there. The way back is the mirror of
// add and edit callbacks (tags.go), which only adds: a tag we push comes back as one the customer has.

// TagPushArgs is one change of a customer's tags (the names added and removed), as the trigger writes it.
type TagPushArgs struct {
	TenantID   uuid.UUID `json:"tenant_id"`
	CustomerID uuid.UUID `json:"customer_id"`
	Added      []string  `json:"added"`
	Removed    []string  `json:"removed"`
}

// Kind implements river.JobArgs.
func (TagPushArgs) Kind() string { return "wecom_mark_tags" }

// TagPushWorker marks tag changes on WeCom.
type TagPushWorker struct {
	river.WorkerDefaults[TagPushArgs]
	s *Service
}

// libraryTTL is how long a tenant's corp tag library (names to ids) is used before it is read again: a
// rule's first pass may change thousands of customers, each a job.
const libraryTTL = time.Minute

func newLibraryCache() *expirable.LRU[uuid.UUID, map[string]string] {
	return expirable.NewLRU[uuid.UUID, map[string]string](1000, nil, libraryTTL)
}

// Work marks the change on every external userid of the customer, as their owner. Nothing to do (no
// owner in WeCom, no tag the library knows) ends the job; WeCom saying the owner does not follow the
// customer, or refusing for want of permission, cancels it (a retry would be refused the same way).
func (w *TagPushWorker) Work(ctx context.Context, job *river.Job[TagPushArgs]) error {
	s, a := w.s, job.Args
	var targets []contactdb.TagPushTargetsRow
	var client *wecomapi.Client
	err := s.cfg.DB.InTenantSnapshot(ctx, a.TenantID, func(tx pgx.Tx) error {
		var err error
		targets, err = contactdb.New(tx).TagPushTargets(ctx, contactdb.TagPushTargetsParams{TenantID: a.TenantID, CustomerID: a.CustomerID})
		if err != nil || len(targets) == 0 {
			return err
		}
		client, err = s.cfg.WeCom.ClientTx(ctx, tx, a.TenantID, wecom.AppContact)
		return err
	})
	if err != nil || len(targets) == 0 {
		return err
	}
	ids, err := s.tagIDs(ctx, a.TenantID, client)
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
	add, remove := pick(a.Added), pick(a.Removed)
	if len(add) == 0 && len(remove) == 0 {
		return nil
	}
	for _, t := range targets {
		err := client.MarkTags(ctx, wecomapi.Marking{UserID: t.WecomUserid, ExternalUserID: t.ExternalUserid, Add: add, Remove: remove})
		switch {
		case err == nil:
		case wecomapi.HasCode(err, wecomapi.CodeNotExternalContact), wecomapi.HasCode(err, wecomapi.CodeUserNotFound):
			continue // the owner does not follow this one on WeCom
		case wecomapi.IsPermission(err):
			return river.JobCancel(fmt.Errorf("mark tags of customer %s: %w", a.CustomerID, err))
		case wecomapi.HasCode(err, wecomapi.CodeInvalidTagID):
			s.libraries.Remove(a.TenantID) // the library changed under us: read it again on the retry
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
	names, err := tagLibrary(ctx, c)
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

// CorpTags reads the corp tag library (admins).
func (s *Service) CorpTags(ctx context.Context, p authn.Principal) ([]wecomapi.TagGroup, error) {
	if err := adminOnly(p); err != nil {
		return nil, err
	}
	c, err := s.cfg.WeCom.Client(ctx, p.TenantID, wecom.AppContact)
	if err != nil {
		return nil, err
	}
	groups, err := c.CorpTags(ctx, nil, nil)
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
