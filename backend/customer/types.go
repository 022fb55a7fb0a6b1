package customer

import (
	"time"

	"github.com/google/uuid"

	"github.com/salesapp/scrm/backend/customer/internal/customerdb"
	"github.com/salesapp/scrm/backend/event"
)

// Stage is where a sale stands.
type Stage string

// The stages of a sale.
const (
	StageNew         Stage = "new"
	StageContacted   Stage = "contacted"
	StageInterested  Stage = "interested"
	StageNegotiating Stage = "negotiating"
	StageWon         Stage = "won"
	StageLost        Stage = "lost"
)

// Valid reports whether s is a known stage.
func (s Stage) Valid() bool {
	switch s {
	case StageNew, StageContacted, StageInterested, StageNegotiating, StageWon, StageLost:
		return true
	}
	return false
}

// Customer is one person as a list shows them.
type Customer struct {
	ID uuid.UUID
	// OwnerID is the salesperson the customer belongs to; not Valid while they are in the tenant's pool.
	OwnerID                               uuid.NullUUID
	DisplayName, AvatarURL, Phone, Remark string
	// PhoneVerified says Phone came from WeChat's getuserphonenumber, not typed into a page or the app.
	PhoneVerified bool
	Stage         Stage
	// SourceChannel and SourceShareID are the share that brought the customer first.
	SourceChannel event.Channel
	SourceShareID uuid.NullUUID
	Tags          []string
	// The activity counters, and the intent score computed from them.
	Views, Forwards, CallClicks, WeChatClicks, IntentScore int32
	DwellMs                                                int64
	FirstSeenAt, LastActiveAt, CreatedAt                   time.Time
}

func customerOf(r customerdb.ListByLastActiveRow) Customer {
	return Customer{ID: r.ID, OwnerID: r.OwnerID, DisplayName: r.DisplayName, AvatarURL: r.AvatarUrl, Phone: r.Phone, PhoneVerified: r.PhoneVerified,
		Remark: r.Remark, Stage: Stage(r.Stage), SourceChannel: event.Channel(r.SourceChannel), SourceShareID: r.SourceShareID,
		Tags: r.Tags, Views: r.Views, Forwards: r.Forwards, CallClicks: r.CallClicks, WeChatClicks: r.WechatClicks,
		IntentScore: r.IntentScore, DwellMs: r.DwellMs, FirstSeenAt: r.FirstSeenAt, LastActiveAt: r.LastActiveAt, CreatedAt: r.CreatedAt}
}

// Interest is a topic a customer read about, weighted by how much.
type Interest struct {
	Tag    string
	Weight int64
}

// NoteKind is what a note is.
type NoteKind string

// The kinds of note.
const (
	NotePlain    NoteKind = "note"
	NoteFollowUp NoteKind = "follow_up"
)

// Note is a salesperson's note on a customer, or a follow-up with its due time.
type Note struct {
	ID, CustomerID, AuthorID uuid.UUID
	Kind                     NoteKind
	Body                     string
	// NextAt is when to follow up (follow-ups only).
	NextAt               *time.Time
	CreatedAt, UpdatedAt time.Time
}

func noteOf(n customerdb.CustomerNote) Note {
	return Note{ID: n.ID, CustomerID: n.CustomerID, AuthorID: n.AuthorID, Kind: NoteKind(n.Kind), Body: n.Body,
		NextAt: n.NextAt, CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt}
}

// Item is one timeline entry.
type Item struct {
	// ID is the event's.
	ID         uuid.UUID
	Kind       event.Kind
	OccurredAt time.Time
	DwellMs    int32
	// Value is the percentage of a video watched, or the brochure page.
	Value               int32
	MaterialID, ShareID uuid.NullUUID
	MaterialTitle       string
	// ForwardOpened and ForwardRead summarize a forward: people who opened it, and who read ≥ 10 s.
	ForwardOpened, ForwardRead int
}

func itemOf(r customerdb.TimelineRow) Item {
	return Item{ID: r.ID, Kind: event.Kind(r.Kind), OccurredAt: r.OccurredAt, DwellMs: r.DwellMs, Value: r.Value,
		MaterialID: r.MaterialID, ShareID: r.ShareID, MaterialTitle: r.MaterialTitle}
}
