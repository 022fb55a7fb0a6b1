package wechat

import (
	"errors"
	"fmt"
	"strings"

	"github.com/salesapp/scrm/backend/platform"
)

// WeChat errcodes this package gives a meaning to. Any other errcode surfaces as an *APIError.
const (
	// CodeSystemBusy asks the caller to try again later; the client retries it a bounded number of times.
	CodeSystemBusy = -1
	// CodeInvalidCredential says the access_token (or, on the token endpoint, the appsecret) is invalid,
	// typically because another fetch of the token replaced ours.
	CodeInvalidCredential = 40001
	// CodeInvalidAppID says the appid is unknown to WeChat.
	CodeInvalidAppID = 40013
	// CodeInvalidAccessToken says the access_token is malformed or unknown.
	CodeInvalidAccessToken = 40014
	// CodeInvalidCode says a wx.login or getPhoneNumber code is unknown or expired.
	CodeInvalidCode = 40029
	// CodeInvalidAppSecret says the appsecret does not match the appid.
	CodeInvalidAppSecret = 40125
	// CodeCodeUsed says the code was already exchanged once; codes are single-use.
	CodeCodeUsed = 40163
	// CodeIPNotAllowed says the calling IP is not on the mini-program's API allow-list.
	CodeIPNotAllowed = 40164
	// CodeHighRiskUser says WeChat's risk control blocked this user.
	CodeHighRiskUser = 40226
	// CodeAccessTokenExpired says the access_token is past its lifetime.
	CodeAccessTokenExpired = 42001
	// CodeRateLimited says an API quota was reached (per minute or per user).
	CodeRateLimited = 45011
)

// APIError is an errcode WeChat answered. Its text is ours, never WeChat's errmsg: errmsg may echo what we
// sent (codes, tokens), so it is dropped and only the request id WeChat puts in it is kept, which WeChat
// support asks for and which identifies nothing about the user.
type APIError struct {
	// API names the endpoint that answered, e.g. "jscode2session".
	API string
	// Code is WeChat's errcode.
	Code int
	// Msg is our own description of Code.
	Msg string
	// RID is WeChat's request id taken from errmsg, empty when there was none.
	RID string
}

// Error names the API, the errcode and our description of it, and the request id: nothing the request carried.
func (e *APIError) Error() string {
	s := fmt.Sprintf("wechat %s: errcode %d", e.API, e.Code)
	if e.Msg != "" {
		s += " (" + e.Msg + ")"
	}
	if e.RID != "" {
		s += " rid " + e.RID
	}
	return s
}

// ErrWatermarkMismatch says WeChat returned a phone number whose watermark names another mini-program. The
// number is refused: a number minted for another app must never be attributed to a customer of ours.
var ErrWatermarkMismatch = errors.New("wechat getuserphonenumber: watermark appid is not ours")

// IsInvalidCode reports whether err says a login or phone code was invalid, expired or already used.
func IsInvalidCode(err error) bool {
	return HasCode(err, CodeInvalidCode) || HasCode(err, CodeCodeUsed)
}

// IsTokenInvalid reports whether err says the access_token was refused (invalid, unknown or expired).
func IsTokenInvalid(err error) bool {
	return HasCode(err, CodeInvalidCredential) || HasCode(err, CodeInvalidAccessToken) ||
		HasCode(err, CodeAccessTokenExpired)
}

// HasCode reports whether err carries an *APIError with the given errcode.
func HasCode(err error, code int) bool {
	var e *APIError
	return errors.As(err, &e) && e.Code == code
}

// describe gives our own text for the errcodes we know, so logs read well without WeChat's errmsg.
func describe(code int) string {
	switch code {
	case CodeSystemBusy:
		return "system busy"
	case CodeInvalidCredential:
		return "invalid credential"
	case CodeInvalidAppID:
		return "invalid appid"
	case CodeInvalidAccessToken:
		return "invalid access_token"
	case CodeInvalidCode:
		return "invalid code"
	case CodeInvalidAppSecret:
		return "invalid appsecret"
	case CodeCodeUsed:
		return "code already used"
	case CodeIPNotAllowed:
		return "caller IP not on the allow-list"
	case CodeHighRiskUser:
		return "high-risk user blocked"
	case CodeAccessTokenExpired:
		return "access_token expired"
	case CodeRateLimited:
		return "rate limited"
	}
	return ""
}

func newAPIError(api string, code int, errmsg string) *APIError {
	return &APIError{API: api, Code: code, Msg: describe(code), RID: requestID(errmsg)}
}

// requestID finds WeChat's request id in an errmsg ("invalid code, rid: 6412ab-1c2d3e4f-5a6b7c8d") and keeps
// it only if it looks like one, so nothing else from errmsg can ride along.
func requestID(errmsg string) string {
	i := strings.Index(errmsg, "rid:")
	if i < 0 {
		return ""
	}
	rid := strings.TrimLeft(errmsg[i+len("rid:"):], " ")
	end := strings.IndexFunc(rid, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-')
	})
	if end >= 0 {
		rid = rid[:end]
	}
	if len(rid) > 64 {
		return ""
	}
	return rid
}

// Client-facing messages. They name no value from the request.
const (
	msgLoginCodeInvalid = "the WeChat login code is invalid or was already used: log in again"
	msgPhoneCodeInvalid = "the WeChat phone number code is invalid or was already used: tap the button again"
	msgHighRisk         = "WeChat has flagged this WeChat account as high-risk and blocked it: the customer must resolve it with WeChat"
	msgRateLimited      = "WeChat is limiting how often we may call it: try again in a minute"
	msgWatermark        = "the phone number was issued for another mini-program and is refused"
)

// domainError turns an *APIError into the domain error its errcode means for the operation, keeping the
// *APIError as the cause so errors.As still finds it. A refused code (40029, 40163) means something different
// to each operation, so the caller says which kind and message it gets (KindInternal: no meaning, as on the
// token endpoint, which takes no code). Codes with no meaning for the caller stay a bare *APIError, which the
// boundary reports as Internal.
func domainError(e *APIError, codeKind platform.Kind, codeMsg string) error {
	switch e.Code {
	case CodeInvalidCode, CodeCodeUsed:
		if codeKind != platform.KindInternal {
			return &platform.Error{Kind: codeKind, Msg: codeMsg, Cause: e}
		}
	case CodeHighRiskUser:
		return &platform.Error{Kind: platform.KindPermissionDenied, Msg: msgHighRisk, Cause: e}
	case CodeRateLimited:
		return &platform.Error{Kind: platform.KindResourceExhausted, Msg: msgRateLimited, Cause: e}
	}
	return e
}
