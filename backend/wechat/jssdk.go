package wechat

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/salesapp/scrm/backend/platform"
)

// JSConfig is what a page passes to wx.config: the official account's app id and a signature of the page's
// URL made with the account's JS-SDK ticket.
type JSConfig struct {
	AppID     string
	Timestamp int64
	NonceStr  string
	Signature string
}

// JSAPITicket returns the official account's JS-SDK ticket, shared like the access token (Config.Shared). A
// ticket fetch refused for a stale access token (40001, 42001) refreshes the token and tries once more.
func (c *Client) JSAPITicket(ctx context.Context) (string, error) {
	return c.ticket.Get(ctx)
}

func (c *Client) requestTicket(ctx context.Context) (string, time.Duration, error) {
	const api = "getticket"
	var out struct {
		Ticket    string `json:"ticket"`
		ExpiresIn int64  `json:"expires_in"`
	}
	if err := c.callWithToken(ctx, api, http.MethodGet, "/cgi-bin/ticket/getticket", url.Values{"type": {"jsapi"}}, nil, &out); err != nil {
		return "", 0, translate(err, platform.KindInternal, "")
	}
	if out.Ticket == "" {
		return "", 0, fmt.Errorf("wechat %s: answer without ticket", api)
	}
	return out.Ticket, Lifetime(out.ExpiresIn), nil
}

// SignJSConfig signs pageURL (its fragment dropped, as WeChat does) for wx.config with a fresh nonce and the
// current time. The client must be the official account's, whose JS-SDK domains list the page's host.
func (c *Client) SignJSConfig(ctx context.Context, pageURL string) (JSConfig, error) {
	ticket, err := c.JSAPITicket(ctx)
	if err != nil {
		return JSConfig{}, err
	}
	nonce := rand.Text()[:16]
	ts := c.now().Unix()
	return JSConfig{AppID: c.appID, Timestamp: ts, NonceStr: nonce,
		Signature: JSSignature(ticket, nonce, ts, pageURL)}, nil
}

// JSSignature is the JS-SDK signature: the SHA-1 hex digest of
// "jsapi_ticket=…&noncestr=…&timestamp=…&url=…" (fields in that order, values raw), the url without its
// fragment.
func JSSignature(ticket, nonce string, timestamp int64, pageURL string) string {
	if i := strings.IndexByte(pageURL, '#'); i >= 0 {
		pageURL = pageURL[:i]
	}
	sum := sha1.Sum([]byte("jsapi_ticket=" + ticket + "&noncestr=" + nonce + "&timestamp=" +
		strconv.FormatInt(timestamp, 10) + "&url=" + pageURL))
	return hex.EncodeToString(sum[:])
}
