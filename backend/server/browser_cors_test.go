package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"connectrpc.com/connect"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/server/servertest"
)

// h5Site serves an empty page: an H5 site of its own origin, whose script calls salesd across origins.
func h5Site(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>H5</title><body>H5 page</body>"))
	}))
	t.Cleanup(s.Close)
	return s.URL
}

// crossOriginCall is the script an H5 page runs: a Connect call with JSON (so the browser sends its
// preflight first), answering the card's name, or "refused: …" when the browser would not let the page
// have the answer.
const crossOriginCall = `fetch(%q, {method: 'POST', body: JSON.stringify({token: %q}),
	headers: {'Content-Type': 'application/json', 'Connect-Protocol-Version': '1'}})
  .then(r => r.json()).then(j => j.card.displayName)
  .catch(e => 'refused: ' + e.message)`

// The browser's own CORS check: a page on an allowed origin calls the public procedure and reads the
// answer; the same script on another origin is refused by the browser at the preflight.
func TestBrowserCallsFromAllowedOriginsOnly(t *testing.T) {
	t.Parallel()
	allowed, other := h5Site(t), h5Site(t)
	e := servertest.Start(t, func(c *platform.Config) { c.BeaconOrigins = []string{allowed} })
	_, _, token, _ := sharedMaterial(t, e)
	page, err := public(e).OpenShare(context.Background(), connect.NewRequest(&salesappv1.OpenShareRequest{Token: token}))
	require.NoError(t, err)
	name := page.Msg.GetCard().GetDisplayName()
	require.NotEmpty(t, name)
	ctx := chromium(t)
	call := fmt.Sprintf(crossOriginCall, e.URL+salesappv1connect.PublicServiceOpenShareProcedure, token)

	run(t, ctx, chromedp.Navigate(allowed), chromedp.WaitReady(chromedp.CSS("body")))
	require.Equal(t, name, value(t, ctx, chromedp.Evaluate[string](call, chromedp.EvalAwaitPromise)),
		"an allowed origin reads the answer")

	run(t, ctx, chromedp.Navigate(other), chromedp.WaitReady(chromedp.CSS("body")))
	require.Contains(t, value(t, ctx, chromedp.Evaluate[string](call, chromedp.EvalAwaitPromise)), "refused: ",
		"another origin is refused by the browser")
}
