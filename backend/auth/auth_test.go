package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/auth"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/platform/testclock"
	"github.com/salesapp/scrm/backend/tenant"
)

type fixture struct {
	svc      *auth.Service
	tokens   *authn.Tokens
	clk      *testclock.Clock
	db       *pgtest.DB
	tenantID uuid.UUID
	empID    uuid.UUID
}

func setup(t *testing.T) fixture {
	t.Helper()
	return setupWith(t, auth.Config{RefreshTTL: 24 * time.Hour})
}

// setupWith is setup with the service's configuration (its clock is the fixture's).
func setupWith(t *testing.T, cfg auth.Config) fixture {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	clk := testclock.New(time.Now())
	tokens, err := authn.NewTokens([][]byte{make([]byte, 32)}, 15*time.Minute, clk.Now)
	require.NoError(t, err)
	cfg.Now = clk.Now
	svc := auth.NewService(db.App, tokens, cfg)
	tn, err := tenant.CreateTenant(ctx, db.Owner, tenant.NewTenant{Name: "T", Plan: tenant.PlanTrial, SeatLimit: 5, ExpiresAt: time.Now().AddDate(0, 1, 0)})
	require.NoError(t, err)
	emp, err := tenant.NewService(db.App, svc).Bootstrap().CreateEmployee(ctx, tn.ID, tenant.NewEmployee{Name: "E", Role: authn.RoleSales})
	require.NoError(t, err)
	return fixture{svc: svc, tokens: tokens, clk: clk, db: db, tenantID: tn.ID, empID: emp.ID}
}

func (f fixture) check(t *testing.T, access string) error {
	t.Helper()
	claims, err := f.tokens.Verify(access)
	if err != nil {
		return err
	}
	_, err = f.svc.Check(context.Background(), claims)
	return err
}

func TestRefreshRotatesAndAllowsOneLateRetry(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	first, err := f.svc.IssueSession(ctx, f.tenantID, f.empID, "phone")
	require.NoError(t, err)

	second, err := f.svc.Refresh(ctx, first.RefreshToken, "phone")
	require.NoError(t, err)
	require.NotEqual(t, first.RefreshToken, second.RefreshToken)
	require.NoError(t, f.check(t, second.AccessToken))

	// The response was lost; the app retries with the token it still has, within the grace.
	f.clk.Advance(10 * time.Second)
	third, err := f.svc.Refresh(ctx, first.RefreshToken, "phone")
	require.NoError(t, err)
	require.NoError(t, f.check(t, third.AccessToken))

	// The newest token works; an old one long after its rotation means theft: the session ends.
	f.clk.Advance(2 * time.Minute)
	fourth, err := f.svc.Refresh(ctx, third.RefreshToken, "phone")
	require.NoError(t, err)
	_, err = f.svc.Refresh(ctx, second.RefreshToken, "phone")
	require.Equal(t, platform.KindUnauthenticated, platform.KindOf(err))
	_, err = f.svc.Refresh(ctx, fourth.RefreshToken, "phone")
	require.Equal(t, platform.KindUnauthenticated, platform.KindOf(err), "the whole session ended")
	require.Equal(t, platform.KindUnauthenticated, platform.KindOf(f.check(t, fourth.AccessToken)))
}

func TestSessionsExpire(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	pair, err := f.svc.IssueSession(ctx, f.tenantID, f.empID, "phone")
	require.NoError(t, err)
	f.clk.Advance(16 * time.Minute)
	require.ErrorIs(t, f.check(t, pair.AccessToken), authn.ErrInvalidToken, "access tokens are short-lived")
	f.clk.Advance(25 * time.Hour)
	_, err = f.svc.Refresh(ctx, pair.RefreshToken, "phone")
	require.Equal(t, platform.KindUnauthenticated, platform.KindOf(err))
}

func TestRefreshTokenIsBoundToItsDevice(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	pair, err := f.svc.IssueSession(ctx, f.tenantID, f.empID, "phone")
	require.NoError(t, err)
	_, err = f.svc.Refresh(ctx, pair.RefreshToken, "laptop")
	require.Equal(t, platform.KindUnauthenticated, platform.KindOf(err))
	_, err = f.svc.Refresh(ctx, pair.RefreshToken, "phone")
	require.NoError(t, err)
}

func TestIssueSessionRefusesUnknownAndForeignEmployees(t *testing.T) {
	t.Parallel()
	f := setup(t)
	_, err := f.svc.IssueSession(context.Background(), f.tenantID, uuid.New(), "phone")
	require.Equal(t, platform.KindNotFound, platform.KindOf(err))
	_, err = f.svc.IssueSession(context.Background(), uuid.New(), f.empID, "phone")
	require.Equal(t, platform.KindNotFound, platform.KindOf(err))
}
