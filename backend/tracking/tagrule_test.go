package tracking_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/tagrule"
	"github.com/salesapp/scrm/backend/tracking"
)

type noJobs struct{}

func (noJobs) InsertTx(context.Context, pgx.Tx, river.JobArgs, *river.InsertOpts) error { return nil }
func (noJobs) InsertManyTx(context.Context, pgx.Tx, []river.InsertManyParams) error {
	return nil
}

// The ingest applies the tenant's reading rules: the visitor who opens a second material carrying the
// rule's tag gets the customer tag in the batch that records the view.
func TestTheIngestTagsAReaderWhoMeetsARule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newSetup(t)
	rules := tagrule.NewService(s.db.App, noJobs{})
	_, err := rules.Create(ctx, s.admin, "种植牙", 2, "种植牙意向")
	require.NoError(t, err)

	view := func(tags ...string) tracking.Event {
		id := uuid.Must(uuid.NewV7())
		_, err := s.db.Super.Exec(ctx, `INSERT INTO materials (id, tenant_id, tier, kind, status, title, tags)
			VALUES ($1, $2, 'enterprise', 'article', 'published', 'M', $3)`, id, s.sales.TenantID, tags)
		require.NoError(t, err)
		sh, err := s.shares.ShareMaterial(ctx, s.sales, id, event.ChannelChat)
		require.NoError(t, err)
		e := s.ev(event.MaterialView, "visitor-0001")
		e.ShareToken = sh.Token
		return e
	}
	_, err = s.svc.Ingest(ctx, []tracking.Event{view("种植牙"), view("正畸")})
	require.NoError(t, err)
	cs := s.customers(t)
	require.Len(t, cs, 1)
	require.Empty(t, cs[0].Tags, "one implant material is not enough")

	_, err = s.svc.Ingest(ctx, []tracking.Event{view("种植牙", "价格")})
	require.NoError(t, err)
	cs = s.customers(t)
	require.Equal(t, []string{"种植牙意向"}, cs[0].Tags)
}
