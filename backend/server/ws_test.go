package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/server/servertest"
)

type frame struct {
	Type  string `json:"type"`
	Epoch string `json:"epoch"`
	Seq   int64  `json:"seq"`
	Alert struct {
		Seq  json.RawMessage `json:"seq"`
		Kind string          `json:"kind"`
		Body string          `json:"body"`
	} `json:"alert"`
}

func dial(t *testing.T, e *servertest.Env, token string, epoch string, seq int64) *websocket.Conn {
	t.Helper()
	url := "ws" + strings.TrimPrefix(e.URL, "http") + "/ws"
	c, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Authorization": {"Bearer " + token}})
	require.NoError(t, err)
	resp.Body.Close()
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.WriteJSON(map[string]any{"type": "resume", "epoch": epoch, "seq": seq, "device_id": "phone-1", "foreground": true}))
	return c
}

func next(t *testing.T, c *websocket.Conn) frame {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(20*time.Second)))
	var f frame
	require.NoError(t, c.ReadJSON(&f))
	return f
}

func TestWebSocketResumesWithExactlyTheMissedAlertsThenStreamsAcrossNodes(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	// A second node on the same database: the app is connected there, the events arrive here.
	other := servertest.StartOn(t, e.DB, func(c *platform.Config) { c.TokenKeys = e.Config.TokenKeys })
	ctx := context.Background()
	_, sales, token, _ := sharedMaterial(t, e)

	// 50 alerts while the app is away (each a call tap by a different visitor).
	for i := range 50 {
		track(t, e, ev(salesappv1.EventKind_EVENT_KIND_CALL_CLICK, token, "visitor-ws"+strings.Repeat("0", 6)+string(rune('a'+i%26))+string(rune('a'+i/26))))
	}
	list, err := alertsOf(e, sales.Token).ListAlerts(ctx, connect.NewRequest(&salesappv1.ListAlertsRequest{PageSize: 1}))
	require.NoError(t, err)
	epoch := list.Msg.Epoch
	require.EqualValues(t, 50, list.Msg.Head)

	// The app last saw seq 0 of this epoch: it gets 1..50, in order, then live ones.
	c := dial(t, other, sales.Token, epoch, 0)
	for want := int64(1); want <= 50; want++ {
		f := next(t, c)
		require.Equal(t, "alert", f.Type)
		require.Equal(t, want, f.Seq)
		require.Equal(t, strconv.FormatInt(want, 10), string(f.Alert.Seq), "the alert and its envelope carry seq as the same JSON number")
		require.Equal(t, "ALERT_KIND_CALL_CLICK", f.Alert.Kind, "the enum's name, as ListAlerts and sync say it")
	}
	_, err = tracker(e).Track(ctx, connect.NewRequest(&salesappv1.TrackRequest{Events: []*salesappv1.TrackEvent{
		{EventId: uuid.NewString(), Kind: salesappv1.EventKind_EVENT_KIND_PHONE_LEFT, ShareToken: token, VisitorId: "visitor-live", Phone: "13800138000"}}}))
	require.NoError(t, err)
	f := next(t, c)
	require.Equal(t, int64(51), f.Seq, "no gap, no duplicate")
	require.Equal(t, "ALERT_KIND_PHONE_LEFT", f.Alert.Kind)

	// Resuming from the middle replays the rest only; a wrong epoch is told to reset.
	c2 := dial(t, e, sales.Token, epoch, 48)
	require.Equal(t, int64(49), next(t, c2).Seq)
	require.Equal(t, int64(50), next(t, c2).Seq)
	require.Equal(t, int64(51), next(t, c2).Seq)
	c3 := dial(t, e, sales.Token, uuid.NewString(), 10)
	reset := next(t, c3)
	require.Equal(t, "reset", reset.Type)
	require.Equal(t, epoch, reset.Epoch)
	require.EqualValues(t, 51, reset.Seq)

	// Without a token there is no socket.
	_, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.URL, "http")+"/ws", nil)
	require.Error(t, err)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}
