package client

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/gorilla/websocket"
)

// TestErrorReason: how a transport failure is named, read or write side.
func TestErrorReason(t *testing.T) {
	ws, poll := &wsTransport{}, &pollTransport{}
	opErr := func(op string, err error) error { return &net.OpError{Op: op, Net: "tcp", Err: err} }
	tests := []struct {
		tr   transport
		err  error
		want string
	}{
		{ws, opErr("read", syscall.ECONNRESET), ReasonTransportClose},
		{ws, opErr("write", syscall.EPIPE), ReasonTransportClose},
		{ws, fmt.Errorf("wrapped: %w", syscall.ECONNRESET), ReasonTransportClose},
		{ws, io.EOF, ReasonTransportClose},
		{ws, io.ErrUnexpectedEOF, ReasonTransportClose},
		{ws, net.ErrClosed, ReasonTransportClose},
		{ws, &websocket.CloseError{Code: websocket.CloseAbnormalClosure}, ReasonTransportClose},
		{ws, &websocket.CloseError{Code: websocket.CloseNormalClosure}, ReasonTransportClose},
		{ws, errors.New("websocket: unknown opcode 3"), ReasonTransportError},
		{ws, websocket.ErrReadLimit, ReasonTransportError},
		{ws, fmt.Errorf("%w: base64 packet on WebSocket", errBadPacket), ReasonParseError},
		{poll, opErr("read", syscall.ECONNRESET), ReasonTransportError},
		{poll, io.EOF, ReasonTransportError},
		{poll, errors.New("polling GET: HTTP 400"), ReasonTransportError},
		{poll, fmt.Errorf("%w: bad payload", errBadPacket), ReasonParseError},
	}
	for _, tt := range tests {
		if got := errorReason(tt.tr, tt.err); got != tt.want {
			t.Errorf("%s: errorReason(%v) = %q, want %q", tt.tr.name(), tt.err, got, tt.want)
		}
	}
}
