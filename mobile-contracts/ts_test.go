package contracts

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server/servertest"
)

// sdkDir is the TypeScript SDK; `npm ci` there (make test does it) installs esbuild and the packages.
const sdkDir = "ts"

// bundle builds a test script of the SDK into a Node program, failing the test when the SDK's
// packages are not installed.
func bundle(t *testing.T, script string) string {
	t.Helper()
	dir, err := filepath.Abs(sdkDir)
	require.NoError(t, err)
	esbuild := filepath.Join(dir, "node_modules", ".bin", "esbuild")
	if _, err := os.Stat(esbuild); err != nil {
		t.Fatalf("the TypeScript SDK's packages are not installed (run `npm ci` in mobile-contracts/ts, as make test does): %v", err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is needed to test the TypeScript SDK: %v", err)
	}
	out := filepath.Join(t.TempDir(), "test.mjs")
	cmd := exec.Command(esbuild, script, "--bundle", "--platform=node", "--format=esm", "--log-level=warning", "--outfile="+out)
	cmd.Dir = dir
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "esbuild: %s", b)
	return out
}

// TestTypeScriptSDKCallsSalesd runs the SDK's test script in Node against a live server: the wx.request
// transport (through a stand-in wx object) and connect-web both reach real RPCs, errors arrive as the
// right Connect codes, and a tracked event is stored once.
func TestTypeScriptSDKCallsSalesd(t *testing.T) {
	t.Parallel()
	prog := bundle(t, "test/sdk.test.ts")
	e := servertest.Start(t)
	ctx := context.Background()
	a := e.NewTenant(t, "SDK Co", 0)
	seller := e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil)

	opt := servertest.As(seller.Token)
	cards := salesappv1connect.NewCardServiceClient(e.HTTP, e.URL, opt)
	name := "王小明"
	_, err := cards.UpdateMyCard(ctx, connect.NewRequest(&salesappv1.UpdateMyCardRequest{DisplayName: &name}))
	require.NoError(t, err)
	shared, err := salesappv1connect.NewShareServiceClient(e.HTTP, e.URL, opt).ShareCard(ctx,
		connect.NewRequest(&salesappv1.ShareCardRequest{Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT}))
	require.NoError(t, err)

	visitor := "sdk-visitor-" + uuid.NewString()[:8]
	cmd := exec.Command("node", prog)
	cmd.Env = append(os.Environ(), "SALESD_URL="+e.URL, "SHARE_TOKEN="+shared.Msg.Share.Token,
		"STAFF_TOKEN="+seller.Token, "VISITOR_ID="+visitor)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	require.NoError(t, err, "node: %s", stderr.String())

	var res struct {
		CardName, OpenedJSON, EventID      string
		NotFound, Invalid, Unauthenticated string
		MyCardName, WebCardName            string
		WxCalls, WxRPCs                    int
		WxContentTypes                     []string
		TrackerEventID, ForwardURL         string
		TrackerAccepted, Refused           bool
	}
	found := false
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "RESULT "); ok {
			require.NoError(t, json.Unmarshal([]byte(rest), &res))
			found = true
		}
	}
	require.True(t, found, "no RESULT line in %q", stdout)

	require.Equal(t, name, res.CardName)
	require.Equal(t, name, res.MyCardName)
	require.Equal(t, name, res.WebCardName)
	require.Contains(t, res.OpenedJSON, `"displayName":"王小明"`)
	require.Equal(t, "NotFound", res.NotFound)
	require.Equal(t, "InvalidArgument", res.Invalid)
	require.Equal(t, "Unauthenticated", res.Unauthenticated)
	require.Equal(t, 7, res.WxCalls, "every wx-transport call went through wx.request")
	require.Equal(t, res.WxRPCs, res.WxCalls, "one wx.request per RPC made on a wx transport, none for connect-web")
	require.Equal(t, []string{"application/json"}, res.WxContentTypes)

	var n int
	require.NoError(t, e.DB.Super.QueryRow(ctx, "SELECT count(*) FROM events WHERE id = $1", res.EventID).Scan(&n))
	require.Equal(t, 1, n, "the event sent twice is stored once")

	// The tracking client the share pages are built on.
	require.True(t, res.TrackerAccepted)
	require.False(t, res.Refused, "a refused post answers false")
	require.Eventually(t, func() bool {
		var kind string
		err := e.DB.Super.QueryRow(ctx, "SELECT kind FROM events WHERE id = $1", res.TrackerEventID).Scan(&kind)
		return err == nil && kind == "card_view"
	}, 10*time.Second, 20*time.Millisecond, "the tracker's event is stored as a card view")
	require.Contains(t, res.ForwardURL, "/s/", "the visitor's child link")
}
