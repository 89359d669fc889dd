package socketio

import (
	"errors"

	"github.com/chatd/chatd/socketio/parser"
)

// Errors returned by the package.
var (
	// ErrReservedEvent: the event name is reserved by the protocol
	// (connect, connect_error, disconnect, disconnecting, newListener,
	// removeListener) and cannot be emitted.
	ErrReservedEvent = errors.New("socketio: reserved event name")
	// ErrDisconnected: the socket is no longer connected.
	ErrDisconnected = errors.New("socketio: socket has been disconnected")
	// ErrTimeout: the acknowledgement did not arrive in time (the
	// reference's "operation has timed out").
	ErrTimeout = errors.New("socketio: operation has timed out")
	// ErrServerClosed: the server has been closed.
	ErrServerClosed = errors.New("socketio: server closed")
)

// ConnectError refuses a namespace connection from a middleware. The client
// receives a CONNECT_ERROR packet with Message and, when not nil, Data (its
// connect_error event gets err.message and err.data). Any other error
// returned by a middleware is sent with its Error() text as the message.
type ConnectError struct {
	// Message is the error message the client receives (err.message).
	Message string
	// Data, when not nil, is marshaled to JSON and sent as err.data.
	Data any
}

// Error returns Message.
func (e *ConnectError) Error() string { return e.Message }

// NewConnectError returns a *ConnectError with the given message and data.
func NewConnectError(message string, data any) *ConnectError {
	return &ConnectError{Message: message, Data: data}
}

// IsReservedEvent reports whether name is reserved by the protocol and
// cannot be emitted (connect, connect_error, disconnect, disconnecting,
// newListener, removeListener).
func IsReservedEvent(name string) bool { return parser.IsReservedEvent(name) }
