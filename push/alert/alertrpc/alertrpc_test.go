package alertrpc

import (
	"testing"

	"github.com/stretchr/testify/require"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/push/alert"
)

// Every kind of alert reaches the app as a value of AlertKind, and the enum has no value without a kind
// (a kind added on one side only would go out as UNSPECIFIED, or could never be muted).
func TestEveryAlertKindIsAValueOfTheEnumAndBack(t *testing.T) {
	seen := map[salesappv1.AlertKind]bool{}
	for _, k := range alert.Kinds {
		v := kindWords.Enum(string(k))
		require.NotEqual(t, salesappv1.AlertKind_ALERT_KIND_UNSPECIFIED, v, k)
		require.Equal(t, k, alert.Kind(kindWords.Word(v)))
		seen[v] = true
	}
	require.Len(t, seen, len(salesappv1.AlertKind_name)-1, "one kind for each value but UNSPECIFIED")
	require.Equal(t, salesappv1.AlertKind_ALERT_KIND_WECHAT_CLICK, ToProto(alert.Entry{Kind: alert.KindWeChatClick}).Kind)
	require.Equal(t, []alert.Kind{alert.KindLongRead, ""}, kinds([]salesappv1.AlertKind{salesappv1.AlertKind_ALERT_KIND_LONG_READ, 99}))
}
