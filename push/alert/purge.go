package alert

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/salesapp/scrm/backend/platform/jobs"
)

// PurgeArgs asks for alerts past their Retention to go (an hourly job). purge_old_alerts runs as the
// owner, across tenants, and can do nothing else. A stream that loses entries keeps its numbering: apps
// away longer are told to reset.
type PurgeArgs struct{}

// Kind implements river.JobArgs.
func (PurgeArgs) Kind() string { return "alert_purge" }

// PurgeWorker runs PurgeArgs.
func PurgeWorker(pool *pgxpool.Pool) river.Worker[PurgeArgs] {
	return &jobs.Statement[PurgeArgs]{Pool: pool, SQL: "SELECT purge_old_alerts()"}
}
