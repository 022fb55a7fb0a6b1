package server_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server/servertest"
	"github.com/salesapp/scrm/backend/wecom/wecomtest"
)

// The official sample's callback keys (../shared/testdata/wecom).
const (
	wecomToken  = "QDG6eK"
	wecomAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
)

func wecomOf(e *servertest.Env, token string) salesappv1connect.WeComServiceClient {
	return salesappv1connect.NewWeComServiceClient(e.HTTP, e.URL, servertest.As(token))
}

// configureWeCom has the tenant's admin set WeCom up and returns a sender posting to its callback URL.
func configureWeCom(t *testing.T, e *servertest.Env, tn servertest.Tenant, corpID string) *wecomtest.CallbackSender {
	t.Helper()
	res, err := wecomOf(e, tn.Admin.Token).SetWeComConfig(context.Background(), connect.NewRequest(&salesappv1.SetWeComConfigRequest{
		CorpId: corpID, AgentId: 1000002, AgentSecret: wecomtest.AppSecret, ContactSecret: wecomtest.ContactSecret,
		CallbackToken: wecomToken, EncodingAesKey: wecomAESKey}))
	require.NoError(t, err)
	path := "/wecom/" + tn.ID.String() + "/callback"
	require.Equal(t, e.Config.PublicBaseURL+path, res.Msg.Config.CallbackUrl)
	return &wecomtest.CallbackSender{URL: e.URL + path, CorpID: corpID, Token: wecomToken, EncodingAESKey: wecomAESKey,
		Client: e.HTTP1, Timeout: 5 * time.Second, RetryInterval: time.Millisecond}
}

// An admin configures WeCom through the API; WeCom verifies the URL and posts an event (and resends it);
// it is stored and processed once, and listed.
func TestWeComCallbackEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := servertest.Start(t)
	tn := e.NewTenant(t, "Acme", 0)
	admin := wecomOf(e, tn.Admin.Token)

	// Shape rules first.
	_, err := admin.SetWeComConfig(ctx, connect.NewRequest(&salesappv1.SetWeComConfigRequest{CorpId: "ww1", AgentId: 1, EncodingAesKey: wecomAESKey[:42]}))
	require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
	require.Contains(t, err.Error(), "encoding_aes_key")
	_, err = admin.SetWeComConfig(ctx, connect.NewRequest(&salesappv1.SetWeComConfigRequest{CorpId: "ww1", AgentId: 1, CallbackToken: "has space"}))
	require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
	_, err = admin.SetWeComConfig(ctx, connect.NewRequest(&salesappv1.SetWeComConfigRequest{CorpId: "ww-1", AgentId: 1}))
	require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))

	corp := e.WeCom.CorpID
	sender := configureWeCom(t, e, tn, corp)
	got, err := admin.GetWeComConfig(ctx, connect.NewRequest(&salesappv1.GetWeComConfigRequest{}))
	require.NoError(t, err)
	c := got.Msg.Config
	require.True(t, c.Configured && c.AgentSecretSet && c.ContactSecretSet && c.CallbackTokenSet && c.EncodingAesKeySet)
	require.Equal(t, tn.Admin.ID.String(), c.UpdatedBy)
	require.NotContains(t, got.Msg.String(), wecomtest.AppSecret, "secrets are write-only")
	require.NotContains(t, got.Msg.String(), wecomAESKey)

	sales := e.NewPerson(t, tn.ID, authn.RoleSales, e.NewTeam(t, tn.ID, "Team"))
	_, err = wecomOf(e, sales.Token).GetWeComConfig(ctx, connect.NewRequest(&salesappv1.GetWeComConfigRequest{}))
	require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err))

	// WeCom's console checks the URL.
	status, body, err := sender.VerifyURL(ctx, "1616140317555161061")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "1616140317555161061", body)

	// A tampered callback is refused and leaves nothing.
	q, raw, err := sender.Seal([]byte("<xml><MsgType>text</MsgType><MsgId>1</MsgId></xml>"))
	require.NoError(t, err)
	q.Set("nonce", q.Get("nonce")+"0")
	status, _, err = sender.PostRaw(ctx, q, raw)
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, status)

	// The event and WeCom's three resends.
	msg := wecomtest.ExternalContactEvent(corp, "add_external_contact", "zhangsan", "wmExternal01", 1733390000, "channel-7", "WELCOME1")
	for range 4 {
		res, err := sender.Send(ctx, msg)
		require.NoError(t, err)
		require.Equal(t, "success", res.Body)
	}
	var events []*salesappv1.WeComEvent
	require.Eventually(t, func() bool {
		res, err := admin.ListWeComEvents(ctx, connect.NewRequest(&salesappv1.ListWeComEventsRequest{}))
		require.NoError(t, err)
		events = res.Msg.Events
		return len(events) == 1 && events[0].Status != "pending"
	}, 30*time.Second, 20*time.Millisecond)
	ev := events[0]
	require.Equal(t, "done", ev.Status, "processed (WeCom no longer has the contact: nothing to tie)")
	require.Equal(t, "change_external_contact", ev.Event)
	require.Equal(t, "add_external_contact", ev.ChangeType)
	require.True(t, strings.Contains(ev.Xml, "wmExternal01"))
	require.Equal(t, uint32(1), ev.Attempts)

	_, err = admin.ReplayWeComEvent(ctx, connect.NewRequest(&salesappv1.ReplayWeComEventRequest{Id: ev.Id}))
	require.Equal(t, connect.CodeFailedPrecondition, connect.CodeOf(err), "only failed events replay")
	_, err = admin.ReplayWeComEvent(ctx, connect.NewRequest(&salesappv1.ReplayWeComEventRequest{Id: "nope"}))
	require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
	res, err := admin.ListWeComEvents(ctx, connect.NewRequest(&salesappv1.ListWeComEventsRequest{Status: "failed"}))
	require.NoError(t, err)
	require.Empty(t, res.Msg.Events)
	_, err = admin.ListWeComEvents(ctx, connect.NewRequest(&salesappv1.ListWeComEventsRequest{Status: "weird"}))
	require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
	var ce *connect.Error
	require.True(t, errors.As(err, &ce))
}
