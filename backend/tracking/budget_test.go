package tracking_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/tracking"
)

// One client minting visitor ids on a card link: past the link's budget of new visitors their events are
// rejected and nothing of them is stored (no customer, no alert, no push), while visitors already known
// keep being stored; a second link of the same tenant runs into the tenant's budget.
func TestNewVisitorsPastTheBudgetAreRejectedAndKnownOnesNever(t *testing.T) {
	t.Parallel()
	s := newSetupWith(t, tracking.Config{NewVisitorsPerShare: 3, NewVisitorsPerTenant: 5})
	ctx := context.Background()

	var batch []tracking.Event
	for i := range 5 {
		batch = append(batch, s.ev(event.CardView, fmt.Sprintf("flood-visitor-%02d", i)))
	}
	res, rejected, err := s.svc.IngestValid(ctx, batch)
	require.NoError(t, err)
	require.Equal(t, tracking.Result{Accepted: 3, Rejected: 2}, res)
	require.Len(t, rejected, 2)
	for i, rj := range rejected {
		require.Equal(t, 3+i, rj.Index, "the refused events are named by their position")
		require.Equal(t, platform.KindResourceExhausted, platform.KindOf(rj.Err))
	}
	require.Len(t, s.customers(t), 3)
	require.Len(t, s.alerts(t), 3, "no alert for a refused visitor")

	// The link's budget is spent; a known visitor is still stored, through the strict path too.
	res, err = s.svc.Ingest(ctx, []tracking.Event{s.ev(event.CardView, "flood-visitor-00"), s.ev(event.CallClick, "flood-visitor-01"),
		s.ev(event.CardView, "flood-visitor-99")})
	require.NoError(t, err)
	require.Equal(t, tracking.Result{Accepted: 2, Rejected: 1}, res)
	require.Len(t, s.customers(t), 3)

	// Another link of the tenant: its own budget of 3, but only 2 left in the tenant's 5.
	other, err := s.shares.ShareCard(ctx, s.sales, event.ChannelMoments)
	require.NoError(t, err)
	batch = nil
	for i := range 3 {
		e := s.ev(event.CardView, fmt.Sprintf("moments-visitor-%02d", i))
		e.ShareToken = other.Token
		batch = append(batch, e)
	}
	res, _, err = s.svc.IngestValid(ctx, batch)
	require.NoError(t, err)
	require.Equal(t, tracking.Result{Accepted: 2, Rejected: 1}, res)
	require.Len(t, s.customers(t), 5)
}
