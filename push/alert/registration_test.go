package alert

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// registrations lists a salesperson's registrations: device id → disabled reason ("" while enabled).
func registrations(t *testing.T, s *Service, k Key) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, s.db.InTenantTx(context.Background(), k.TenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(context.Background(), "SELECT device_id, disabled_reason FROM devices WHERE employee_id = $1", k.EmployeeID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, reason string
			if err := rows.Scan(&id, &reason); err != nil {
				return err
			}
			out[id] = reason
		}
		return rows.Err()
	}))
	return out
}

func endSession(t *testing.T, s *Service, k Key, session uuid.UUID) {
	t.Helper()
	require.NoError(t, s.db.InTenantTx(context.Background(), k.TenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), "UPDATE sessions SET revoked_at = now() WHERE id = $1", session)
		return err
	}))
}

// A push queued before the session ended finds the session ended and is not sent, even when nothing
// disabled the registration (belt and braces); new alerts queue no push for it at all.
func TestNoPushReachesARegistrationWhoseSessionEnded(t *testing.T) {
	t.Parallel()
	s, people := pushFixture(t, 1)
	sp := people[0]
	endSession(t, s, sp.key, sp.session)
	require.Empty(t, registrations(t, s, sp.key)["phone"], "the registration itself is still enabled")

	p := NewPusher(s)
	defer p.Close()
	rec := &sent{bodies: map[string][]string{}}
	out, err := p.Deliver(context.Background(), rec, sp.key, sp.pushes[0].DeviceID, sp.pushes[0].Seq)
	require.NoError(t, err)
	require.Equal(t, Skipped, out)
	require.Empty(t, rec.bodies)

	q := &queued{}
	require.NoError(t, s.db.InTenantTx(context.Background(), sp.key.TenantID, func(tx pgx.Tx) error {
		_, err := Record(context.Background(), tx, q, sp.key.TenantID, []Alert{{Kind: KindCallClick, EmployeeID: sp.key.EmployeeID,
			CustomerID: uuid.New(), Body: "later", At: time.Now()}}, time.Now())
		return err
	}))
	require.Empty(t, q.pushes, "no push is queued for a phone whose session ended")

	// The colleague's phone, of a session still live, is pushed to as before.
	other := people[1]
	out, err = p.Deliver(context.Background(), rec, other.key, other.pushes[0].DeviceID, other.pushes[0].Seq)
	require.NoError(t, err)
	require.Equal(t, Sent, out)
}

// A session is one app install: registering again under another device id replaces its registration, so
// that a phone signed out cannot keep a second registration alive.
func TestASessionHasOneRegistration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, people := pushFixture(t, 0)
	sp := people[0]
	require.NoError(t, s.RegisterDevice(ctx, sp.key, Device{DeviceID: "phone-alias", Platform: "ios", PushToken: "alias-token", SessionID: sp.session}))
	require.Equal(t, map[string]string{"phone-alias": ""}, registrations(t, s, sp.key))

	require.NoError(t, disableSession(t, s, sp.key, sp.session))
	require.Equal(t, map[string]string{"phone-alias": "signed out"}, registrations(t, s, sp.key))

	// Signing in again on the phone and registering it enables it again, under the new session.
	again := signIn(t, s, sp.key, "phone-alias")
	require.NoError(t, s.RegisterDevice(ctx, sp.key, Device{DeviceID: "phone-alias", Platform: "ios", PushToken: "alias-token", SessionID: again}))
	require.Equal(t, map[string]string{"phone-alias": ""}, registrations(t, s, sp.key))
}

// disableSession runs DisableSessionDevicesTx in a transaction of its own.
func disableSession(t *testing.T, s *Service, k Key, session uuid.UUID) error {
	t.Helper()
	return s.db.InTenantTx(context.Background(), k.TenantID, func(tx pgx.Tx) error {
		return DisableSessionDevicesTx(context.Background(), tx, k.TenantID, []uuid.UUID{session}, "signed out")
	})
}

