package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/chatd/chatd/socketio/client"
)

// goConn is a connection of the module's Socket.IO client
// (socketio/client) over WebSocket only, one Manager per connection.
type goConn struct {
	s *client.Socket
}

// dialGo connects a socketio/client Socket to the main namespace of the
// server at base over WebSocket and joins room. onMsg sees the JSON text of
// the first argument of every "room-msg" event.
func dialGo(ctx context.Context, base *url.URL, room string, onMsg func(payload []byte)) (*goConn, error) {
	s, err := client.Dial(ctx, base.String(), &client.Options{
		Transports:          []string{client.TransportWebSocket},
		ForceNew:            true,
		DisableReconnection: true,
	})
	if err != nil {
		return nil, err
	}
	if onMsg != nil {
		s.On("room-msg", func(args client.Args) {
			onMsg(args.Raw(0))
		})
	}
	if room != "" {
		if _, err := s.EmitWithAck(ctx, "join", room); err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("join: %w", err)
		}
	}
	return &goConn{s: s}, nil
}

// Emit sends "to-room" with room and a JSON argument.
func (c *goConn) Emit(room string, arg []byte) error {
	return c.s.Emit("to-room", room, json.RawMessage(arg))
}

// Close closes the Socket and its Manager.
func (c *goConn) Close() error { return c.s.Close() }
