package alert

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

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
	var (
		dev   alertdb.DeviceForPushRow
		entry alertdb.AlertEntryRow
	)
	err := s.tx(ctx, k, func(q *alertdb.Queries) error {
		var err error
		if dev, err = q.DeviceForPush(ctx, alertdb.DeviceForPushParams{TenantID: k.TenantID, ID: deviceID}); err != nil {
			return err
		}
		entry, err = q.AlertEntry(ctx, alertdb.AlertEntryParams{TenantID: k.TenantID, EmployeeID: k.EmployeeID, Seq: seq})
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Skipped, nil
	}
	if err != nil {
		return Skipped, err
	}
	if dev.DisabledAt != nil || (dev.ForegroundUntil != nil && time.Now().Before(*dev.ForegroundUntil)) {
		return Skipped, nil
	}
	err = snd.Send(ctx, sender.Device{Token: dev.PushToken, Platform: sender.Platform(dev.Platform), BundleID: dev.BundleID,
		Sandbox: dev.Sandbox, Locale: dev.Locale}, sender.Alert{
		ID: entry.AlertID.String(), Title: title(entry.Kind), Body: entry.Body,
		Data: map[string]string{"seq": strconv.FormatInt(seq, 10), "customer_id": entry.CustomerID.String(), "alert_id": entry.AlertID.String()},
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
