package wecomtest_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/wecom/wecomcrypt"
	"github.com/salesapp/scrm/backend/wecom/wecomtest"
)

const (
	corpID  = "wx5823bf96d3bd56c7"
	cbToken = "QDG6eK"
	aesKey  = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
)

// receiver decrypts what it gets, as the server would, and answers "success" from the try numbered
// okFrom on (0: never); earlier tries hang past the sender's timeout or fail.
func receiver(t *testing.T, okFrom int32, hang bool) (*httptest.Server, *atomic.Int32, chan []byte) {
	t.Helper()
	c, err := wecomcrypt.New(cbToken, aesKey)
	require.NoError(t, err)
	var tries atomic.Int32
	got := make(chan []byte, 10)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := tries.Add(1)
		body, _ := io.ReadAll(r.Body)
		q := r.URL.Query()
		enc := between(string(body), "<Encrypt><![CDATA[", "]]></Encrypt>")
		msg, err := c.Decrypt(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), enc, corpID)
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		got <- msg
		if okFrom == 0 || n < okFrom {
			if hang {
				select {
				case <-release:
				case <-r.Context().Done():
				}
				return
			}
			http.Error(w, "busy", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("success"))
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv, &tries, got
}

func between(s, a, b string) string {
	_, rest, _ := strings.Cut(s, a)
	v, _, _ := strings.Cut(rest, b)
	return v
}

func TestSendRetriesUntilSuccess(t *testing.T) {
	t.Parallel()
	srv, tries, got := receiver(t, 3, false)
	s := &wecomtest.CallbackSender{URL: srv.URL, CorpID: corpID, Token: cbToken, EncodingAESKey: aesKey, RetryInterval: time.Millisecond}
	msg := wecomtest.ExternalContactEvent(corpID, "add_external_contact", "u", "wm", 1, "", "")
	res, err := s.Send(context.Background(), msg)
	require.NoError(t, err)
	require.Equal(t, 3, res.Tries)
	require.Equal(t, int32(3), tries.Load())
	for range 3 {
		require.Equal(t, msg, <-got, "each try carries the same message, encrypted anew")
	}
}

func TestSendGivesUpAfterThreeRetries(t *testing.T) {
	t.Parallel()
	srv, _, _ := receiver(t, 0, true)
	s := &wecomtest.CallbackSender{URL: srv.URL, CorpID: corpID, Token: cbToken, EncodingAESKey: aesKey,
		Timeout: 50 * time.Millisecond, RetryInterval: time.Millisecond}
	res, err := s.Send(context.Background(), []byte("<xml><MsgId>1</MsgId></xml>"))
	require.ErrorIs(t, err, wecomtest.ErrNoSuccess)
	require.Equal(t, 4, res.Tries, "the first try and three retries")
}
