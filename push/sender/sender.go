// Package sender delivers one alert to one device through Apple (APNs) or Google (FCM), and tells the
// caller what to do when that fails.
//
// A River job per (alert, device) calls Sender.Send. The error it gets back is one of three kinds, and the
// job acts on the kind, never on provider-specific details:
//
//   - errors.Is(err, ErrDeadToken): Apple or Google says the token will never work again. Disable the
//     device and do not retry.
//   - errors.As(err, **RetryError): a transient failure (rate limit, provider outage, network). Retry,
//     after RetryError.After when it is not zero, else on the job's own backoff.
//   - any other error: permanent for this message (payload too large, configuration, our own bug).
//     Record it and do not retry; the token is kept.
//
// When in doubt between "dead token" and "our bug" the senders answer "our bug": wrongly disabling a
// live token silences a salesperson's phone until the app registers again, while wrongly keeping a dead
// one costs one failed request per alert.
package sender

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Platform is the push service a device is reached through; the values are those stored in devices.platform.
type Platform string

// The platforms a device can register with.
const (
	IOS     Platform = "ios"
	Android Platform = "android"
)

// Device is one push target as registered by the app.
type Device struct {
	// Token is the APNs device token (hex) or the FCM registration token. Never log it in full.
	Token string
	// Platform picks the push service; Router sends by it.
	Platform Platform
	// BundleID is the iOS app's bundle id, used as the APNs topic.
	BundleID string
	// Sandbox says the iOS build talks to the APNs development environment (a debug or TestFlight-less build).
	Sandbox bool
	// Locale is the device's language; Title and Body arrive already rendered in it, so senders do not use it.
	Locale string
}

// Alert is what the salesperson sees.
type Alert struct {
	// ID is the alert's id, the same on every retry: it becomes the collapse key, so that a retry of a
	// push the device did receive replaces the notification instead of showing it twice.
	ID string
	// Title and Body are the visible text, already in the device's language. Never log them: they name customers.
	Title string
	Body  string
	// Badge is the app icon's badge count; nil leaves the badge as it is.
	Badge *int
	// Data is handed to the app with the notification (e.g. customer_id, the alert's seq).
	Data map[string]string
}

// Sender delivers one alert to one device. Errors are classified as the package comment describes.
type Sender interface {
	Send(ctx context.Context, d Device, a Alert) error
}

// ErrDeadToken says Apple or Google rejected the device token for good: the caller disables it and never
// sends to it again. Errors carrying it wrap it, so test with errors.Is.
var ErrDeadToken = errors.New("device token is dead")

// RetryError is a transient failure: the caller retries the send.
type RetryError struct {
	// After is how long the provider asked us to wait (Retry-After); zero means "use your own backoff".
	After time.Duration
	// Err is the underlying failure, kept for the log.
	Err error
}

// Error says the failure is transient and, when the provider said so, how long to wait.
func (e *RetryError) Error() string {
	if e.After > 0 {
		return fmt.Sprintf("transient push failure (retry after %s): %v", e.After, e.Err)
	}
	return fmt.Sprintf("transient push failure: %v", e.Err)
}

// Unwrap lets errors.Is see the cause, e.g. context.DeadlineExceeded.
func (e *RetryError) Unwrap() error { return e.Err }

// router sends through the sender of the device's platform.
type router struct {
	ios, android Sender
}

// NewRouter returns a Sender that picks ios or android by Device.Platform. Either may be nil (an untyped
// nil, not a nil *APNs) when that platform is not configured; sends to it then fail permanently.
func NewRouter(ios, android Sender) Sender { return &router{ios: ios, android: android} }

func (r *router) Send(ctx context.Context, d Device, a Alert) error {
	var s Sender
	switch d.Platform {
	case IOS:
		s = r.ios
	case Android:
		s = r.android
	default:
		return fmt.Errorf("push: unknown platform %q", d.Platform)
	}
	if s == nil {
		return fmt.Errorf("push: %s push is not configured", d.Platform)
	}
	return s.Send(ctx, d, a)
}

