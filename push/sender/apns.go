package sender

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sideshow/apns2"
	"github.com/sideshow/apns2/payload"
	"github.com/sideshow/apns2/token"
)

// APNsConfig configures the APNs sender. It authenticates with a provider token (.p8 key), which works for
// every app of the team and does not expire yearly like a certificate.
type APNsConfig struct {
	// KeyP8 is the content of the AuthKey_<KeyID>.p8 file (PKCS#8 PEM, ECDSA P-256). Never log it.
	KeyP8 []byte
	// KeyID is the key's 10-character id from the Apple developer account.
	KeyID string
	// TeamID is the Apple developer team id (the JWT issuer).
	TeamID string
	// Host, when set, replaces both Apple hosts (sandbox and production): for tests and for an egress proxy.
	Host string
	// HTTPClient, when set, replaces apns2's own HTTP/2 client: tests pass the fake server's client.
	// It must speak HTTP/2, as APNs does.
	HTTPClient *http.Client
	// RootCAs, when set (and HTTPClient is not), are the roots Host's certificate is checked against:
	// an egress proxy's CA, or a fake APNs run by salesbench.
	RootCAs *x509.CertPool
}

// APNs sends alerts to iOS devices through Apple's HTTP/2 provider API. It is safe for concurrent use,
// and meant to live as long as the process: APNs treats rapid reconnection as a denial-of-service attack.
type APNs struct {
	// Two clients because a development build's token is only valid in the sandbox environment and a
	// store build's only in production; Device.Sandbox says which the app is.
	sandbox    *apns2.Client
	production *apns2.Client
	log        *slog.Logger
}

var _ Sender = (*APNs)(nil)

// apnsMaxPayload is APNs' limit for an alert notification's JSON payload.
const apnsMaxPayload = 4096

// NewAPNs checks the key and builds the sandbox and production clients. It makes no network call: the
// first Send connects.
func NewAPNs(cfg APNsConfig, log *slog.Logger) (*APNs, error) {
	if cfg.KeyID == "" || cfg.TeamID == "" {
		return nil, errors.New("apns: key id and team id are required")
	}
	key, err := token.AuthKeyFromBytes(cfg.KeyP8)
	if err != nil {
		return nil, fmt.Errorf("apns: read the .p8 key: %w", err)
	}
	// One token for both clients: Apple refuses provider tokens refreshed more than once per 20 minutes
	// (TooManyProviderTokenUpdates), and apns2 refreshes a shared token once, under its own lock.
	tok := &token.Token{AuthKey: key, KeyID: cfg.KeyID, TeamID: cfg.TeamID}
	// Sign once now, so that a key that cannot sign fails at start rather than as an empty bearer later
	// (apns2's GenerateIfExpired drops the error).
	if _, err := tok.Generate(); err != nil {
		return nil, fmt.Errorf("apns: sign a provider token: %w", err)
	}
	host := strings.TrimRight(cfg.Host, "/")
	if host != "" {
		if u, err := url.Parse(host); err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("apns: host %q is not an absolute URL", cfg.Host)
		}
	}
	s := &APNs{
		sandbox:    apns2.NewTokenClient(tok).Development(),
		production: apns2.NewTokenClient(tok).Production(),
		log:        orDiscard(log),
	}
	httpClient := cfg.HTTPClient
	if httpClient == nil && cfg.RootCAs != nil {
		// net/http's HTTP/2 rather than apns2's own transport, whose TLS roots cannot be set without
		// reaching into golang.org/x/net/http2.
		httpClient = &http.Client{Timeout: apns2.HTTPClientTimeout, Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2: true,
		}}
	}
	for _, c := range []*apns2.Client{s.sandbox, s.production} {
		if host != "" {
			c.Host = host
		}
		if httpClient != nil {
			hc := *httpClient // a copy: the caller's client keeps its own transport
			c.HTTPClient = &hc
		}
		base := c.HTTPClient.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		c.HTTPClient.Transport = &observingTransport{base: base}
	}
	return s, nil
}

