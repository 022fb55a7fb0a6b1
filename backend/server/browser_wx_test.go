package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/wechat"
	"github.com/salesapp/scrm/backend/wechat/wechattest"
)

// wxStandIn stands for WeChat's JS-SDK in the page (it is defined before any page script runs, and the
// real SDK's URL is blocked): it records every call and is ready at once, as the SDK is once WeChat
// accepted the signature.
const wxStandIn = `window.__wx = [];
window.wx = {
  config: c => window.__wx.push(['config', c]),
  ready: f => setTimeout(f, 0),
  error: () => {},
  updateAppMessageShareData: o => window.__wx.push(['appMessage', o]),
  updateTimelineShareData: o => window.__wx.push(['timeline', o]),
};`

// publicHost is the share pages' public host in this test: Chromium reaches the server through it by
// using the server as its HTTP proxy, so the page's URL is the one the server signs for.
const publicHost = "share.example.com"

func TestBrowserWeChatForwardCarriesTheVisitorsChildLink(t *testing.T) {
	t.Parallel()
	wx := wechattest.New(t)
	w := newSharePageWorld(t, withWeChat(wx), func(c *platform.Config) { c.PublicBaseURL = "http://" + publicHost })
	ctx := chromium(t, chromedp.ProxyServer(w.e.URL))
	token := w.share(t, "article")

	run(t, ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: wxStandIn}); err != nil {
			return err
		}
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		// No network here: the real SDK fails at once, and the page must not wait for it.
		_, err := chromedp.Call(ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{
			URLPatterns: []*network.BlockPattern{{URLPattern: "*://res.wx.qq.com/*", Block: true}}})
		return err
	}))
	pageURL := "http://" + publicHost + "/s/" + token
	run(t, ctx, chromedp.Navigate(pageURL+"?from=singlemessage#top"), chromedp.WaitReady(chromedp.CSS("body")))

	type call struct {
		Name   string
		Config struct {
			AppID     string   `json:"appId"`
			Timestamp int64    `json:"timestamp"`
			NonceStr  string   `json:"nonceStr"`
			Signature string   `json:"signature"`
			JSAPIList []string `json:"jsApiList"`
		}
		Share struct{ Title, Desc, Link, ImgURL string }
	}
	var calls []call
	eventually(t, func() bool {
		raw := value(t, ctx, chromedp.Evaluate[string](`JSON.stringify(window.__wx.map(([name, arg]) => ({name, arg})))`))
		var recorded []struct {
			Name string          `json:"name"`
			Arg  json.RawMessage `json:"arg"`
		}
		require.NoError(t, json.Unmarshal([]byte(raw), &recorded))
		calls = calls[:0]
		for _, r := range recorded {
			c := call{Name: r.Name}
			switch r.Name {
			case "config":
				require.NoError(t, json.Unmarshal(r.Arg, &c.Config))
			default:
				require.NoError(t, json.Unmarshal(r.Arg, &c.Share))
			}
			calls = append(calls, c)
		}
		return len(recorded) == 3
	}, "wx.config, then both share data")

	// wx.config got the official account's app id and a signature of the page's URL without its hash.
	cfg := calls[0].Config
	require.Equal(t, wx.AppID, cfg.AppID)
	require.ElementsMatch(t, []string{"updateAppMessageShareData", "updateTimelineShareData"}, cfg.JSAPIList)
	href := value(t, ctx, chromedp.Evaluate[string](`location.href`))
	require.Equal(t, pageURL+"?from=singlemessage#top", href)
	require.Equal(t, wechat.JSSignature("fake-jsapi-ticket-1", cfg.NonceStr, cfg.Timestamp, pageURL+"?from=singlemessage"), cfg.Signature)
	require.Equal(t, 1, wx.Calls(wechattest.Ticket))

	// Each share data carries a child link of its own: a forward of the opened share by this page's
	// visitor, to a chat or to Moments.
	shared := map[string]call{}
	for _, c := range calls[1:] {
		shared[c.Name] = c
	}
	app, moments := shared["appMessage"].Share, shared["timeline"].Share
	require.Equal(t, "家庭保障指南", app.Title)
	require.Equal(t, "家庭保障指南", moments.Title)
	require.NotEqual(t, app.Link, moments.Link)
	vid := value(t, ctx, chromedp.Evaluate[string](`localStorage.getItem('sa_vid')`))
	require.NotEmpty(t, vid)
	for link, channel := range map[string]string{app.Link: "chat", moments.Link: "moments"} {
		child, ok := strings.CutPrefix(link, "http://"+publicHost+"/s/")
		require.True(t, ok, link)
		var parent, forwarder, got string
		require.NoError(t, w.e.DB.Super.QueryRow(context.Background(),
			"SELECT p.token, c.forwarder, c.channel FROM shares c JOIN shares p ON p.id = c.parent_id WHERE c.token = $1", child).
			Scan(&parent, &forwarder, &got))
		require.Equal(t, token, parent)
		require.Equal(t, vid, forwarder)
		require.Equal(t, channel, got)
	}
	screenshot(t, ctx, "wechat-forward")
}
