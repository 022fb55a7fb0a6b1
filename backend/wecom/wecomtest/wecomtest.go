// Package wecomtest runs a fake WeCom (企业微信) API server for tests and benchmarks: one corp with its
// secrets and their permissions, access tokens that expire by a clock the test controls, the directory
// (departments, members, sign-in codes), external contacts with their follow users, contact ways, welcome
// codes, the corp tag library, transfers and the unassigned list. Like WeCom it checks the access token on
// every call, refuses what a secret is not allowed (48002, 60011) or an untrusted IP (60020), and enforces
// the documented limits (100 members per batch, 30-character states, 100 customers per transfer). Knobs make
// it fail as WeCom does (FailNext) and count what clients did (Calls). Benchmark-sized data sets (10,000
// members, 50,000 customers) are seeded directly, without a request (SeedDirectory, SeedContacts).
//
// The server is one corp; a test of two corps starts two servers. Sending signed, encrypted callbacks as
// WeCom does is the callback side's (callback.go).
package wecomtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/salesapp/scrm/backend/wecom/wecomapi"
)

// Endpoint names one API of the fake server by its path.
type Endpoint string

// The endpoints the fake server answers.
const (
	GetToken                 Endpoint = "/cgi-bin/gettoken"
	GetUserInfo              Endpoint = "/cgi-bin/auth/getuserinfo"
	DepartmentList           Endpoint = "/cgi-bin/department/list"
	UserList                 Endpoint = "/cgi-bin/user/list"
	UserListID               Endpoint = "/cgi-bin/user/list_id"
	UserGet                  Endpoint = "/cgi-bin/user/get"
	AgentGet                 Endpoint = "/cgi-bin/agent/get"
	ContactGet               Endpoint = "/cgi-bin/externalcontact/get"
	ContactBatchGet          Endpoint = "/cgi-bin/externalcontact/batch/get_by_user"
	ContactList              Endpoint = "/cgi-bin/externalcontact/list"
	AddContactWay            Endpoint = "/cgi-bin/externalcontact/add_contact_way"
	UpdateContactWay         Endpoint = "/cgi-bin/externalcontact/update_contact_way"
	GetContactWay            Endpoint = "/cgi-bin/externalcontact/get_contact_way"
	DelContactWay            Endpoint = "/cgi-bin/externalcontact/del_contact_way"
	SendWelcomeMsg           Endpoint = "/cgi-bin/externalcontact/send_welcome_msg"
	GetCorpTagList           Endpoint = "/cgi-bin/externalcontact/get_corp_tag_list"
	AddCorpTag               Endpoint = "/cgi-bin/externalcontact/add_corp_tag"
	EditCorpTag              Endpoint = "/cgi-bin/externalcontact/edit_corp_tag"
	DelCorpTag               Endpoint = "/cgi-bin/externalcontact/del_corp_tag"
	MarkTag                  Endpoint = "/cgi-bin/externalcontact/mark_tag"
	TransferCustomer         Endpoint = "/cgi-bin/externalcontact/transfer_customer"
	TransferResult           Endpoint = "/cgi-bin/externalcontact/transfer_result"
	ResignedTransferCustomer Endpoint = "/cgi-bin/externalcontact/resigned/transfer_customer"
	ResignedTransferResult   Endpoint = "/cgi-bin/externalcontact/resigned/transfer_result"
	GetUnassignedList        Endpoint = "/cgi-bin/externalcontact/get_unassigned_list"
	MediaUpload              Endpoint = "/cgi-bin/media/upload"
)

// Permission is what a secret's app may do, as WeCom's admin console grants it.
type Permission uint8

// The permissions a secret may hold.
const (
	// PermApp is the self-built app itself: sign-in codes (auth/getuserinfo) and agent/get.
	PermApp Permission = 1 << iota
	// PermDirectory reads departments and members (the app's visible range is the whole corp here).
	PermDirectory
	// PermCustomerContact calls externalcontact/* (客户联系).
	PermCustomerContact
)

