package alert

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/batch"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/push/sender"
)

// queued records the pushes Record enqueues.
type queued struct{ pushes []Push }

func (q *queued) Push(_ context.Context, _ pgx.Tx, p []Push) error {
	q.pushes = append(q.pushes, p...)
	return nil
}

func (q *queued) Committed() {}

// salesperson is one stream with one registered phone.
type salesperson struct {
	key   Key
	token string
	// session is the sign-in its phone is registered under.
	session uuid.UUID
	// pushes are the jobs its alerts made, in order.
	pushes []Push
}

// pushFixture makes two tenants, with two salespeople and one, each with a phone and n alerts.
func pushFixture(t *testing.T, n int) (*Service, []*salesperson) {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	s := NewService(db.App)
	var people []*salesperson
	for ti, staff := range []int{2, 1} {
		// pgtest seeds directly: backend/tenant would import this package (through handover and pool).
		tn := db.NewTenant(t, fmt.Sprint("T", ti))
		for e := range staff {
			emp := db.NewEmployee(t, tn.ID, authn.RoleSales, uuid.Nil)
			p := &salesperson{key: Key{TenantID: tn.ID, EmployeeID: emp.EmployeeID}, token: fmt.Sprintf("token-%d-%d", ti, e)}
			p.session = signIn(t, s, p.key, "phone")
			// The same device id for everyone: devices are told apart by salesperson, not by the app's id.
			require.NoError(t, s.RegisterDevice(ctx, p.key, Device{DeviceID: "phone", Platform: "ios", PushToken: p.token,
				SessionID: p.session}))
			var alerts []Alert
			for i := range n {
				alerts = append(alerts, Alert{Kind: KindCallClick, EmployeeID: emp.EmployeeID, CustomerID: uuid.New(), Body: fmt.Sprintf("%s alert %d", p.token, i), At: time.Now()})
			}
			q := &queued{}
			require.NoError(t, db.App.InTenantTx(ctx, tn.ID, func(tx pgx.Tx) error {
				_, err := Record(ctx, tx, q, tn.ID, alerts, time.Now())
				return err
			}))
			require.Len(t, q.pushes, n)
			p.pushes = q.pushes
			people = append(people, p)
		}
	}
	return s, people
}

// One batch of reads spans tenants, interleaved: each job finds its own device and entry, scoped to its
// own tenant, and a job naming another tenant's or another salesperson's device finds nothing.
func TestABatchOfPushReadsIsScopedTenantByTenant(t *testing.T) {
	t.Parallel()
	s, people := pushFixture(t, 3)
	a1, a2, b := people[0], people[1], people[2]
	p := &Pusher{s: s}

	var (
		jobs            []pushJob
		body, wantToken []string
	)
	for i := range 3 {
		for _, sp := range []*salesperson{a1, b, a2} {
			jobs = append(jobs, pushJob{k: sp.key, deviceID: sp.pushes[i].DeviceID, seq: sp.pushes[i].Seq})
			body, wantToken = append(body, fmt.Sprintf("%s alert %d", sp.token, i)), append(wantToken, sp.token)
		}
	}
	stray := []pushJob{
		{k: b.key, deviceID: a1.pushes[0].DeviceID, seq: a1.pushes[0].Seq},                                         // another tenant's device and entry
		{k: Key{TenantID: b.key.TenantID, EmployeeID: a1.key.EmployeeID}, deviceID: a1.pushes[0].DeviceID, seq: 1}, // claimed under the wrong tenant
		{k: a2.key, deviceID: a1.pushes[0].DeviceID, seq: a2.pushes[0].Seq},                                        // a colleague's phone
		{k: a1.key, deviceID: a1.pushes[0].DeviceID, seq: 99},                                                      // an entry that does not exist
	}
	outs, errs := batch.RunOnce(context.Background(), p.readTargets, append(jobs, stray...)...)
	for i := range jobs {
		require.NoError(t, errs[i])
		require.True(t, outs[i].found, "job %d", i)
		require.Equal(t, body[i], outs[i].row.Body)
		require.Equal(t, wantToken[i], outs[i].row.PushToken)
	}
	for i := range stray {
		require.NoError(t, errs[len(jobs)+i])
		require.False(t, outs[len(jobs)+i].found, "stray job %d", i)
	}
}

// sent records what a sender was asked to push, by token.
type sent struct {
	mu     sync.Mutex
	bodies map[string][]string
}

func (r *sent) Send(_ context.Context, d sender.Device, a sender.Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bodies[d.Token] = append(r.bodies[d.Token], a.Body)
	return nil
}

