package alertrpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/push/alert"
	"github.com/salesapp/scrm/push/hub"
)

// WebSocketPath is where the app keeps its live alert connection.
const WebSocketPath = "/ws"

// hubStore reads alert streams for the hub; each alert goes out as the same JSON the RPCs use.
type hubStore struct{ alerts *alert.Service }

func (s hubStore) Head(ctx context.Context, k hub.Key) (uuid.UUID, int64, error) {
	return s.alerts.Head(ctx, alert.Key(k))
}

func (s hubStore) Heads(ctx context.Context, keys []hub.Key) (map[hub.Key]hub.Head, error) {
	ks := make([]alert.Key, len(keys))
	for i, k := range keys {
		ks[i] = alert.Key(k)
	}
	heads, err := s.alerts.Heads(ctx, ks)
	out := make(map[hub.Key]hub.Head, len(heads))
	for k, h := range heads {
		out[hub.Key(k)] = hub.Head(h)
	}
	return out, err
}

func (s hubStore) Since(ctx context.Context, k hub.Key, after int64, limit int) ([]hub.Frame, error) {
	entries, err := s.alerts.Since(ctx, alert.Key(k), after, limit)
	if err != nil {
		return nil, err
	}
	frames := make([]hub.Frame, len(entries))
	for i, e := range entries {
		b, err := protojson.Marshal(ToProto(e))
		if err != nil {
			return nil, err
		}
		frames[i] = hub.Frame{Seq: e.Seq, Payload: b}
	}
	return frames, nil
}

// hubPresence records foreground reports, which the push worker reads to skip pushes while the app is open.
type hubPresence struct{ alerts *alert.Service }

func (p hubPresence) Set(ctx context.Context, k hub.Key, deviceID string, foreground bool) error {
	return p.alerts.SetForeground(ctx, alert.Key(k), deviceID, foreground)
}

func (p hubPresence) Renew(ctx context.Context, devices []hub.Device) error {
	keys := make([]alert.DeviceKey, len(devices))
	for i, d := range devices {
		keys[i] = alert.DeviceKey{Key: alert.Key(d.Key), DeviceID: d.DeviceID}
	}
	_, err := p.alerts.RenewForeground(ctx, keys)
	return err
}

func newHub(alerts *alert.Service, auth *authn.Authenticator, sessions hub.Sessions, log *slog.Logger) *hub.Hub {
	authenticate := func(ctx context.Context, token string) (hub.Identity, error) {
		p, err := auth.Authenticate(ctx, "Bearer "+token)
		var answer *platform.Error
		if err != nil && !errors.As(err, &answer) {
			// Not a verdict on the token: the session could not be read.
			return hub.Identity{}, fmt.Errorf("%w: %w", hub.ErrUnavailable, err)
		}
		return hub.Identity{Key: hub.Key{TenantID: p.TenantID, EmployeeID: p.EmployeeID}, SessionID: p.SessionID}, err
	}
	return hub.New(hubStore{alerts}, authenticate, hubPresence{alerts}, sessions, hub.Config{}, log)
}
