package alert

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/push/alert/internal/alertdb"
)

// Entry is one stream entry as the app reads it.
type Entry struct {
	// Seq numbers the entry in its stream; AlertID names the alert (a merged view alert keeps its id).
	Seq        int64
	AlertID    uuid.UUID
	Kind       Kind
	CustomerID uuid.UUID
	// MaterialID is the material the alert is about, if any.
	MaterialID uuid.NullUUID
	Body       string
	CreatedAt  time.Time
	// ReadAt is when the salesperson marked it read (nil: unread).
	ReadAt *time.Time
}

// Service reads and configures alert streams.
type Service struct {
	db *platform.DB
}

// NewService builds the service.
func NewService(db *platform.DB) *Service { return &Service{db: db} }

func (s *Service) tx(ctx context.Context, k Key, fn func(q *alertdb.Queries) error) error {
	return s.db.InTenantTx(ctx, k.TenantID, func(tx pgx.Tx) error { return fn(alertdb.New(tx)) })
}

// Head returns a stream's epoch and last seq, making the stream (empty) if nobody wrote to it yet: its
// epoch is then fixed before the first alert, and an app connected early is never told to reset.
func (s *Service) Head(ctx context.Context, k Key) (uuid.UUID, int64, error) {
	var (
		epoch uuid.UUID
		head  int64
	)
	err := s.tx(ctx, k, func(q *alertdb.Queries) error {
		h, err := q.Head(ctx, alertdb.HeadParams{TenantID: k.TenantID, EmployeeID: k.EmployeeID})
		if errors.Is(err, pgx.ErrNoRows) {
			if err := q.EnsureStream(ctx, alertdb.EnsureStreamParams{TenantID: k.TenantID, EmployeeID: k.EmployeeID, Epoch: uuid.Must(uuid.NewV7())}); err != nil {
				return err
			}
			h, err = q.Head(ctx, alertdb.HeadParams{TenantID: k.TenantID, EmployeeID: k.EmployeeID})
		}
		epoch, head = h.Epoch, h.Head
		return err
	})
	return epoch, head, err
}

// Since returns the entries after a seq, oldest first, at most limit.
func (s *Service) Since(ctx context.Context, k Key, after int64, limit int) ([]Entry, error) {
	var out []Entry
	err := s.tx(ctx, k, func(q *alertdb.Queries) error {
		var err error
		rows, err := q.Since(ctx, alertdb.SinceParams{TenantID: k.TenantID, EmployeeID: k.EmployeeID, AfterSeq: after, MaxRows: int32(limit)})
		out = make([]Entry, len(rows))
		for i, r := range rows {
			out[i] = Entry{Seq: r.Seq, AlertID: r.AlertID, Kind: Kind(r.Kind), CustomerID: r.CustomerID, MaterialID: r.MaterialID,
				Body: r.Body, CreatedAt: r.CreatedAt, ReadAt: r.ReadAt}
		}
		return err
	})
	return out, err
}

// MarkRead marks every entry up to a seq read.
func (s *Service) MarkRead(ctx context.Context, k Key, through int64) (int, error) {
	var n int
	err := s.db.InTenantTx(ctx, k.TenantID, func(tx pgx.Tx) error {
		var err error
		n, err = MarkReadTx(ctx, tx, k, through)
		return err
	})
	return n, err
}

// MarkReadTx marks every entry up to a seq read, inside the caller's transaction.
func MarkReadTx(ctx context.Context, tx pgx.Tx, k Key, through int64) (int, error) {
	n, err := alertdb.New(tx).MarkRead(ctx, alertdb.MarkReadParams{TenantID: k.TenantID, EmployeeID: k.EmployeeID, ThroughSeq: through})
	return int(n), err
}

// Unread counts unread alerts (an alert updated several times counts once).
func (s *Service) Unread(ctx context.Context, k Key) (int, error) {
	var n int32
	err := s.tx(ctx, k, func(q *alertdb.Queries) error {
		var err error
		n, err = q.Unread(ctx, alertdb.UnreadParams{TenantID: k.TenantID, EmployeeID: k.EmployeeID})
		return err
	})
	return int(n), err
}

// SetPrefs replaces the muted kinds and quiet hours (both bounds or neither).
func (s *Service) SetPrefs(ctx context.Context, k Key, muted []Kind, quietStart, quietEnd *int32) error {
	if (quietStart == nil) != (quietEnd == nil) {
		return platform.Invalid("quiet_end_min", "give both ends of the quiet hours, or neither")
	}
	p := alertdb.SetPrefsParams{TenantID: k.TenantID, EmployeeID: k.EmployeeID, MutedKinds: make([]string, len(muted))}
	for i, m := range muted {
		p.MutedKinds[i] = string(m)
	}
	if quietStart != nil {
		p.QuietStartMin = pgtype.Int2{Int16: int16(*quietStart), Valid: true}
		p.QuietEndMin = pgtype.Int2{Int16: int16(*quietEnd), Valid: true}
	}
	return s.tx(ctx, k, func(q *alertdb.Queries) error { return q.SetPrefs(ctx, p) })
}

