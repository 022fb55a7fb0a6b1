// Package alert keeps each salesperson's alert stream: what their customers just did, worded for a
// person, numbered without gaps within an epoch, written in the same transaction as the events that caused
// it. Delivery (WebSocket, APNs, FCM) reads this stream; it never invents alerts.
package alert

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/push/alert/internal/alertdb"
)

// Kind is what an alert tells.
type Kind string

// Kinds of alert.
const (
	KindFirstView   Kind = "first_view"
	KindReturn      Kind = "return"
	KindLongRead    Kind = "long_read"
	KindForward     Kind = "forward"
	KindCallClick   Kind = "call_click"
	KindWeChatClick Kind = "wechat_click"
	KindPhoneLeft   Kind = "phone_left"
	KindNewCustomer Kind = "new_customer"
	// Task alerts (backend/task) are about a task, not a customer: their CustomerID is uuid.Nil.
	KindTaskAssigned  Kind = "task_assigned"
	KindTaskCompleted Kind = "task_completed"
	KindTaskCancelled Kind = "task_cancelled"
	// Lead pool alerts (backend/pool): a held lead goes back to its pool tomorrow unless followed up (to its
	// holder), it went back (to its holder), a lead waiting in a pool is reading again (to the pool's
	// managers).
	KindLeadRecycleWarning Kind = "lead_recycle_warning"
	KindLeadRecycled       Kind = "lead_recycled"
	KindPoolLeadActive     Kind = "pool_lead_active"
	// KindPoolLeadOffer: a lead waiting in a pool the salesperson may claim from is reading again, and the
	// pool offers it (the first to claim it has it).
	KindPoolLeadOffer Kind = "pool_lead_offer"
	// WeCom alerts (backend/wecom/contact): a customer added the salesperson on WeCom, or deleted them.
	KindWeComAdded   Kind = "wecom_added"
	KindWeComDeleted Kind = "wecom_deleted"
	// KindFollowUpDue: a follow-up the salesperson noted (next_at) is due.
	KindFollowUpDue Kind = "follow_up_due"
)

// Kinds lists every kind (the API has a value of its AlertKind enum for each).
var Kinds = []Kind{KindFirstView, KindReturn, KindLongRead, KindForward, KindCallClick, KindWeChatClick, KindPhoneLeft,
	KindNewCustomer, KindTaskAssigned, KindTaskCompleted, KindTaskCancelled, KindLeadRecycleWarning, KindLeadRecycled,
	KindPoolLeadActive, KindPoolLeadOffer, KindWeComAdded, KindWeComDeleted, KindFollowUpDue}

// isView reports whether an alert is about reading: such alerts about one customer and material within
// MergeWindow update one alert instead of adding more.
func (k Kind) isView() bool {
	return k == KindFirstView || k == KindReturn || k == KindLongRead || k == KindNewCustomer
}

// Rules.
const (
	// MergeWindow: views of the same material by the same customer within it update one alert.
	MergeWindow = 5 * time.Minute
	// Silence is how long a customer must have been away for their return to alert.
	Silence = 72 * time.Hour
	// LongRead is the dwell that makes a view worth an alert.
	LongRead = 30 * time.Second
	// Retention is how long alerts are kept.
	Retention = 7 * 24 * time.Hour
	// NewCustomerWindow: the pushes of new-visitor alerts to one salesperson within it collapse into one
	// (the first goes out at once, the rest together when the window ends), so a burst of visitors, or a
	// flood of made-up ones, buzzes a phone twice a minute at most. Every alert is still recorded and
	// reaches the app by WebSocket and sync.
	NewCustomerWindow = time.Minute
)

// Key names one salesperson's stream.
type Key struct{ TenantID, EmployeeID uuid.UUID }

// Alert is one thing to tell a salesperson.
type Alert struct {
	Kind       Kind
	EmployeeID uuid.UUID
	CustomerID uuid.UUID
	MaterialID uuid.UUID
	Body       string
	At         time.Time
}

// Push is a stream entry to push to one device, or, when SummaryUntil is set, the summary of the
// new-visitor alerts left to the window ending then, to be pushed at that time (Pusher.DeliverSummary).
type Push struct {
	TenantID, EmployeeID, DeviceID uuid.UUID
	Seq                            int64
	AlertID                        uuid.UUID
	SummaryUntil                   time.Time
}