// Send implements Sender.
func (s *APNs) Send(ctx context.Context, d Device, a Alert) error {
	if d.Token == "" {
		return errors.New("apns: device has no token")
	}
	if !isHex(d.Token) {
		// Apple's tokens are hex; anything else could never be delivered (and must not reach the URL path).
		return fmt.Errorf("apns: token is not hex: %w", ErrDeadToken)
	}
	if d.BundleID == "" {
		return errors.New("apns: device has no bundle id to use as the APNs topic")
	}
	body, err := apnsPayload(a)
	if err != nil {
		return err
	}
	client, env := s.production, "production"
	if d.Sandbox {
		client, env = s.sandbox, "sandbox"
	}
	n := &apns2.Notification{
		DeviceToken: d.Token,
		Topic:       d.BundleID,
		CollapseID:  collapseID(a.ID),
		Expiration:  time.Now().Add(pushTTL),
		Priority:    apns2.PriorityHigh,
		PushType:    apns2.PushTypeAlert,
		Payload:     body,
	}
	ctx, x := withExchange(ctx)
	res, err := client.PushWithContext(ctx, n)
	if err != nil {
		err = redactURL(err, d.Token)
		if x.status != 0 && !retryable(x.status) {
			// Apple always answers in JSON; a status with an unreadable body came from something in between.
			return fmt.Errorf("apns %s: HTTP %d with an unreadable body: %w", env, x.status, err)
		}
		// No answer (network, timeout, cancelled) or a 429/5xx whose body was not APNs JSON (a proxy).
		return transient(fmt.Errorf("apns %s: %w", env, err), x)
	}
	switch {
	case res.StatusCode == http.StatusOK:
		s.log.DebugContext(ctx, "push sent",
			slog.String("platform", string(IOS)),
			slog.String("apns_env", env),
			slog.String("alert_id", a.ID),
			slog.String("apns_id", res.ApnsID),
			slog.String("token_suffix", tokenSuffix(d.Token)))
		return nil
	case res.StatusCode == http.StatusGone, // Unregistered, ExpiredToken: the app was removed or the token rotated
		res.Reason == apns2.ReasonBadDeviceToken,         // malformed, or a sandbox token sent to production (or the reverse)
		res.Reason == apns2.ReasonDeviceTokenNotForTopic: // the token belongs to another app
		return fmt.Errorf("apns %s: %d %s: %w", env, res.StatusCode, res.Reason, ErrDeadToken)
	case retryable(res.StatusCode), // 429 TooManyRequests / TooManyProviderTokenUpdates, 500, 503 ServiceUnavailable / Shutdown
		res.Reason == apns2.ReasonIdleTimeout: // the connection idled out under us; a new one will do
		return transient(fmt.Errorf("apns %s: %d %s", env, res.StatusCode, res.Reason), x)
	default:
		// PayloadTooLarge, BadTopic, TopicDisallowed, InvalidProviderToken, ExpiredProviderToken (our clock or
		// key): permanent for this message, and the token is not to blame.
		return fmt.Errorf("apns %s: %d %s", env, res.StatusCode, res.Reason)
	}
}

// apnsPayload builds the notification JSON: a visible alert with the default sound, and the alert's data
// as top-level custom keys for the app to read when the user taps it.
func apnsPayload(a Alert) ([]byte, error) {
	p := payload.NewPayload().
		AlertTitle(a.Title).
		AlertBody(a.Body).
		Sound("default").
		// Lets the app's notification service extension, if it has one, prefetch the customer's timeline and
		// record the delivery before the alert shows; without an extension iOS ignores the flag.
		MutableContent()
	if a.Badge != nil {
		p.Badge(*a.Badge)
	}
	for k, v := range a.Data {
		if k == "aps" {
			return nil, errors.New(`apns: alert data may not use the key "aps"`)
		}
		p.Custom(k, v)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("apns: encode payload: %w", err)
	}
	// Checked here so that the error says so plainly instead of APNs' 413 after a round trip.
	if len(b) > apnsMaxPayload {
		return nil, fmt.Errorf("apns: payload is %d bytes, over APNs' %d", len(b), apnsMaxPayload)
	}
	return b, nil
}

// redactURL takes the device token out of a *url.Error's URL (".../3/device/<token>"), since the caller
// logs or stores the error and tokens are never logged in full.
func redactURL(err error, tok string) error {
	var ue *url.Error
	if !errors.As(err, &ue) || !strings.Contains(ue.URL, tok) {
		return err
	}
	return &url.Error{Op: ue.Op, URL: strings.ReplaceAll(ue.URL, tok, tokenSuffix(tok)), Err: ue.Err}
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