// The corp and secrets New gives its server.
const (
	DefaultCorpID = "wwfake0123456789ab"
	// AppSecret is the self-built app's secret: PermApp and PermDirectory.
	AppSecret = "fake-app-secret-0123456789abcdefghijklmnopq"
	// ContactSecret is the customer-contact secret: PermCustomerContact.
	ContactSecret = "fake-contact-secret-0123456789abcdefghijklm"
	// DefaultAgentID is the self-built app's AgentId.
	DefaultAgentID = 1000002
	// CallerIP is the IP the fake says calls come from, in errmsg, as WeCom does.
	CallerIP = "203.0.113.7"
	// TokenTTL is the lifetime of the tokens it issues, in seconds.
	TokenTTL = 7200
	// WelcomeCodeTTL is how long a welcome code works after its add event.
	WelcomeCodeTTL = 20 * time.Second
)

// Errcodes the fake answers beyond those wecomapi names.
const (
	// CodeInvalidParameter answers a request outside WeCom's documented limits.
	CodeInvalidParameter = 40058
	// CodeInvalidTagID answers a tag or group id the library does not have.
	CodeInvalidTagID = wecomapi.CodeInvalidTagID
	// CodeTagNameExists answers a tag name its group has already.
	CodeTagNameExists = wecomapi.CodeTagNameExists
	// CodeWelcomeCodeInvalid answers an unknown or expired welcome code.
	CodeWelcomeCodeInvalid = 41096
	// CodeBadJSON answers a body that is not the JSON expected.
	CodeBadJSON = 47001
	// CodeInvalidConfigID answers an unknown contact way.
	CodeInvalidConfigID = 41044
	// CodeInvalidMediaType answers media of a type WeCom does not take.
	CodeInvalidMediaType = 40004
	// CodeInvalidMediaSize answers media too small or too large.
	CodeInvalidMediaSize = 40006
	// CodeInvalidMediaID answers a media id unknown or expired.
	CodeInvalidMediaID = 40007
)

type injectedFault struct {
	pass     bool // answered as usual: a place in the queue before a fault
	errcode  int
	status   int
	oversize int
}

type issuedToken struct {
	secret    string
	expiresAt time.Time
	expired   bool
}

// Server is a running fake for one corp. Program it with the Add, Seed and Fail methods; read what clients
// did with Calls and the state readers. It is safe for concurrent use.
type Server struct {
	// URL is the base URL to put in wecomapi.Config.BaseURL.
	URL string
	// CorpID is the corp the server answers for.
	CorpID string
	// AgentID is the self-built app's AgentId.
	AgentID int64

	srv *httptest.Server

	mu         sync.Mutex
	clock      time.Time
	secrets    map[string]Permission
	ipTrusted  bool
	tokens     map[string]*issuedToken
	current    map[string]string // secret → its token while valid: WeCom answers the same one until it expires
	tokenSeq   int
	latency    time.Duration
	faults     map[Endpoint][]injectedFault
	calls      map[Endpoint]int
	depts      []wecomapi.Department
	users      map[string]*wecomapi.User
	userOrder  []string
	signIns    map[string]wecomapi.Identity
	contacts   map[string]*fakeContact
	byUser     map[string][]string // userid → external userids, in the order added
	ways       map[string]*wecomapi.ContactWay
	welcomes   map[string]*welcomeCode
	sent       []Welcome
	media      []Media
	groups     []*wecomapi.TagGroup
	transfers  []*pendingTransfer
	unassigned []wecomapi.Unassigned
	seq        int
}

