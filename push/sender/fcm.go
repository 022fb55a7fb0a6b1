package sender

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
	"google.golang.org/api/option"
	htransport "google.golang.org/api/transport/http"
)

// FCMConfig configures the FCM sender (HTTP v1 API).
type FCMConfig struct {
	// ProjectID is the Firebase project; when empty it is read from CredentialsJSON.
	ProjectID string
	// CredentialsJSON is a service account key file's content. Empty sends unauthenticated requests, which
	// only a fake FCM accepts: for tests. Never log it.
	CredentialsJSON []byte
	// Endpoint replaces "https://fcm.googleapis.com/v1" (for tests): the request goes to
	// <Endpoint>/projects/<project>/messages:send.
	Endpoint string
	// HTTPClient, when set, supplies the transport and timeout; tests pass the fake server's client.
	HTTPClient *http.Client
}

// FCM sends alerts to Android devices through Firebase Cloud Messaging. It is safe for concurrent use.
type FCM struct {
	client *messaging.Client
	log    *slog.Logger
}

var _ Sender = (*FCM)(nil)

// fcmScope is the OAuth scope for sending; narrower than the cloud-platform scope the SDK asks for by default.
const fcmScope = "https://www.googleapis.com/auth/firebase.messaging"

// NewFCM builds the FCM client. With credentials it parses the key now; the first Send fetches an access token.
func NewFCM(ctx context.Context, cfg FCMConfig, log *slog.Logger) (*FCM, error) {
	project := cfg.ProjectID
	if project == "" && len(cfg.CredentialsJSON) > 0 {
		var sa struct {
			ProjectID string `json:"project_id"`
		}
		if err := json.Unmarshal(cfg.CredentialsJSON, &sa); err != nil {
			return nil, fmt.Errorf("fcm: credentials are not JSON: %w", err)
		}
		project = sa.ProjectID
	}
	if project == "" {
		return nil, errors.New("fcm: project id is required")
	}

	hc := &http.Client{}
	if cfg.HTTPClient != nil {
		*hc = *cfg.HTTPClient // a copy: the caller's client keeps its own transport
	}
	var base http.RoundTripper = http.DefaultTransport
	if hc.Transport != nil {
		base = hc.Transport
	}
	// The observer sits under the auth layer, so it sees FCM's real responses.
	var rt http.RoundTripper = &observingTransport{base: base, hideUnavailable: true}
	opts := []option.ClientOption{}
	if len(cfg.CredentialsJSON) > 0 {
		// Auth is layered on our transport here, rather than by firebase.NewApp, because an explicit
		// HTTP client (needed for the observer) makes the SDK skip authentication altogether.
		authed, err := htransport.NewTransport(ctx, rt,
			option.WithAuthCredentialsJSON(option.ServiceAccount, cfg.CredentialsJSON),
			option.WithScopes(fcmScope))
		if err != nil {
			return nil, fmt.Errorf("fcm: load credentials: %w", err)
		}
		rt = authed
	} else {
		opts = append(opts, option.WithoutAuthentication())
	}
	hc.Transport = rt
	opts = append(opts, option.WithHTTPClient(hc))
	if cfg.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(strings.TrimRight(cfg.Endpoint, "/")))
	}
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: project}, opts...)
	if err != nil {
		return nil, fmt.Errorf("fcm: %w", err)
	}
	client, err := app.Messaging(ctx)
	if err != nil {
		return nil, fmt.Errorf("fcm: %w", err)
	}
	return &FCM{client: client, log: orDiscard(log)}, nil
}

