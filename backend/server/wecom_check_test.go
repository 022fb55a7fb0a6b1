package server_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server/servertest"
	"github.com/salesapp/scrm/backend/wecom/wecomtest"
)

// An admin checks the connection through the API: each part's problem, then all well once fixed; others
// may not check.
func TestWeComCheckConnectionEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := wecomtest.New(t)
	e := servertest.Start(t, func(c *platform.Config) { c.WeComAPIURL = fake.URL })
	tn := e.NewTenant(t, "Acme", 0)
	admin := wecomOf(e, tn.Admin.Token)

	res, err := admin.CheckWeComConnection(ctx, connect.NewRequest(&salesappv1.CheckWeComConnectionRequest{}))
	require.NoError(t, err)
	require.False(t, res.Msg.Ok)
	require.Equal(t, "config", res.Msg.Checks[0].Part)
	require.Equal(t, "not_configured", res.Msg.Checks[0].Problem)

	_, err = admin.SetWeComConfig(ctx, connect.NewRequest(&salesappv1.SetWeComConfigRequest{CorpId: fake.CorpID,
		AgentId: int32(fake.AgentID), AgentSecret: "wrongSecret", ContactSecret: wecomtest.ContactSecret}))
	require.NoError(t, err)
	res, err = admin.CheckWeComConnection(ctx, connect.NewRequest(&salesappv1.CheckWeComConnectionRequest{}))
	require.NoError(t, err)
	require.False(t, res.Msg.Ok)
	require.Equal(t, "app_secret", res.Msg.Checks[1].Part)
	require.Equal(t, "bad_secret", res.Msg.Checks[1].Problem)
	require.Equal(t, int32(40001), res.Msg.Checks[1].Errcode)
	require.Equal(t, "skipped", res.Msg.Checks[2].Problem)
	require.True(t, res.Msg.Checks[3].Ok)

	_, err = admin.SetWeComConfig(ctx, connect.NewRequest(&salesappv1.SetWeComConfigRequest{CorpId: fake.CorpID,
		AgentId: int32(fake.AgentID), AgentSecret: wecomtest.AppSecret}))
	require.NoError(t, err)
	res, err = admin.CheckWeComConnection(ctx, connect.NewRequest(&salesappv1.CheckWeComConnectionRequest{}))
	require.NoError(t, err)
	require.True(t, res.Msg.Ok, "%v", res.Msg)
	require.Len(t, res.Msg.Checks, 4)

	manager := e.NewPerson(t, tn.ID, authn.RoleManager, e.NewTeam(t, tn.ID, "Team"))
	_, err = wecomOf(e, manager.Token).CheckWeComConnection(ctx, connect.NewRequest(&salesappv1.CheckWeComConnectionRequest{}))
	require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err))
}