// Log is the development Sender: it logs what it would push and sends nothing. salesd uses it when no
// APNs or FCM credentials are configured, so that `make run` works on a fresh machine.
type Log struct {
	log *slog.Logger
}

var _ Sender = (*Log)(nil)

// NewLog returns a Sender that only logs.
func NewLog(log *slog.Logger) *Log { return &Log{log: orDiscard(log)} }

// Send implements Sender. It logs the alert id and the token's last characters, never the text: alert
// bodies name customers.
func (l *Log) Send(ctx context.Context, d Device, a Alert) error {
	l.log.InfoContext(ctx, "would push",
		slog.String("platform", string(d.Platform)),
		slog.String("alert_id", a.ID),
		slog.String("token_suffix", tokenSuffix(d.Token)))
	return nil
}

// tokenSuffix is the most of a device token we ever log: enough to match a report from a user, too
// little to push to them.
func tokenSuffix(token string) string {
	const n = 6
	if len(token) <= 2*n {
		// A token this short is bogus anyway; its last 6 characters would be most of it.
		return "…"
	}
	return "…" + token[len(token)-n:]
}

// collapseID turns an alert id into a collapse key. APNs caps apns-collapse-id at 64 bytes; a longer id
// is hashed, which keeps it stable across retries (the point of deriving it from the id).
func collapseID(alertID string) string {
	const maxLen = 64
	if len(alertID) <= maxLen {
		return alertID
	}
	sum := sha256.Sum256([]byte(alertID))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// pushTTL is how long Apple and Google keep trying to reach an offline device. An alert that a customer
// is reading the material now is worthless after a few minutes; the in-app alert list still has it.
const pushTTL = 10 * time.Minute

// parseRetryAfter reads a Retry-After header (delay-seconds or an HTTP date); zero when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// exchangeKey is the context key under which a Send leaves the exchange its HTTP round trip fills in.
type exchangeKey struct{}

// exchange is what the provider's HTTP response said that the SDKs do not hand back: apns2's Response
// has no headers (so no Retry-After), and loses the status code when a proxy answers with a non-JSON body.
type exchange struct {
	status     int
	retryAfter string
}

// withExchange returns a context whose HTTP round trips record into the returned exchange.
func withExchange(ctx context.Context) (context.Context, *exchange) {
	x := &exchange{}
	return context.WithValue(ctx, exchangeKey{}, x), x
}

// observingTransport records each response's status and Retry-After into the request's exchange.
type observingTransport struct {
	base http.RoundTripper
	// hideUnavailable makes a 503 look like a 500 to the client above, with the body (and so FCM's own
	// UNAVAILABLE status) untouched. The firebase SDK retries a 503 up to four times inside Send, sleeping
	// up to two minutes each time when Retry-After says so; that would hold a River worker for minutes
	// during an FCM outage, exactly when the queue grows. River owns retries: one layer, visible attempts.
	hideUnavailable bool
}

// RoundTrip implements http.RoundTripper.
func (t *observingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	// Written and later read by the goroutine that called http.Client.Do, so no lock is needed.
	if x, ok := req.Context().Value(exchangeKey{}).(*exchange); ok {
		x.status = resp.StatusCode
		x.retryAfter = resp.Header.Get("Retry-After")
	}
	if t.hideUnavailable && resp.StatusCode == http.StatusServiceUnavailable {
		resp.StatusCode = http.StatusInternalServerError
	}
	return resp, nil
}

// CloseIdleConnections passes through, so that apns2.Client.CloseIdleConnections keeps working.
func (t *observingTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// retryable reports whether an HTTP status means "try again later" at either provider.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// transient wraps err as a RetryError carrying the exchange's Retry-After, if any.
func transient(err error, x *exchange) *RetryError {
	return &RetryError{After: parseRetryAfter(x.retryAfter, time.Now()), Err: err}
}

// orDiscard lets callers (mostly tests) pass a nil logger.
func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
