package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"google.golang.org/protobuf/proto"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/card"
	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/customer/customerrpc"
	"github.com/salesapp/scrm/backend/material"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/platform/module"
	"github.com/salesapp/scrm/backend/platform/ratelimit"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/backend/tracking"
	"github.com/salesapp/scrm/backend/tracking/trackingrpc"
	"github.com/salesapp/scrm/backend/web"
	"github.com/salesapp/scrm/push/alert"
	"github.com/salesapp/scrm/push/alert/alertrpc"
	"github.com/salesapp/scrm/push/hub"
	"github.com/salesapp/scrm/push/sender"
	"github.com/salesapp/scrm/push/wake"
	"github.com/salesapp/scrm/sync/delta"
	"github.com/salesapp/scrm/sync/syncrpc"
)

// newLive builds the modules of the live path: alerts and pushes, tracking, customers, the public pages,
// and sync (which applies every module's mutations).
func newLive(d deps, shares *share.Service, cards *card.Service, materials *material.Service) ([]module.Module, error) {
	snd := d.sender
	if snd == nil {
		snd = sender.NewLog(d.log) // no APNs/FCM credentials: log what would be pushed
	}
	alerts := alert.NewService(d.db)
	liveHub := newHub(alerts, authn.NewAuthenticator(d.tokens, d.auth), d.log)
	publisher := wake.NewPublisher(d.db.Pool, d.log)
	push := &pushWorker{alerts: alerts, sender: snd, db: d.db, log: d.log}
	var stopWake context.CancelFunc
	alertMod := module.Module{
		Name:     "alert",
		Services: []module.Service{module.Connect[salesappv1connect.AlertServiceHandler](salesappv1connect.AlertServiceName, salesappv1connect.NewAlertServiceHandler, alertrpc.New(alerts))},
		Routes:   []module.Route{{Pattern: WebSocketPath, Handler: liveHub}},
		Workers: func(w *river.Workers) {
			river.AddWorker(w, push)
			river.AddWorker(w, &housekeepingWorker{db: d.db})
		},
		Periodic: []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return HousekeepingArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})},
		Mutations: map[string]module.Applier{"mark_alerts_read": func(ctx context.Context, tx pgx.Tx, p authn.Principal, m proto.Message) error {
			_, err := alert.MarkReadTx(ctx, tx, alert.Key{TenantID: p.TenantID, EmployeeID: p.EmployeeID}, m.(*salesappv1.MarkAlertsRead).GetThroughSeq())
			return err
		}},
		Start: func(context.Context) error {
			push.pusher = alert.NewPusher(alerts)
			push.completions = newCompleter(d.db)
			wctx, cancel := context.WithCancel(context.Background())
			stopWake = cancel
			go publisher.Run(wctx)
			go wake.Listen(wctx, d.cfg.DatabaseURL, d.log, func(k alert.Key) { liveHub.Notify(hub.Key(k)) })
			return nil
		},
		Stop: func(context.Context) error {
			liveHub.Close()
			if stopWake != nil {
				stopWake()
			}
			if push.pusher != nil {
				push.pusher.Close()
				push.completions.close()
			}
			return nil
		},
	}

	track := tracking.NewService(d.db, shares, d.log, tracking.Config{Jobs: pushJobs{d.queue}, Wake: func(keys []alert.Key) {
		for _, k := range keys {
			liveHub.Notify(hub.Key(k))
		}
		publisher.Publish(keys)
	}})
	trackHandler, err := trackingrpc.New(track, ratelimit.New(d.cfg.VisitorRate, d.cfg.VisitorBurst, 200_000),
		d.perIP, d.cfg.BeaconOrigins)
	if err != nil {
		return nil, err
	}
	trackMod := module.Module{
		Name:     "tracking",
		Services: []module.Service{module.Connect[salesappv1connect.TrackingServiceHandler](salesappv1connect.TrackingServiceName, salesappv1connect.NewTrackingServiceHandler, trackHandler, trackingrpc.PublicProcedures...)},
		Routes:   []module.Route{{Pattern: trackingrpc.BeaconPath, Handler: trackHandler}},
		Stop:     func(context.Context) error { track.Close(); return nil },
	}
	customers := customer.NewService(d.db)
	customerMod := module.Module{
		Name:      "customer",
		Services:  []module.Service{module.Connect[salesappv1connect.CustomerServiceHandler](salesappv1connect.CustomerServiceName, salesappv1connect.NewCustomerServiceHandler, customerrpc.New(customers))},
		Mutations: customerMutations(),
	}
	pages := webModule(d, web.Deps{Shares: shares, Cards: cards, Materials: materials, Customers: customers, Tracking: track})
	return []module.Module{alertMod, trackMod, customerMod, pages}, nil
}

// syncModule serves SyncService, applying the mutations the other modules own.
func syncModule(d deps, mods []module.Module) module.Module {
	e := delta.New(d.db, delta.Config{MinSchema: minSyncSchema, MaxSchema: maxSyncSchema})
	for _, m := range mods {
		for op, fn := range m.Mutations {
			e.Handle(op, fn)
		}
	}
	h := syncrpc.New(e)
	return module.Module{Name: "sync", Services: []module.Service{module.Connect[salesappv1connect.SyncServiceHandler](salesappv1connect.SyncServiceName, salesappv1connect.NewSyncServiceHandler, h)}}
}

// Ingest builds the tracking ingest alone, for tools that load events without serving (salesbench): the
// pushes its alerts queue wait for a salesd's workers. Close it when done.
func Ingest(cfg platform.Config, log *slog.Logger, db *platform.DB) (*tracking.Service, error) {
	queue, err := jobs.New(db.Pool, log)
	if err != nil {
		return nil, err
	}
	return tracking.NewService(db, share.NewService(db, cfg.PublicBaseURL), log, tracking.Config{Jobs: pushJobs{queue}}), nil
}
