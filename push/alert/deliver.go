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
	sent  *sentCounts
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

// NewPusher starts the batched reads and the count of pushes sent; Close stops them.
func NewPusher(s *Service) *Pusher {
	p := &Pusher{s: s, sent: newSentCounts(s)}
	// Two batches in flight: while one is read, the next fills. No linger: under load the jobs that
	// arrive during a read make the next batch by themselves, and alone a push waits for nothing.
	p.reads = batch.New(batch.Options[pushJob]{Workers: 2, Max: 500}, p.readTargets)
	return p
}

// Close stops the reads after the ones handed in, and adds the last counts of pushes sent.
func (p *Pusher) Close() {
	p.reads.Close()
	p.sent.close()
}

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
	return p.send(ctx, snd, k, deviceID, r, sender.Alert{
		ID: r.AlertID.String(), Title: title(Kind(r.Kind)), Body: r.Body,
		Data: map[string]string{"seq": strconv.FormatInt(seq, 10), "customer_id": r.CustomerID.String(), "alert_id": r.AlertID.String()},
	})
}

// send pushes a to the device of r, unless the app is open in the foreground or the registration can no
// longer be used; a dead token disables the device.
func (p *Pusher) send(ctx context.Context, snd sender.Sender, k Key, deviceID uuid.UUID, r alertdb.PushTargetsRow, a sender.Alert) (Outcome, error) {
	// A registration whose session ended is never pushed to, even if the job was queued before the end
	// and the registration's disabling has not landed (belt and braces: ending a session disables it).
	if r.DisabledAt != nil || !r.SignedIn || (r.ForegroundUntil != nil && time.Now().Before(*r.ForegroundUntil)) {
		return Skipped, nil
	}
	err := snd.Send(ctx, sender.Device{Token: r.PushToken, Platform: sender.Platform(r.Platform), BundleID: r.BundleID,
		Sandbox: r.Sandbox, Locale: r.Locale}, a)
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
	p.sent.add(k.TenantID)
	return Sent, nil
}

// DeliverSummary pushes to one device the summary of the new-visitor alerts left to the window of its
// salesperson's stream that ends at until (see Record): "12 more new visitors in the last minute", or the
// alert itself when only one was left. It first closes the window if still open, waiting for the
// transactions alerting the salesperson that hold the stream, so every alert left to the window is
// counted and none after it is: each new-visitor alert is pushed once, alone or in one summary. The push
// carries the last alert's seq (the app dedupes what the WebSocket already gave it) and a collapse id of
// the window, so a retried summary replaces itself on the phone. Outcomes and errors are Deliver's; a
// window with nothing left to it is Skipped.
func (p *Pusher) DeliverSummary(ctx context.Context, snd sender.Sender, k Key, deviceID uuid.UUID, until time.Time) (Outcome, error) {
	var (
		n    int32
		last int64
		row  alertdb.PushTargetsRow
	)
	err := p.s.tx(ctx, k, func(q *alertdb.Queries) error {
		if err := q.CloseNewCustomerWindow(ctx, alertdb.CloseNewCustomerWindowParams{TenantID: k.TenantID, EmployeeID: k.EmployeeID, Until: until}); err != nil {
			return err
		}
		c, err := q.CollapsedNewCustomers(ctx, alertdb.CollapsedNewCustomersParams{TenantID: k.TenantID, EmployeeID: k.EmployeeID, Until: until})
		if err != nil || c.N == 0 {
			return err
		}
		rows, err := q.PushTargets(ctx, alertdb.PushTargetsParams{TenantID: k.TenantID, EmployeeIds: []uuid.UUID{k.EmployeeID},
			DeviceIds: []uuid.UUID{deviceID}, Seqs: []int64{c.LastSeq}})
		if err != nil || len(rows) == 0 {
			return err
		}
		n, last, row = c.N, c.LastSeq, rows[0]
		return nil
	})
	if err != nil {
		return Skipped, &sender.RetryError{Err: err}
	}
	if n == 0 {
		return Skipped, nil
	}
	body := row.Body
	if n > 1 {
		body = fmt.Sprintf("%d more new visitors in the last minute", n)
	}
	id := fmt.Sprintf("new-visitors-%d", until.UnixMicro())
	return p.send(ctx, snd, k, deviceID, row, sender.Alert{ID: id, Title: title(KindNewCustomer), Body: body,
		Data: map[string]string{"seq": strconv.FormatInt(last, 10), "new_customers": strconv.Itoa(int(n))}})
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
	case KindPoolLeadOffer:
		return "A hot lead is waiting"
	case KindWeComAdded:
		return "New WeCom contact"
	case KindWeComDeleted:
		return "A WeCom contact left"
	case KindFollowUpDue:
		return "Follow-up due"
	}
	return "A customer is reading"
}
