package replica

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
)

// Key names one entity of a replica: a Change's kind and id.
type Key struct {
	Kind salesappv1.EntityKind
	ID   string
}

// String formats the key as kind/id for logs and test messages.
func (k Key) String() string { return k.Kind.String() + "/" + k.ID }

// KeyOf returns the key a change applies to.
func KeyOf(c *salesappv1.Change) Key { return Key{Kind: c.GetKind(), ID: c.GetId()} }

// Local expiry: the server sends no tombstone when these age out; the app drops them itself.
const (
	// TimelineRetention is how long a timeline entry stays after its occurred_at.
	TimelineRetention = 90 * 24 * time.Hour
	// AlertRetention is how long an alert stays after its created_at.
	AlertRetention = 7 * 24 * time.Hour
	// TaskRetention is how long a task the caller is on or oversees stays after its ends_at; one they
	// only may claim goes at its ends_at.
	TaskRetention = 90 * 24 * time.Hour
)

// EntityOf returns the entity message an upsert carries (a *salesappv1.SyncCustomer, ...), or nil for a
// tombstone or a change without an entity.
func EntityOf(c *salesappv1.Change) proto.Message {
	if c.GetDeleted() {
		return nil
	}
	_, e := entityCase(c)
	return e
}

// entityCase returns the kind the change's entity is of, and the entity.
func entityCase(c *salesappv1.Change) (salesappv1.EntityKind, proto.Message) {
	switch e := c.GetEntity().(type) {
	case *salesappv1.Change_Customer:
		return salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, e.Customer
	case *salesappv1.Change_TimelineEntry:
		return salesappv1.EntityKind_ENTITY_KIND_TIMELINE_ENTRY, e.TimelineEntry
	case *salesappv1.Change_Note:
		return salesappv1.EntityKind_ENTITY_KIND_NOTE, e.Note
	case *salesappv1.Change_Card:
		return salesappv1.EntityKind_ENTITY_KIND_CARD, e.Card
	case *salesappv1.Change_Alert:
		return salesappv1.EntityKind_ENTITY_KIND_ALERT, e.Alert
	case *salesappv1.Change_Material:
		return salesappv1.EntityKind_ENTITY_KIND_MATERIAL, e.Material
	case *salesappv1.Change_Folder:
		return salesappv1.EntityKind_ENTITY_KIND_FOLDER, e.Folder
	case *salesappv1.Change_Task:
		return salesappv1.EntityKind_ENTITY_KIND_TASK, e.Task
	case *salesappv1.Change_Member:
		return salesappv1.EntityKind_ENTITY_KIND_MEMBER, e.Member
	}
	return salesappv1.EntityKind_ENTITY_KIND_UNSPECIFIED, nil
}

// CheckChange reports a change the protocol does not allow: no kind or id, an upsert without its entity,
// or an entity of another kind than the change says.
func CheckChange(c *salesappv1.Change) error {
	switch {
	case c.GetKind() == salesappv1.EntityKind_ENTITY_KIND_UNSPECIFIED || c.GetId() == "":
		return fmt.Errorf("change %s: kind and id are required", KeyOf(c))
	case c.GetDeleted():
		return nil
	}
	switch kind, e := entityCase(c); {
	case e == nil:
		return fmt.Errorf("change %s: upsert without an entity", KeyOf(c))
	case kind != c.GetKind():
		return fmt.Errorf("change %s: carries a %s", KeyOf(c), kind)
	}
	return nil
}

// Expired reports whether an entity has aged out of the local replica at now: a timeline entry whose
// occurred_at is more than 90 days before now, an alert whose created_at is more than 7 days before
// now, a task only offered whose ends_at has come, a joined or overseen one 90 days after it. Entities without that
// timestamp never expire.
func Expired(entity proto.Message, now time.Time) bool {
	switch e := entity.(type) {
	case *salesappv1.SyncTimelineEntry:
		return e.GetOccurredAt() != nil && e.GetOccurredAt().AsTime().Before(now.Add(-TimelineRetention))
	case *salesappv1.SyncAlert:
		return e.GetCreatedAt() != nil && e.GetCreatedAt().AsTime().Before(now.Add(-AlertRetention))
	case *salesappv1.SyncTask:
		if e.GetEndsAt() == nil {
			return false
		}
		if e.GetJoined() || e.GetOverseen() {
			return e.GetEndsAt().AsTime().Before(now.Add(-TaskRetention))
		}
		return !e.GetEndsAt().AsTime().After(now)
	}
	return false
}
