package wecomtest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/wecom/wecomapi"
	"github.com/salesapp/scrm/backend/wecom/wecomtest"
)

// call sends a raw request, as a client that checks nothing would, and returns the errcode.
func call(t *testing.T, srv *wecomtest.Server, method string, e wecomtest.Endpoint, query, body string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+string(e)+"?"+query, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		ErrCode int `json:"errcode"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out.ErrCode
}

func token(t *testing.T, srv *wecomtest.Server, secret string) string {
	t.Helper()
	resp, err := http.Get(srv.URL + string(wecomtest.GetToken) + "?corpid=" + srv.CorpID + "&corpsecret=" + secret)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.NotEmpty(t, out.AccessToken)
	return out.AccessToken
}

func TestTokensAreCheckedOnEveryCall(t *testing.T) {
	t.Parallel()
	srv := wecomtest.New(t)
	srv.SeedDirectory(1, 1)
	assert.Equal(t, 41001, call(t, srv, "GET", wecomtest.UserGet, "userid=u00001", ""))
	assert.Equal(t, wecomapi.CodeInvalidAccessToken, call(t, srv, "GET", wecomtest.UserGet, "userid=u00001&access_token=forged", ""))

	tok := token(t, srv, wecomtest.AppSecret)
	assert.Equal(t, tok, token(t, srv, wecomtest.AppSecret), "the same token within its life")
	assert.Zero(t, call(t, srv, "GET", wecomtest.UserGet, "userid=u00001&access_token="+tok, ""))
	srv.Advance(wecomtest.TokenTTL * time.Second)
	assert.Equal(t, wecomapi.CodeAccessTokenExpired, call(t, srv, "GET", wecomtest.UserGet, "userid=u00001&access_token="+tok, ""))
	assert.NotEqual(t, tok, token(t, srv, wecomtest.AppSecret))
	assert.Equal(t, 2, srv.TokensIssued())

	// Each secret may do what it was granted.
	app := token(t, srv, wecomtest.AppSecret)
	assert.Equal(t, wecomapi.CodeAPIForbidden, call(t, srv, "GET", wecomtest.ContactList, "userid=u00001&access_token="+app, ""))
	contact := token(t, srv, wecomtest.ContactSecret)
	assert.Zero(t, call(t, srv, "GET", wecomtest.ContactList, "userid=u00001&access_token="+contact, ""))
	assert.Equal(t, wecomapi.CodeNoPrivilege, call(t, srv, "GET", wecomtest.UserGet, "userid=u00001&access_token="+contact, ""))
	assert.Equal(t, 5, srv.Calls(wecomtest.UserGet), "refused calls count too")
}

// The fake refuses what WeCom refuses even when a client does not check it first.
func TestDocumentedLimitsAreEnforced(t *testing.T) {
	t.Parallel()
	srv := wecomtest.New(t)
	users := srv.SeedDirectory(1, 101)
	tok := "access_token=" + token(t, srv, wecomtest.ContactSecret)

	list, _ := json.Marshal(map[string]any{"userid_list": users})
	assert.Equal(t, wecomtest.CodeInvalidParameter, call(t, srv, "POST", wecomtest.ContactBatchGet, tok, string(list)))
	list, _ = json.Marshal(map[string]any{"userid_list": users[:100], "limit": 1000})
	assert.Zero(t, call(t, srv, "POST", wecomtest.ContactBatchGet, tok, string(list)), "a larger limit is taken as 100")

	way := func(state string) string {
		b, _ := json.Marshal(map[string]any{"type": 1, "scene": 2, "user": []string{"u00001"}, "state": state})
		return string(b)
	}
	assert.Zero(t, call(t, srv, "POST", wecomtest.AddContactWay, tok, way(strings.Repeat("渠", 30))))
	assert.Equal(t, wecomtest.CodeInvalidParameter, call(t, srv, "POST", wecomtest.AddContactWay, tok, way(strings.Repeat("渠", 31))))

	ids := make([]string, 101)
	transfer, _ := json.Marshal(map[string]any{"handover_userid": "u00001", "takeover_userid": "u00002", "external_userid": ids})
	assert.Equal(t, wecomtest.CodeInvalidParameter, call(t, srv, "POST", wecomtest.TransferCustomer, tok, string(transfer)))
	assert.Equal(t, wecomtest.CodeBadJSON, call(t, srv, "POST", wecomtest.MarkTag, tok, "{"))
}

func TestSeedingBigDataSets(t *testing.T) {
	t.Parallel()
	srv := wecomtest.New(t)
	users := srv.SeedDirectory(50, 10000)
	ids := srv.SeedContacts(50000, users)
	assert.Len(t, users, 10000)
	assert.Len(t, ids, 50000)
	assert.Len(t, srv.Follows(ids[49999]), 1)
}
