package tracking_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/tracking"
)

// A number left through a beacon or the page's form is stored as unverified and never replaces one
// WeChat verified (getuserphonenumber); the left-number events stay on the timeline either way.
func TestATypedPhoneNeverReplacesAVerifiedOne(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	ctx := context.Background()
	phone := func(visitor, number string, verified bool) tracking.Event {
		e := s.ev(event.PhoneLeft, visitor)
		e.Phone, e.PhoneVerified = number, verified
		return e
	}
	only := func() customer.Customer {
		cs := s.customers(t)
		require.Len(t, cs, 1)
		return cs[0]
	}

	// A typed number on a customer without one: stored, unverified.
	_, err := s.svc.Ingest(ctx, []tracking.Event{s.ev(event.CardView, "phone-visitor"), phone("phone-visitor", "+8613800000001", false)})
	require.NoError(t, err)
	c := only()
	require.Equal(t, "+8613800000001", c.Phone)
	require.False(t, c.PhoneVerified)

	// WeChat's verified number replaces a typed one.
	_, err = s.svc.Ingest(ctx, []tracking.Event{phone("phone-visitor", "+8613800000002", true)})
	require.NoError(t, err)
	c = only()
	require.Equal(t, "+8613800000002", c.Phone)
	require.True(t, c.PhoneVerified)

	// A flood's typed number does not replace it, alone or after the verified one in one batch.
	_, err = s.svc.Ingest(ctx, []tracking.Event{phone("phone-visitor", "+8613800000666", false)})
	require.NoError(t, err)
	_, err = s.svc.Ingest(ctx, []tracking.Event{phone("phone-visitor", "+8613800000003", true), phone("phone-visitor", "+8613800000777", false)})
	require.NoError(t, err)
	c = only()
	require.Equal(t, "+8613800000003", c.Phone)
	require.True(t, c.PhoneVerified)

	// Every left number is on the timeline.
	items, _, err := customer.NewService(s.db.App).Timeline(ctx, s.sales, c.ID, 50, "")
	require.NoError(t, err)
	left := 0
	for _, it := range items {
		if it.Kind == event.PhoneLeft {
			left++
		}
	}
	require.Equal(t, 5, left)

	// A number the salesperson types is theirs, not WeChat's: unverified.
	typed := "+8613800000004"
	updated, err := customer.NewService(s.db.App).Update(ctx, s.sales, c.ID, customer.Change{Phone: &typed})
	require.NoError(t, err)
	require.Equal(t, typed, updated.Phone)
	require.False(t, updated.PhoneVerified)
}