// New starts a fake server for DefaultCorpID with AppSecret and ContactSecret, closed when t ends. Its clock
// starts at the real time and moves only by Advance.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		CorpID:    DefaultCorpID,
		AgentID:   DefaultAgentID,
		clock:     time.Now().Truncate(time.Second),
		secrets:   map[string]Permission{AppSecret: PermApp | PermDirectory, ContactSecret: PermCustomerContact},
		ipTrusted: true,
		tokens:    map[string]*issuedToken{},
		current:   map[string]string{},
		faults:    map[Endpoint][]injectedFault{},
		calls:     map[Endpoint]int{},
		users:     map[string]*wecomapi.User{},
		signIns:   map[string]wecomapi.Identity{},
		contacts:  map[string]*fakeContact{},
		byUser:    map[string][]string{},
		ways:      map[string]*wecomapi.ContactWay{},
		welcomes:  map[string]*welcomeCode{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+string(GetToken), s.getToken)
	s.route(mux, "GET", GetUserInfo, PermApp, s.getUserInfo)
	s.route(mux, "GET", AgentGet, PermApp, s.agentGet)
	s.route(mux, "GET", DepartmentList, PermDirectory, s.departmentList)
	s.route(mux, "GET", UserList, PermDirectory, s.userList)
	s.route(mux, "POST", UserListID, PermDirectory, s.userListID)
	s.route(mux, "GET", UserGet, PermDirectory, s.userGet)
	s.route(mux, "GET", ContactGet, PermCustomerContact, s.contactGet)
	s.route(mux, "POST", ContactBatchGet, PermCustomerContact, s.contactBatchGet)
	s.route(mux, "GET", ContactList, PermCustomerContact, s.contactList)
	s.route(mux, "POST", AddContactWay, PermCustomerContact, s.addContactWay)
	s.route(mux, "POST", UpdateContactWay, PermCustomerContact, s.updateContactWay)
	s.route(mux, "POST", GetContactWay, PermCustomerContact, s.getContactWay)
	s.route(mux, "POST", DelContactWay, PermCustomerContact, s.delContactWay)
	s.route(mux, "POST", SendWelcomeMsg, PermCustomerContact, s.sendWelcomeMsg)
	s.route(mux, "POST", GetCorpTagList, PermCustomerContact, s.getCorpTagList)
	s.route(mux, "POST", AddCorpTag, PermCustomerContact, s.addCorpTag)
	s.route(mux, "POST", EditCorpTag, PermCustomerContact, s.editCorpTag)
	s.route(mux, "POST", DelCorpTag, PermCustomerContact, s.delCorpTag)
	s.route(mux, "POST", MarkTag, PermCustomerContact, s.markTag)
	s.route(mux, "POST", TransferCustomer, PermCustomerContact, s.transferCustomer(false))
	s.route(mux, "POST", TransferResult, PermCustomerContact, s.transferResult(false))
	s.route(mux, "POST", ResignedTransferCustomer, PermCustomerContact, s.transferCustomer(true))
	s.route(mux, "POST", ResignedTransferResult, PermCustomerContact, s.transferResult(true))
	s.route(mux, "POST", GetUnassignedList, PermCustomerContact, s.getUnassignedList)
	// (Temporary media are open to every app of the corp.)
	s.route(mux, "POST", MediaUpload, PermApp|PermDirectory|PermCustomerContact, s.mediaUpload)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Config is a client configuration for secret (AppSecret, ContactSecret or one AddSecret made) pointing at
// this server.
func (s *Server) Config(secret string) wecomapi.Config {
	return wecomapi.Config{BaseURL: s.URL, CorpID: s.CorpID, Secret: secret, HTTPClient: s.srv.Client()}
}

// Now is the server's clock, which moves only by Advance.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clock
}

// Advance moves the server's clock: tokens and welcome codes expire by it.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = s.clock.Add(d)
}

// AddSecret makes secret valid for the corp with perms (replacing the permissions of a known secret).
func (s *Server) AddSecret(secret string, perms Permission) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[secret] = perms
}

// SetPermissions changes what secret's app may do, as an admin would in the console; its tokens stay valid.
func (s *Server) SetPermissions(secret string, perms Permission) { s.AddSecret(secret, perms) }

// SetIPTrusted makes every call with a token answer 60020 (caller IP not trusted) while false.
func (s *Server) SetIPTrusted(trusted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ipTrusted = trusted
}

// ExpireTokens ends every token issued so far: calls with one answer 42001, and gettoken issues new ones.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		t.expired = true
	}
	clear(s.current)
}

// TokensIssued counts the distinct tokens issued (a gettoken within a token's life answers the same one).
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenSeq
}

// FailNext makes the next n requests to e answer errcode (HTTP 200, as WeCom does) before looking at them.
// Faults queue up in the order programmed.
func (s *Server) FailNext(e Endpoint, n, errcode int) {
	s.addFaults(e, n, injectedFault{errcode: errcode})
}

