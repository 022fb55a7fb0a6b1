package server

import (
	"context"
	"errors"
	"log/slog"

	"github.com/salesapp/scrm/backend/auth"
	"github.com/salesapp/scrm/backend/card"
	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/customer/customerrpc"
	"github.com/salesapp/scrm/backend/handover"
	"github.com/salesapp/scrm/backend/handover/handoverrpc"
	"github.com/salesapp/scrm/backend/material"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/platform/module"
	"github.com/salesapp/scrm/backend/platform/ratelimit"
	"github.com/salesapp/scrm/backend/pool"
	"github.com/salesapp/scrm/backend/pool/poolrpc"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/backend/task"
	"github.com/salesapp/scrm/backend/task/taskrpc"
	"github.com/salesapp/scrm/backend/tracking"
	"github.com/salesapp/scrm/backend/tracking/trackingrpc"
	"github.com/salesapp/scrm/backend/web"
	"github.com/salesapp/scrm/backend/wecom/transfer"
	"github.com/salesapp/scrm/push/alert"
	"github.com/salesapp/scrm/push/alert/alertrpc"
	"github.com/salesapp/scrm/push/hub"
	"github.com/salesapp/scrm/push/pushjob"
)

// newLive builds the modules of the live path: alerts and pushes, tracking, customers, and the public
// pages, which write events through tracking. wake tells the WebSocket hubs of every node which alert
// streams grew, for other domains that record alerts.
func newLive(d deps, shares *share.Service, cards *card.Service, materials *material.Service) (mods []module.Module, wake func([]alert.Key), err error) {
	alerts := alertrpc.NewLive(alertrpc.Config{DB: d.db, Log: d.log, Sender: d.sender,
		Auth: authn.NewAuthenticator(d.tokens, d.auth), Sessions: hubSessions{d.auth}, DatabaseURL: d.cfg.DatabaseURL})
	track := tracking.NewService(d.db, shares, d.log, tracking.Config{Jobs: pushjob.Jobs{Inserter: d.queue, Nudge: d.queue.Nudge,
		NewCustomerWindow: d.cfg.NewCustomerPushWindow}, Wake: alerts.Wake,
		NewVisitorsPerShare: d.cfg.NewVisitorsPerShare, NewVisitorsPerTenant: d.cfg.NewVisitorsPerTenant})
	// The mini-program's customer sessions, issued by its sign-in (pages) and carried by its Track calls.
	sessions := customer.NewSessions(d.cfg.TokenKeys, nil)
	trackHandler, err := trackingrpc.New(track, sessions, ratelimit.New(d.cfg.VisitorRate, d.cfg.VisitorBurst, 200_000),
		d.perIP, d.cfg.BeaconOrigins)
	if err != nil {
		return nil, nil, err
	}
	// A share that completes a marketing task alerts through the same streams, pushes and wake-ups.
	shares.AlertThrough(pushjob.Jobs{Inserter: d.queue, Nudge: d.queue.Nudge}, alerts.Wake)
	customers := customer.NewService(d.db)
	// Follow-up reminders alert through the same streams, pushes and wake-ups.
	reminders := customer.NewReminders(d.db, pushjob.Jobs{Inserter: d.queue, Nudge: d.queue.Nudge}, alerts.Wake, nil)
	pages := webModule(d, web.Deps{Shares: shares, Cards: cards, Materials: materials, Customers: customers, Tracking: track, Sessions: sessions})
	// Marketing tasks alert (assigned, completed, cancelled) through the same streams, pushes and wake-ups.
	tasks := task.NewService(d.db, pushjob.Jobs{Inserter: d.queue, Nudge: d.queue.Nudge}, alerts.Wake)
	// Lead pools alert holders before and when a neglected lead goes back.
	pools := pool.NewService(d.db, pushjob.Jobs{Inserter: d.queue, Nudge: d.queue.Nudge}, alerts.Wake, nil)
	return []module.Module{alerts.Module, trackingrpc.Module(track, trackHandler), customerrpc.Module(customers, reminders), pages,
		taskrpc.Module(tasks), poolrpc.Module(pools), handoverrpc.Module(handover.NewService(d.db, nil, transfer.Record(d.queue)))}, alerts.Wake, nil
}

// Ingest builds the tracking ingest alone, for tools that load events without serving (salesbench): the
// pushes its alerts queue wait for a salesd's workers. Close it when done.
func Ingest(cfg platform.Config, log *slog.Logger, db *platform.DB) (*tracking.Service, error) {
	queue, err := jobs.New(db.Pool, log)
	if err != nil {
		return nil, err
	}
	return tracking.NewService(db, share.NewService(db, cfg.PublicBaseURL), log, tracking.Config{
		Jobs:                pushjob.Jobs{Inserter: queue, NewCustomerWindow: cfg.NewCustomerPushWindow},
		NewVisitorsPerShare: cfg.NewVisitorsPerShare, NewVisitorsPerTenant: cfg.NewVisitorsPerTenant}), nil
}

// hubSessions lets the WebSocket hub ask the auth service which of its connections' sessions ended.
type hubSessions struct{ auth *auth.Service }

func (s hubSessions) Ended(ctx context.Context, sessions []hub.Session) (map[hub.Session]hub.Ending, error) {
	refs := make([]auth.SessionRef, len(sessions))
	for i, x := range sessions {
		refs[i] = auth.SessionRef{TenantID: x.TenantID, SessionID: x.SessionID}
	}
	ended, err := s.auth.EndedSessions(ctx, refs)
	if err != nil {
		return nil, err
	}
	out := make(map[hub.Session]hub.Ending, len(ended))
	for r, why := range ended {
		e := hub.Ending{Refused: platform.KindOf(why) == platform.KindPermissionDenied, Reason: why.Error()}
		var pe *platform.Error
		if errors.As(why, &pe) {
			e.Reason = pe.Msg
		}
		out[hub.Session{TenantID: r.TenantID, SessionID: r.SessionID}] = e
	}
	return out, nil
}
