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
	var p alertdb.PushTargetRow
	err := s.tx(ctx, k, func(q *alertdb.Queries) error {
		var err error
		p, err = q.PushTarget(ctx, alertdb.PushTargetParams{TenantID: k.TenantID, EmployeeID: k.EmployeeID, DeviceID: deviceID, Seq: seq})
		return err
	})
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
