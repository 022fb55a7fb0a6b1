package stats_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/stats"
)

// seedCustomer writes a customer of owner as the customer domain would have left it.
func (w *world) seedCustomer(t *testing.T, owner authn.Principal, name string, intent int, lastActive time.Time) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	_, err := w.db.Super.Exec(context.Background(),
		`INSERT INTO customers (id, tenant_id, owner_id, display_name, intent_score, last_active_at, first_seen_at, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $6, $6)`, id, w.tenant, owner.EmployeeID, name, intent, lastActive)
	require.NoError(t, err)
	return id
}

func (w *world) seedNote(t *testing.T, author authn.Principal, customerID uuid.UUID, created time.Time, next *time.Time) {
	t.Helper()
	_, err := w.db.Super.Exec(context.Background(),
		`INSERT INTO customer_notes (id, tenant_id, customer_id, author_id, kind, body, next_at, created_at)
		 VALUES ($1, $2, $3, $4, 'follow_up', 'called', $5, $6)`, uuid.New(), w.tenant, customerID, author.EmployeeID, next, created)
	require.NoError(t, err)
}

func (w *world) seedMaterial(t *testing.T, title string, tags ...string) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	_, err := w.db.Super.Exec(context.Background(),
		`INSERT INTO materials (id, tenant_id, tier, kind, status, title, tags) VALUES ($1, $2, 'enterprise', 'article', 'published', $3, $4)`,
		id, w.tenant, title, tags)
	require.NoError(t, err)
	return id
}

func (w *world) seedView(t *testing.T, customerID, materialID uuid.UUID, at time.Time, dwellMs int) {
	t.Helper()
	_, err := w.db.Super.Exec(context.Background(),
		`INSERT INTO events (tenant_id, id, customer_id, employee_id, material_id, kind, occurred_at, dwell_ms)
		 VALUES ($1, $2, $3, $4, $5, 'material_view', $6, $7)`, w.tenant, uuid.New(), customerID, w.ann.EmployeeID, materialID, at, dwellMs)
	require.NoError(t, err)
}

func TestFollowUpsListDueThenHotThenColdWithReasonsAndSuggestions(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	now := w.now // 00:30 on 10 March in Shanghai
	at := func(d time.Duration) time.Time { return now.Add(d) }
	ptr := func(t time.Time) *time.Time { return &t }

	pricing := w.seedMaterial(t, "Pricing", "price", "plans")
	plans := w.seedMaterial(t, "Plans compared", "plans")
	_ = w.seedMaterial(t, "Company history", "about")

	// Due: overdue since yesterday (earliest first), due later today, and one whose follow-up was
	// replaced by a later note without a next step (not due), and one due tomorrow (not yet).
	overdue := w.seedCustomer(t, w.ann, "Overdue", 10, at(-10*24*time.Hour))
	w.seedNote(t, w.ann, overdue, at(-3*24*time.Hour), ptr(at(-20*time.Hour)))
	dueToday := w.seedCustomer(t, w.ann, "Due today", 10, at(-10*24*time.Hour))
	w.seedNote(t, w.ann, dueToday, at(-24*time.Hour), ptr(time.Date(2026, 3, 10, 15, 0, 0, 0, shanghai)))
	replaced := w.seedCustomer(t, w.ann, "Replaced", 10, at(-10*24*time.Hour))
	w.seedNote(t, w.ann, replaced, at(-3*24*time.Hour), ptr(at(-time.Hour)))
	w.seedNote(t, w.ann, replaced, at(-2*time.Hour), nil)
	tomorrow := w.seedCustomer(t, w.ann, "Tomorrow", 10, at(-10*24*time.Hour))
	w.seedNote(t, w.ann, tomorrow, at(-time.Hour), ptr(time.Date(2026, 3, 11, 9, 0, 0, 0, shanghai)))

	// Hot: active lately with intent; the hotter first. A lukewarm one is not listed.
	hot := w.seedCustomer(t, w.ann, "Hot", 60, at(-time.Hour))
	w.seedView(t, hot, pricing, at(-2*time.Hour), 150_000)
	w.seedView(t, hot, pricing, at(-3*time.Hour), 60_000)
	w.seedView(t, hot, pricing, at(-4*time.Hour), 30_000)
	warm := w.seedCustomer(t, w.ann, "Warm", 35, at(-2*time.Hour))
	_ = w.seedCustomer(t, w.ann, "Lukewarm", 10, at(-time.Hour))

	// Cold: was hot, silent for 9 days. Long gone (90 days) is not listed.
	cold := w.seedCustomer(t, w.ann, "Cold", 70, at(-9*24*time.Hour))
	_ = w.seedCustomer(t, w.ann, "Gone", 80, at(-90*24*time.Hour))

	// Bob's customers are not on Ann's list.
	bobs := w.seedCustomer(t, w.bob, "Bob's", 90, at(-time.Hour))
	w.seedNote(t, w.bob, bobs, at(-3*24*time.Hour), ptr(at(-time.Hour)))

	list, err := w.svc.FollowUps(context.Background(), w.ann)
	require.NoError(t, err)
	var got []string
	for _, f := range list {
		got = append(got, string(f.Kind)+":"+f.Name)
	}
	require.Equal(t, []string{"due:Overdue", "due:Due today", "hot:Hot", "hot:Warm", "cold:Cold"}, got)

	require.Equal(t, "follow-up overdue since Mar 9 04:30", list[0].Reason)
	require.Equal(t, "follow-up due today at 15:00", list[1].Reason)
	require.Equal(t, "read 《Pricing》 3 times in the last 7 days, 4 min in total", list[2].Reason)
	require.Equal(t, hot, list[2].CustomerID)
	require.Equal(t, "active 2 h ago, intent 35", list[3].Reason)
	require.Equal(t, warm, list[3].CustomerID)
	require.Equal(t, "was hot (intent 70), silent for 9 days", list[4].Reason)
	require.Equal(t, cold, list[4].CustomerID)

	// Hot read Pricing (price, plans): suggest what shares a tag and was not sent, Plans compared.
	require.Equal(t, plans, list[2].Suggested)
	require.Equal(t, "Plans compared", list[2].SuggestedTitle)
	for _, f := range list {
		require.NotEqual(t, uuid.Nil, f.Suggested, f.Name) // every one has something not yet seen
	}
	require.Equal(t, stats.FollowUpDue, list[0].Kind)
	require.Equal(t, at(-20*time.Hour), list[0].DueAt.UTC())
}