// FailNextHTTP makes the next n requests to e answer the HTTP status with a non-JSON body.
func (s *Server) FailNextHTTP(e Endpoint, n, status int) {
	s.addFaults(e, n, injectedFault{status: status})
}

// OversizeNext makes the next n requests to e answer a successful JSON body padded to size bytes.
func (s *Server) OversizeNext(e Endpoint, n, size int) {
	s.addFaults(e, n, injectedFault{oversize: size})
}

// FailAfter lets the next ok requests to e through and makes the one after them answer errcode: a failure
// in the middle of a paged listing.
func (s *Server) FailAfter(e Endpoint, ok, errcode int) {
	s.addFaults(e, ok, injectedFault{pass: true})
	s.addFaults(e, 1, injectedFault{errcode: errcode})
}

func (s *Server) addFaults(e Endpoint, n int, f injectedFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[e] = append(s.faults[e], f)
	}
}

// Calls counts the requests e received, refused and failed ones included.
func (s *Server) Calls(e Endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[e]
}

// begin counts a request and answers the fault programmed for it, if any; it reports whether it answered.
func (s *Server) begin(w http.ResponseWriter, e Endpoint) bool {
	s.mu.Lock()
	s.calls[e]++
	var f *injectedFault
	if q := s.faults[e]; len(q) > 0 {
		f = &q[0]
		s.faults[e] = q[1:]
	}
	s.mu.Unlock()
	switch {
	case f == nil || f.pass:
		return false
	case f.status != 0:
		http.Error(w, http.StatusText(f.status), f.status)
	case f.oversize > 0:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok","padding":"`+strings.Repeat("x", f.oversize)+`"}`)
	default:
		writeErrcode(w, f.errcode, "forced failure")
	}
	return true
}

// writeErrcode answers an errcode with an errmsg shaped like WeCom's: its text, a hint (request id), the caller
// IP and a link. A client must not pass it on whole.
func writeErrcode(w http.ResponseWriter, code int, msg string) {
	writeAPIJSON(w, map[string]any{"errcode": code, "errmsg": fmt.Sprintf(
		"%s, hint: [1733390000_51_fakehint%d], from ip: %s, more info at https://open.work.weixin.qq.com/devtool/query?e=%d",
		msg, code, CallerIP, code)})
}

func writeAPIJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

// answerOK answers success with the fields of v added to errcode 0.
func answerOK(w http.ResponseWriter, v map[string]any) {
	if v == nil {
		v = map[string]any{}
	}
	v["errcode"], v["errmsg"] = 0, "ok"
	writeAPIJSON(w, v)
}

// SetTokenLatency makes gettoken wait d before answering, so callers on several nodes really overlap with a
// fetch in flight.
func (s *Server) SetTokenLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

func (s *Server) getToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}
	if s.begin(w, GetToken) {
		return
	}
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	_, known := s.secrets[q.Get("corpsecret")]
	switch {
	case q.Get("corpid") != s.CorpID:
		writeErrcode(w, wecomapi.CodeInvalidCorpID, "invalid corpid")
		return
	case !known:
		writeErrcode(w, wecomapi.CodeInvalidCredential, "invalid credential, corpsecret "+q.Get("corpsecret"))
		return
	}
	secret := q.Get("corpsecret")
	if tok, ok := s.current[secret]; ok && s.clock.Before(s.tokens[tok].expiresAt) {
		writeAPIJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "access_token": tok,
			"expires_in": int(s.tokens[tok].expiresAt.Sub(s.clock).Seconds())})
		return
	}
	s.tokenSeq++
	tok := fmt.Sprintf("fake-wecom-token-%d", s.tokenSeq)
	s.tokens[tok] = &issuedToken{secret: secret, expiresAt: s.clock.Add(TokenTTL * time.Second)}
	s.current[secret] = tok
	writeAPIJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "access_token": tok, "expires_in": TokenTTL})
}