// Jobs enqueues pushes in the caller's transaction.
type Jobs interface {
	// Push enqueues pushes in tx.
	Push(ctx context.Context, tx pgx.Tx, pushes []Push) error
	// Committed is told after a transaction in which Push was called has committed: its jobs can be
	// fetched now.
	Committed()
}

// Windowed is Jobs that sets the window of new-visitor pushes (NewCustomerWindow when Jobs does not say;
// 0 pushes each alert alone).
type Windowed interface {
	NewCustomerPushWindow() time.Duration
}

// pushWindow is the window of new-visitor pushes jobs ask for.
func pushWindow(jobs Jobs) time.Duration {
	if w, ok := jobs.(Windowed); ok {
		return w.NewCustomerPushWindow()
	}
	return NewCustomerWindow
}

// NewCustomerPushWindow is the window of the Jobs it wraps.
func (j *Tracked) NewCustomerPushWindow() time.Duration { return pushWindow(j.Jobs) }

// Tracked is Jobs that remembers whether Push was called, so that a caller tells Committed after its
// transaction commits only when that transaction queued pushes.
type Tracked struct {
	Jobs
	Pushed bool
}

// Push enqueues pushes in tx and remembers that it did.
func (j *Tracked) Push(ctx context.Context, tx pgx.Tx, pushes []Push) error {
	j.Pushed = true
	return j.Jobs.Push(ctx, tx, pushes)
}

// Notifier records alerts in the transactions that cause them and, once each has committed, tells the push
// queue that its pushes can be fetched and wakes the streams that grew. Jobs nil: the alerts are recorded,
// not pushed; Wake nil: nobody is woken (they see the alerts at their hub's next poll).
type Notifier struct {
	Jobs Jobs
	Wake func([]Key)
}

// Notice is what to tell once a transaction that recorded alerts has committed.
type Notice struct {
	keys   []Key
	pushed bool
}

// RecordTx records alerts in tx (Record), noting in n what to tell after the commit (After).
func (nf Notifier) RecordTx(ctx context.Context, tx pgx.Tx, n *Notice, tenantID uuid.UUID, alerts []Alert, now time.Time) error {
	if len(alerts) == 0 {
		return nil
	}
	var jobs Jobs
	counted := &Tracked{Jobs: nf.Jobs}
	if nf.Jobs != nil {
		jobs = counted
	}
	keys, err := Record(ctx, tx, jobs, tenantID, alerts, now)
	n.keys = append(n.keys, keys...)
	n.pushed = n.pushed || counted.Pushed
	return err
}

// After tells what n noted, once the transaction that recorded its alerts has committed.
func (nf Notifier) After(n *Notice) {
	if n.pushed {
		nf.Jobs.Committed()
	}
	if nf.Wake != nil && len(n.keys) > 0 {
		nf.Wake(n.keys)
	}
}

