package wechat

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/salesapp/scrm/backend/platform"
)

// The kinds of credential a client keeps, as Shared names them.
const (
	// KindAccessToken is the app's access token (cgi-bin/token).
	KindAccessToken = "access_token"
	// KindJSAPITicket is the official account's JS-SDK ticket (cgi-bin/ticket/getticket?type=jsapi).
	KindJSAPITicket = "jsapi_ticket"
)

// accessToken returns the app's access token.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	return c.token.Get(ctx)
}

func (c *Client) requestToken(ctx context.Context) (string, time.Duration, error) {
	const api = "token"
	q := url.Values{
		"grant_type": {"client_credential"},
		"appid":      {c.appID},
		"secret":     {c.secret},
	}
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := c.call(ctx, api, http.MethodGet, "/cgi-bin/token", q, nil, &out); err != nil {
		return "", 0, translate(err, platform.KindInternal, "")
	}
	if out.AccessToken == "" {
		return "", 0, fmt.Errorf("wechat %s: answer without access_token", api)
	}
	return out.AccessToken, Lifetime(out.ExpiresIn), nil
}
