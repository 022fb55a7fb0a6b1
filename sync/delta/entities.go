package delta

import (
	"context"

	"github.com/google/uuid"

	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/sync/delta/internal/deltadb"
)

// fetch turns a page of change rows into changes: tombstones as they are, live rows with their entity as
// the snapshot has it. A live row whose entity the snapshot does not show is sent as a tombstone.
func fetch(ctx context.Context, q *deltadb.Queries, p authn.Principal, rows []deltadb.ChangesRow) ([]Change, error) {
	ids := map[Kind][]uuid.UUID{}
	for _, r := range rows {
		if !r.Tombstone {
			ids[Kind(r.Kind)] = append(ids[Kind(r.Kind)], r.EntityID)
		}
	}
	type key struct {
		kind Kind
		id   uuid.UUID
	}
	found := map[key]Entity{}
	put := func(kind Kind, id uuid.UUID, e Entity) { found[key{kind, id}] = e }
	t := p.TenantID

	if len(ids[KindCustomer]) > 0 {
		// A manager's scope also holds their team's customers (migration 020); whose they are is read in the
		// same snapshot as the change rows, so a customer whose owner left the team meanwhile is sent as a
		// tombstone, as its row will say.
		// (Only a manager's: a salesperson's pull pays no round trip for it.)
		var owners []uuid.UUID
		if p.Role == authn.RoleManager {
			var err error
			if owners, err = q.ManagedMembers(ctx, deltadb.ManagedMembersParams{TenantID: t, EmployeeID: p.EmployeeID}); err != nil {
				return nil, err
			}
		}
		mine := make(map[uuid.UUID]bool, len(owners)+1)
		mine[p.EmployeeID] = true
		for _, o := range owners {
			mine[o] = true
		}
		got, err := q.Customers(ctx, deltadb.CustomersParams{TenantID: t, Ids: ids[KindCustomer]})
		if err != nil {
			return nil, err
		}
		for _, c := range got {
			if !c.OwnerID.Valid || !mine[c.OwnerID.UUID] {
				continue // not in the caller's scope (any more): sent as a tombstone
			}
			put(KindCustomer, c.ID, &Customer{ID: c.ID, OwnerID: c.OwnerID.UUID, ReadOnly: c.OwnerID.UUID != p.EmployeeID, DisplayName: c.DisplayName, AvatarURL: c.AvatarUrl, Phone: c.Phone,
				Stage: c.Stage, SourceChannel: c.SourceChannel, Remark: c.Remark, Tags: c.Tags, Views: c.Views, DwellMs: c.DwellMs,
				Forwards: c.Forwards, CallClicks: c.CallClicks, WechatClicks: c.WechatClicks, IntentScore: c.IntentScore,
				FirstSeenAt: c.FirstSeenAt, LastActiveAt: c.LastActiveAt})
		}
	}
	if len(ids[KindTimelineEntry]) > 0 {
		got, err := q.TimelineEntries(ctx, deltadb.TimelineEntriesParams{TenantID: t, Ids: ids[KindTimelineEntry]})
		if err != nil {
			return nil, err
		}
		for _, e := range got {
			put(KindTimelineEntry, e.ID, &TimelineEntry{ID: e.ID, CustomerID: e.CustomerID, Kind: e.Kind, MaterialID: e.MaterialID,
				ShareID: e.ShareID, OccurredAt: e.OccurredAt, DwellMs: int64(e.DwellMs), Value: e.Value})
		}
	}
	if len(ids[KindNote]) > 0 {
		got, err := q.Notes(ctx, deltadb.NotesParams{TenantID: t, Ids: ids[KindNote]})
		if err != nil {
			return nil, err
		}
		for _, n := range got {
			put(KindNote, n.ID, &Note{ID: n.ID, CustomerID: n.CustomerID, AuthorID: n.AuthorID, Kind: n.Kind, Body: n.Body,
				NextAt: n.NextAt, CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt})
		}
	}
	if len(ids[KindCard]) > 0 {
		got, err := q.Cards(ctx, deltadb.CardsParams{TenantID: t, Ids: ids[KindCard]})
		if err != nil {
			return nil, err
		}
		for _, c := range got {
			put(KindCard, c.EmployeeID, &Card{EmployeeID: c.EmployeeID, DisplayName: c.DisplayName, Title: c.Title, Phone: c.Phone,
				WechatID: c.WechatID, Email: c.Email, AvatarKey: c.AvatarKey, Bio: c.Bio, PhotoKeys: c.PhotoKeys,
				IntroVideoKey: c.IntroVideoKey, FeaturedMaterialIDs: c.FeaturedMaterialIds, Version: c.Version, UpdatedAt: c.UpdatedAt})
		}
	}
	if len(ids[KindAlert]) > 0 {
		got, err := q.Alerts(ctx, deltadb.AlertsParams{TenantID: t, EmployeeID: p.EmployeeID, Ids: ids[KindAlert]})
		if err != nil {
			return nil, err
		}
		for _, a := range got {
			put(KindAlert, a.AlertID, &Alert{AlertID: a.AlertID, Seq: a.Seq, Kind: a.Kind, CustomerID: a.CustomerID,
				MaterialID: a.MaterialID, Body: a.Body, CreatedAt: a.CreatedAt, Read: a.ReadAt != nil})
		}
	}
	if len(ids[KindMaterial]) > 0 {
		got, err := q.Materials(ctx, ids[KindMaterial])
		if err != nil {
			return nil, err
		}
		for _, m := range got {
			put(KindMaterial, m.ID, &Material{ID: m.ID, Tier: m.Tier, Kind: m.Kind, Status: m.Status, RejectReason: m.RejectReason,
				FolderID: m.FolderID, Title: m.Title, Summary: m.Summary, BodyHTML: m.BodyHtml, TextBody: m.TextBody,
				FileKey: m.FileKey, ImageKeys: m.ImageKeys, CoverKey: m.CoverKey, Tags: m.Tags, Version: m.Version,
				PublishedAt: m.PublishedAt})
		}
	}
	if len(ids[KindFolder]) > 0 {
		got, err := q.Folders(ctx, deltadb.FoldersParams{TenantID: t, Ids: ids[KindFolder]})
		if err != nil {
			return nil, err
		}
		for _, f := range got {
			put(KindFolder, f.ID, &Folder{ID: f.ID, Tier: f.Tier, Name: f.Name})
		}
	}
	if len(ids[KindTask]) > 0 {
		got, err := q.Tasks(ctx, deltadb.TasksParams{TenantID: t, EmployeeID: p.EmployeeID, Ids: ids[KindTask]})
		if err != nil {
			return nil, err
		}
		var overseen []uuid.UUID
		for _, k := range got {
			if k.Overseen {
				overseen = append(overseen, k.ID)
			}
			put(KindTask, k.ID, &Task{ID: k.ID, CreatedBy: k.CreatedBy, Title: k.Title, Brief: k.Brief, MaterialIDs: k.MaterialIds,
				Targets: TaskCounts{Shares: k.TargetShares, Views: k.TargetViews, Viewers: k.TargetViewers, Forwards: k.TargetForwards,
					NewCustomers: k.TargetNewCustomers, Leads: k.TargetLeads},
				StartsAt: k.StartsAt, EndsAt: k.EndsAt, ClaimRequired: k.ClaimRequired, MaxClaimers: k.MaxClaimers,
				Claimers: k.Claimers, Cancelled: k.Status == "cancelled", Version: k.Version, Joined: k.Joined, Claimed: k.Claimed,
				Progress: TaskCounts{Shares: k.Shares, Views: k.Views, Viewers: k.Viewers, Forwards: k.Forwards,
					NewCustomers: k.NewCustomers, Leads: k.Leads},
				CompletedAt: k.CompletedAt, Overseen: k.Overseen})
		}
		if len(overseen) > 0 {
			team, err := q.TeamProgress(ctx, deltadb.TeamProgressParams{TenantID: t, EmployeeID: p.EmployeeID, TaskIds: overseen})
			if err != nil {
				return nil, err
			}
			for _, a := range team {
				k := found[key{KindTask, a.TaskID}].(*Task)
				k.Team = append(k.Team, TaskAssignee{EmployeeID: a.EmployeeID, Name: a.Name, TeamID: a.TeamID.UUID, Claimed: a.Claimed,
					JoinedAt: a.JoinedAt, Progress: TaskCounts{Shares: a.Shares, Views: a.Views, Viewers: a.Viewers, Forwards: a.Forwards,
						NewCustomers: a.NewCustomers, Leads: a.Leads}, CompletedAt: a.CompletedAt})
			}
		}
	}
	if len(ids[KindMember]) > 0 {
		got, err := q.Members(ctx, deltadb.MembersParams{TenantID: t, EmployeeID: p.EmployeeID, Ids: ids[KindMember]})
		if err != nil {
			return nil, err
		}
		for _, m := range got {
			put(KindMember, m.ID, &Member{ID: m.ID, Name: m.Name, Title: m.Title, Role: m.Role, TeamID: m.TeamID.UUID,
				Disabled: m.Status != "active"})
		}
	}

	out := make([]Change, 0, len(rows))
	for _, r := range rows {
		c := Change{Kind: Kind(r.Kind), ID: r.EntityID, Deleted: true}
		if e := found[key{c.Kind, r.EntityID}]; !r.Tombstone && e != nil {
			c.Deleted, c.Entity = false, e
		}
		out = append(out, c)
	}
	return out, nil
}
