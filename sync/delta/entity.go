package delta

import (
	"time"

	"github.com/google/uuid"
)

// Kind names a kind of synced entity, as the change log (sync_changes.kind) records it.
type Kind string

// The synced kinds.
const (
	KindCustomer      Kind = "customer"
	KindTimelineEntry Kind = "timeline"
	KindNote          Kind = "note"
	KindCard          Kind = "card"
	KindAlert         Kind = "alert"
	KindMaterial      Kind = "material"
	KindFolder        Kind = "folder"
	KindTask          Kind = "task"
	KindMember        Kind = "member"
)

// Change is one entity's current state, or its removal from the caller's copy.
type Change struct {
	Kind Kind
	// ID is the entity's id (a card's is its employee's).
	ID uuid.UUID
	// Deleted: the entity left the caller's scopes (deleted, reassigned, unpublished). Entity is nil.
	Deleted bool
	// Entity is the entity as the pull's snapshot shows it: a *Customer, *TimelineEntry, *Note, *Card,
	// *Alert, *Material, *Folder, *Task or *Member, the one Kind names.
	Entity Entity
}

// Entity is one synced entity's state; the types in this package that implement it are the whole list.
type Entity interface{ synced() }

// Customer is a salesperson's customer: the caller's own, or on a manager's device a team member's.
type Customer struct {
	ID uuid.UUID
	// OwnerID is the salesperson who owns it.
	OwnerID uuid.UUID
	// ReadOnly: the caller does not own it (a team member's customer on a manager's device), so the app
	// disables editing it; notes on it and assigning it within the team are allowed.
	ReadOnly      bool
	DisplayName   string
	AvatarURL     string
	Phone         string
	Stage         string
	SourceChannel string
	Remark        string
	Tags          []string
	Views         int32
	DwellMs       int64
	Forwards      int32
	CallClicks    int32
	WechatClicks  int32
	IntentScore   int32
	FirstSeenAt   time.Time
	LastActiveAt  time.Time
}

// TimelineEntry is one thing a customer did.
type TimelineEntry struct {
	ID         uuid.UUID
	CustomerID uuid.UUID
	// Kind is the event's kind (card_view, material_view...).
	Kind       string
	MaterialID uuid.NullUUID
	ShareID    uuid.NullUUID
	OccurredAt time.Time
	DwellMs    int64
	Value      int32
}

// Note is a note or follow-up on a customer.
type Note struct {
	ID         uuid.UUID
	CustomerID uuid.UUID
	AuthorID   uuid.UUID
	// Kind is note or follow_up.
	Kind      string
	Body      string
	NextAt    *time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Card is a salesperson's own business card.
type Card struct {
	EmployeeID          uuid.UUID
	DisplayName         string
	Title               string
	Phone               string
	WechatID            string
	Email               string
	AvatarKey           string
	Bio                 string
	PhotoKeys           []string
	IntroVideoKey       string
	FeaturedMaterialIDs []uuid.UUID
	Version             int64
	UpdatedAt           time.Time
}

// Alert is an alert of the caller's at its latest entry.
type Alert struct {
	AlertID    uuid.UUID
	Seq        int64
	Kind       string
	CustomerID uuid.UUID
	MaterialID uuid.NullUUID
	Body       string
	CreatedAt  time.Time
	Read       bool
}

// Material is a material of the library: the platform's, the tenant's or the caller's own.
type Material struct {
	ID           uuid.UUID
	Tier         string
	Kind         string
	Status       string
	RejectReason string
	FolderID     uuid.NullUUID
	Title        string
	Summary      string
	BodyHTML     string
	TextBody     string
	FileKey      string
	ImageKeys    []string
	CoverKey     string
	Tags         []string
	Version      int64
	PublishedAt  *time.Time
}

// Folder is a library folder: the tenant's or the caller's own.
type Folder struct {
	ID   uuid.UUID
	Tier string
	Name string
}

// TaskCounts are a task's targets (0: not a target) or someone's progress on it.
type TaskCounts struct {
	Shares, Views, Viewers, Forwards, NewCustomers, Leads int32
}

// Task is a marketing task the caller is on (Joined, with their progress) or may claim now.
type Task struct {
	ID            uuid.UUID
	CreatedBy     uuid.UUID
	Title         string
	Brief         string
	MaterialIDs   []uuid.UUID
	Targets       TaskCounts
	StartsAt      time.Time
	EndsAt        time.Time
	ClaimRequired bool
	MaxClaimers   int32
	Claimers      int32
	Cancelled     bool
	Version       int64
	// Joined: they are on it (Claimed, or assigned outright); Progress and CompletedAt are theirs.
	Joined      bool
	Claimed     bool
	Progress    TaskCounts
	CompletedAt *time.Time
	// Overseen: the caller manages it (made it, or it is aimed at their team); Team is their team's people
	// on it.
	Overseen bool
	Team     []TaskAssignee
}

// TaskAssignee is one person of a manager's team on a task they oversee.
type TaskAssignee struct {
	EmployeeID  uuid.UUID
	Name        string
	TeamID      uuid.UUID
	Claimed     bool
	JoinedAt    time.Time
	Progress    TaskCounts
	CompletedAt *time.Time
}

// Member is an employee of the team the caller manages.
type Member struct {
	ID       uuid.UUID
	Name     string
	Title    string
	Role     string
	TeamID   uuid.UUID
	Disabled bool
}

func (*Customer) synced()      {}
func (*Member) synced()        {}
func (*Task) synced()          {}
func (*TimelineEntry) synced() {}
func (*Note) synced()          {}
func (*Card) synced()          {}
func (*Alert) synced()         {}
func (*Material) synced()      {}
func (*Folder) synced()        {}

// changeOverhead is what a change costs on the wire beside its strings: ids, numbers, times, framing.
const changeOverhead = 128

// wireBytes estimates what c takes in a page: its strings' bytes and a fixed overhead. It is for the page's
// byte budget, not an exact encoding size.
func (c Change) wireBytes() int {
	n := changeOverhead
	strs := func(ss ...string) {
		for _, s := range ss {
			n += len(s)
		}
	}
	switch e := c.Entity.(type) {
	case *Customer:
		strs(e.DisplayName, e.AvatarURL, e.Phone, e.Stage, e.SourceChannel, e.Remark)
		strs(e.Tags...)
	case *TimelineEntry:
		strs(e.Kind)
	case *Note:
		strs(e.Kind, e.Body)
	case *Card:
		strs(e.DisplayName, e.Title, e.Phone, e.WechatID, e.Email, e.AvatarKey, e.Bio, e.IntroVideoKey)
		strs(e.PhotoKeys...)
		n += 36 * len(e.FeaturedMaterialIDs)
	case *Alert:
		strs(e.Kind, e.Body)
	case *Material:
		strs(e.Tier, e.Kind, e.Status, e.RejectReason, e.Title, e.Summary, e.BodyHTML, e.TextBody, e.FileKey, e.CoverKey)
		strs(e.ImageKeys...)
		strs(e.Tags...)
	case *Folder:
		strs(e.Tier, e.Name)
	case *Member:
		strs(e.Name, e.Title, e.Role)
	case *Task:
		strs(e.Title, e.Brief)
		n += 36 * len(e.MaterialIDs)
		for _, a := range e.Team {
			n += changeOverhead + len(a.Name)
		}
	}
	return n
}
