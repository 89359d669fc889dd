package chat

import (
	"errors"
	"fmt"
)

// Error codes of the application. They are stable strings: clients see them
// as connect_error messages ("unauthorized", "forbidden") and they map to
// HTTP statuses in package web.
const (
	EINVALID      = "invalid"      // the input breaks a rule (text, name, room)
	ENOTFOUND     = "not_found"    // the thing does not exist
	ECONFLICT     = "conflict"     // the thing already exists (a taken username)
	EUNAUTHORIZED = "unauthorized" // no valid session, or bad credentials
	EFORBIDDEN    = "forbidden"    // signed in, but the role does not allow it
	ERATELIMITED  = "rate_limited" // too many requests; try again later
	EUNAVAILABLE  = "unavailable"  // the server is shutting down; try again (elsewhere)
	EINTERNAL     = "internal"     // a fault of the server; details are logged, not shown
)

// Error is an application error: a code from the list above and a message
// that is safe to show to the client.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("chat error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err: the Code of the first *Error in its
// chain, "" for a nil error, and EINTERNAL for any other error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-visible message of err: the Message of
// the first *Error in its chain, "" for a nil error, and "internal error"
// for any other error (whose text may hold details that must not leak).
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
