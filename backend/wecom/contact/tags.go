package contact

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/wecom"
	"github.com/salesapp/scrm/backend/wecom/contact/internal/contactdb"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
)

// Corp tags a member put on a customer in WeCom are mirrored onto the customer by name (issue 16, point 6):
// added where the customer lacks them (customer.AddTagsTx, within its limit), never removed by an edit event,
// since the customer's tags are also set by channels and by staff (a tag deleted from the library is taken
// off: below). A member's personal tags stay theirs.

// corpTagNames names the corp tags of a follow: from the tags externalcontact/get gives with their names,
// else from the ids batch/get_by_user gives, through names (the library by id).
func corpTagNames(f wecomapi.FollowUser, names map[string]string) []string {
	var out []string
	for _, t := range f.Tags {
		if t.Type == wecomapi.TagCorp && t.TagName != "" {
			out = append(out, t.TagName)
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, id := range f.TagIDs {
		if n := names[id]; n != "" {
			out = append(out, n)
		}
	}
	return out
}

// The corp tag library's changes come back as well (point 9, "synced both ways"): we keep a copy of each
// tenant's library (wecom_corp_tags, migration 040), refreshed whenever the library is read (a
// change_external_tag callback, an import, the tag push's cache, an admin's listing). What changed since the
// last copy is applied to the customers who are WeCom contacts (customer.WeComLibraryChangedTx): a tag
// renamed there takes its new name, a tag deleted there is taken off, as WeCom did to its contacts. A name
// another tag of the library still has stays. These changes are not sent back (the outbox trigger skips
// them). Until a tenant's first read there is no copy, so a change made before it is not known.

// The change types of change_external_tag: a tag or group created, renamed, deleted or reordered.
const (
	eventTagChange   = "change_external_tag"
	TagChangeCreate  = "create"
	TagChangeUpdate  = "update"
	TagChangeDelete  = "delete"
	TagChangeShuffle = "shuffle"
)

// TagKinds are the callback kinds OnTagChange handles.
var TagKinds = []wecom.Kind{
	{MsgType: "event", Event: eventTagChange, ChangeType: TagChangeCreate},
	{MsgType: "event", Event: eventTagChange, ChangeType: TagChangeUpdate},
	{MsgType: "event", Event: eventTagChange, ChangeType: TagChangeDelete},
	{MsgType: "event", Event: eventTagChange, ChangeType: TagChangeShuffle},
}

// OnTagChange handles a change_external_tag callback inside the dispatcher's transaction: it reads the
// library as it is now and applies what changed to our copy and to the contacts' tags. Rule-group tags
// (StrategyId set) are a library of their own, not mirrored.
func (s *Service) OnTagChange(ctx context.Context, tx pgx.Tx, ev wecom.Event) error {
	if ev.Fields["StrategyId"] != "" {
		return nil
	}
	client, err := s.cfg.WeCom.ClientTx(ctx, tx, ev.TenantID, wecom.AppContact)
	if err != nil {
		return err
	}
	groups, err := client.CorpTags(ctx, nil, nil)
	if err != nil {
		return err
	}
	_, err = s.libraryReadTx(ctx, tx, ev.TenantID, groups)
	return err
}

// readLibrary reads the tenant's corp tag library from WeCom, keeps the copy (libraryReadTx) and answers
// the library and each tag's name by id.
func (s *Service) readLibrary(ctx context.Context, tenantID uuid.UUID, c *wecomapi.Client) ([]wecomapi.TagGroup, map[string]string, error) {
	groups, err := c.CorpTags(ctx, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	var names map[string]string
	err = s.cfg.DB.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		names, err = s.libraryReadTx(ctx, tx, tenantID, groups)
		return err
	})
	return groups, names, err
}

// libraryReadTx replaces the tenant's copy of the library with groups (as WeCom answered them now), applies
// what changed since the copy to the contacts' tags, and answers each tag's name by id.
func (s *Service) libraryReadTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, groups []wecomapi.TagGroup) (map[string]string, error) {
	names, has := map[string]string{}, map[string]bool{}
	store := contactdb.StoreCorpTagsParams{TenantID: tenantID}
	for _, g := range groups {
		if g.Deleted {
			continue
		}
		for _, t := range g.Tags {
			if t.Deleted || t.ID == "" || t.Name == "" {
				continue
			}
			names[t.ID], has[t.Name] = t.Name, true
			store.TagIds, store.GroupIds, store.Names = append(store.TagIds, t.ID), append(store.GroupIds, g.GroupID), append(store.Names, t.Name)
		}
	}
	q := contactdb.New(tx)
	stored, err := q.StoredCorpTags(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	renamed, removed := map[string]string{}, []string{}
	for _, r := range stored {
		name, ok := names[r.TagID]
		switch {
		case has[r.Name]: // another tag (or this one) still has the name
		case !ok:
			removed = append(removed, r.Name)
		case name != r.Name:
			renamed[r.Name] = name
		}
	}
	if len(renamed) > 0 || len(removed) > 0 {
		if err := q.MarkTagsFromWeCom(ctx, true); err != nil {
			return nil, err
		}
		if _, err := customer.WeComLibraryChangedTx(ctx, tx, tenantID, renamed, removed); err != nil {
			return nil, err
		}
		if err := q.MarkTagsFromWeCom(ctx, false); err != nil {
			return nil, err
		}
		s.libraries.Remove(tenantID)
	}
	if err := q.DeleteStoredCorpTags(ctx, tenantID); err != nil {
		return nil, err
	}
	if len(store.TagIds) > 0 {
		if err := q.StoreCorpTags(ctx, store); err != nil {
			return nil, err
		}
	}
	return names, nil
}