// Record appends alerts to their salespeople's streams inside tx (the transaction that stores the events
// behind them). Views of a material a customer viewed minutes ago update that alert (a new entry with the
// same alert id, not pushed again); muted kinds are dropped; quiet hours keep the alert but skip the push.
// New-visitor alerts are pushed one per NewCustomerWindow: the first opens a window and is pushed, the
// ones inside it are left to the window's summary push, queued (one job per device, scheduled at its end)
// when the window opens. The window is kept on the stream row, which Advance locks anyway: no lock more.
// It returns the streams that grew, to be woken after commit.
func Record(ctx context.Context, tx pgx.Tx, jobs Jobs, tenantID uuid.UUID, alerts []Alert, now time.Time) ([]Key, error) {
	if len(alerts) == 0 {
		return nil, nil
	}
	q := alertdb.New(tx)
	loc, err := zoneOf(ctx, q, tenantID)
	if err != nil {
		return nil, err
	}
	byEmployee := map[uuid.UUID][]Alert{}
	var order []uuid.UUID
	for _, a := range alerts {
		if a.EmployeeID == uuid.Nil {
			continue // a pooled customer: nobody to tell yet
		}
		if _, ok := byEmployee[a.EmployeeID]; !ok {
			order = append(order, a.EmployeeID)
		}
		byEmployee[a.EmployeeID] = append(byEmployee[a.EmployeeID], a)
	}
	var (
		woken  []Key
		pushes []Push
	)
	span := pushWindow(jobs)
	if len(order) == 0 {
		return nil, nil
	}
	// Every salesperson's prefs and phones in one statement each, whoever the batch alerts (a recycle
	// run alerts a hundred holders at once).
	prefs, err := prefsOf(ctx, q, tenantID, order, now.In(loc))
	if err != nil {
		return nil, err
	}
	phones, err := q.LiveDevicesOf(ctx, alertdb.LiveDevicesOfParams{TenantID: tenantID, EmployeeIds: order})
	if err != nil {
		return nil, err
	}
	devicesOf := make(map[uuid.UUID][]uuid.UUID, len(order))
	for _, d := range phones {
		devicesOf[d.EmployeeID] = append(devicesOf[d.EmployeeID], d.ID)
	}
	for _, emp := range order {
		quiet := prefs[emp].quiet
		var keep []Alert
		for _, a := range byEmployee[emp] {
			if !prefs[emp].muted[a.Kind] {
				keep = append(keep, a)
			}
		}
		if len(keep) == 0 {
			continue
		}
		// Everything but numbering is decided before the stream's head is taken: every batch alerting
		// this salesperson queues on that row until it commits, so little may happen after it.
		ids, merged, err := mergeTargets(ctx, q, tenantID, emp, keep, now)
		if err != nil {
			return nil, err
		}
		devices := devicesOf[emp]
		head, err := q.Advance(ctx, alertdb.AdvanceParams{TenantID: tenantID, EmployeeID: emp, NewEpoch: uuid.Must(uuid.NewV7()), N: int64(len(keep))})
		if err != nil {
			return nil, err
		}
		ins := alertdb.InsertAlertsParams{TenantID: tenantID, EmployeeID: emp}
		seq := head.Head - int64(len(keep))
		window, opened := head.NewCustomerUntil, time.Time{}
		for i, a := range keep {
			seq++
			push := !merged[i] && !quiet
			collapsed := noWindow
			if push && a.Kind == KindNewCustomer && span > 0 {
				if window == nil || !now.Before(*window) {
					opened = now.Add(span).UTC().Truncate(time.Microsecond) // as PostgreSQL keeps it
					window = &opened
				} else {
					push, collapsed = false, *window
				}
			}
			ins.CollapsedUntil = append(ins.CollapsedUntil, collapsed)
			ins.Seqs = append(ins.Seqs, seq)
			ins.AlertIds = append(ins.AlertIds, ids[i])
			ins.Kinds = append(ins.Kinds, string(a.Kind))
			ins.CustomerIds = append(ins.CustomerIds, a.CustomerID)
			ins.MaterialIds = append(ins.MaterialIds, a.MaterialID)
			ins.Bodies = append(ins.Bodies, a.Body)
			ins.Pushed = append(ins.Pushed, push)
			ins.CreatedAt = append(ins.CreatedAt, a.At)
			if push {
				for _, d := range devices {
					pushes = append(pushes, Push{TenantID: tenantID, EmployeeID: emp, DeviceID: d, Seq: seq, AlertID: ids[i]})
				}
			}
		}
		if err := q.InsertAlerts(ctx, ins); err != nil {
			return nil, err
		}
		if !opened.IsZero() {
			if err := q.OpenNewCustomerWindow(ctx, alertdb.OpenNewCustomerWindowParams{TenantID: tenantID, EmployeeID: emp, Until: opened}); err != nil {
				return nil, err
			}
			for _, d := range devices {
				pushes = append(pushes, Push{TenantID: tenantID, EmployeeID: emp, DeviceID: d, SummaryUntil: opened})
			}
		}
		woken = append(woken, Key{TenantID: tenantID, EmployeeID: emp})
	}
	if len(pushes) > 0 && jobs != nil {
		if err := jobs.Push(ctx, tx, pushes); err != nil {
			return nil, err
		}
	}
	return woken, nil
}

// noWindow is what InsertAlerts reads as "left to no window" (NULL).
var noWindow = time.Unix(0, 0).UTC()

