package delta

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/salesapp/scrm/backend/platform/jobs"
)

// PruneArgs asks for what ages out of sync to go (an hourly job): expired sync rows (timeline entries
// past 90 days, alerts past 7), tombstones older than 30 days, and mutation outcomes older than 30 days.
// sync_prune runs as the owner, across tenants, and can do nothing else. A cursor older than the newest
// pruned tombstone is reset on its next pull.
type PruneArgs struct{}

// Kind implements river.JobArgs.
func (PruneArgs) Kind() string { return "sync_prune" }

// PruneWorker runs PruneArgs.
func PruneWorker(pool *pgxpool.Pool) river.Worker[PruneArgs] {
	return &jobs.Statement[PruneArgs]{Pool: pool, SQL: "SELECT sync_prune()"}
}
