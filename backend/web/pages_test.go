package web_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/card"
	"github.com/salesapp/scrm/backend/web"
)

func TestNumbersLeftOnThePageAreChecked(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"13800138000": "13800138000", "138 0013 8000": "13800138000", "+86 138-0013-8000": "13800138000",
		"008613800138000": "13800138000", "１３８００１３８０００": "13800138000", "+44 20 7946 0958": "+442079460958",
	} {
		got, ok := web.NormalizePhone(raw)
		require.True(t, ok, raw)
		require.Equal(t, want, got, raw)
	}
	for _, bad := range []string{"", "12345", "23800138000", "1380013800", "138001380001", "abc", "+0123456789",
		"+1234567890123456", "138<script>", "+86"} {
		_, ok := web.NormalizePhone(bad)
		require.False(t, ok, bad)
	}
}

func TestTheVCardEscapesAndFolds(t *testing.T) {
	t.Parallel()
	c := card.View{DisplayName: "王芳", Title: "顾问; 理财, 保险", Phone: "138 0013 8000", WeChatID: "wf_88",
		Email: "wf@example.com", Company: card.Company{Name: strings.Repeat("星河保险", 10), Address: "上海\n浦东"}}
	v := web.VCard(c, "https://share.example.com/s/abc")
	require.True(t, strings.HasPrefix(v, "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:王芳\r\n"), v)
	require.Contains(t, v, "\r\nTITLE:顾问\\; 理财\\, 保险\r\n")
	require.Contains(t, v, "\r\nTEL;TYPE=CELL,VOICE:13800138000\r\n")
	require.Contains(t, v, "\r\nADR;TYPE=WORK:;;上海\\n浦东;;;;\r\n")
	require.Contains(t, v, "\r\nNOTE:微信号：wf_88\r\n")
	for _, line := range strings.Split(strings.TrimSuffix(v, "\r\n"), "\r\n") {
		require.LessOrEqual(t, len(line), 75, "folded at 75 octets: %q", line)
		require.True(t, strings.ToValidUTF8(line, "?") == line, "never inside a character: %q", line)
	}
	unfolded := strings.ReplaceAll(v, "\r\n ", "")
	require.Contains(t, unfolded, "\r\nORG:"+strings.Repeat("星河保险", 10)+"\r\n")
	// A card without a phone has no TEL line.
	require.NotContains(t, web.VCard(card.View{DisplayName: "x"}, ""), "TEL")
}
