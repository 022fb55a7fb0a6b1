package wecom_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/wechat"
	"github.com/salesapp/scrm/backend/wecom"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
	"github.com/salesapp/scrm/backend/wecom/wecomtest"
)

// problems is each part's problem ("" when it works), by part.
func problems(c wecom.Connection) map[wecom.Part]wecom.Problem {
	out := map[wecom.Part]wecom.Problem{}
	for _, ch := range c.Checks {
		out[ch.Part] = ch.Problem
	}
	return out
}

// CheckConnection says per part what is wrong: nothing configured, a wrong corp id or secret, a secret
// that is not the AgentId's, a customer-contact secret without the permission, an untrusted IP; and all is
// well once it is.
func TestCheckConnectionSaysWhatIsWrong(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := wecomtest.New(t)
	e := setup(t, nil, wecom.Options{}, false)
	svc := wecom.NewService(e.db.App, sealer(t, "k1"), e.queue, "https://crm.example.com", nil,
		wecom.Options{APIBaseURL: fake.URL, Shared: wechat.NewStore(e.db.App)})
	tenant := e.db.NewTenant(t, "check")
	admin := tenant.Admin
	all := []wecom.Part{wecom.PartConfig, wecom.PartAppSecret, wecom.PartAgent, wecom.PartContactSecret}
	parts := func(c wecom.Connection) []wecom.Part {
		var out []wecom.Part
		for _, ch := range c.Checks {
			out = append(out, ch.Part)
		}
		return out
	}
	set := func(in wecom.ConfigInput) {
		t.Helper()
		_, err := svc.SetConfig(ctx, admin, in)
		require.NoError(t, err)
	}
	run := func() wecom.Connection {
		t.Helper()
		c, err := svc.CheckConnection(ctx, admin)
		require.NoError(t, err)
		require.Equal(t, all, parts(c), "every part, in order")
		for _, ch := range c.Checks {
			require.Equal(t, ch.OK, ch.Problem == wecom.ProblemNone, "%+v", ch)
			require.NotEmpty(t, ch.Message)
			require.NotContains(t, ch.Message, wecomtest.AppSecret)
			require.NotContains(t, ch.Message, wecomtest.ContactSecret)
		}
		return c
	}
	msg := func(c wecom.Connection, p wecom.Part) string {
		for _, ch := range c.Checks {
			if ch.Part == p {
				return ch.Message
			}
		}
		return ""
	}

	_, err := svc.CheckConnection(ctx, authn.Principal{TenantID: tenant.ID, Role: authn.RoleSales})
	require.Equal(t, platform.KindPermissionDenied, platform.KindOf(err))

	c := run()
	require.False(t, c.OK)
	require.Equal(t, map[wecom.Part]wecom.Problem{wecom.PartConfig: wecom.ProblemNotConfigured,
		wecom.PartAppSecret: wecom.ProblemSkipped, wecom.PartAgent: wecom.ProblemSkipped,
		wecom.PartContactSecret: wecom.ProblemSkipped}, problems(c))

	// A corp id WeCom does not know.
	set(wecom.ConfigInput{CorpID: "wwunknown", AgentID: fake.AgentID, AgentSecret: wecomtest.AppSecret, ContactSecret: wecomtest.ContactSecret})
	c = run()
	require.Equal(t, wecom.ProblemBadCorpID, problems(c)[wecom.PartAppSecret])
	require.Equal(t, wecom.ProblemSkipped, problems(c)[wecom.PartAgent])
	require.Equal(t, wecom.ProblemBadCorpID, problems(c)[wecom.PartContactSecret])
	require.Equal(t, wecomapi.CodeInvalidCorpID, c.Checks[1].ErrCode)
	require.Contains(t, msg(c, wecom.PartAppSecret), "企业ID")

	// The right corp, a wrong app secret; the contact secret kept is right.
	set(wecom.ConfigInput{CorpID: fake.CorpID, AgentID: fake.AgentID, AgentSecret: "wrong-secret"})
	c = run()
	require.Equal(t, wecom.ProblemBadSecret, problems(c)[wecom.PartAppSecret])
	require.Contains(t, msg(c, wecom.PartAppSecret), "the app's Secret")
	require.Equal(t, wecom.ProblemSkipped, problems(c)[wecom.PartAgent])
	require.Equal(t, wecom.ProblemNone, problems(c)[wecom.PartContactSecret])

	// The app's secret with another app's AgentId.
	set(wecom.ConfigInput{CorpID: fake.CorpID, AgentID: fake.AgentID + 1, AgentSecret: wecomtest.AppSecret})
	c = run()
	require.Equal(t, wecom.ProblemNone, problems(c)[wecom.PartAppSecret])
	require.Equal(t, wecom.ProblemMissingPermission, problems(c)[wecom.PartAgent])
	require.Contains(t, msg(c, wecom.PartAgent), "AgentId 1000003")
	require.Equal(t, wecomapi.CodeNoPrivilege, c.Checks[2].ErrCode)

	// Everything right.
	set(wecom.ConfigInput{CorpID: fake.CorpID, AgentID: fake.AgentID})
	c = run()
	require.True(t, c.OK, "%+v", c)

	// The customer-contact secret loses its permission.
	fake.SetPermissions(wecomtest.ContactSecret, 0)
	c = run()
	require.False(t, c.OK)
	require.Equal(t, wecom.ProblemMissingPermission, problems(c)[wecom.PartContactSecret])
	require.Contains(t, msg(c, wecom.PartContactSecret), "可调用接口的应用")
	fake.SetPermissions(wecomtest.ContactSecret, wecomtest.PermCustomerContact)

	// This server's IP is not trusted.
	fake.SetIPTrusted(false)
	c = run()
	require.Equal(t, wecom.ProblemIPNotAllowed, problems(c)[wecom.PartAgent])
	require.Equal(t, wecom.ProblemIPNotAllowed, problems(c)[wecom.PartContactSecret])
	require.Contains(t, msg(c, wecom.PartAgent), wecomtest.CallerIP)
	require.Contains(t, msg(c, wecom.PartAgent), "企业可信IP")
	fake.SetIPTrusted(true)

	// A contact secret not set.
	other := e.db.NewTenant(t, "half")
	_, err = svc.SetConfig(ctx, other.Admin, wecom.ConfigInput{CorpID: fake.CorpID, AgentID: fake.AgentID, AgentSecret: wecomtest.AppSecret})
	require.NoError(t, err)
	c, err = svc.CheckConnection(ctx, other.Admin)
	require.NoError(t, err)
	require.Equal(t, map[wecom.Part]wecom.Problem{wecom.PartConfig: wecom.ProblemNone, wecom.PartAppSecret: wecom.ProblemNone,
		wecom.PartAgent: wecom.ProblemNone, wecom.PartContactSecret: wecom.ProblemNotConfigured}, problems(c))
}
