package customer_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/push/alert"
)

// A follow-up's author is reminded when its next_at comes, once, pushed; one due in their quiet hours waits
// for the hours to end (in the tenant's time zone, the server running in UTC); a new next_at brings a new
// reminder; one long overdue, or of someone else's note, is not theirs.
func TestAFollowUpIsRemindedOnceAtItsTimeAndHeldThroughQuietHours(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	_, err := w.db.Super.Exec(ctx, "UPDATE tenants SET time_zone = 'Asia/Shanghai' WHERE id = $1", w.tenant)
	require.NoError(t, err)
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	id := uuid.Must(uuid.NewV7())
	_, err = w.db.Super.Exec(ctx, "INSERT INTO customers (id, tenant_id, owner_id, display_name) VALUES ($1, $2, $3, 'Wang Fang')",
		id, w.tenant, w.ann.EmployeeID)
	require.NoError(t, err)

	var mu sync.Mutex
	clock := time.Date(2026, 12, 7, 10, 0, 0, 0, shanghai)
	var woken []alert.Key
	r := customer.NewReminders(w.db.App, nil, func(k []alert.Key) { mu.Lock(); woken = append(woken, k...); mu.Unlock() },
		func() time.Time { mu.Lock(); defer mu.Unlock(); return clock })
	at := func(t time.Time) { mu.Lock(); clock = t; mu.Unlock() }
	run := func() int {
		t.Helper()
		n, err := r.Run(ctx)
		require.NoError(t, err)
		return n
	}
	reminders := func() []string {
		t.Helper()
		rows, err := w.db.Super.Query(ctx, `SELECT body FROM alerts WHERE tenant_id = $1 AND employee_id = $2 AND kind = 'follow_up_due'
			AND pushed ORDER BY seq`, w.tenant, w.ann.EmployeeID)
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return out
	}

	due := time.Date(2026, 12, 7, 15, 0, 0, 0, shanghai)
	note, err := w.svc.AddNote(ctx, w.ann, id, customer.NoteFollowUp, "call about the quote", &due)
	require.NoError(t, err)
	old := due.Add(-26 * time.Hour)
	_, err = w.svc.AddNote(ctx, w.ann, id, customer.NoteFollowUp, "long ago", &old)
	require.NoError(t, err)

	at(due.Add(-time.Minute))
	require.Zero(t, run(), "not yet")
	at(due.Add(10 * time.Second))
	require.Equal(t, 1, run())
	require.Equal(t, []string{"Follow up with Wang Fang: call about the quote"}, reminders())
	require.Contains(t, woken, alert.Key{TenantID: w.tenant, EmployeeID: w.ann.EmployeeID})
	at(due.Add(time.Minute))
	require.Zero(t, run(), "once")

	// Quiet hours 22:00–07:00 in Shanghai: a follow-up due at 23:30 waits until 07:00.
	_, err = w.db.Super.Exec(ctx, `INSERT INTO alert_prefs (tenant_id, employee_id, quiet_start_min, quiet_end_min) VALUES ($1, $2, 1320, 420)`,
		w.tenant, w.ann.EmployeeID)
	require.NoError(t, err)
	late := time.Date(2026, 12, 7, 23, 30, 0, 0, shanghai)
	require.NoError(t, w.db.App.InTenantTx(ctx, w.tenant, func(tx pgx.Tx) error {
		return customer.EditNoteTx(ctx, tx, w.ann, note.ID, "call about the quote", &late)
	}))
	at(late.Add(time.Minute))
	require.Zero(t, run(), "held through the quiet hours")
	at(time.Date(2026, 12, 8, 6, 59, 0, 0, shanghai))
	require.Zero(t, run())
	at(time.Date(2026, 12, 8, 7, 0, 30, 0, shanghai))
	require.Equal(t, 1, run(), "a new next_at, reminded once the hours end")
	require.Len(t, reminders(), 2)
	require.Zero(t, run())
}
