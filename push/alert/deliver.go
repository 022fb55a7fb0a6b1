package alert

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/platform/batch"
	"github.com/salesapp/scrm/push/alert/internal/alertdb"
	"github.com/salesapp/scrm/push/sender"
)

// Outcome is what became of one push.
type Outcome int

// The outcomes of Deliver.
const (
	// Sent: the provider accepted it.
	Sent Outcome = iota
	// Skipped: the app is open (the WebSocket delivers), the device is disabled or its session ended, or
	// the entry is gone.
	Skipped
	// Dead: the provider says the token is dead; the device is now disabled.
	Dead
)

// Pusher delivers stream entries to devices, one call per push job. The reads of the jobs running at the
// same time share one round trip: a push's database work is mostly that read, and a burst of alerts
// runs hundreds of jobs at once.
type Pusher struct {
	s     *Service
	reads *batch.Batcher[pushJob, pushTarget]
}

// pushJob names what one push job reads.
type pushJob struct {
	k        Key
	deviceID uuid.UUID
	seq      int64
}

// pushTarget is what it finds; found is false when the device or the entry is gone.
type pushTarget struct {
	row   alertdb.PushTargetsRow
	found bool
}

// readBatchTimeout bounds one batch's read, whatever its callers' deadlines.
const readBatchTimeout = 10 * time.Second

// NewPusher starts the batched reads; Close stops them.
func NewPusher(s *Service) *Pusher {
	p := &Pusher{s: s}
	// Two batches in flight: while one is read, the next fills. No linger: under load the jobs that
	// arrive during a read make the next batch by themselves, and alone a push waits for nothing.
	p.reads = batch.New(batch.Options[pushJob]{Workers: 2, Max: 500}, p.readTargets)
	return p
}

// Close stops the reads after the ones handed in.
func (p *Pusher) Close() { p.reads.Close() }

// Deliver pushes one stream entry to one device, unless the app is open in the foreground. A dead token
// disables the device at once, so it is never sent to again. A *sender.RetryError is worth retrying (the
// sender's transient failures, and ours: the database unreachable, the node shutting down); any other
// error is the sender's verdict that this push can never go out.
func (p *Pusher) Deliver(ctx context.Context, snd sender.Sender, k Key, deviceID uuid.UUID, seq int64) (Outcome, error) {
	t, err := p.reads.Do(ctx, pushJob{k: k, deviceID: deviceID, seq: seq})
	if err != nil {
		return Skipped, &sender.RetryError{Err: err}
	}
	if !t.found {
		return Skipped, nil
	}
	r := t.row
	// A registration whose session ended is never pushed to, even if the job was queued before the end
	// and the registration's disabling has not landed (belt and braces: ending a session disables it).
	if r.DisabledAt != nil || !r.SignedIn || (r.ForegroundUntil != nil && time.Now().Before(*r.ForegroundUntil)) {
		return Skipped, nil
	}
	err = snd.Send(ctx, sender.Device{Token: r.PushToken, Platform: sender.Platform(r.Platform), BundleID: r.BundleID,
		Sandbox: r.Sandbox, Locale: r.Locale}, sender.Alert{
		ID: r.AlertID.String(), Title: title(Kind(r.Kind)), Body: r.Body,
		Data: map[string]string{"seq": strconv.FormatInt(seq, 10), "customer_id": r.CustomerID.String(), "alert_id": r.AlertID.String()},
	})
	if errors.Is(err, sender.ErrDeadToken) {
		derr := p.s.tx(ctx, k, func(q *alertdb.Queries) error {
			return q.DisableDevice(ctx, alertdb.DisableDeviceParams{TenantID: k.TenantID, ID: deviceID, Reason: "push provider: token is dead"})
		})
		if derr != nil {
			// Tried again, the provider says "dead" again and the device is disabled then.
			return Dead, &sender.RetryError{Err: derr}
		}
		return Dead, nil
	}
	if err != nil {
		return Skipped, err
	}
	return Sent, nil
}

// readTargets reads a batch's devices and entries in one round trip (platform.DB.PerTenant).
func (p *Pusher) readTargets(calls []*batch.Call[pushJob, pushTarget]) {
	ctx, cancel := context.WithTimeout(context.Background(), readBatchTimeout)
	defer cancel()
	// idx[t][i] is the call behind the i-th job of tenant t.
	idx := map[uuid.UUID][]int{}
	for i, c := range calls {
		idx[c.In.k.TenantID] = append(idx[c.In.k.TenantID], i)
	}
	err := p.s.db.PerTenant(ctx, slices.Collect(maps.Keys(idx)), alertdb.PushTargets, func(t uuid.UUID) []any {
		params := alertdb.PushTargetsParams{TenantID: t}
		for _, i := range idx[t] {
			j := calls[i].In
			params.EmployeeIds = append(params.EmployeeIds, j.k.EmployeeID)
			params.DeviceIds = append(params.DeviceIds, j.deviceID)
			params.Seqs = append(params.Seqs, j.seq)
		}
		return []any{params.TenantID, params.EmployeeIds, params.DeviceIds, params.Seqs}
	}, func(t uuid.UUID, rows pgx.Rows) error {
		found, err := pgx.CollectRows(rows, pgx.RowToStructByPos[alertdb.PushTargetsRow])
		if err != nil {
			return err
		}
		for _, r := range found {
			if r.Ord < 1 || int(r.Ord) > len(idx[t]) {
				return fmt.Errorf("alert: push target %d of %d", r.Ord, len(idx[t]))
			}
			calls[idx[t][r.Ord-1]].Answer(pushTarget{row: r, found: true}, nil)
		}
		return nil
	})
	for _, c := range calls {
		c.Answer(pushTarget{}, err) // the found ones are answered already
	}
}

// Heads returns the heads of many streams, of any tenants, in one round trip; a stream nobody has
// written to or read yet is left out.
func (s *Service) Heads(ctx context.Context, keys []Key) (map[Key]Head, error) {
	byTenant := map[uuid.UUID][]uuid.UUID{}
	for _, k := range keys {
		byTenant[k.TenantID] = append(byTenant[k.TenantID], k.EmployeeID)
	}
	out := make(map[Key]Head, len(keys))
	err := s.db.PerTenant(ctx, slices.Collect(maps.Keys(byTenant)), alertdb.Heads, func(t uuid.UUID) []any {
		return []any{t, byTenant[t]}
	}, func(t uuid.UUID, rows pgx.Rows) error {
		heads, err := pgx.CollectRows(rows, pgx.RowToStructByPos[alertdb.HeadsRow])
		for _, h := range heads {
			out[Key{TenantID: t, EmployeeID: h.EmployeeID}] = Head{Epoch: h.Epoch, Seq: h.Head}
		}
		return err
	})
	return out, err
}

// Head is a stream's position.
type Head struct {
	Epoch uuid.UUID
	Seq   int64
}

func title(kind Kind) string {
	switch kind {
	case KindCallClick, KindWeChatClick, KindPhoneLeft:
		return "A customer wants to talk"
	case KindNewCustomer:
		return "New customer"
	case KindTaskAssigned, KindTaskCompleted, KindTaskCancelled:
		return "Marketing task"
	case KindLeadRecycleWarning, KindLeadRecycled:
		return "Lead pool"
	case KindPoolLeadActive:
		return "A pool lead is back"
	}
	return "A customer is reading"
}
