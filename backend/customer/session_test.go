package customer_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/testclock"
)

func requireKind(t *testing.T, err error, kind platform.Kind, msg string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, kind, platform.KindOf(err), err.Error())
	require.ErrorContains(t, err, msg)
}

func TestACustomerSessionLastsTwoHoursAndRefreshesForThirtyDays(t *testing.T) {
	clk := testclock.New(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	s := customer.NewSessions([][]byte{[]byte("key-one-key-one-key-one-key-one!")}, clk.Now)
	tenant, cust := uuid.New(), uuid.New()

	token, sess, err := s.Issue(tenant, cust, "visitor-mp01")
	require.NoError(t, err)
	require.Equal(t, clk.Now().Add(customer.SessionTTL), sess.ExpiresAt)
	require.Equal(t, clk.Now().Add(customer.SessionRefreshFor), sess.RefreshUntil())
	got, err := s.Verify(token)
	require.NoError(t, err)
	require.Equal(t, tenant, got.TenantID)
	require.Equal(t, cust, got.CustomerID)
	require.Equal(t, "visitor-mp01", got.VisitorID)

	// Two hours on it is expired, and refreshes into one that is not; the sign-in's time stays.
	clk.Advance(customer.SessionTTL)
	_, err = s.Verify(token)
	requireKind(t, err, platform.KindUnauthenticated, "expired: refresh it")
	fresh, renewed, err := s.Refresh(token, nil)
	require.NoError(t, err)
	require.Equal(t, sess.SignedInAt, renewed.SignedInAt)
	got, err = s.Verify(fresh)
	require.NoError(t, err)
	require.Equal(t, "visitor-mp01", got.VisitorID)

	// A refresh names the customer the visitor is now (merged into another since), or fails as the
	// lookup does (the customer gone).
	survivor := uuid.New()
	_, merged, err := s.Refresh(fresh, func(old customer.Session) (uuid.UUID, error) {
		require.Equal(t, cust, old.CustomerID)
		return survivor, nil
	})
	require.NoError(t, err)
	require.Equal(t, survivor, merged.CustomerID)
	_, _, err = s.Refresh(fresh, func(customer.Session) (uuid.UUID, error) { return uuid.Nil, platform.NotFound("customer") })
	requireKind(t, err, platform.KindNotFound, "customer")

	// Near the end of thirty days a refresh gives what is left, and at the end no more.
	clk.Advance(customer.SessionRefreshFor - customer.SessionTTL - time.Hour)
	last, lastSess, err := s.Refresh(fresh, nil)
	require.NoError(t, err)
	require.Equal(t, sess.RefreshUntil(), lastSess.ExpiresAt)
	clk.Advance(time.Hour)
	_, err = s.Verify(last)
	requireKind(t, err, platform.KindUnauthenticated, "expired")
	_, _, err = s.Refresh(last, nil)
	requireKind(t, err, platform.KindUnauthenticated, "sign in again")
}

func TestACustomerSessionCannotBeForgedAndSurvivesAKeyRotation(t *testing.T) {
	clk := testclock.New(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	oldKey, newKey := []byte("the-old-key-the-old-key-the-old!"), []byte("the-new-key-the-new-key-the-new!")
	s := customer.NewSessions([][]byte{oldKey}, clk.Now)
	token, _, err := s.Issue(uuid.New(), uuid.New(), "visitor-mp01")
	require.NoError(t, err)

	// Another visitor's id in the payload, the signature kept: refused.
	body, sig, _ := strings.Cut(strings.TrimPrefix(token, "cs1."), ".")
	forged := "cs1." + strings.Replace(body, body[len(body)-8:], "AAAAAAAA", 1) + "." + sig
	for _, bad := range []string{forged, "cs1." + body + ".", "cs1." + body, "cs2." + body + "." + sig, "", "x", strings.Repeat("a", 600)} {
		_, err := s.Verify(bad)
		requireKind(t, err, platform.KindUnauthenticated, "not valid")
		_, _, err = s.Refresh(bad, nil)
		requireKind(t, err, platform.KindUnauthenticated, "not valid")
	}
	// A server that signs with another key only.
	_, err = customer.NewSessions([][]byte{newKey}, clk.Now).Verify(token)
	requireKind(t, err, platform.KindUnauthenticated, "not valid")

	// Rotated: the new key signs, the old one still verifies.
	rotated := customer.NewSessions([][]byte{newKey, oldKey}, clk.Now)
	_, err = rotated.Verify(token)
	require.NoError(t, err)
	renewed, _, err := rotated.Refresh(token, nil)
	require.NoError(t, err)
	_, err = customer.NewSessions([][]byte{newKey}, clk.Now).Verify(renewed)
	require.NoError(t, err)

	// Without keys nothing is issued or accepted.
	none := customer.NewSessions(nil, clk.Now)
	_, _, err = none.Issue(uuid.New(), uuid.New(), "visitor-mp01")
	requireKind(t, err, platform.KindFailedPrecondition, "not configured")
	_, err = none.Verify(token)
	requireKind(t, err, platform.KindFailedPrecondition, "not configured")
	var absent *customer.Sessions // a server built without them
	_, err = absent.Carried(token)
	requireKind(t, err, platform.KindFailedPrecondition, "not configured")
	got, err := absent.Carried("")
	require.NoError(t, err)
	require.Nil(t, got, "a request carrying no session has none")
}

func TestTheVisitorOfACallIsTheSessionsWhenItCarriesOne(t *testing.T) {
	sess := &customer.Session{VisitorID: "visitor-mp01"}
	v, err := customer.VisitorOf(sess, "", "visitor_id")
	require.NoError(t, err)
	require.Equal(t, "visitor-mp01", v)
	v, err = customer.VisitorOf(sess, "visitor-mp01", "visitor_id")
	require.NoError(t, err)
	require.Equal(t, "visitor-mp01", v)
	_, err = customer.VisitorOf(sess, "visitor-other", "visitor_id")
	requireKind(t, err, platform.KindPermissionDenied, "not the customer session's visitor")
	v, err = customer.VisitorOf(nil, "visitor-anon", "visitor_id")
	require.NoError(t, err)
	require.Equal(t, "visitor-anon", v)
	_, err = customer.VisitorOf(nil, "", "visitor_id")
	requireKind(t, err, platform.KindInvalid, "required without a customer session")
}
