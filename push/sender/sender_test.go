package sender

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is a Sender that remembers which devices it was asked to send to.
type recorder struct {
	mu   sync.Mutex
	sent []Device
}

func (r *recorder) Send(_ context.Context, d Device, _ Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, d)
	return nil
}

func TestRouterPicksByPlatform(t *testing.T) {
	t.Parallel()
	ios, android := &recorder{}, &recorder{}
	r := NewRouter(ios, android)
	ctx := context.Background()
	require.NoError(t, r.Send(ctx, Device{Token: "i", Platform: IOS}, Alert{ID: "a"}))
	require.NoError(t, r.Send(ctx, Device{Token: "g", Platform: Android}, Alert{ID: "a"}))
	assert.Equal(t, []Device{{Token: "i", Platform: IOS}}, ios.sent)
	assert.Equal(t, []Device{{Token: "g", Platform: Android}}, android.sent)

	err := r.Send(ctx, Device{Token: "w", Platform: "windows"}, Alert{ID: "a"})
	assert.ErrorContains(t, err, "windows")
}

func TestRouterUnconfiguredPlatform(t *testing.T) {
	t.Parallel()
	r := NewRouter(nil, &recorder{})
	err := r.Send(context.Background(), Device{Token: "i", Platform: IOS}, Alert{ID: "a"})
	assert.ErrorContains(t, err, "ios push is not configured")
	assert.NotErrorIs(t, err, ErrDeadToken, "a missing sender must not disable the device")
	var re *RetryError
	assert.False(t, errors.As(err, &re))

	r = NewRouter(&recorder{}, nil)
	assert.ErrorContains(t, r.Send(context.Background(), Device{Token: "g", Platform: Android}, Alert{ID: "a"}), "android push is not configured")
}

func TestLogSenderLogsNoSecrets(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	s := NewLog(slog.New(slog.NewJSONHandler(&buf, nil)))
	err := s.Send(context.Background(),
		Device{Token: testIOSToken, Platform: IOS},
		Alert{ID: "alert-1", Title: "张三 is reading", Body: "secret body"})
	require.NoError(t, err)
	out := buf.String()
	assert.Contains(t, out, "would push")
	assert.Contains(t, out, "alert-1")
	assert.Contains(t, out, testIOSToken[len(testIOSToken)-6:])
	assert.NotContains(t, out, testIOSToken)
	assert.NotContains(t, out, "secret body")
	assert.NotContains(t, out, "张三")
}

func TestTokenSuffix(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "…"+testIOSToken[len(testIOSToken)-6:], tokenSuffix(testIOSToken))
	assert.Equal(t, "…", tokenSuffix("short"))
	assert.Equal(t, "…", tokenSuffix(""))
}

func TestCollapseID(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "abc", collapseID("abc"))
	exact := strings.Repeat("x", 64)
	assert.Equal(t, exact, collapseID(exact))
	long := strings.Repeat("x", 65)
	assert.LessOrEqual(t, len(collapseID(long)), 64)
	assert.Equal(t, collapseID(long), collapseID(long))
	assert.NotEqual(t, collapseID(long), collapseID(long+"y"))
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	assert.Equal(t, 7*time.Second, parseRetryAfter("7", now))
	assert.Zero(t, parseRetryAfter("", now))
	assert.Zero(t, parseRetryAfter("-3", now))
	assert.Zero(t, parseRetryAfter("soon", now))
	assert.Equal(t, 90*time.Second, parseRetryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now))
	assert.Zero(t, parseRetryAfter(now.Add(-time.Minute).Format(http.TimeFormat), now))
}

func TestRetryErrorUnwraps(t *testing.T) {
	t.Parallel()
	err := error(&RetryError{After: time.Second, Err: context.DeadlineExceeded})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "1s")
}
