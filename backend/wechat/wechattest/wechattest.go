// Package wechattest runs a fake WeChat API server for tests: jscode2session, getuserphonenumber, the access
// token and JS-SDK ticket endpoints, the official account's web sign-in (an authorize page that redirects at
// once, oauth2/access_token, userinfo) and mini-program codes, answering with WeChat's shapes (no errcode at all on a
// successful jscode2session; errcode 0 on the others), single-use codes, and knobs to make it fail the way
// WeChat does. Any package whose tests need WeChat logins or phone numbers can use it.
package wechattest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
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
	// Ticket is the official account's JS-SDK ticket (type=jsapi).
	Ticket Endpoint = "/cgi-bin/ticket/getticket"
	// UserInfo is the profile of a visitor who granted snsapi_userinfo.
	UserInfo Endpoint = "/sns/userinfo"
	// Authorize stands for open.weixin.qq.com's sign-in page: it answers at once with a redirect carrying a
	// code for the person SignInAs named, as WeChat does once the visitor agrees.
	Authorize Endpoint = "/connect/oauth2/authorize"
	// WXACode makes a mini-program code image for a scene.
	WXACode Endpoint = "/wxa/getwxacodeunlimit"
)

// Profile is a visitor's WeChat profile, given to pages that asked for snsapi_userinfo.
type Profile struct {
	Nickname, HeadImgURL string
}

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
	// The JS-SDK tickets issued, and the expires_in of new ones.
	ticketSeq int
	ticketTTL int
	// The person in "WeChat's browser" (SignInAs), the scope each authorize code was issued for, and the
	// profiles userinfo answers per openid.
	browser    *wechat.Session
	codeScopes map[string]string
	profiles   map[string]Profile
	codeSeq    int
	// WXACodes records the scenes of the mini-program codes made.
	scenes []string
}

