package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/backend/tracking"
)

// demoCustomers are the people who opened the demo salesperson's card, and what they did, oldest first.
var demoCustomers = []struct {
	name   string
	visits []event.Kind
}{
	{"Wang Fang", []event.Kind{event.CardView, event.Dwell, event.CallClick, event.PhoneLeft}},
	{"Li Na", []event.Kind{event.CardView, event.Dwell, event.WeChatClick}},
	{"Zhang Wei", []event.Kind{event.CardView}},
}

// seedDemoCustomers has a few customers open the demo salesperson's card through the one ingest path
// (customers, timelines, counters and alerts as real visits leave them), spread over the last days, and
// names them as the salesperson would.
func seedDemoCustomers(ctx context.Context, getenv func(string) string, db *platform.DB, tenantID, salesID uuid.UUID) error {
	cfg, err := platform.LoadConfig(getenv)
	if err != nil {
		return err
	}
	sales := authn.Principal{TenantID: tenantID, EmployeeID: salesID, Role: authn.RoleSales}
	sh, err := share.NewService(db, cfg.PublicBaseURL).ShareCard(ctx, sales, event.ChannelChat)
	if err != nil {
		return err
	}
	ingest, err := server.Ingest(cfg, slog.New(slog.DiscardHandler), db)
	if err != nil {
		return err
	}
	defer ingest.Close()
	customers := customer.NewService(db)
	now := time.Now()
	for i, c := range demoCustomers {
		visitor := fmt.Sprintf("demo-visitor-%d", i+1)
		at := now.Add(-time.Duration(len(demoCustomers)-i) * 5 * time.Hour)
		var view uuid.UUID
		var events []tracking.Event
		for j, kind := range c.visits {
			e := tracking.Event{ID: uuid.New(), Kind: kind, ShareToken: sh.Token, VisitorID: visitor, OccurredAt: at.Add(time.Duration(j) * time.Minute)}
			switch kind {
			case event.CardView:
				view = e.ID
			case event.Dwell:
				e.ViewID, e.DwellMs = view, 45_000
			case event.PhoneLeft:
				e.Phone = "+8613800000000"
			}
			events = append(events, e)
		}
		if _, err := ingest.Ingest(ctx, events); err != nil {
			return fmt.Errorf("demo customer %s: %w", c.name, err)
		}
		// The visitor is the salesperson's newest customer now: named as the salesperson would.
		newest, _, err := customers.List(ctx, sales, customer.Filter{Sort: customer.SortNewest, PageSize: 1})
		if err != nil {
			return err
		}
		if len(newest) != 1 {
			return fmt.Errorf("demo customer %s: not made", c.name)
		}
		name := c.name
		if _, err := customers.Update(ctx, sales, newest[0].ID, customer.Change{DisplayName: &name}); err != nil {
			return err
		}
	}
	return nil
}
