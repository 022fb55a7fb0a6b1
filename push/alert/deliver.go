package alert

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/salesapp/scrm/push/alert/alertdb"
	"github.com/salesapp/scrm/push/sender"
)

// Outcome is what became of one push.
type Outcome int

// The outcomes of Deliver.
const (
	// Sent: the provider accepted it.
	Sent Outcome = iota
	// Skipped: the app is open (the WebSocket delivers), the device is disabled, or the entry is gone.
	Skipped
	// Dead: the provider says the token is dead; the device is now disabled.
	Dead
)

// Deliver pushes one stream entry to one device, unless the app is open in the foreground. A dead token
// disables the device at once, so it is never sent to again. Errors are the sender's: a *sender.RetryError
// is worth retrying, anything else is not.
func (s *Service) Deliver(ctx context.Context, snd sender.Sender, k Key, deviceID uuid.UUID, seq int64) (Outcome, error) {
	// One round trip, not a tenant transaction's four: this read is most of a push's database work.
	q := alertdb.New(scopedRead{pool: s.db.Pool, tenantID: k.TenantID})
	p, err := q.PushTarget(ctx, alertdb.PushTargetParams{TenantID: k.TenantID, EmployeeID: k.EmployeeID, DeviceID: deviceID, Seq: seq})
	if errors.Is(err, pgx.ErrNoRows) {
		return Skipped, nil
	}
	if err != nil {
		return Skipped, err
	}
	if p.DisabledAt != nil || (p.ForegroundUntil != nil && time.Now().Before(*p.ForegroundUntil)) {
		return Skipped, nil
	}
	err = snd.Send(ctx, sender.Device{Token: p.PushToken, Platform: sender.Platform(p.Platform), BundleID: p.BundleID,
		Sandbox: p.Sandbox, Locale: p.Locale}, sender.Alert{
		ID: p.AlertID.String(), Title: title(p.Kind), Body: p.Body,
		Data: map[string]string{"seq": strconv.FormatInt(seq, 10), "customer_id": p.CustomerID.String(), "alert_id": p.AlertID.String()},
	})
	if errors.Is(err, sender.ErrDeadToken) {
		derr := s.tx(ctx, k, func(q *alertdb.Queries) error {
			return q.DisableDevice(ctx, alertdb.DisableDeviceParams{TenantID: k.TenantID, ID: deviceID, Reason: "push provider: token is dead"})
		})
		return Dead, derr
	}
	if err != nil {
		return Skipped, err
	}
	return Sent, nil
}

func title(kind string) string {
	switch kind {
	case KindCallClick, KindWeChatClick, KindPhoneLeft:
		return "A customer wants to talk"
	case KindNewCustomer:
		return "New customer"
	}
	return "A customer is reading"
}

// scopedRead runs one read of the tenant's rows in a single round trip: the tenant's setting and the
// query go to PostgreSQL as one pipeline, which runs as one implicit transaction, so the setting (local
// to it) scopes the query as a tenant transaction would, without its BEGIN and COMMIT. Only QueryRow is
// supported: it is for one-row reads on the push path.
type scopedRead struct {
	pool     *pgxpool.Pool
	tenantID uuid.UUID
}

func (r scopedRead) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, errors.New("alert: scopedRead only reads")
}

func (r scopedRead) Query(context.Context, string, ...any) (pgx.Rows, error) {
	return nil, errors.New("alert: scopedRead reads one row")
}

func (r scopedRead) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	b := &pgx.Batch{}
	b.Queue("SELECT set_config('app.tenant_id', $1, true)", r.tenantID.String())
	b.Queue(sql, args...)
	return &batchRow{results: r.pool.SendBatch(ctx, b)}
}

// batchRow scans the batch's second result and closes the batch.
type batchRow struct{ results pgx.BatchResults }

func (b *batchRow) Scan(dest ...any) error {
	defer b.results.Close()
	if _, err := b.results.Exec(); err != nil {
		return err
	}
	return b.results.QueryRow().Scan(dest...)
}