// A salesperson has at most MaxDevices enabled registrations: the next one disables the one registered
// longest ago. Ending every session but one keeps that one's registration only.
func TestRegistrationsPerSalespersonAreCapped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, people := pushFixture(t, 0)
	sp := people[0]
	sessions := []uuid.UUID{sp.session}
	for i := 1; i <= MaxDevices; i++ {
		id := signIn(t, s, sp.key, fmt.Sprint("phone-", i))
		sessions = append(sessions, id)
		require.NoError(t, s.RegisterDevice(ctx, sp.key, Device{DeviceID: fmt.Sprint("phone-", i), Platform: "android",
			PushToken: fmt.Sprint("token-", i), SessionID: id}))
	}
	regs := registrations(t, s, sp.key)
	require.Len(t, regs, MaxDevices+1)
	require.Equal(t, "more than 10 registrations: the oldest was disabled", regs["phone"], "the first registration went")
	for i := 1; i <= MaxDevices; i++ {
		require.Empty(t, regs[fmt.Sprint("phone-", i)])
	}

	keep := sessions[len(sessions)-1]
	require.NoError(t, s.db.InTenantTx(ctx, sp.key.TenantID, func(tx pgx.Tx) error {
		return DisableEmployeeDevicesTx(ctx, tx, sp.key, keep, "signed out everywhere")
	}))
	regs = registrations(t, s, sp.key)
	for id, reason := range regs {
		if id == fmt.Sprint("phone-", MaxDevices) {
			require.Empty(t, reason)
			continue
		}
		require.NotEmpty(t, reason, id)
	}
	// Another salesperson's registration is untouched.
	require.Equal(t, map[string]string{"phone": ""}, registrations(t, s, people[1].key))
}

// One Record alerting several salespeople reads everyone's prefs and phones at once and applies each
// person's own: one's muted kind is not recorded, another's quiet hours record without a push, a third
// (no prefs set) is pushed on their phone; nobody's phone gets another's alert.
func TestOneRecordAppliesEachSalespersonsOwnPrefsAndPhones(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, people := pushFixture(t, 1)
	a1, a2 := people[0], people[1] // one tenant
	third := &salesperson{key: Key{TenantID: a1.key.TenantID, EmployeeID: uuid.New()}}
	require.NoError(t, s.SetPrefs(ctx, a1.key, []Kind{KindCallClick}, nil, nil))
	now := time.Now()
	var zone string
	require.NoError(t, s.db.InTenantTx(ctx, a1.key.TenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT time_zone FROM tenants WHERE id = $1", a1.key.TenantID).Scan(&zone)
	}))
	loc, err := time.LoadLocation(zone)
	require.NoError(t, err)
	// Quiet from this minute for an hour, in the tenant's zone (past midnight too): the test runs inside it
	// whatever the time of day, and never skips.
	m := int32(now.In(loc).Hour()*60 + now.In(loc).Minute())
	start, end := m, (m+60)%1440
	require.NoError(t, s.SetPrefs(ctx, a2.key, nil, &start, &end))

	alerts := []Alert{
		{Kind: KindCallClick, EmployeeID: a1.key.EmployeeID, CustomerID: uuid.New(), Body: "muted", At: now},
		{Kind: KindPhoneLeft, EmployeeID: a1.key.EmployeeID, CustomerID: uuid.New(), Body: "a1's", At: now},
		{Kind: KindCallClick, EmployeeID: a2.key.EmployeeID, CustomerID: uuid.New(), Body: "a2's, quietly", At: now},
		{Kind: KindCallClick, EmployeeID: third.key.EmployeeID, CustomerID: uuid.New(), Body: "no phone", At: now},
	}
	q := &queued{}
	var woken []Key
	require.NoError(t, s.db.InTenantTx(ctx, a1.key.TenantID, func(tx pgx.Tx) error {
		var err error
		woken, err = Record(ctx, tx, q, a1.key.TenantID, alerts, now)
		return err
	}))
	require.ElementsMatch(t, []Key{a1.key, a2.key, third.key}, woken)
	require.Len(t, q.pushes, 1, "a1's phone only: a2 is in quiet hours, the third has no phone")
	require.Equal(t, a1.key.EmployeeID, q.pushes[0].EmployeeID)
	require.Equal(t, a1.pushes[0].DeviceID, q.pushes[0].DeviceID)

	bodies := func(k Key) []string {
		entries, err := s.Since(ctx, k, 1, 10)
		require.NoError(t, err)
		var out []string
		for _, e := range entries {
			out = append(out, e.Body)
		}
		return out
	}
	require.Equal(t, []string{"a1's"}, bodies(a1.key), "the muted kind is not recorded")
	require.Equal(t, []string{"a2's, quietly"}, bodies(a2.key), "recorded in quiet hours, not pushed")
}
