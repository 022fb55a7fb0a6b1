package replica

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/sync/followup"
)

// The list offline, from a salesperson's replica: the same entries, order and reasons as the server's
// list gives for the same rows (backend/stats' TestFollowUpsListDueThenHotThenColdWithReasonsAndSuggestions
// seeds these; backend/server's TestTheFollowUpListOfflineIsTheServers compares the two end to end).
func TestFollowUpsOfflineFollowTheServersRule(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	now := time.Date(2026, 3, 10, 0, 30, 0, 0, shanghai)
	at := func(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(now.Add(d)) }
	ann, bob := uuid.NewString(), uuid.NewString()
	ents := map[Key]proto.Message{}
	put := func(kind salesappv1.EntityKind, id string, m proto.Message) { ents[Key{Kind: kind, ID: id}] = m }
	customer := func(owner, name string, intent int32, lastActive time.Duration) string {
		id := uuid.NewString()
		put(salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, id, &salesappv1.SyncCustomer{Id: id, OwnerId: owner, DisplayName: name,
			IntentScore: intent, LastActiveAt: at(lastActive), Stage: salesappv1.CustomerStage_CUSTOMER_STAGE_NEW})
		return id
	}
	note := func(author, customerID string, created time.Duration, next *timestamppb.Timestamp) {
		id := uuid.NewString()
		put(salesappv1.EntityKind_ENTITY_KIND_NOTE, id, &salesappv1.SyncNote{Id: id, CustomerId: customerID, AuthorId: author,
			Kind: "follow_up", CreatedAt: at(created), NextAt: next})
	}
	view := func(customerID, materialID string, when time.Duration, dwell int32) {
		id := uuid.NewString()
		put(salesappv1.EntityKind_ENTITY_KIND_TIMELINE_ENTRY, id, &salesappv1.SyncTimelineEntry{Id: id, CustomerId: customerID,
			Kind: salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, MaterialId: materialID, OccurredAt: at(when), DwellMs: dwell})
	}
	const (
		enterprise, platform, personal = salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, salesappv1.MaterialTier_MATERIAL_TIER_PLATFORM, salesappv1.MaterialTier_MATERIAL_TIER_PERSONAL
		published, draft               = salesappv1.MaterialStatus_MATERIAL_STATUS_PUBLISHED, salesappv1.MaterialStatus_MATERIAL_STATUS_DRAFT
	)
	material := func(title string, tier salesappv1.MaterialTier, status salesappv1.MaterialStatus, ago time.Duration, tags ...string) string {
		id := uuid.NewString()
		put(salesappv1.EntityKind_ENTITY_KIND_MATERIAL, id, &salesappv1.SyncMaterial{Id: id, Title: title, Tier: tier, Status: status,
			PublishedAt: at(ago), Tags: tags})
		return id
	}
	pricing := material("Pricing", enterprise, published, -30*24*time.Hour, "price", "plans")
	plans := material("Plans compared", platform, published, -20*24*time.Hour, "plans")
	history := material("Company history", enterprise, published, -10*24*time.Hour, "about")
	material("Draft plans", enterprise, draft, -24*time.Hour, "plans", "price")    // not sendable
	material("My own plans", personal, published, -24*time.Hour, "plans", "price") // not on the server's list either

	overdue := customer(ann, "Overdue", 10, -10*24*time.Hour)
	note(ann, overdue, -3*24*time.Hour, at(-20*time.Hour))
	dueToday := customer(ann, "Due today", 10, -10*24*time.Hour)
	note(ann, dueToday, -24*time.Hour, timestamppb.New(time.Date(2026, 3, 10, 15, 0, 0, 0, shanghai)))
	replaced := customer(ann, "Replaced", 10, -10*24*time.Hour)
	note(ann, replaced, -3*24*time.Hour, at(-time.Hour))
	note(ann, replaced, -2*time.Hour, nil)
	tomorrow := customer(ann, "Tomorrow", 10, -10*24*time.Hour)
	note(ann, tomorrow, -time.Hour, timestamppb.New(time.Date(2026, 3, 11, 9, 0, 0, 0, shanghai)))
	hot := customer(ann, "Hot", 60, -time.Hour)
	view(hot, pricing, -2*time.Hour, 150_000)
	view(hot, pricing, -3*time.Hour, 60_000)
	view(hot, pricing, -4*time.Hour, 30_000)
	view(hot, pricing, -8*24*time.Hour, 1_000) // before the reading window
	customer(ann, "Warm", 35, -2*time.Hour)
	customer(ann, "Lukewarm", 10, -time.Hour)
	customer(ann, "Cold", 70, -9*24*time.Hour)
	customer(ann, "Gone", 80, -90*24*time.Hour)
	won := customer(ann, "Won already", 90, -9*24*time.Hour)
	ents[Key{Kind: salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, ID: won}].(*salesappv1.SyncCustomer).Stage = salesappv1.CustomerStage_CUSTOMER_STAGE_WON
	// Bob's customer, on Ann's device as a manager's would be: not on her list.
	bobs := customer(bob, "Bob's", 90, -time.Hour)
	note(bob, bobs, -3*24*time.Hour, at(-time.Hour))

	list := FollowUps(ents, ann, now)
	var got []string
	for _, e := range list {
		got = append(got, string(e.Kind)+":"+e.Name+": "+e.Reason)
	}
	require.Equal(t, []string{
		"due:Overdue: follow-up overdue since Mar 9 04:30",
		"due:Due today: follow-up due today at 15:00",
		"hot:Hot: read 《Pricing》 3 times in the last 7 days, 4 min in total",
		"hot:Warm: active 2 h ago, intent 35",
		"cold:Cold: was hot (intent 70), silent for 9 days",
	}, got)
	require.Equal(t, followup.Due, list[0].Kind)
	require.Equal(t, now.Add(-20*time.Hour), list[0].DueAt.In(shanghai))

	// Suggestions, by the server's rule: Hot read Pricing (price, plans), so Plans compared, which shares
	// a tag and was not sent; the others read nothing, so the latest published (the device's tie-break,
	// where the server's is the most shared).
	var suggested []string
	for _, e := range list {
		require.NotNil(t, e.Suggested, e.Name)
		suggested = append(suggested, e.Name+": "+e.Suggested.Title)
	}
	require.Equal(t, []string{"Overdue: Company history", "Due today: Company history", "Hot: Plans compared",
		"Warm: Company history", "Cold: Company history"}, suggested)
	require.Equal(t, plans, list[2].Suggested.ID.String())

	// A customer who viewed everything sendable gets no suggestion; one who viewed Plans compared long
	// ago (outside the reading window, still in the timeline) is not sent it again.
	for _, m := range []string{plans, history} {
		view(hot, m, -30*24*time.Hour, 1_000)
	}
	list = FollowUps(ents, ann, now)
	require.Equal(t, "Hot", list[2].Name)
	require.Nil(t, list[2].Suggested)
	require.Equal(t, "read 《Pricing》 3 times in the last 7 days, 4 min in total", list[2].Reason)
}