// Device is a push target.
type Device struct {
	DeviceID, Platform, PushToken, BundleID, Locale string
	Sandbox                                         bool
	// SessionID is the sign-in registering it: the registration lasts as long as that session.
	SessionID uuid.UUID
}

// MaxDevices is how many push registrations a salesperson may have enabled at once; registering one more
// disables the oldest (a phone replaced long ago, an install never signed out), rather than refusing the
// phone in the person's hand.
const MaxDevices = 10

// RegisterDevice records or refreshes a push target, under the session making the call: it is pushed to
// while that session lasts, and never after it ends, whatever device id it was registered under. A
// session has one registration (registering again under another device id replaces it); re-registering
// a disabled device enables it again (the app has a fresh token, or signed in again). Beyond MaxDevices
// registrations of the salesperson, the oldest are disabled.
func (s *Service) RegisterDevice(ctx context.Context, k Key, d Device) error {
	if d.SessionID == uuid.Nil {
		return errors.New("alert: a push registration needs the session registering it")
	}
	return s.tx(ctx, k, func(q *alertdb.Queries) error {
		if err := q.LockLiveDevices(ctx, alertdb.LockLiveDevicesParams{TenantID: k.TenantID, EmployeeID: k.EmployeeID}); err != nil {
			return err
		}
		id, err := q.UpsertDevice(ctx, alertdb.UpsertDeviceParams{ID: uuid.Must(uuid.NewV7()), TenantID: k.TenantID, EmployeeID: k.EmployeeID,
			DeviceID: d.DeviceID, SessionID: d.SessionID, Platform: d.Platform, PushToken: d.PushToken, BundleID: d.BundleID,
			Sandbox: d.Sandbox, Locale: d.Locale})
		if err != nil {
			return err
		}
		_, err = q.EvictDevices(ctx, alertdb.EvictDevicesParams{TenantID: k.TenantID, EmployeeID: k.EmployeeID, Newest: id,
			Keep: MaxDevices - 1, Reason: fmt.Sprintf("more than %d registrations: the oldest was disabled", MaxDevices)})
		return err
	})
}

// DisableSessionDevicesTx stops pushes to the registrations of sessions that ended, inside the
// transaction that ended them (auth's sign-out and revocation).
func DisableSessionDevicesTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, sessionIDs []uuid.UUID, reason string) error {
	return alertdb.New(tx).DisableSessionDevices(ctx, alertdb.DisableSessionDevicesParams{TenantID: tenantID, SessionIds: sessionIDs, Reason: reason})
}

// DisableEmployeeDevicesTx stops pushes to every registration of a salesperson except those of the session
// keepSessionID (uuid.Nil keeps none), inside the transaction that ended their other sessions.
func DisableEmployeeDevicesTx(ctx context.Context, tx pgx.Tx, k Key, keepSessionID uuid.UUID, reason string) error {
	return alertdb.New(tx).DisableEmployeeDevices(ctx, alertdb.DisableEmployeeDevicesParams{TenantID: k.TenantID, EmployeeID: k.EmployeeID,
		KeepSessionID: keepSessionID, Reason: reason})
}

// presenceLease is how long a foreground report lasts without being renewed: a crashed app stops
// suppressing pushes within it.
const presenceLease = 2 * time.Minute

// RenewForeground extends the foreground leases of devices still open in the foreground, of any tenants,
// in one round trip, and returns how many it renewed. A device that reported "background" or left since
// is left alone.
func (s *Service) RenewForeground(ctx context.Context, devices []DeviceKey) (int, error) {
	byTenant := map[uuid.UUID]*alertdb.RenewForegroundParams{}
	until := time.Now().Add(presenceLease)
	for _, d := range devices {
		p := byTenant[d.TenantID]
		if p == nil {
			p = &alertdb.RenewForegroundParams{Until: until, TenantID: d.TenantID}
			byTenant[d.TenantID] = p
		}
		p.EmployeeIds = append(p.EmployeeIds, d.EmployeeID)
		p.DeviceIds = append(p.DeviceIds, d.DeviceID)
	}
	renewed := 0
	err := s.db.PerTenant(ctx, slices.Collect(maps.Keys(byTenant)), alertdb.RenewForeground, func(t uuid.UUID) []any {
		p := byTenant[t]
		return []any{p.Until, p.TenantID, p.EmployeeIds, p.DeviceIds}
	}, func(_ uuid.UUID, rows pgx.Rows) error {
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		renewed += len(ids)
		return err
	})
	return renewed, err
}

// DeviceKey names one app install of a salesperson.
type DeviceKey struct {
	Key
	DeviceID string
}

// SetForeground records whether the app on a device is open in the foreground (pushes are skipped then).
func (s *Service) SetForeground(ctx context.Context, k Key, deviceID string, foreground bool) error {
	var until *time.Time
	if foreground {
		t := time.Now().Add(presenceLease)
		until = &t
	}
	return s.tx(ctx, k, func(q *alertdb.Queries) error {
		return q.SetForeground(ctx, alertdb.SetForegroundParams{TenantID: k.TenantID, EmployeeID: k.EmployeeID, DeviceID: deviceID, Until: until})
	})
}