// route registers an API that takes a token: it counts the call, answers programmed faults, then checks the
// token, the caller IP and the secret's permission as WeCom does, and holds the lock while h runs.
func (s *Server) route(mux *http.ServeMux, method string, e Endpoint, perm Permission, h func(http.ResponseWriter, *http.Request)) {
	mux.HandleFunc(method+" "+string(e), func(w http.ResponseWriter, r *http.Request) {
		if s.begin(w, e) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		tok := r.URL.Query().Get("access_token")
		t, issued := s.tokens[tok]
		switch {
		case tok == "":
			writeErrcode(w, 41001, "access_token missing")
		case !issued:
			writeErrcode(w, wecomapi.CodeInvalidAccessToken, "invalid access_token "+tok)
		case t.expired || !s.clock.Before(t.expiresAt):
			writeErrcode(w, wecomapi.CodeAccessTokenExpired, "access_token expired")
		case !s.ipTrusted:
			writeErrcode(w, wecomapi.CodeIPNotAllowed, "not allow to access from your ip")
		case s.secrets[t.secret]&perm == 0 && perm == PermCustomerContact:
			writeErrcode(w, wecomapi.CodeAPIForbidden, "api forbidden")
		case s.secrets[t.secret]&perm == 0:
			writeErrcode(w, wecomapi.CodeNoPrivilege, "no privilege to access/modify contact/party/agent")
		default:
			h(w, r)
		}
	})
}

// decodeBody reads a JSON body, answering 47001 when it is not JSON of the shape given.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 2<<20)).Decode(v); err != nil {
		writeErrcode(w, CodeBadJSON, "data format error")
		return false
	}
	return true
}

// nextID makes ids unique within the server.
func (s *Server) nextID(prefix string) string {
	s.seq++
	return prefix + strconv.Itoa(s.seq)
}

// offsetCursor reads a cursor this server made (an offset), answering 40058 when it is not one.
func offsetCursor(w http.ResponseWriter, cursor string) (int, bool) {
	if cursor == "" {
		return 0, true
	}
	n, err := strconv.Atoi(strings.TrimPrefix(cursor, "o"))
	if !strings.HasPrefix(cursor, "o") || err != nil || n < 0 {
		writeErrcode(w, CodeInvalidParameter, "invalid cursor")
		return 0, false
	}
	return n, true
}

// pageRange cuts [start, start+size) out of n items and says the cursor of the next page ("" at the end).
func pageRange(n, start, size int) (int, int, string) {
	start = min(start, n)
	end := min(start+size, n)
	if end < n {
		return start, end, "o" + strconv.Itoa(end)
	}
	return start, end, ""
}

// AddSignInCode makes code a valid auth/getuserinfo code for id; like WeCom's, it works once.
func (s *Server) AddSignInCode(code string, id wecomapi.Identity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signIns[code] = id
}

func (s *Server) getUserInfo(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("code")
	id, ok2 := s.signIns[code]
	if !ok2 {
		writeErrcode(w, wecomapi.CodeInvalidCode, "invalid code")
		return
	}
	delete(s.signIns, code)
	out := map[string]any{}
	if id.UserID != "" {
		out["userid"], out["user_ticket"] = id.UserID, "fake-user-ticket-"+id.UserID
	} else {
		out["openid"] = id.OpenID
		if id.ExternalUserID != "" {
			out["external_userid"] = id.ExternalUserID
		}
	}
	answerOK(w, out)
}

func (s *Server) agentGet(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("agentid") != strconv.FormatInt(s.AgentID, 10) {
		writeErrcode(w, wecomapi.CodeNoPrivilege, "no privilege to access/modify contact/party/agent")
		return
	}
	answerOK(w, map[string]any{"agentid": s.AgentID, "name": "销售助手", "close": 0,
		"allow_userinfos": map[string]any{"user": []any{}},
		"allow_partys":    map[string]any{"partyid": []int64{1}},
		"allow_tags":      map[string]any{"tagid": []int64{}}})
}

// AddDepartment adds (or replaces) a department.
func (s *Server) AddDepartment(d wecomapi.Department) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.depts = slices.DeleteFunc(s.depts, func(x wecomapi.Department) bool { return x.ID == d.ID })
	s.depts = append(s.depts, d)
}

// AddUser adds (or replaces) a member. Status 0 becomes UserActive.
func (s *Server) AddUser(u wecomapi.User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addUser(u)
}

