package wecomapi

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/salesapp/scrm/backend/platform"
)

// WeCom errcodes this package gives a meaning to. Any other errcode is an *Error with no platform kind
// (Internal at the boundary).
const (
	// CodeSystemBusy asks the caller to try again shortly; idempotent calls are retried a bounded number of times.
	CodeSystemBusy = -1
	// CodeInvalidCredential is, on gettoken, a wrong secret; on any other API, an access token WeCom no
	// longer accepts.
	CodeInvalidCredential = 40001
	// CodeInvalidCorpID says the corp id is unknown to WeCom.
	CodeInvalidCorpID = 40013
	// CodeInvalidAccessToken says the access token is malformed or unknown.
	CodeInvalidAccessToken = 40014
	// CodeInvalidCode says a sign-in code is unknown, expired or already used.
	CodeInvalidCode = 40029
	// CodeInvalidSecret says the secret does not match the corp id.
	CodeInvalidSecret = 40091
	// CodeAlreadySent says the welcome code was used already (or the customer has started chatting): the
	// welcome message is not sent again, which is not a failure.
	CodeAlreadySent = 41051
	// CodeAccessTokenExpired says the access token is past its lifetime.
	CodeAccessTokenExpired = 42001
	// CodeFreqLimit says an API's call frequency limit was reached.
	CodeFreqLimit = 45009
	// CodeConcurrencyLimit says too many calls of the API are under way at once.
	CodeConcurrencyLimit = 45033
	// CodeAPIUnauthorized says the app has not been granted this API.
	CodeAPIUnauthorized = 48001
	// CodeAPIForbidden says the secret's app may not call this API (for customer-contact APIs: the app lacks
	// the 客户联系 permission).
	CodeAPIForbidden = 48002
	// CodeNoPrivilege says the member, department or customer is outside what the app may see or change.
	CodeNoPrivilege = 60011
	// CodeIPNotAllowed says the calling IP is not on the app's trusted IP list.
	CodeIPNotAllowed = 60020
	// CodeUserNotFound says the userid is not a member of the corp.
	CodeUserNotFound = 60111
	// CodeNotExternalContact says the customer is not (or no longer) an external contact of the member.
	CodeNotExternalContact = 84061
	// CodeInvalidTagID says a corp tag (or tag group) id is not in the library (deleted since it was read).
	CodeInvalidTagID = 40068
	// CodeTagNameExists says the tag group has a tag of that name already.
	CodeTagNameExists = 40071
)

// Error is an errcode WeCom answered. Its message is ours, never WeCom's errmsg, which may echo what we sent;
// only the two parts of errmsg that help support and identify nobody are kept: WeCom's request id (hint) and
// the IP WeCom saw us call from (which the admin must add to the trusted IPs on 60020).
type Error struct {
	// API names the endpoint, e.g. "externalcontact/get".
	API string
	// Code is WeCom's errcode.
	Code int
	// Msg is our description of Code.
	Msg string
	// Hint is WeCom's request id from errmsg ("hint: [...]"), empty when there was none.
	Hint string
	// FromIP is the caller IP WeCom reported in errmsg, empty when there was none.
	FromIP string
}

// Error names the API, the errcode, our description and the hint: nothing the request carried.
func (e *Error) Error() string {
	s := fmt.Sprintf("wecom %s: errcode %d", e.API, e.Code)
	if e.Msg != "" {
		s += " (" + e.Msg + ")"
	}
	if e.Hint != "" {
		s += " hint " + e.Hint
	}
	return s
}

// HasCode reports whether err carries an *Error with errcode code.
func HasCode(err error, code int) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// IsAlreadySent reports whether err says a welcome message was not sent because its code was used (41051):
// a retried job treats it as done.
func IsAlreadySent(err error) bool { return HasCode(err, CodeAlreadySent) }

// IsTokenInvalid reports whether err says WeCom refused the access token.
func IsTokenInvalid(err error) bool {
	return HasCode(err, CodeInvalidAccessToken) || HasCode(err, CodeAccessTokenExpired) ||
		HasCode(err, CodeInvalidCredential)
}

// IsRateLimited reports whether err says WeCom limits how often or how much we call it (45009, 45033).
func IsRateLimited(err error) bool {
	return HasCode(err, CodeFreqLimit) || HasCode(err, CodeConcurrencyLimit)
}

// IsPermission reports whether err says the app is not allowed: the API, the member, or our IP. Such
// errors are never retried; an admin must change the app's settings.
func IsPermission(err error) bool {
	var e *Error
	return errors.As(err, &e) && permissionCode(e.Code)
}

func permissionCode(code int) bool {
	switch code {
	case CodeAPIUnauthorized, CodeAPIForbidden, CodeNoPrivilege, CodeIPNotAllowed:
		return true
	}
	return false
}