// Many pushes delivered at once, as River's workers run them, share reads and each reaches its phone.
func TestConcurrentDeliveriesReachTheirPhones(t *testing.T) {
	t.Parallel()
	const n = 60
	s, people := pushFixture(t, n)
	p := NewPusher(s)
	defer p.Close()
	rec := &sent{bodies: map[string][]string{}}
	var wg sync.WaitGroup
	for _, sp := range people {
		for _, push := range sp.pushes {
			wg.Go(func() {
				out, err := p.Deliver(context.Background(), rec, sp.key, push.DeviceID, push.Seq)
				require.NoError(t, err)
				require.Equal(t, Sent, out)
			})
		}
	}
	wg.Wait()
	// Closing adds the counts of pushes sent to each tenant's day (usage).
	p.sent.close()
	sentTo := map[uuid.UUID]int{}
	for _, sp := range people {
		sentTo[sp.key.TenantID] += n
	}
	for tenantID, want := range sentTo {
		var got int
		require.NoError(t, s.db.InTenantTx(context.Background(), tenantID, func(tx pgx.Tx) error {
			return tx.QueryRow(context.Background(), "SELECT coalesce(sum(sent), 0) FROM push_days").Scan(&got)
		}))
		require.Equal(t, want, got)
	}
	for _, sp := range people {
		require.Len(t, rec.bodies[sp.token], n)
		require.ElementsMatch(t, func() []string {
			var w []string
			for i := range n {
				w = append(w, fmt.Sprintf("%s alert %d", sp.token, i))
			}
			return w
		}(), rec.bodies[sp.token])
	}
}

// The hub's poll reads the heads of streams of several tenants at once, each under its own tenant.
func TestHeadsOfManyStreamsAcrossTenants(t *testing.T) {
	t.Parallel()
	s, people := pushFixture(t, 2)
	a1, a2, b := people[0], people[1], people[2]
	wrong := Key{TenantID: b.key.TenantID, EmployeeID: a1.key.EmployeeID}
	nobody := Key{TenantID: a1.key.TenantID, EmployeeID: uuid.New()}
	heads, err := s.Heads(context.Background(), []Key{a1.key, b.key, a2.key, wrong, nobody})
	require.NoError(t, err)
	require.Len(t, heads, 3, "a stream claimed under another tenant, or that does not exist, is left out")
	for _, sp := range []*salesperson{a1, a2, b} {
		epoch, head, err := s.Head(context.Background(), sp.key)
		require.NoError(t, err)
		require.Equal(t, Head{Epoch: epoch, Seq: head}, heads[sp.key])
		require.Equal(t, int64(2), head)
	}
}

// A push that cannot read its target (the database down, the node stopping) is retried, never dropped.
func TestAPushThatCannotReadIsRetried(t *testing.T) {
	t.Parallel()
	s, people := pushFixture(t, 1)
	p := NewPusher(s)
	p.Close()
	sp := people[0]
	_, err := p.Deliver(context.Background(), &sent{bodies: map[string][]string{}}, sp.key, sp.pushes[0].DeviceID, sp.pushes[0].Seq)
	var retry *sender.RetryError
	require.ErrorAs(t, err, &retry)
}

// The hub renews the foreground leases of open apps across tenants at once; a device in the background,
// or named under another tenant, is left alone.
func TestForegroundLeasesAreRenewedAcrossTenants(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, people := pushFixture(t, 0)
	a1, a2, b := people[0], people[1], people[2]
	require.NoError(t, s.SetForeground(ctx, a1.key, "phone", true))
	require.NoError(t, s.SetForeground(ctx, b.key, "phone", true))
	require.NoError(t, s.SetForeground(ctx, a2.key, "phone", false))

	n, err := s.RenewForeground(ctx, []DeviceKey{
		{Key: a1.key, DeviceID: "phone"}, {Key: a2.key, DeviceID: "phone"}, {Key: b.key, DeviceID: "phone"},
		{Key: Key{TenantID: b.key.TenantID, EmployeeID: a1.key.EmployeeID}, DeviceID: "phone"},
	})
	require.NoError(t, err)
	require.Equal(t, 2, n, "the two open apps, not the one in the background nor a key under the wrong tenant")
	for _, sp := range []*salesperson{a1, b} {
		var until time.Time
		require.NoError(t, s.db.InTenantTx(ctx, sp.key.TenantID, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, "SELECT foreground_until FROM devices WHERE employee_id = $1", sp.key.EmployeeID).Scan(&until)
		}))
		require.WithinDuration(t, time.Now().Add(presenceLease), until, 30*time.Second)
	}
}

// signIn signs k's salesperson in on a device and returns the session's id.
func signIn(t *testing.T, s *Service, k Key, deviceID string) uuid.UUID {
	t.Helper()
	return pgtest.SignIn(t, s.db, k.TenantID, k.EmployeeID, deviceID)
}
