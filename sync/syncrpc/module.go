package syncrpc

import (
	"github.com/riverqueue/river"

	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/platform/module"
	"github.com/salesapp/scrm/sync/delta"
)

// Client schema versions this server syncs with.
const (
	MinSchema = 1
	MaxSchema = 1
)

// Module is what sync contributes: SyncService, applying the offline mutations the other modules own
// (mods: every other module, built before it), and the hourly prune of what aged out.
func Module(db *platform.DB, mods []module.Module) module.Module {
	e := delta.New(db, delta.Config{MinSchema: MinSchema, MaxSchema: MaxSchema})
	for _, m := range mods {
		for op, fn := range m.Mutations {
			e.Handle(op, module.Gated(m.Feature, fn))
		}
	}
	return module.Module{
		Name:     "sync",
		Services: []module.Service{module.Connect[salesappv1connect.SyncServiceHandler](salesappv1connect.SyncServiceName, salesappv1connect.NewSyncServiceHandler, New(e))},
		Workers:  func(w *river.Workers) { river.AddWorker(w, delta.PruneWorker(db.Pool)) },
		Periodic: []*river.PeriodicJob{jobs.Hourly(delta.PruneArgs{})},
	}
}