// describe is our own text for the errcodes we know.
func describe(code int) string {
	switch code {
	case CodeSystemBusy:
		return "system busy"
	case CodeInvalidCredential:
		return "invalid credential"
	case CodeInvalidCorpID:
		return "invalid corpid"
	case CodeInvalidAccessToken:
		return "invalid access_token"
	case CodeInvalidCode:
		return "invalid code"
	case CodeInvalidSecret:
		return "invalid secret"
	case CodeAlreadySent:
		return "welcome message already sent"
	case CodeAccessTokenExpired:
		return "access_token expired"
	case CodeFreqLimit:
		return "api frequency limit"
	case CodeConcurrencyLimit:
		return "api concurrency limit"
	case CodeAPIUnauthorized:
		return "api unauthorized"
	case CodeAPIForbidden:
		return "api forbidden"
	case CodeNoPrivilege:
		return "no privilege to access this member, department or customer"
	case CodeIPNotAllowed:
		return "caller IP not trusted"
	case CodeUserNotFound:
		return "userid not found"
	case CodeNotExternalContact:
		return "not an external contact of the member"
	}
	return ""
}

var (
	hintRE = regexp.MustCompile(`hint: \[([0-9A-Za-z_\-@]{1,64})\]`)
	ipRE   = regexp.MustCompile(`from ip: ([0-9a-fA-F.:]{3,45})`)
)

func newError(api string, code int, errmsg string) *Error {
	e := &Error{API: api, Code: code, Msg: describe(code)}
	if m := hintRE.FindStringSubmatch(errmsg); m != nil {
		e.Hint = m[1]
	}
	if m := ipRE.FindStringSubmatch(errmsg); m != nil {
		e.FromIP = m[1]
	}
	return e
}

// Retry pauses said with ResourceExhausted: WeCom's frequency limits count per minute, its concurrency
// limits clear in seconds.
const (
	freqRetryAfter        = time.Minute
	concurrencyRetryAfter = 5 * time.Second
)

// Platform is the domain error e means, with e as its cause, or nil when the errcode has no meaning beyond
// "WeCom failed" (Internal at the boundary). Messages say what an admin or the caller can do and name no
// value from the request.
func (e *Error) Platform() *platform.Error {
	pe := func(k platform.Kind, msg string) *platform.Error { return &platform.Error{Kind: k, Msg: msg, Cause: e} }
	customerContact := strings.HasPrefix(e.API, "externalcontact/")
	switch e.Code {
	case CodeInvalidCorpID:
		return pe(platform.KindFailedPrecondition, "WeCom does not know this corp ID: copy it again from 我的企业 → 企业信息 → 企业ID")
	case CodeInvalidSecret:
		return pe(platform.KindFailedPrecondition, "WeCom refused the secret for this corp ID: copy the secret again from the app's page (应用管理) or from 客户联系 → API")
	case CodeInvalidCredential:
		if e.API == apiGetToken {
			return pe(platform.KindFailedPrecondition, "WeCom refused the secret for this corp ID: copy the secret again from the app's page (应用管理) or from 客户联系 → API")
		}
	case CodeInvalidCode:
		return pe(platform.KindUnauthenticated, "the WeCom sign-in code is invalid or was already used: sign in with WeCom again")
	case CodeFreqLimit:
		return &platform.Error{Kind: platform.KindResourceExhausted, Msg: "WeCom is limiting how often we may call it: try again in a minute",
			Cause: e, RetryAfter: freqRetryAfter}
	case CodeConcurrencyLimit:
		return &platform.Error{Kind: platform.KindResourceExhausted, Msg: "WeCom is limiting how many calls we make at once: try again in a few seconds",
			Cause: e, RetryAfter: concurrencyRetryAfter}
	case CodeAPIUnauthorized, CodeAPIForbidden:
		if customerContact {
			return pe(platform.KindPermissionDenied, "WeCom refused: grant the app the 客户联系 (customer contact) permission — 客户联系 → API → 可调用接口的应用 — and use the customer-contact secret")
		}
		return pe(platform.KindPermissionDenied, "WeCom refused: the app is not allowed to call this API; grant it in the WeCom admin console (应用管理 → the app → API permissions)")
	case CodeNoPrivilege:
		if customerContact {
			return pe(platform.KindPermissionDenied, "WeCom refused: the member is outside the 客户联系 permission's range; grant the 客户联系 permission to this member (客户联系 → 权限配置) and add them to the app's visible range")
		}
		return pe(platform.KindPermissionDenied, "WeCom refused: the member or department is outside the app's visible range (应用管理 → the app → 可见范围); add it there")
	case CodeIPNotAllowed:
		msg := "WeCom refused the call from this server's IP: add it to the app's trusted IPs (应用管理 → the app → 企业可信IP)"
		if e.FromIP != "" {
			msg = "WeCom refused the call from this server's IP " + e.FromIP + ": add it to the app's trusted IPs (应用管理 → the app → 企业可信IP)"
		}
		return pe(platform.KindPermissionDenied, msg)
	case CodeUserNotFound:
		return pe(platform.KindNotFound, "the member is not in the WeCom corp")
	case CodeNotExternalContact:
		return pe(platform.KindNotFound, "the customer is not an external contact of that member in WeCom")
	}
	return nil
}

// Translate gives err its domain meaning: an *Error whose errcode means something becomes that
// *platform.Error (errors.As still finds the *Error); anything else is returned as it is. The client's
// methods already return translated errors.
func Translate(err error) error {
	var e *Error
	if errors.As(err, &e) {
		if pe := e.Platform(); pe != nil {
			return pe
		}
	}
	return err
}
