// Package apnstest is a fake APNs for tests and salesbench: a TLS HTTP/2 server (as Apple's is) that
// accepts every notification and records what a device would receive. It can also hold requests
// unanswered, so that a test can stop or kill a sender while pushes are in flight.
//
// A notification counts as delivered when the fake answers it 200, as with Apple: a request whose
// connection dies before the answer is not recorded (whether Apple would have delivered it is unknowable
// to the sender, which is why pushes carry a collapse id).
package apnstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Delivery is one notification the fake accepted.
type Delivery struct {
	// Token is the device token from the request path.
	Token string
	// CollapseID is the apns-collapse-id header: a device shows one notification per collapse id.
	CollapseID string
	// Topic is the apns-topic header (the app's bundle id).
	Topic string
	// Data is the payload's top-level keys other than "aps" (the app's data: alert_id, seq, customer_id).
	Data map[string]string
	// At is when the request arrived.
	At time.Time
}

// Server is a running fake APNs.
type Server struct {
	// URL is the base URL to configure as the APNs host (https://127.0.0.1:port).
	URL string

	srv        *httptest.Server
	mu         sync.Mutex
	deliveries []Delivery
	// holdAfter: once this many deliveries are recorded, further requests wait for release; -1 never.
	holdAfter int
	held      int
	release   chan struct{}
}

// Start runs a fake APNs on 127.0.0.1; Close stops it.
func Start() *Server {
	s := &Server{holdAfter: -1, release: make(chan struct{})}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.EnableHTTP2 = true
	s.srv.StartTLS()
	s.URL = s.srv.URL
	return s
}

// Close stops the server, first answering any held request.
func (s *Server) Close() {
	s.Release()
	s.srv.Close()
}

// CertPEM is the server's certificate, for the sender to trust (SALESD_APNS_CA_FILE).
func (s *Server) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// Client is an HTTP/2 client that trusts the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Deliveries returns a copy of what was delivered so far, in arrival order.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// Count is how many notifications were delivered.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.deliveries)
}

// HoldAfter makes every request after the first n deliveries wait, unanswered, until Release or until its
// client goes away.
func (s *Server) HoldAfter(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holdAfter = n
}

// Held is how many requests are waiting unanswered.
func (s *Server) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

// Release answers the held requests whose clients are still there, and stops holding.
func (s *Server) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holdAfter >= 0 {
		s.holdAfter = -1
		close(s.release)
		s.release = make(chan struct{})
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	token, ok := strings.CutPrefix(r.URL.Path, "/3/device/")
	if r.Method != http.MethodPost || !ok || r.ProtoMajor != 2 {
		http.Error(w, `{"reason":"BadPath"}`, http.StatusNotFound)
		return
	}
	var body map[string]json.RawMessage
	b, err := io.ReadAll(r.Body)
	if err == nil {
		err = json.Unmarshal(b, &body)
	}
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"reason":"PayloadEmpty"}`))
		return
	}
	d := Delivery{Token: token, CollapseID: r.Header.Get("apns-collapse-id"), Topic: r.Header.Get("apns-topic"),
		Data: map[string]string{}, At: at}
	for k, v := range body {
		var str string
		if k != "aps" && json.Unmarshal(v, &str) == nil {
			d.Data[k] = str
		}
	}
	s.mu.Lock()
	if s.holdAfter >= 0 && len(s.deliveries) >= s.holdAfter {
		s.held++
		release := s.release
		s.mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		s.mu.Lock()
		s.held--
		if r.Context().Err() != nil {
			s.mu.Unlock()
			return // the sender is gone: nothing was delivered
		}
	}
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()
	w.Header().Set("apns-id", "00000000-0000-4000-8000-000000000000")
	w.WriteHeader(http.StatusOK)
}

// NewKey makes a throwaway APNs provider key: ECDSA P-256 in PKCS#8 PEM, as Apple's AuthKey_*.p8 files are.
func NewKey() ([]byte, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), key, nil
}