func (s *Server) addUser(u wecomapi.User) {
	if u.Status == 0 {
		u.Status = wecomapi.UserActive
	}
	if u.MainDepartment == 0 && len(u.Departments) > 0 {
		u.MainDepartment = u.Departments[0]
	}
	if _, ok := s.users[u.UserID]; !ok {
		s.userOrder = append(s.userOrder, u.UserID)
	}
	s.users[u.UserID] = &u
}

// RemoveUser deletes a member (as when they leave and an admin deletes them).
func (s *Server) RemoveUser(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.users, userID)
	s.userOrder = slices.DeleteFunc(s.userOrder, func(id string) bool { return id == userID })
}

// SeedDirectory adds departments 1 (the root) to 1+depts and n members ("u00001"…) spread over them: a
// directory as big as a benchmark needs, made without a request.
func (s *Server) SeedDirectory(depts, n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.depts = append(s.depts, wecomapi.Department{ID: 1, Name: "总部", Order: 100000000})
	for i := range depts {
		s.depts = append(s.depts, wecomapi.Department{ID: int64(i + 2), Name: fmt.Sprintf("销售%d部", i+1), ParentID: 1})
	}
	ids := make([]string, n)
	for i := range n {
		id := fmt.Sprintf("u%05d", i+1)
		ids[i] = id
		s.addUser(wecomapi.User{UserID: id, Name: fmt.Sprintf("员工%d", i+1), Departments: []int64{int64(i%max(depts, 1) + 2)},
			Mobile: fmt.Sprintf("139%08d", i+1), Position: "销售"})
	}
	return ids
}

func (s *Server) departmentList(w http.ResponseWriter, r *http.Request) {
	out := s.depts
	if v := r.URL.Query().Get("id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || !slices.ContainsFunc(s.depts, func(d wecomapi.Department) bool { return d.ID == id }) {
			writeErrcode(w, 60123, "invalid party id")
			return
		}
		sub := s.subtree(id)
		out = slices.DeleteFunc(slices.Clone(s.depts), func(d wecomapi.Department) bool { return !sub[d.ID] })
	}
	answerOK(w, map[string]any{"department": out})
}

// subtree is id and every department under it.
func (s *Server) subtree(id int64) map[int64]bool {
	in := map[int64]bool{id: true}
	for grew := true; grew; {
		grew = false
		for _, d := range s.depts {
			if in[d.ParentID] && !in[d.ID] {
				in[d.ID], grew = true, true
			}
		}
	}
	return in
}

func (s *Server) userList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id, err := strconv.ParseInt(q.Get("department_id"), 10, 64)
	if err != nil {
		writeErrcode(w, 60123, "invalid party id")
		return
	}
	in := map[int64]bool{id: true}
	if q.Get("fetch_child") == "1" {
		in = s.subtree(id)
	}
	list := []wecomapi.User{}
	for _, uid := range s.userOrder {
		u := s.users[uid]
		if slices.ContainsFunc(u.Departments, func(d int64) bool { return in[d] }) {
			list = append(list, *u)
		}
	}
	answerOK(w, map[string]any{"userlist": list})
}

func (s *Server) userListID(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Cursor string `json:"cursor"`
		Limit  int    `json:"limit"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Limit == 0 {
		in.Limit = wecomapi.MaxUserIDLimit
	}
	if in.Limit < 1 || in.Limit > wecomapi.MaxUserIDLimit {
		writeErrcode(w, CodeInvalidParameter, "invalid limit")
		return
	}
	start, good := offsetCursor(w, in.Cursor)
	if !good {
		return
	}
	var pairs []wecomapi.DeptUser
	for _, uid := range s.userOrder {
		for _, d := range s.users[uid].Departments {
			pairs = append(pairs, wecomapi.DeptUser{UserID: uid, DepartmentID: d})
		}
	}
	from, to, next := pageRange(len(pairs), start, in.Limit)
	answerOK(w, map[string]any{"dept_user": append([]wecomapi.DeptUser{}, pairs[from:to]...), "next_cursor": next})
}

func (s *Server) userGet(w http.ResponseWriter, r *http.Request) {
	u, found := s.users[r.URL.Query().Get("userid")]
	if !found {
		writeErrcode(w, wecomapi.CodeUserNotFound, "userid not found")
		return
	}
	b, _ := json.Marshal(u)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	answerOK(w, out)
}
