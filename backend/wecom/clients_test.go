package wecom_test

import (
	"context"
	"errors"
	"testing"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/wechat"
	"github.com/salesapp/scrm/backend/wecom"
	"github.com/salesapp/scrm/backend/wecom/wecomtest"
)

// A tenant's clients speak with the secrets it configured, one client per (corp, secret) reused until a
// secret changes; a secret not set is a FailedPrecondition naming it.
func TestClientsSpeakWithTheTenantsSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := wecomtest.New(t)
	e := setup(t, nil, wecom.Options{}, false)
	svc := wecom.NewService(e.db.App, sealer(t, "k1"), e.queue, "https://crm.example.com", nil,
		wecom.Options{APIBaseURL: fake.URL, Shared: wechat.NewStore(e.db.App)})
	tenant := e.db.NewTenant(t, "clients")
	_, err := e.db.Super.Exec(ctx, "UPDATE tenants SET plan = 'professional' WHERE id = $1", tenant.ID)
	require.NoError(t, err)
	_, err = svc.SetConfig(ctx, tenant.Admin, wecom.ConfigInput{CorpID: fake.CorpID, AgentID: 1000002,
		AgentSecret: wecomtest.AppSecret})
	require.NoError(t, err)

	app, err := svc.Client(ctx, tenant.ID, wecom.AppAgent)
	require.NoError(t, err)
	require.NoError(t, app.CheckToken(ctx))
	again, err := svc.Client(ctx, tenant.ID, wecom.AppAgent)
	require.NoError(t, err)
	require.Same(t, app, again, "one client (and token) per secret")

	_, err = svc.Client(ctx, tenant.ID, wecom.AppContact)
	require.ErrorContains(t, err, "customer contact secret is not set")
	require.Equal(t, platform.KindFailedPrecondition, platform.KindOf(err))

	_, err = svc.SetConfig(ctx, tenant.Admin, wecom.ConfigInput{CorpID: fake.CorpID, AgentID: 1000002,
		ContactSecret: wecomtest.ContactSecret})
	require.NoError(t, err)
	contact, err := svc.Client(ctx, tenant.ID, wecom.AppContact)
	require.NoError(t, err)
	require.NoError(t, contact.CheckToken(ctx))
	require.NotSame(t, app, contact)

	// A plan without the bridge: no client, and jobs are told to stop rather than retry.
	_, err = e.db.Super.Exec(ctx, "UPDATE tenants SET plan = 'standard' WHERE id = $1", tenant.ID)
	require.NoError(t, err)
	_, err = svc.Client(ctx, tenant.ID, wecom.AppContact)
	require.ErrorIs(t, err, wecom.ErrNotInPlan)
	require.Equal(t, platform.KindPermissionDenied, platform.KindOf(err))
	var cancel *river.JobCancelError
	require.ErrorAs(t, wecom.CancelIfNotInPlan(err), &cancel)
	require.NotErrorAs(t, wecom.CancelIfNotInPlan(errors.New("timeout")), &cancel)
}