// mergeTargets returns, for each alert, the alert id it goes under and whether that is an earlier alert:
// view alerts about a customer and material alerted in the last minutes (or earlier in this batch) update
// that alert; everything else is a new alert.
func mergeTargets(ctx context.Context, q *alertdb.Queries, tenantID, emp uuid.UUID, alerts []Alert, now time.Time) ([]uuid.UUID, []bool, error) {
	type pair struct{ customer, material uuid.UUID }
	var customers []uuid.UUID
	for _, a := range alerts {
		if a.Kind.isView() {
			customers = append(customers, a.CustomerID)
		}
	}
	recent := map[pair]uuid.UUID{}
	if len(customers) > 0 {
		rows, err := q.RecentAlerts(ctx, alertdb.RecentAlertsParams{TenantID: tenantID, EmployeeID: emp, CustomerIds: customers, Since: now.Add(-MergeWindow)})
		if err != nil {
			return nil, nil, err
		}
		for _, r := range rows {
			recent[pair{r.CustomerID, r.MaterialID}] = r.AlertID
		}
	}
	ids := make([]uuid.UUID, len(alerts))
	merged := make([]bool, len(alerts))
	for i, a := range alerts {
		if !a.Kind.isView() {
			ids[i] = uuid.Must(uuid.NewV7())
			continue
		}
		k := pair{a.CustomerID, a.MaterialID}
		if id, ok := recent[k]; ok {
			ids[i], merged[i] = id, true
			continue
		}
		ids[i] = uuid.Must(uuid.NewV7())
		recent[k] = ids[i]
	}
	return ids, merged, nil
}

// zoneOf is the tenant's time zone (UTC when it names none known).
func zoneOf(ctx context.Context, q *alertdb.Queries, tenantID uuid.UUID) (*time.Location, error) {
	zone, err := q.TenantZone(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return time.UTC, nil
	}
	return loc, nil
}

// QuietTx says whether now is inside the employee's quiet hours (in the tenant's time zone), inside tx. A
// reminder that should wait for the hours to end, rather than be recorded unpushed as Record does, asks
// this first.
func QuietTx(ctx context.Context, tx pgx.Tx, tenantID, employeeID uuid.UUID, now time.Time) (bool, error) {
	q := alertdb.New(tx)
	loc, err := zoneOf(ctx, q, tenantID)
	if err != nil {
		return false, err
	}
	p, err := prefsOf(ctx, q, tenantID, []uuid.UUID{employeeID}, now.In(loc))
	return p[employeeID].quiet, err
}

// pref is a salesperson's muted kinds and whether now is inside their quiet hours (zero: none set).
type pref struct {
	muted map[Kind]bool
	quiet bool
}

// prefsOf reads the prefs of emps at now (in the tenant's zone), in one statement.
func prefsOf(ctx context.Context, q *alertdb.Queries, tenantID uuid.UUID, emps []uuid.UUID, now time.Time) (map[uuid.UUID]pref, error) {
	rows, err := q.PrefsOf(ctx, alertdb.PrefsOfParams{TenantID: tenantID, EmployeeIds: emps})
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]pref, len(rows))
	for _, r := range rows {
		p := pref{muted: make(map[Kind]bool, len(r.MutedKinds))}
		for _, k := range r.MutedKinds {
			p.muted[Kind(k)] = true
		}
		if r.QuietStartMin.Valid && r.QuietEndMin.Valid {
			p.quiet = InQuietHours(&r.QuietStartMin.Int16, &r.QuietEndMin.Int16, now)
		}
		out[r.EmployeeID] = p
	}
	return out, nil
}

// InQuietHours reports whether now's minute of the day is in [start, end), a window that may wrap past
// midnight (22:00–07:00). No window is never quiet.
func InQuietHours(start, end *int16, now time.Time) bool {
	if start == nil || end == nil || *start == *end {
		return false
	}
	m := int16(now.Hour()*60 + now.Minute())
	if *start < *end {
		return m >= *start && m < *end
	}
	return m >= *start || m < *end
}

// Words for the app and for notifications.

// Who names a customer in an alert.
func Who(name string) string {
	if name == "" {
		return "A new visitor"
	}
	return name
}

// Title quotes a material's title, or names the card.
func Title(materialTitle string) string {
	if materialTitle == "" {
		return "your card"
	}
	return "《" + materialTitle + "》"
}

// Duration says a dwell as a person reads it.
func Duration(d time.Duration) string {
	m, s := int(d.Minutes()), int(d.Seconds())%60
	switch {
	case m > 0 && s > 0:
		return fmt.Sprintf("%d min %d s", m, s)
	case m > 0:
		return fmt.Sprintf("%d min", m)
	}
	return fmt.Sprintf("%d s", s)
}
