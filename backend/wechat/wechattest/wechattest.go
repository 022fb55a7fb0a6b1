// Package wechattest runs a fake WeChat mini-program API server for tests: jscode2session,
// getuserphonenumber and the access token endpoint, answering with WeChat's shapes (no errcode at all on a
// successful jscode2session; errcode 0 on the others), single-use codes, and knobs to make it fail the way
// WeChat does. Any package whose tests need WeChat logins or phone numbers can use it.
package wechattest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/salesapp/scrm/backend/wechat"
)

// Endpoint names one API of the fake server by its path.
type Endpoint string

// The endpoints the fake server answers.
const (
	Code2Session Endpoint = "/sns/jscode2session"
	PhoneNumber  Endpoint = "/wxa/business/getuserphonenumber"
	Token        Endpoint = "/cgi-bin/token"
	// OAuth is the official account's web sign-in (H5 pages in WeChat's browser).
	OAuth Endpoint = "/sns/oauth2/access_token"
)

// The appid and appsecret New gives its server.
const (
	DefaultAppID     = "wxfake0123456789a"
	DefaultAppSecret = "fake-appsecret-0123456789abcdef"
)

// PhoneInfo is what the server answers for a phone code.
type PhoneInfo struct {
	// PurePhoneNumber is the number without country code, e.g. "13800138000".
	PurePhoneNumber string
	// CountryCode is the calling code, e.g. "86".
	CountryCode string
	// CountryCodeAsNumber sends countryCode as a JSON number (86) rather than a string ("86"): WeChat has
	// been seen doing both.
	CountryCodeAsNumber bool
	// WatermarkAppID is the appid in the watermark; the server's AppID when empty.
	WatermarkAppID string
}

type fault struct {
	errcode int
	status  int
}

// Server is a running fake. Program it with the Add and Fail methods; read what clients did with the
// counting methods. It is safe for concurrent use.
type Server struct {
	// URL is the base URL to put in wechat.Config.BaseURL.
	URL string
	// AppID and AppSecret are the credentials the server accepts.
	AppID, AppSecret string

	srv *httptest.Server

	mu           sync.Mutex
	sessions     map[string]wechat.Session
	phones       map[string]PhoneInfo
	used         map[string]bool
	faults       map[Endpoint][]fault
	calls        map[Endpoint]int
	valid        map[string]bool // issued access tokens: true while good, false once expired
	tokenSeq     int
	tokenTTL     int
	tokenLatency time.Duration
}

// New starts a fake server that t closes when it ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		AppID:     DefaultAppID,
		AppSecret: DefaultAppSecret,
		sessions:  map[string]wechat.Session{},
		phones:    map[string]PhoneInfo{},
		used:      map[string]bool{},
		faults:    map[Endpoint][]fault{},
		calls:     map[Endpoint]int{},
		valid:     map[string]bool{},
		tokenTTL:  7200,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+string(Code2Session), s.code2Session)
	mux.HandleFunc("POST "+string(PhoneNumber), s.phoneNumber)
	mux.HandleFunc("GET "+string(Token), s.token)
	mux.HandleFunc("GET "+string(OAuth), s.oauth)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Config is a client configuration pointing at this server with its credentials.
func (s *Server) Config() wechat.Config {
	return wechat.Config{BaseURL: s.URL, AppID: s.AppID, AppSecret: s.AppSecret, HTTPClient: s.srv.Client()}
}

// AddSession makes code a valid wx.login code for sess (leave UnionID empty to answer without unionid).
// Like WeChat's, the code works once.
func (s *Server) AddSession(code string, sess wechat.Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[code] = sess
}

// AddPhone makes code a valid getPhoneNumber code for p. Like WeChat's, the code works once. It panics when
// p.CountryCodeAsNumber is set with a CountryCode that is not a number: a mistake in the test.
func (s *Server) AddPhone(code string, p PhoneInfo) {
	if _, err := strconv.Atoi(p.CountryCode); p.CountryCodeAsNumber && err != nil {
		panic(fmt.Sprintf("wechattest: CountryCodeAsNumber with non-numeric CountryCode %q", p.CountryCode))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.phones[code] = p
}

// FailNext makes the next n requests to e answer errcode (HTTP 200, as WeChat does), before looking at them.
// Faults queue up: FailNext(e, 1, -1) then FailNextHTTP(e, 1, 502) fails twice, in that order.
func (s *Server) FailNext(e Endpoint, n, errcode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[e] = append(s.faults[e], fault{errcode: errcode})
	}
}

// FailNextHTTP makes the next n requests to e answer the HTTP status with a non-JSON body.
func (s *Server) FailNextHTTP(e Endpoint, n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[e] = append(s.faults[e], fault{status: status})
	}
}

// Calls counts the requests e received, failed ones included.
func (s *Server) Calls(e Endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[e]
}

// TokenFetches counts the requests to the token endpoint.
func (s *Server) TokenFetches() int { return s.Calls(Token) }

// ExpireToken expires every access token issued so far: calls with one answer 42001 until the client
// fetches a new token.
func (s *Server) ExpireToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok := range s.valid {
		s.valid[tok] = false
	}
}

// SetTokenTTL sets the expires_in of tokens issued from now on (7200 s unless set).
func (s *Server) SetTokenTTL(seconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenTTL = seconds
}

// SetTokenLatency makes the token endpoint wait d before answering, so concurrent callers really overlap
// with a fetch in flight.
func (s *Server) SetTokenLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenLatency = d
}