// Send implements Sender.
func (s *FCM) Send(ctx context.Context, d Device, a Alert) error {
	if d.Token == "" {
		return errors.New("fcm: device has no token")
	}
	ttl := pushTTL
	key := collapseID(a.ID)
	msg := &messaging.Message{
		Token:        d.Token,
		Notification: &messaging.Notification{Title: a.Title, Body: a.Body},
		Data:         a.Data,
		Android: &messaging.AndroidConfig{
			// Collapses a retry with a first attempt FCM still holds for an offline device.
			CollapseKey: key,
			TTL:         &ttl,
			// "high" wakes a dozing device at once; FCM may demote it if the app often shows nothing.
			Priority: "high",
			Notification: &messaging.AndroidNotification{
				// The same key as a tag replaces a notification already shown when a retry is delivered too
				// (collapse_key alone only merges messages still queued at FCM).
				Tag:               key,
				NotificationCount: a.Badge,
			},
		},
	}
	ctx, x := withExchange(ctx)
	name, err := s.client.Send(ctx, msg)
	if err == nil {
		s.log.DebugContext(ctx, "push sent",
			slog.String("platform", string(Android)),
			slog.String("alert_id", a.ID),
			slog.String("fcm_message", name),
			slog.String("token_suffix", tokenSuffix(d.Token)))
		return nil
	}
	return classifyFCM(err, x)
}

// classifyFCM sorts a firebase error into dead token, retry, or permanent.
func classifyFCM(err error, x *exchange) error {
	switch {
	case messaging.IsUnregistered(err):
		// 404 UNREGISTERED: the app was uninstalled or the token expired or rotated.
		return fmt.Errorf("fcm: unregistered: %w: %w", err, ErrDeadToken)
	case messaging.IsSenderIDMismatch(err):
		// 403 SENDER_ID_MISMATCH: the token was issued for another Firebase project, so this project can
		// never reach it. Caution: a deployment with the wrong project's credentials gets this for every
		// token; the caller should stop disabling when most sends in a row come back dead.
		return fmt.Errorf("fcm: sender id mismatch: %w: %w", err, ErrDeadToken)
	case errorutils.IsInvalidArgument(err):
		if tokenAtFault(errorutils.HTTPResponse(err)) {
			return fmt.Errorf("fcm: invalid registration token: %w: %w", err, ErrDeadToken)
		}
		// A malformed message (bad data key, too big, bad TTL) is our bug, not the device's: keep the token.
		return fmt.Errorf("fcm: invalid message: %w", err)
	case messaging.IsQuotaExceeded(err), messaging.IsUnavailable(err), messaging.IsInternal(err),
		errorutils.IsResourceExhausted(err), errorutils.IsUnavailable(err), errorutils.IsInternal(err),
		errorutils.IsDeadlineExceeded(err), retryable(x.status):
		return transient(fmt.Errorf("fcm: %w", err), x)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The SDK returns the bare context error when cancelled while waiting to retry a network error.
		return transient(fmt.Errorf("fcm: %w", err), x)
	case errorutils.IsUnknown(err) && errorutils.HTTPResponse(err) == nil:
		// A transport failure the SDK could not name (connection reset, TLS): no answer, so try again.
		return transient(fmt.Errorf("fcm: %w", err), x)
	default:
		// PERMISSION_DENIED, UNAUTHENTICATED, THIRD_PARTY_AUTH_ERROR (our configuration), or a message the
		// SDK refused before sending.
		return fmt.Errorf("fcm: %w", err)
	}
}

// tokenAtFault tells "the registration token is invalid" from "the message is malformed": FCM answers both
// with 400 INVALID_ARGUMENT. Per FCM's error-code docs, a bad request field comes with a
// google.rpc.BadRequest detail whose fieldViolations name the field, while a bad token comes with only an
// FcmError detail and the message "The registration token is not a valid FCM registration token". So: a
// field violation decides (message.token is the token's fault, anything else ours); without one, the
// message must speak of the registration token. Anything else, including a body we cannot read, counts as
// our fault, so that a reworded message costs failed sends rather than silenced phones.
func tokenAtFault(resp *http.Response) bool {
	if resp == nil || resp.Body == nil {
		return false
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return false
	}
	var body struct {
		Error struct {
			Message string `json:"message"`
			Details []struct {
				Type            string `json:"@type"`
				FieldViolations []struct {
					Field string `json:"field"`
				} `json:"fieldViolations"`
			} `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &body) != nil {
		return false
	}
	violations := 0
	for _, d := range body.Error.Details {
		for _, v := range d.FieldViolations {
			violations++
			if v.Field == "message.token" {
				return true
			}
		}
	}
	if violations > 0 {
		return false
	}
	return strings.Contains(strings.ToLower(body.Error.Message), "registration token")
}
