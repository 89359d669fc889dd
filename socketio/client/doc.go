// Package client is a Socket.IO client: protocol v5 over Engine.IO v4, the
// Go counterpart of the official JavaScript client (socket.io-client 4.x).
// It talks to any compliant server, the Node reference server and the
// socketio package of this module alike.
//
//	s, err := client.Dial(ctx, "http://localhost:3000/chat", &client.Options{
//		Auth: map[string]string{"token": token},
//	})
//	if err != nil {
//		return err // *client.ConnectError when the server refused the CONNECT
//	}
//	defer s.Close()
//	s.On("message", func(from, text string) { fmt.Println(from, text) })
//	reply, err := s.EmitWithAck(ctx, "send", "hello")
//
// # Managers and namespaces
//
// A Manager is one Engine.IO connection to a server; each namespace the
// application joins is a Socket of that Manager, and all of them share the
// connection (multiplexing). Connect and Dial take the namespace from the
// URL path and reuse the Manager of an earlier call for the same server and
// Options.Path, unless Options.ForceNew is set or that Manager already
// serves the namespace; Manager.Socket opens more namespaces explicitly.
//
// # Transports
//
// By default a connection opens over HTTP long-polling and upgrades to
// WebSocket when the server offers it: the client probes a WebSocket
// ("2probe"/"3probe"), pauses polling once the pending request has
// ended, sends the upgrade packet ("5") and carries on over WebSocket,
// losing and reordering nothing. Options.Transports restricts the
// transports (["websocket"] opens directly over WebSocket). Over polling
// there is at most one GET and one POST at a time; queued packets are
// batched in POST bodies no larger than the server's maxPayload, binary
// packets as "b" plus base64. Over WebSocket each packet is one frame and
// binary packets are raw binary frames.
//
// The client answers every server ping and considers the connection dead
// when no ping arrives within pingInterval+pingTimeout ("ping timeout").
//
// # Reconnection and buffering
//
// When a connection is lost ("ping timeout", "transport close", "transport
// error", "parse error"; the reasons are named as the official client
// names them: a WebSocket whose connection ends, cleanly or not, is a
// "transport close", a failed long-polling request a "transport error"),
// the Manager reconnects with exponential backoff (1s doubling up to 5s,
// ±50% jitter, unlimited attempts by default; NoRandomization and
// NoReconnectionAttempts say the official client's 0 for these; see
// Options and Backoff) and every active Socket sends its CONNECT again,
// with its auth payload computed afresh when AuthFunc is set. There is no
// reconnection after "io server disconnect", "io client disconnect" or a
// CONNECT refused by the server; Socket.Connect connects again.
//
// Events emitted while a Socket is not connected are buffered and sent in
// order when it connects, before its connect handlers run; volatile events
// (EmitVolatile) are dropped instead.
//
// # Events and acknowledgements
//
// Emit marshals arguments with encoding/json; []byte values travel as
// binary attachments. EmitWithAck waits for the server's acknowledgement
// under a context, and at most SocketOptions.AckTimeout when set. With
// SocketOptions.Retries, events go through a queue, one at a time, and are
// sent again until acknowledged (at-least-once delivery). Handlers registered with On receive the arguments
// decoded into their parameter types, or the raw Args; a last parameter of
// type Ack answers an event the server emitted with an acknowledgement
// callback. OnAny sees every event. The connect, connect_error and
// disconnect events have their own registration methods (OnConnect,
// OnConnectError, OnDisconnect) and are also accepted by On.
//
// # Concurrency
//
// Every exported method is safe for concurrent use. Each connection has one
// reader and one writer goroutine (plus one during an upgrade). The handlers
// of one Socket run one at a time, in the order of the packets, on a
// goroutine of that Socket that exists only while it has work, so a handler
// may block, emit, or wait in EmitWithAck without stalling the network.
// Manager.Close (and Socket.Close on the last active Socket of a Manager)
// waits for the network goroutines to end.
package client
