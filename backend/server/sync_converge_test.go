package server_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server/servertest"
	"github.com/salesapp/scrm/sync/replica"
)

var (
	convergeSeed   = flag.Uint64("sync.seed", 20261123, "seed of the randomized sync convergence test")
	convergeRounds = flag.Int("sync.rounds", 60, "rounds of the randomized sync convergence test (go test -run Converge -sync.rounds 2000 for a long run)")
)

// flaky is an HTTP transport between a device and the server that loses replies (the server did the
// work, the device hears nothing) and delivers requests twice (the device hears the second answer).
type flaky struct {
	mu    sync.Mutex
	rng   *rand.Rand
	calm  bool
	next  http.RoundTripper
	drops int
	dups  int
}

func (f *flaky) roll() (drop, dup bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calm {
		return false, false
	}
	drop, dup = f.rng.IntN(8) == 0, f.rng.IntN(8) == 0
	if drop {
		f.drops++
	}
	if dup {
		f.dups++
	}
	return drop, dup
}

func (f *flaky) RoundTrip(req *http.Request) (*http.Response, error) {
	drop, dup := f.roll()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body.Close()
	with := func() *http.Request {
		r := req.Clone(req.Context())
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		return r
	}
	if dup {
		if res, err := f.next.RoundTrip(with()); err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	}
	res, err := f.next.RoundTrip(with())
	if err != nil || !drop {
		return res, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return nil, errors.New("flaky: reply lost")
}

// simDevice is one salesperson's app: a reference client over a file it reopens after each crash.
type simDevice struct {
	name    string
	owner   servertest.Person
	path    string
	client  *replica.Client
	offline int // rounds left offline
	crashed bool
}

var errCrash = errors.New("simulated crash between saving a page and its cursor")

// Many devices, random offline periods, lost and doubled replies, crashes between saving a page and its
// cursor, writers committing out of order, long transactions (in this tenant, held across many syncs, and
// in another tenant, held through the whole run) all run at once; at the end every replica must equal
// what a fresh full sync of its salesperson returns.
func TestSyncConvergesUnderFaults(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(*convergeSeed, 1))
	a, salesA, tokenA, materialID := sharedMaterial(t, e)
	salesB := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)
	shB, err := clientsOf(e, salesB.Token).shares.ShareMaterial(ctx, connect.NewRequest(&salesappv1.ShareMaterialRequest{MaterialId: materialID, Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT}))
	require.NoError(t, err)
	tokens := map[uuid.UUID]string{salesA.ID: tokenA, salesB.ID: shB.Msg.Share.Token}
	people := []servertest.Person{salesA, salesB}
	// Both salespeople are in a team whose manager has a device too: the team's customers read-only,
	// notes and assignments within the team pushed offline.
	team := e.NewTeam(t, a.ID, "North")
	for _, p := range people {
		moveTo(t, e, a.Admin, p.ID, team.String())
	}
	manager := e.NewPerson(t, a.ID, authn.RoleManager, team)

	dir := t.TempDir()
	transport := &flaky{rng: rand.New(rand.NewPCG(*convergeSeed, 2)), next: e.HTTP.Transport}
	httpClient := &http.Client{Transport: transport}
	var devices []*simDevice
	open := func(d *simDevice) {
		store, err := replica.OpenFile(d.path, replica.FileOptions{NoSync: true})
		require.NoError(t, err)
		crashRng := rand.New(rand.NewPCG(*convergeSeed, uint64(len(d.path))))
		token := d.owner.Token
		d.client, err = replica.New(httpClient, e.URL, func() string { return token }, d.name, store,
			replica.WithPageSize(7), // small pages: many page boundaries, many chances to crash between saves
			replica.WithRetry(replica.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}),
			replica.WithSplitPageSaves(func() error {
				if crashRng.IntN(10) == 0 {
					d.crashed = true
					return errCrash
				}
				return nil
			}))
		require.NoError(t, err)
		d.crashed = false
	}
	for i := range 4 {
		d := &simDevice{name: fmt.Sprintf("device-%d", i), owner: people[i%2], path: filepath.Join(dir, fmt.Sprintf("device-%d.log", i))}
		open(d)
		devices = append(devices, d)
	}
	managerDev := &simDevice{name: "manager-device", owner: manager, path: filepath.Join(dir, "manager-device.log")}
	open(managerDev)
	devices = append(devices, managerDev)

	// Writers, all the while: visitors reading and acting through both salespeople's shares; the admin
	// reassigning customers; transactions left open while later ones commit, some for a few
	// milliseconds, some across many devices' syncs; and another tenant's writer open throughout.
	b := e.NewTenant(t, "B", 0)
	commitB := openCustomerTx(t, e, e.NewPerson(t, b.ID, authn.RoleSales, uuid.Nil))
	stop := make(chan struct{})
	var writers sync.WaitGroup
	writerErr := make(chan error, 8)
	var outOfOrder atomic.Int64 // transactions that committed after one begun later
	var long atomic.Int64       // of those, transactions held open across devices' syncs
	wrng := func(stream uint64) *rand.Rand { return rand.New(rand.NewPCG(*convergeSeed, stream)) }
	writers.Add(4)
	go func() {
		defer writers.Done()
		r := wrng(10)
		kinds := []salesappv1.EventKind{salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW, salesappv1.EventKind_EVENT_KIND_FORWARD,
			salesappv1.EventKind_EVENT_KIND_CALL_CLICK, salesappv1.EventKind_EVENT_KIND_WECHAT_CLICK}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p := people[r.IntN(2)]
			ev := ev(kinds[r.IntN(len(kinds))], tokens[p.ID], fmt.Sprintf("visitor-cv%03d", r.IntN(12)))
			if _, err := tracker(e).Track(ctx, connect.NewRequest(&salesappv1.TrackRequest{Events: []*salesappv1.TrackEvent{ev}})); err != nil {
				writerErr <- err
				return
			}
			time.Sleep(time.Duration(r.IntN(5)) * time.Millisecond)
		}
	}()
	go func() {
		defer writers.Done()
		r := wrng(11)
		admin := customers(e, a.Admin.Token)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(5+r.IntN(20)) * time.Millisecond):
			}
			list, err := admin.ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{PageSize: 50}))
			if err != nil {
				writerErr <- err
				return
			}
			if len(list.Msg.Customers) == 0 {
				continue
			}
			c := list.Msg.Customers[r.IntN(len(list.Msg.Customers))]
			to := people[r.IntN(2)]
			if _, err := admin.AssignCustomer(ctx, connect.NewRequest(&salesappv1.AssignCustomerRequest{CustomerId: c.Id, OwnerId: to.ID.String()})); err != nil {
				writerErr <- err
				return
			}
		}
	}()
	go func() {
		defer writers.Done()
		r := wrng(12)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(5+r.IntN(20)) * time.Millisecond):
			}
			p := people[r.IntN(2)]
			list, err := customers(e, p.Token).ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{PageSize: 50}))
			if err != nil || len(list.Msg.Customers) == 0 {
				continue
			}
			cid := list.Msg.Customers[r.IntN(len(list.Msg.Customers))].Id
			// Written first, committed after another transaction and after the devices pulled meanwhile.
			commit, err := openNoteTx(e, p, cid, "left open")
			if err != nil {
				writerErr <- err
				return
			}
			second, err := openNoteTx(e, p, cid, "committed first")
			if err == nil {
				err = second()
			}
			time.Sleep(time.Duration(r.IntN(15)) * time.Millisecond)
			if err := errors.Join(err, commit()); err != nil {
				writerErr <- err
				return
			}
			outOfOrder.Add(1)
		}
	}()
	go func() {
		defer writers.Done()
		r := wrng(13)
		for {
			p := people[r.IntN(2)]
			list, err := customers(e, p.Token).ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{PageSize: 50}))
			if err == nil && len(list.Msg.Customers) > 0 {
				commit, err := openNoteTx(e, p, list.Msg.Customers[r.IntN(len(list.Msg.Customers))].Id, "held open long")
				if err != nil {
					writerErr <- err
					return
				}
				select {
				case <-stop:
				case <-time.After(time.Duration(100+r.IntN(300)) * time.Millisecond):
				}
				if err := commit(); err != nil {
					writerErr <- err
					return
				}
				long.Add(1)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(5+r.IntN(20)) * time.Millisecond):
			}
		}
	}()

	for round := range *convergeRounds {
		for _, d := range devices {
			if d.offline > 0 {
				d.offline--
			}
			if d.crashed {
				require.NoError(t, d.client.Close())
				open(d)
			}
			// Work offline: mutations on whatever the replica shows.
			var custs []string
			var notes []string
			for k := range d.client.Entities() {
				switch k.Kind {
				case salesappv1.EntityKind_ENTITY_KIND_CUSTOMER:
					custs = append(custs, k.ID)
				case salesappv1.EntityKind_ENTITY_KIND_NOTE:
					notes = append(notes, k.ID)
				}
			}
			if len(custs) > 0 {
				cid := custs[rng.IntN(len(custs))]
				var op proto.Message
				switch n := rng.IntN(7); {
				case d == managerDev && n%2 == 0:
					op = &salesappv1.AddNote{NoteId: uuid.NewString(), CustomerId: cid, Kind: "note", Body: fmt.Sprintf("manager round %d", round)}
				case d == managerDev:
					op = &salesappv1.AssignCustomer{CustomerId: cid, OwnerId: people[rng.IntN(2)].ID.String()}
				default:
					op = salesOp(rng, n, d.name, round, cid, notes)
				}
				_, err := d.client.Enqueue(op)
				require.NoError(t, err)
			}
			if d.offline > 0 {
				continue
			}
			if rng.IntN(12) == 0 {
				d.offline = 1 + rng.IntN(5)
				continue
			}
			if _, err := d.client.Push(ctx); err != nil && !replica.Transient(err) {
				require.NoError(t, err, "push of %s", d.name)
			}
			if _, err := d.client.Sync(ctx); err != nil && !errors.Is(err, errCrash) && !replica.Transient(err) {
				require.NoError(t, err, "sync of %s", d.name)
			}
		}
	}
	close(stop)
	writers.Wait()
	select {
	case err := <-writerErr:
		require.NoError(t, err)
	default:
	}
	require.Positive(t, outOfOrder.Load(), "transactions committed out of order during the run")
	require.Positive(t, long.Load(), "transactions held open across syncs during the run")
	require.NoError(t, commitB(), "the other tenant's transaction was open throughout")

	// Quiet now: every device comes online, sends what it has and syncs until the server has nothing more.
	transport.mu.Lock()
	transport.calm = true
	t.Logf("the network lost %d replies and doubled %d requests", transport.drops, transport.dups)
	transport.mu.Unlock()
	// First every device sends what it has; then, with nothing more changing, every device syncs.
	for _, d := range devices {
		var last error
		for deadline := time.Now().Add(time.Minute); ; {
			require.True(t, time.Now().Before(deadline), "%s cannot push: %v", d.name, last)
			if d.crashed {
				require.NoError(t, d.client.Close())
				open(d)
			}
			if _, last = d.client.Push(ctx); last == nil && len(d.client.Store().Outbox()) == 0 {
				break
			}
			if last != nil {
				require.True(t, replica.Transient(last) || errors.Is(last, errCrash), "push of %s: %v", d.name, last)
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	for _, d := range devices {
		if d.crashed {
			require.NoError(t, d.client.Close())
			open(d)
		}
		settle(t, d.name, d.client)
	}
	now := time.Now()
	for _, d := range devices {
		fresh, err := replica.New(e.HTTP, e.URL, func() string { return d.owner.Token }, "fresh-"+d.name, replica.NewMemStore())
		require.NoError(t, err)
		settle(t, "a fresh device", fresh)
		want, got := fresh.Entities(), d.client.Entities()
		for k, v := range want {
			if replica.Expired(v, now) {
				delete(want, k)
			}
		}
		for k, v := range got {
			if replica.Expired(v, now) {
				delete(got, k)
			}
		}
		var diffs []string
		for k, w := range want {
			if g, ok := got[k]; !ok {
				diffs = append(diffs, "missing "+k.String())
			} else if !proto.Equal(w, g) {
				diffs = append(diffs, fmt.Sprintf("differs %s:\n  want %v\n  got  %v", k, w, g))
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				diffs = append(diffs, "extra "+k.String())
			}
		}
		require.Empty(t, diffs, "%s (%d entities) differs from the server:\n%s", d.name, len(want), strings.Join(diffs, "\n"))
		require.NotEmpty(t, want)
		t.Logf("%s: %d entities, as the server has them", d.name, len(want))
		require.NoError(t, d.client.Close())
	}
}

// settle syncs until the server has nothing more. Changes may be held back for a moment by a writer's
// transaction still open (the server's background jobs): the server then says when to come back, and the
// device waits.
func settle(t *testing.T, name string, c *replica.Client) {
	t.Helper()
	var last error
	for deadline := time.Now().Add(2 * time.Minute); ; {
		require.True(t, time.Now().Before(deadline), "%s does not settle: %v", name, last)
		rep, err := c.Sync(context.Background())
		if last = err; err != nil {
			require.True(t, replica.Transient(err) || errors.Is(err, errCrash), "sync of %s: %v", name, err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if rep.RetryAfter == 0 {
			return
		}
		last = fmt.Errorf("asked to come back after %v", rep.RetryAfter)
		time.Sleep(rep.RetryAfter)
	}
}

// salesOp is a salesperson's offline change n (0 to 6) of the convergence test, on customer cid.
func salesOp(rng *rand.Rand, n int, name string, round int, cid string, notes []string) proto.Message {
	stages := []salesappv1.CustomerStage{salesappv1.CustomerStage_CUSTOMER_STAGE_NEW, salesappv1.CustomerStage_CUSTOMER_STAGE_CONTACTED, salesappv1.CustomerStage_CUSTOMER_STAGE_INTERESTED, salesappv1.CustomerStage_CUSTOMER_STAGE_NEGOTIATING, salesappv1.CustomerStage_CUSTOMER_STAGE_WON, salesappv1.CustomerStage_CUSTOMER_STAGE_LOST}
	var op proto.Message
	switch n {
	case 0:
		op = &salesappv1.AddNote{NoteId: uuid.NewString(), CustomerId: cid, Kind: "note", Body: fmt.Sprintf("round %d", round)}
	case 1:
		op = &salesappv1.SetStage{CustomerId: cid, Stage: stages[rng.IntN(len(stages))]}
	case 2:
		op = &salesappv1.TagCustomer{CustomerId: cid, Tag: fmt.Sprintf("t%d", rng.IntN(3))}
	case 3:
		op = &salesappv1.UntagCustomer{CustomerId: cid, Tag: fmt.Sprintf("t%d", rng.IntN(3))}
	case 4:
		remark := fmt.Sprintf("%s r%d", name, round)
		op = &salesappv1.EditCustomer{CustomerId: cid, Remark: &remark}
	case 5:
		if len(notes) > 0 {
			op = &salesappv1.DeleteNote{NoteId: notes[rng.IntN(len(notes))]}
		} else {
			op = &salesappv1.MarkAlertsRead{ThroughSeq: int32(1 + rng.IntN(5))}
		}
	default:
		title := fmt.Sprintf("%s title %d", name, round)
		op = &salesappv1.UpdateMyCard{Title: &title}
	}
	return op
}
