package wecom

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/wecom/internal/wecomdb"
	"github.com/salesapp/scrm/backend/wecom/wecomcrypt"
)

// CallbackPattern is the route WeCom calls (GET to verify the URL, POST with events).
const CallbackPattern = "/wecom/{tenant}/callback"

// refusal is a callback answered with a 4xx: nothing is stored.
type refusal struct {
	code int
	msg  string
}

func (r *refusal) Error() string { return r.msg }

func refuse(code int, msg string) error { return &refusal{code: code, msg: msg} }

// Callback serves CallbackPattern.
func (s *Service) Callback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenantID, err := uuid.Parse(r.PathValue("tenant"))
		if err != nil || tenantID == uuid.Nil || s.sealer == nil {
			http.NotFound(w, r)
			return
		}
		if !s.limiter.Allow(tenantID.String()) {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "too many callbacks", http.StatusTooManyRequests)
			return
		}
		var body []byte
		switch r.Method {
		case http.MethodGet:
			body, err = s.verifyURL(r.Context(), tenantID, r)
		case http.MethodPost:
			body, err = s.receive(r.Context(), tenantID, w, r)
		default:
			w.Header().Set("Allow", "GET, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		var ref *refusal
		switch {
		case errors.As(err, &ref):
			s.log.InfoContext(r.Context(), "wecom callback refused", "tenant_id", tenantID, "status", ref.code, "reason", ref.msg)
			http.Error(w, ref.msg, ref.code)
		case err != nil:
			s.log.ErrorContext(r.Context(), "wecom callback", "tenant_id", tenantID, "error", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
		default:
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write(body)
		}
	})
}

// crypterTx loads the tenant's callback keys.
func (s *Service) crypterTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID) (*wecomcrypt.Crypter, string, error) {
	sec, err := s.secretsTx(ctx, wecomdb.New(tx), tenantID, false)
	if errors.Is(err, errNotConfigured) {
		return nil, "", refuse(http.StatusNotFound, "WeCom is not configured for this tenant")
	}
	if err != nil {
		return nil, "", err
	}
	if sec.CallbackToken == "" || sec.EncodingAESKey == "" {
		return nil, "", refuse(http.StatusNotFound, "the callback token and EncodingAESKey are not set")
	}
	c, err := wecomcrypt.New(sec.CallbackToken, sec.EncodingAESKey)
	if err != nil {
		return nil, "", err
	}
	return c, sec.CorpID, nil
}

func cryptRefusal(err error) error {
	switch {
	case errors.Is(err, wecomcrypt.ErrSignature):
		return refuse(http.StatusForbidden, "msg_signature does not match")
	case errors.Is(err, wecomcrypt.ErrReceiveID):
		return refuse(http.StatusForbidden, "the message is not for this corp")
	case errors.Is(err, wecomcrypt.ErrDecrypt):
		return refuse(http.StatusBadRequest, "the message does not decrypt")
	}
	return err
}

// verifyURL answers WeCom's URL check: the decrypted echostr.
func (s *Service) verifyURL(ctx context.Context, tenantID uuid.UUID, r *http.Request) ([]byte, error) {
	q := r.URL.Query()
	var out []byte
	err := s.db.InTenantSnapshot(ctx, tenantID, func(tx pgx.Tx) error {
		c, corpID, err := s.crypterTx(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		out, err = c.Decrypt(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), q.Get("echostr"), corpID)
		return cryptRefusal(err)
	})
	return out, err
}

// receive checks and decrypts one event and stores it with its job (in a group commit, store.go).
func (s *Service) receive(ctx context.Context, tenantID uuid.UUID, w http.ResponseWriter, r *http.Request) ([]byte, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, refuse(http.StatusRequestEntityTooLarge, "the body is too large")
	}
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "the body could not be read")
	}
	outer, err := parseFlat(raw)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "the body is not WeCom's XML")
	}
	encrypted := outer["Encrypt"]
	if encrypted == "" {
		return nil, refuse(http.StatusBadRequest, "the body has no Encrypt")
	}
	q := r.URL.Query()
	plain, err := s.decrypt(ctx, tenantID, q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), encrypted)
	if err != nil {
		return nil, err
	}
	fields, err := parseFlat(plain)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "the message is not WeCom's XML")
	}
	if _, err := s.store.Do(ctx, event{tenantID: tenantID, dedupKey: dedupKey(fields, plain), kind: kindOf(fields), xml: string(plain)}); err != nil {
		return nil, err
	}
	return []byte("success"), nil
}

// kindOf reads the message's kind; Event and ChangeType only for events.
func kindOf(f map[string]string) Kind {
	k := Kind{MsgType: f["MsgType"]}
	if k.MsgType == "event" {
		k.Event, k.ChangeType = f["Event"], f["ChangeType"]
	}
	return k
}

// enqueueTx queues the processing of a tenant's stored events, dispatchMax per job.
func (s *Service) enqueueTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, ids []uuid.UUID) error {
	var in []river.InsertManyParams
	for part := range slices.Chunk(ids, dispatchMax) {
		in = append(in, river.InsertManyParams{Args: DispatchArgs{TenantID: tenantID, EventIDs: part},
			InsertOpts: &river.InsertOpts{Queue: jobs.QueueWeCom, MaxAttempts: s.opts.MaxAttempts}})
	}
	return s.jobs.InsertManyTx(ctx, tx, in)
}
