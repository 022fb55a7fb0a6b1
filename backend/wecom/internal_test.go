package wecom

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseFlatRefusesDirectives(t *testing.T) {
	t.Parallel()
	f, err := parseFlat([]byte(`<?xml version="1.0"?><xml><MsgType><![CDATA[text]]></MsgType><MsgId>42</MsgId><Nested><A>1</A></Nested></xml>`))
	require.NoError(t, err)
	require.Equal(t, "text", f["MsgType"])
	require.Equal(t, "42", f["MsgId"])
	require.Equal(t, "1", f["A"])

	for name, doc := range map[string]string{
		"doctype":          `<!DOCTYPE xml><xml><MsgId>1</MsgId></xml>`,
		"entity":           `<!DOCTYPE xml [<!ENTITY x "boom">]><xml><MsgId>&x;</MsgId></xml>`,
		"external entity":  `<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><MsgId>&x;</MsgId></xml>`,
		"inner directive":  `<xml><!DOCTYPE y><MsgId>1</MsgId></xml>`,
		"two roots":        `<xml></xml><xml></xml>`,
		"not xml":          `hello`,
		"empty":            ``,
		"unclosed":         `<xml><MsgId>1</MsgId>`,
		"undefined entity": `<xml><MsgId>&nope;</MsgId></xml>`,
		"late procinst":    `<xml><?php x ?></xml>`,
		"too deep":         `<xml>` + strings.Repeat("<a>", 10) + strings.Repeat("</a>", 10) + `</xml>`,
	} {
		_, err := parseFlat([]byte(doc))
		require.ErrorIs(t, err, errXML, name)
	}
}

func TestDedupKey(t *testing.T) {
	t.Parallel()
	add := map[string]string{"MsgType": "event", "Event": "change_external_contact", "ChangeType": "add_external_contact",
		"FromUserName": "sys", "UserID": "zhangsan", "ExternalUserID": "wmABC", "CreateTime": "1700000000", "WelcomeCode": "w1"}
	k := dedupKey(add, []byte("a"))
	require.Equal(t, "ev|change_external_contact|add_external_contact|zhangsan|wmABC|1700000000", k)
	// The same change with another welcome code or body is the same event.
	add2 := map[string]string{}
	for n, v := range add {
		add2[n] = v
	}
	add2["WelcomeCode"] = "w2"
	require.Equal(t, k, dedupKey(add2, []byte("b")))
	add2["CreateTime"] = "1700000001"
	require.NotEqual(t, k, dedupKey(add2, []byte("b")))

	chat := map[string]string{"Event": "change_external_chat", "ChangeType": "update", "ChatId": "wrOgQhDgAA", "CreateTime": "1"}
	require.Equal(t, "ev|change_external_chat|update||wrOgQhDgAA|1", dedupKey(chat, nil))

	require.Equal(t, "msg|4561255354251345929", dedupKey(map[string]string{"MsgType": "text", "MsgId": "4561255354251345929"}, nil))
	h1 := dedupKey(map[string]string{"MsgType": "event", "Event": "change_contact"}, []byte("x"))
	require.True(t, strings.HasPrefix(h1, "sha256|"))
	require.NotEqual(t, h1, dedupKey(map[string]string{"MsgType": "event", "Event": "change_contact"}, []byte("y")))
}