// begin counts a request and pops the fault programmed for it, if any; it reports whether it answered.
func (s *Server) begin(w http.ResponseWriter, e Endpoint) bool {
	s.mu.Lock()
	s.calls[e]++
	var f *fault
	if q := s.faults[e]; len(q) > 0 {
		f = &q[0]
		s.faults[e] = q[1:]
	}
	s.mu.Unlock()
	switch {
	case f == nil:
		return false
	case f.status != 0:
		http.Error(w, http.StatusText(f.status), f.status)
	default:
		writeErr(w, f.errcode, "forced failure")
	}
	return true
}

// rid mimics WeChat's request id suffix on errmsg.
const rid = "rid: 6412ab3c-1c2d3e4f-5a6b7c8d"

// writeErr answers an errcode. Like WeChat's, the errmsg may echo what the client sent: a client must not
// pass it on.
func writeErr(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, map[string]any{"errcode": code, "errmsg": msg + ", " + rid})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

// credentialsOK checks appid and secret the way WeChat does, answering the error itself when they are wrong.
func (s *Server) credentialsOK(w http.ResponseWriter, r *http.Request, grantType string) bool {
	q := r.URL.Query()
	switch {
	case q.Get("appid") != s.AppID:
		writeErr(w, wechat.CodeInvalidAppID, "invalid appid "+q.Get("appid"))
	case q.Get("secret") != s.AppSecret:
		writeErr(w, wechat.CodeInvalidAppSecret, "invalid appsecret "+q.Get("secret"))
	case q.Get("grant_type") != grantType:
		writeErr(w, 40002, "invalid grant_type")
	default:
		return true
	}
	return false
}

func (s *Server) code2Session(w http.ResponseWriter, r *http.Request) {
	if s.begin(w, Code2Session) || !s.credentialsOK(w, r, "authorization_code") {
		return
	}
	s.sessionFor(w, r, "js_code", func(sess wechat.Session) map[string]any {
		return map[string]any{"openid": sess.OpenID, "session_key": sess.SessionKey}
	})
}

// oauth answers the official account's web sign-in with the same sessions (AddSession): a code names a
// person, whichever way they signed in.
func (s *Server) oauth(w http.ResponseWriter, r *http.Request) {
	if s.begin(w, OAuth) || !s.credentialsOK(w, r, "authorization_code") {
		return
	}
	s.sessionFor(w, r, "code", func(sess wechat.Session) map[string]any {
		return map[string]any{"access_token": "user-token-" + sess.OpenID, "expires_in": 7200,
			"refresh_token": "refresh-" + sess.OpenID, "openid": sess.OpenID, "scope": "snsapi_base"}
	})
}

func (s *Server) sessionFor(w http.ResponseWriter, r *http.Request, codeParam string, answer func(wechat.Session) map[string]any) {
	code := r.URL.Query().Get(codeParam)
	s.mu.Lock()
	sess, ok := s.sessions[code]
	used := s.used[code]
	if ok {
		s.used[code] = true
	}
	s.mu.Unlock()
	switch {
	case used:
		writeErr(w, wechat.CodeCodeUsed, "code been used "+code)
	case !ok:
		writeErr(w, wechat.CodeInvalidCode, "invalid code "+code)
	default:
		// WeChat's success carries no errcode at all.
		out := answer(sess)
		if sess.UnionID != "" {
			out["unionid"] = sess.UnionID
		}
		writeJSON(w, out)
	}
}

func (s *Server) phoneNumber(w http.ResponseWriter, r *http.Request) {
	if s.begin(w, PhoneNumber) {
		return
	}
	tok := r.URL.Query().Get("access_token")
	s.mu.Lock()
	good, issued := s.valid[tok]
	s.mu.Unlock()
	switch {
	case tok == "":
		writeErr(w, 41001, "access_token missing")
		return
	case !issued:
		writeErr(w, wechat.CodeInvalidCredential, "invalid credential, access_token is invalid or not latest "+tok)
		return
	case !good:
		writeErr(w, wechat.CodeAccessTokenExpired, "access_token expired "+tok)
		return
	}
	var in struct {
		Code string `json:"code"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil {
		writeErr(w, 47001, "data format error")
		return
	}
	s.mu.Lock()
	p, ok := s.phones[in.Code]
	used := s.used[in.Code]
	if ok {
		s.used[in.Code] = true
	}
	s.mu.Unlock()
	switch {
	case used:
		writeErr(w, wechat.CodeCodeUsed, "code been used "+in.Code)
		return
	case !ok:
		writeErr(w, wechat.CodeInvalidCode, "invalid code "+in.Code)
		return
	}
	appID := p.WatermarkAppID
	if appID == "" {
		appID = s.AppID
	}
	var cc any = p.CountryCode
	if p.CountryCodeAsNumber {
		cc, _ = strconv.Atoi(p.CountryCode) // AddPhone checked it
	}
	// WeChat shows Chinese numbers bare and others with their calling code.
	full := p.PurePhoneNumber
	if p.CountryCode != "86" {
		full = "+" + p.CountryCode + " " + p.PurePhoneNumber
	}
	writeJSON(w, map[string]any{
		"errcode": 0,
		"errmsg":  "ok",
		"phone_info": map[string]any{
			"phoneNumber":     full,
			"purePhoneNumber": p.PurePhoneNumber,
			"countryCode":     cc,
			"watermark":       map[string]any{"timestamp": time.Now().Unix(), "appid": appID},
		},
	})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	latency := s.tokenLatency
	s.mu.Unlock()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}
	if s.begin(w, Token) || !s.credentialsOK(w, r, "client_credential") {
		return
	}
	s.mu.Lock()
	s.tokenSeq++
	tok := fmt.Sprintf("fake-access-token-%d", s.tokenSeq)
	s.valid[tok] = true
	ttl := s.tokenTTL
	s.mu.Unlock()
	writeJSON(w, map[string]any{"access_token": tok, "expires_in": ttl})
}
