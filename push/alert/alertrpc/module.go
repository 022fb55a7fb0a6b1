package alertrpc

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"google.golang.org/protobuf/proto"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/platform/module"
	"github.com/salesapp/scrm/push/alert"
	"github.com/salesapp/scrm/push/hub"
	"github.com/salesapp/scrm/push/pushjob"
	"github.com/salesapp/scrm/push/sender"
	"github.com/salesapp/scrm/push/wake"
)

// Config is what the alert module is built from.
type Config struct {
	DB  *platform.DB
	Log *slog.Logger
	// Sender pushes to APNs and FCM; nil logs what would be pushed.
	Sender sender.Sender
	// Auth checks the WebSocket's tokens.
	Auth *authn.Authenticator
	// Sessions re-checks the sessions of open WebSockets, whose connections close when theirs end.
	Sessions hub.Sessions
	// DatabaseURL is where wake listens for other nodes' new alerts.
	DatabaseURL string
}

// Live is the alert module and what the writers of alerts need from it.
type Live struct {
	Module module.Module
	// Wake tells this node's WebSocket hub and the other nodes which streams grew, after their commit.
	Wake func([]alert.Key)
}

// NewLive builds the alert module: AlertService, the WebSocket hub, the push worker, the hourly purge,
// the mark_alerts_read mutation, and the wake-ups between nodes.
func NewLive(cfg Config) *Live {
	snd := cfg.Sender
	if snd == nil {
		snd = sender.NewLog(cfg.Log) // no APNs/FCM credentials: log what would be pushed
	}
	alerts := alert.NewService(cfg.DB)
	liveHub := newHub(alerts, cfg.Auth, cfg.Sessions, cfg.Log)
	publisher := wake.NewPublisher(cfg.DB.Pool, cfg.Log)
	push := pushjob.NewWorker(cfg.DB, alerts, snd, cfg.Log)
	var stopWake context.CancelFunc
	l := &Live{Wake: func(keys []alert.Key) {
		for _, k := range keys {
			liveHub.Notify(hub.Key(k))
		}
		publisher.Publish(keys)
	}}
	l.Module = module.Module{
		Name:     "alert",
		Services: []module.Service{module.Connect[salesappv1connect.AlertServiceHandler](salesappv1connect.AlertServiceName, salesappv1connect.NewAlertServiceHandler, New(alerts))},
		Routes:   []module.Route{{Pattern: WebSocketPath, Handler: liveHub}},
		Workers: func(w *river.Workers) {
			river.AddWorker(w, push)
			river.AddWorker(w, push.Summaries())
			river.AddWorker(w, alert.PurgeWorker(cfg.DB.Pool))
		},
		Periodic: []*river.PeriodicJob{jobs.Hourly(alert.PurgeArgs{})},
		Mutations: map[string]module.Applier{"mark_alerts_read": func(ctx context.Context, tx pgx.Tx, p authn.Principal, m proto.Message) error {
			_, err := alert.MarkReadTx(ctx, tx, alert.Key{TenantID: p.TenantID, EmployeeID: p.EmployeeID}, int64(m.(*salesappv1.MarkAlertsRead).GetThroughSeq()))
			return err
		}},
		Start: func(context.Context) error {
			push.Start()
			wctx, cancel := context.WithCancel(context.Background())
			stopWake = cancel
			go publisher.Run(wctx)
			go wake.Listen(wctx, cfg.DatabaseURL, cfg.Log, func(k alert.Key) { liveHub.Notify(hub.Key(k)) })
			return nil
		},
		Stop: func(context.Context) error {
			liveHub.Close()
			if stopWake != nil {
				stopWake()
			}
			push.Stop()
			return nil
		},
	}
	return l
}
