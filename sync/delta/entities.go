package delta

import (
	"context"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/sync/delta/internal/deltadb"
)

var kinds = map[string]salesappv1.EntityKind{
	"customer": salesappv1.EntityKind_ENTITY_KIND_CUSTOMER,
	"timeline": salesappv1.EntityKind_ENTITY_KIND_TIMELINE_ENTRY,
	"note":     salesappv1.EntityKind_ENTITY_KIND_NOTE,
	"card":     salesappv1.EntityKind_ENTITY_KIND_CARD,
	"alert":    salesappv1.EntityKind_ENTITY_KIND_ALERT,
	"material": salesappv1.EntityKind_ENTITY_KIND_MATERIAL,
	"folder":   salesappv1.EntityKind_ENTITY_KIND_FOLDER,
}

// fetch turns a page of change rows into changes: tombstones as they are, live rows with their entity as
// the snapshot has it. A live row whose entity the snapshot does not show is sent as a tombstone.
func fetch(ctx context.Context, q *deltadb.Queries, p authn.Principal, rows []deltadb.ChangesRow) ([]*salesappv1.Change, error) {
	ids := map[string][]uuid.UUID{}
	for _, r := range rows {
		if !r.Tombstone {
			ids[r.Kind] = append(ids[r.Kind], r.EntityID)
		}
	}
	type key struct {
		kind string
		id   uuid.UUID
	}
	found := map[key]*salesappv1.Change{}
	put := func(kind string, id uuid.UUID, c *salesappv1.Change) { found[key{kind, id}] = c }
	t := p.TenantID

	if len(ids["customer"]) > 0 {
		got, err := q.Customers(ctx, deltadb.CustomersParams{TenantID: t, Ids: ids["customer"], OwnerID: uuid.NullUUID{UUID: p.EmployeeID, Valid: true}})
		if err != nil {
			return nil, err
		}
		for _, c := range got {
			put("customer", c.ID, &salesappv1.Change{Entity: &salesappv1.Change_Customer{Customer: &salesappv1.SyncCustomer{
				Id: c.ID.String(), DisplayName: c.DisplayName, AvatarUrl: c.AvatarUrl, Phone: c.Phone, Stage: c.Stage,
				SourceChannel: c.SourceChannel, Remark: c.Remark, Tags: c.Tags, Views: c.Views, DwellMs: c.DwellMs,
				Forwards: c.Forwards, CallClicks: c.CallClicks, WechatClicks: c.WechatClicks, IntentScore: c.IntentScore,
				FirstSeenAt: ts(c.FirstSeenAt), LastActiveAt: ts(c.LastActiveAt)}}})
		}
	}
	if len(ids["timeline"]) > 0 {
		got, err := q.TimelineEntries(ctx, deltadb.TimelineEntriesParams{TenantID: t, Ids: ids["timeline"]})
		if err != nil {
			return nil, err
		}
		for _, e := range got {
			put("timeline", e.ID, &salesappv1.Change{Entity: &salesappv1.Change_TimelineEntry{TimelineEntry: &salesappv1.SyncTimelineEntry{
				Id: e.ID.String(), CustomerId: e.CustomerID.String(), Kind: e.Kind, MaterialId: nullID(e.MaterialID),
				ShareId: nullID(e.ShareID), OccurredAt: ts(e.OccurredAt), DwellMs: int64(e.DwellMs), Value: e.Value}}})
		}
	}
	if len(ids["note"]) > 0 {
		got, err := q.Notes(ctx, deltadb.NotesParams{TenantID: t, Ids: ids["note"]})
		if err != nil {
			return nil, err
		}
		for _, n := range got {
			put("note", n.ID, &salesappv1.Change{Entity: &salesappv1.Change_Note{Note: &salesappv1.SyncNote{
				Id: n.ID.String(), CustomerId: n.CustomerID.String(), AuthorId: n.AuthorID.String(), Kind: n.Kind,
				Body: n.Body, NextAt: tsp(n.NextAt), CreatedAt: ts(n.CreatedAt), UpdatedAt: ts(n.UpdatedAt)}}})
		}
	}
	if len(ids["card"]) > 0 {
		got, err := q.Cards(ctx, deltadb.CardsParams{TenantID: t, Ids: ids["card"]})
		if err != nil {
			return nil, err
		}
		for _, c := range got {
			featured := make([]string, len(c.FeaturedMaterialIds))
			for i, id := range c.FeaturedMaterialIds {
				featured[i] = id.String()
			}
			put("card", c.EmployeeID, &salesappv1.Change{Entity: &salesappv1.Change_Card{Card: &salesappv1.SyncCard{
				EmployeeId: c.EmployeeID.String(), DisplayName: c.DisplayName, Title: c.Title, Phone: c.Phone,
				WechatId: c.WechatID, Email: c.Email, AvatarKey: c.AvatarKey, Bio: c.Bio, PhotoKeys: c.PhotoKeys,
				IntroVideoKey: c.IntroVideoKey, FeaturedMaterialIds: featured, Version: c.Version, UpdatedAt: ts(c.UpdatedAt)}}})
		}
	}
	if len(ids["alert"]) > 0 {
		got, err := q.Alerts(ctx, deltadb.AlertsParams{TenantID: t, EmployeeID: p.EmployeeID, Ids: ids["alert"]})
		if err != nil {
			return nil, err
		}
		for _, a := range got {
			put("alert", a.AlertID, &salesappv1.Change{Entity: &salesappv1.Change_Alert{Alert: &salesappv1.SyncAlert{
				AlertId: a.AlertID.String(), Seq: a.Seq, Kind: a.Kind, CustomerId: a.CustomerID.String(),
				MaterialId: nullID(a.MaterialID), Body: a.Body, CreatedAt: ts(a.CreatedAt), Read: a.ReadAt != nil}}})
		}
	}
	if len(ids["material"]) > 0 {
		got, err := q.Materials(ctx, ids["material"])
		if err != nil {
			return nil, err
		}
		for _, m := range got {
			put("material", m.ID, &salesappv1.Change{Entity: &salesappv1.Change_Material{Material: &salesappv1.SyncMaterial{
				Id: m.ID.String(), Tier: m.Tier, Kind: m.Kind, Status: m.Status, RejectReason: m.RejectReason,
				FolderId: nullID(m.FolderID), Title: m.Title, Summary: m.Summary, BodyHtml: m.BodyHtml, TextBody: m.TextBody,
				FileKey: m.FileKey, ImageKeys: m.ImageKeys, CoverKey: m.CoverKey, Tags: m.Tags, Version: m.Version,
				PublishedAt: tsp(m.PublishedAt)}}})
		}
	}
	if len(ids["folder"]) > 0 {
		got, err := q.Folders(ctx, deltadb.FoldersParams{TenantID: t, Ids: ids["folder"]})
		if err != nil {
			return nil, err
		}
		for _, f := range got {
			put("folder", f.ID, &salesappv1.Change{Entity: &salesappv1.Change_Folder{Folder: &salesappv1.SyncFolder{
				Id: f.ID.String(), Tier: f.Tier, Name: f.Name}}})
		}
	}

	out := make([]*salesappv1.Change, 0, len(rows))
	for _, r := range rows {
		c := found[key{r.Kind, r.EntityID}]
		if r.Tombstone || c == nil {
			c = &salesappv1.Change{Deleted: true}
		}
		c.Kind, c.Id = kinds[r.Kind], r.EntityID.String()
		out = append(out, c)
	}
	return out, nil
}

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

func tsp(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

func nullID(id uuid.NullUUID) string {
	if !id.Valid {
		return ""
	}
	return id.UUID.String()
}
