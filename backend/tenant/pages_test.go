package tenant_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/tenant"
)

func TestPageSettings(t *testing.T) {
	t.Parallel()
	f := setup(t, 5)
	ctx := context.Background()

	ps, err := f.svc.PageSettings(ctx, f.t.ID)
	require.NoError(t, err)
	require.False(t, ps.RequireSignIn)
	require.Empty(t, ps.PageOrigins)

	on := true
	origins := []string{"https://H5.Example.com:443", "http://localhost:5173", "https://h5.example.com"}
	tn, err := f.svc.UpdateSettings(ctx, f.admin, tenant.SettingsChange{RequireSignIn: &on, PageOrigins: &origins})
	require.NoError(t, err)
	require.True(t, tn.RequireSignIn)
	require.Equal(t, []string{"https://h5.example.com", "http://localhost:5173"}, tn.PageOrigins, "as browsers send them, once each")
	require.Equal(t, "first_share", tn.OwnerRule, "settings not given are kept")
	ps, err = f.svc.PageSettings(ctx, f.t.ID)
	require.NoError(t, err)
	require.True(t, ps.RequireSignIn)

	for i, bad := range []string{"h5.example.com", "https://h5.example.com/path", "ftp://h5.example.com", "https://*.example.com",
		"https://user@h5.example.com", "https://h5.example.com?x=1", "https://h5.example.com:99999", "https://"} {
		_, err := f.svc.UpdateSettings(ctx, f.admin, tenant.SettingsChange{PageOrigins: &[]string{"https://ok.example.com", bad}})
		requireKind(t, platform.KindInvalid, err, "case %d %q", i, bad)
		var pe *platform.Error
		require.ErrorAs(t, err, &pe)
		require.Equal(t, "page_origins.origins[1]", pe.Field)
	}

	// Another tenant's origins join the server-wide union a preflight is checked against; an expired
	// tenant's do not.
	other, err := tenant.CreateTenant(ctx, f.db.Owner, tenant.NewTenant{Name: "Other", Plan: tenant.PlanStandard, SeatLimit: 1, ExpiresAt: time.Now().AddDate(0, 1, 0)})
	require.NoError(t, err)
	gone, err := tenant.CreateTenant(ctx, f.db.Owner, tenant.NewTenant{Name: "Gone", Plan: tenant.PlanStandard, SeatLimit: 1, ExpiresAt: time.Now().AddDate(0, 1, 0)})
	require.NoError(t, err)
	_, err = f.db.Super.Exec(ctx, `UPDATE tenants SET page_origins = '{https://other.example.com}' WHERE id = $1`, other.ID)
	require.NoError(t, err)
	_, err = f.db.Super.Exec(ctx, `UPDATE tenants SET page_origins = '{https://gone.example.com}', expires_at = now() - interval '1 day' WHERE id = $1`, gone.ID)
	require.NoError(t, err)
	all, err := f.svc.AllowedPageOrigins(ctx)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"https://h5.example.com", "http://localhost:5173", "https://other.example.com"}, all)

	// Clearing the list.
	tn, err = f.svc.UpdateSettings(ctx, f.admin, tenant.SettingsChange{PageOrigins: &[]string{}})
	require.NoError(t, err)
	require.Empty(t, tn.PageOrigins)
}
