package platform

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies a domain error; the RPC boundary turns each kind into one Connect code.
type Kind int

// The kinds of domain error.
const (
	KindInternal Kind = iota
	KindInvalid
	KindNotFound
	KindAlreadyExists
	KindPermissionDenied
	KindUnauthenticated
	KindFailedPrecondition
	KindResourceExhausted
)

// Error is a domain error: a kind, a message fit for a client, and the cause kept for the log.
type Error struct {
	Kind Kind
	// Field names the request field at fault, for KindInvalid.
	Field string
	// Msg is shown to the client; never SQL, tokens or personal data.
	Msg string
	// Cause is logged, never sent.
	Cause error
	// RetryAfter, when positive, says how long the client should wait before trying again (a lock after
	// failed sign-ins, a busy server); the RPC boundary sends it as a RetryInfo detail and a Retry-After header.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %v", e.Msg, e.Cause)
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Cause }

// NotFound says the named thing does not exist (or the caller may not know that it does).
func NotFound(what string) error { return &Error{Kind: KindNotFound, Msg: what + " not found"} }

// Invalid says a request field holds a value the business rules refuse.
func Invalid(field, msg string) error { return &Error{Kind: KindInvalid, Field: field, Msg: msg} }

// AlreadyExists says the thing being created clashes with an existing one.
func AlreadyExists(msg string) error { return &Error{Kind: KindAlreadyExists, Msg: msg} }

// PermissionDenied says the caller may not do this.
func PermissionDenied(msg string) error { return &Error{Kind: KindPermissionDenied, Msg: msg} }

// Unauthenticated says the caller's credentials are missing, invalid, expired or revoked.
func Unauthenticated(msg string) error { return &Error{Kind: KindUnauthenticated, Msg: msg} }

// FailedPrecondition says the system is not in a state that allows this (e.g. the seat limit is reached).
func FailedPrecondition(msg string) error { return &Error{Kind: KindFailedPrecondition, Msg: msg} }

// ResourceExhausted says a rate or size limit was hit.
func ResourceExhausted(msg string) error { return &Error{Kind: KindResourceExhausted, Msg: msg} }

// RetryLater says a limit was hit and when the client may try again.
func RetryLater(msg string, after time.Duration) error {
	return &Error{Kind: KindResourceExhausted, Msg: msg, RetryAfter: after}
}

// KindOf returns the kind of a domain error, or KindInternal for anything else.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}