// New starts a fake server that t closes when it ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		AppID:      DefaultAppID,
		AppSecret:  DefaultAppSecret,
		sessions:   map[string]wechat.Session{},
		phones:     map[string]PhoneInfo{},
		used:       map[string]bool{},
		faults:     map[Endpoint][]fault{},
		calls:      map[Endpoint]int{},
		valid:      map[string]bool{},
		tokenTTL:   7200,
		ticketTTL:  7200,
		codeScopes: map[string]string{},
		profiles:   map[string]Profile{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+string(Code2Session), s.code2Session)
	mux.HandleFunc("POST "+string(PhoneNumber), s.phoneNumber)
	mux.HandleFunc("GET "+string(Token), s.token)
	mux.HandleFunc("GET "+string(OAuth), s.oauth)
	mux.HandleFunc("GET "+string(Ticket), s.ticket)
	mux.HandleFunc("GET "+string(UserInfo), s.userInfo)
	mux.HandleFunc("GET "+string(Authorize), s.authorize)
	mux.HandleFunc("POST "+string(WXACode), s.wxaCode)
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
	s.mu.Lock()
	scope := s.codeScopes[r.URL.Query().Get("code")]
	s.mu.Unlock()
	if scope == "" {
		scope = "snsapi_base"
	}
	s.sessionFor(w, r, "code", func(sess wechat.Session) map[string]any {
		return map[string]any{"access_token": "user-token-" + scope + "-" + sess.OpenID, "expires_in": 7200,
			"refresh_token": "refresh-" + sess.OpenID, "openid": sess.OpenID, "scope": scope}
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
	if !s.tokenOK(w, r) {
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

// tokenOK checks the access token of an API that takes one, answering WeChat's error itself when it is bad.
func (s *Server) tokenOK(w http.ResponseWriter, r *http.Request) bool {
	tok := r.URL.Query().Get("access_token")
	s.mu.Lock()
	good, issued := s.valid[tok]
	s.mu.Unlock()
	switch {
	case tok == "":
		writeErr(w, 41001, "access_token missing")
	case !issued:
		writeErr(w, wechat.CodeInvalidCredential, "invalid credential, access_token is invalid or not latest "+tok)
	case !good:
		writeErr(w, wechat.CodeAccessTokenExpired, "access_token expired "+tok)
	default:
		return true
	}
	return false
}

// TicketFetches counts the requests to the JS-SDK ticket endpoint.
func (s *Server) TicketFetches() int { return s.Calls(Ticket) }

// SetTicketTTL sets the expires_in of JS-SDK tickets issued from now on (7200 s unless set).
func (s *Server) SetTicketTTL(seconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ticketTTL = seconds
}

func (s *Server) ticket(w http.ResponseWriter, r *http.Request) {
	if s.begin(w, Ticket) || !s.tokenOK(w, r) {
		return
	}
	if r.URL.Query().Get("type") != "jsapi" {
		writeErr(w, 40097, "invalid args")
		return
	}
	s.mu.Lock()
	s.ticketSeq++
	t := fmt.Sprintf("fake-jsapi-ticket-%d", s.ticketSeq)
	ttl := s.ticketTTL
	s.mu.Unlock()
	writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "ticket": t, "expires_in": ttl})
}

// AuthorizeURL is the base URL of the fake sign-in page, to configure in place of
// https://open.weixin.qq.com/connect/oauth2/authorize.
func (s *Server) AuthorizeURL() string { return s.URL + string(Authorize) }

// SignInAs makes sess the person whose WeChat browser reaches the authorize page; p is the profile userinfo
// gives when they grant snsapi_userinfo.
func (s *Server) SignInAs(sess wechat.Session, p Profile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.browser = &sess
	s.profiles[sess.OpenID] = p
}

// authorize answers as WeChat does after the visitor agrees: a redirect to redirect_uri with a fresh code and
// the state unchanged.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	s.begin(w, Authorize)
	q := r.URL.Query()
	scope := q.Get("scope")
	switch {
	case q.Get("appid") != s.AppID:
		http.Error(w, "unknown appid", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code" || (scope != "snsapi_base" && scope != "snsapi_userinfo"):
		http.Error(w, "bad response_type or scope", http.StatusBadRequest)
		return
	}
	target, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || target.Host == "" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	if s.browser == nil {
		s.mu.Unlock()
		http.Error(w, "wechattest: SignInAs first", http.StatusConflict)
		return
	}
	s.codeSeq++
	code := fmt.Sprintf("oauth-code-%d", s.codeSeq)
	s.sessions[code] = *s.browser
	s.codeScopes[code] = scope
	s.mu.Unlock()
	tq := target.Query()
	tq.Set("code", code)
	tq.Set("state", q.Get("state"))
	target.RawQuery = tq.Encode()
	http.Redirect(w, r, target.String(), http.StatusFound)
}

func (s *Server) userInfo(w http.ResponseWriter, r *http.Request) {
	if s.begin(w, UserInfo) {
		return
	}
	q := r.URL.Query()
	openid := q.Get("openid")
	if q.Get("access_token") != "user-token-snsapi_userinfo-"+openid {
		writeErr(w, 48001, "api unauthorized")
		return
	}
	s.mu.Lock()
	p, ok := s.profiles[openid]
	s.mu.Unlock()
	if !ok {
		writeErr(w, 40003, "invalid openid")
		return
	}
	writeJSON(w, map[string]any{"openid": openid, "nickname": p.Nickname, "headimgurl": p.HeadImgURL,
		"sex": 0, "province": "", "city": "", "country": "", "privilege": []string{}})
}

// Scenes returns the scenes of the mini-program codes made so far.
func (s *Server) Scenes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.scenes...)
}

// wxaCode answers a small PNG for a valid scene, as getwxacodeunlimit answers the image itself.
func (s *Server) wxaCode(w http.ResponseWriter, r *http.Request) {
	if s.begin(w, WXACode) || !s.tokenOK(w, r) {
		return
	}
	var in struct {
		Scene string `json:"scene"`
		Page  string `json:"page"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil {
		writeErr(w, 47001, "data format error")
		return
	}
	if in.Scene == "" || len(in.Scene) > 32 {
		writeErr(w, 40169, "invalid length for scene")
		return
	}
	s.mu.Lock()
	s.scenes = append(s.scenes, in.Scene)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "image/png")
	_, _ = w.Write(fakePNG)
}

// fakePNG is a 1×1 PNG.
var fakePNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
