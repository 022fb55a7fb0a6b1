package sender

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testProject      = "salesapp-test"
	testAndroidToken = "fGkq3Zr1TnS:APA91bH0xExampleRegistrationToken_0123456789abcdefghijklmnopqrstuvwxyz"
	fcmSendPath      = "/v1/projects/" + testProject + "/messages:send"
)

// fcmError is an FCM v1 error body: a google.rpc.Status with an FcmError detail.
func fcmError(code int, status, errorCode, message string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"code":    code,
		"message": message,
		"status":  status,
		"details": []any{map[string]any{
			"@type":     "type.googleapis.com/google.firebase.fcm.v1.FcmError",
			"errorCode": errorCode,
		}},
	}})
	return string(b)
}

// newFakeFCM starts a server playing the FCM v1 API and an FCM sender pointed at it.
func newFakeFCM(t *testing.T, h http.HandlerFunc) (*FCM, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s, err := NewFCM(context.Background(), FCMConfig{
		ProjectID:  testProject,
		Endpoint:   srv.URL + "/v1",
		HTTPClient: srv.Client(),
	}, nil)
	require.NoError(t, err)
	return s, srv
}

func TestFCMSendsAlert(t *testing.T) {
	t.Parallel()
	type request struct {
		method, path, auth string
		body               []byte
	}
	got := make(chan request, 1)
	s, _ := newFakeFCM(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- request{r.Method, r.URL.Path, r.Header.Get("Authorization"), b}
		_, _ = io.WriteString(w, `{"name":"projects/`+testProject+`/messages/0:1700000000000000%abc"}`)
	})

	badge := 5
	err := s.Send(context.Background(),
		Device{Token: testAndroidToken, Platform: Android, Locale: "zh-CN"},
		Alert{
			ID:    "0191f6f0-7c1a-7000-8000-000000000001",
			Title: "张三 is reading your brochure",
			Body:  "Product catalog 2025, page 3",
			Badge: &badge,
			Data:  map[string]string{"customer_id": "c-1", "seq": "42"},
		})
	require.NoError(t, err)

	r := <-got
	assert.Equal(t, http.MethodPost, r.method)
	assert.Equal(t, fcmSendPath, r.path)
	assert.Empty(t, r.auth, "tests run without credentials")
	assert.JSONEq(t, `{"message": {
		"token": "`+testAndroidToken+`",
		"notification": {"title": "张三 is reading your brochure", "body": "Product catalog 2025, page 3"},
		"data": {"customer_id": "c-1", "seq": "42"},
		"android": {
			"collapse_key": "0191f6f0-7c1a-7000-8000-000000000001",
			"ttl": "600s",
			"priority": "high",
			"notification": {"tag": "0191f6f0-7c1a-7000-8000-000000000001", "notification_count": 5}
		}
	}}`, string(r.body))
}

func TestFCMClassifiesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		body       string
		retryAfter string
		wantDead   bool
		wantRetry  bool
		wantAfter  time.Duration
	}{
		{
			name:     "unregistered",
			status:   404,
			body:     fcmError(404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found."),
			wantDead: true,
		},
		{
			name:     "sender id mismatch",
			status:   403,
			body:     fcmError(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", "SenderId mismatch"),
			wantDead: true,
		},
		{
			name:     "invalid registration token",
			status:   400,
			body:     fcmError(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token"),
			wantDead: true,
		},
		{
			name:   "token field violation",
			status: 400,
			body: `{"error":{"code":400,"message":"Invalid value at 'message.token'","status":"INVALID_ARGUMENT","details":[
				{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"message.token","description":"Invalid registration token"}]}]}}`,
			wantDead: true,
		},
		{
			// Our malformed message: the token must survive.
			name:   "bad data value",
			status: 400,
			body: `{"error":{"code":400,"message":"Invalid value at 'message.data[0].value' (TYPE_STRING), 12","status":"INVALID_ARGUMENT","details":[
				{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"message.data[0].value","description":"Invalid value at 'message.data[0].value' (TYPE_STRING), 12"}]}]}}`,
		},
		{
			name:   "message too big",
			status: 400,
			body:   fcmError(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Android message is too big"),
		},
		{
			name:   "invalid argument without body",
			status: 400,
			body:   `oops`,
		},
		{
			name:       "quota exceeded",
			status:     429,
			body:       fcmError(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "Quota exceeded for quota metric 'Send requests'"),
			retryAfter: "7",
			wantRetry:  true,
			wantAfter:  7 * time.Second,
		},
		{
			name:      "unavailable",
			status:    503,
			body:      fcmError(503, "UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable."),
			wantRetry: true,
		},
		{
			name:       "unavailable with retry-after",
			status:     503,
			body:       fcmError(503, "UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable."),
			retryAfter: "120",
			wantRetry:  true,
			wantAfter:  2 * time.Minute,
		},
		{
			name:      "internal",
			status:    500,
			body:      fcmError(500, "INTERNAL", "INTERNAL", "Internal error encountered."),
			wantRetry: true,
		},
		{
			name:      "gateway with html",
			status:    502,
			body:      `<html>bad gateway</html>`,
			wantRetry: true,
		},
		{
			name:   "unauthenticated",
			status: 401,
			body:   `{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}`,
		},
		{
			name:   "apns auth error",
			status: 401,
			body:   fcmError(401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR", "Auth error from APNS or Web Push Service"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var hits atomic.Int32
			s, _ := newFakeFCM(t, func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				w.Header().Set("Content-Type", "application/json")
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			err := s.Send(context.Background(), Device{Token: testAndroidToken, Platform: Android}, Alert{ID: "a1", Title: "t", Body: "b"})
			require.Error(t, err)
			assert.NotContains(t, err.Error(), testAndroidToken)
			var re *RetryError
			assert.Equal(t, tc.wantDead, errors.Is(err, ErrDeadToken), "dead token: %v", err)
			require.Equal(t, tc.wantRetry, errors.As(err, &re), "retry: %v", err)
			if re != nil {
				assert.Equal(t, tc.wantAfter, re.After)
			}
			// One request per Send: retries belong to the River job, not to the SDK's hidden loop.
			assert.Equal(t, int32(1), hits.Load())
		})
	}
}

func TestFCMNetworkErrorIsTransient(t *testing.T) {
	t.Parallel()
	s, srv := newFakeFCM(t, func(http.ResponseWriter, *http.Request) {})
	srv.Close()
	// The SDK retries connection failures itself with backoff; a deadline bounds that here.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := s.Send(ctx, Device{Token: testAndroidToken, Platform: Android}, Alert{ID: "a"})
	var re *RetryError
	require.ErrorAs(t, err, &re, "%v", err)
}

func TestFCMRefusesEmptyToken(t *testing.T) {
	t.Parallel()
	s, _ := newFakeFCM(t, func(http.ResponseWriter, *http.Request) { t.Error("no request expected") })
	err := s.Send(context.Background(), Device{Platform: Android}, Alert{ID: "a"})
	assert.Error(t, err)
	assert.NotErrorIs(t, err, ErrDeadToken)
}

// TestFCMAuthenticatesWithServiceAccount runs the production path: a service account key is exchanged at
// its token_uri for an access token, which the send then carries.
func TestFCMAuthenticatesWithServiceAccount(t *testing.T) {
	t.Parallel()
	var tokenRequests atomic.Int32
	gotAuth := make(chan string, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		tokenRequests.Add(1)
		assert.NoError(t, r.ParseForm()) // assert, not require: this runs on the server's goroutine
		assert.Equal(t, "urn:ietf:params:oauth:grant-type:jwt-bearer", r.PostForm.Get("grant_type"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"ya29.test-access-token","token_type":"Bearer","expires_in":3600}`)
	})
	mux.HandleFunc("POST "+fcmSendPath, func(w http.ResponseWriter, r *http.Request) {
		gotAuth <- r.Header.Get("Authorization")
		_, _ = io.WriteString(w, `{"name":"projects/`+testProject+`/messages/1"}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	creds, err := json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     testProject, // no ProjectID in the config: read from here
		"private_key_id": "k1",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   "push@" + testProject + ".iam.gserviceaccount.com",
		"client_id":      "1",
		"token_uri":      srv.URL + "/token",
	})
	require.NoError(t, err)

	s, err := NewFCM(context.Background(), FCMConfig{CredentialsJSON: creds, Endpoint: srv.URL + "/v1"}, nil)
	require.NoError(t, err)
	require.NoError(t, s.Send(context.Background(), Device{Token: testAndroidToken, Platform: Android}, Alert{ID: "a"}))
	assert.Equal(t, "Bearer ya29.test-access-token", <-gotAuth)
	assert.Equal(t, int32(1), tokenRequests.Load())
}

func TestNewFCMNeedsProject(t *testing.T) {
	t.Parallel()
	_, err := NewFCM(context.Background(), FCMConfig{}, nil)
	assert.Error(t, err)
	_, err = NewFCM(context.Background(), FCMConfig{CredentialsJSON: []byte("{")}, nil)
	assert.Error(t, err)
}
