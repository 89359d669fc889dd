// Package socketio is a Socket.IO server (protocol v5, over Engine.IO v4)
// that the official JavaScript client (socket.io-client 4.x, in browsers and
// in Node) talks to unchanged.
//
// A Server is an http.Handler. Mount it at its path (by default
// "/socket.io/") in net/http, chi or any router:
//
//	io := socketio.NewServer(nil)
//	io.Use(func(s *socketio.Socket) error {
//		if s.Handshake().Headers["Cookie"] == nil {
//			return socketio.NewConnectError("unauthorized", nil)
//		}
//		return nil
//	})
//	io.OnConnection(func(s *socketio.Socket) {
//		s.Join("lobby")
//		s.On("chat", func(text string, ack socketio.Ack) {
//			s.To("lobby").Emit("chat", text) // everyone in the room but s
//			ack("ok")
//		})
//	})
//	http.Handle("/socket.io/", io)
//
// The guide docs/socketio.md of this module maps the Node.js server's API
// to this package call by call, and lists what is not supported.
//
// # Layers
//
// The package is built from smaller ones: engine (the Engine.IO server:
// transports, heartbeat, upgrade, outbound queues), parser (the Socket.IO
// packet codec; Options.Parser picks another wire form, such as
// parser/msgpackparser) and adapter (rooms and broadcast, swappable for a
// multi-node implementation). The official client bundles are served under
// the path unless Options.DisableClientFiles is set.
//
// # Concurrency
//
// Every exported method of Server, Namespace, Socket, BroadcastOperator and
// RemoteSocket is safe for concurrent use. Emitting never blocks on the
// network: packets are queued on each connection, and a connection whose
// client does not read is closed (ReasonSlowConsumer) rather than slowing
// anyone else.
//
// The callbacks of one socket (middlewares, connection handlers, event
// handlers, disconnecting and disconnect handlers) run one at a time, in the
// order the client's packets arrived, on a goroutine belonging to that
// socket; it exists only while the socket has work. Handlers of different
// sockets run in parallel. A handler may block (a database write, an
// EmitWithAck to the client): only its own socket waits, and when too many
// of its events are pending (Options.MaxPendingEvents) the server stops
// reading from that connection until the handler catches up.
//
// No lock of this package is held while writing to the network or while
// calling a user callback. Lock order, outermost first: Server, Namespace,
// Socket (its join lock), adapter.Memory, serverConn (the connection), Socket (its state lock);
// engine locks are innermost.
//
// # Broadcasts
//
// A broadcast (Namespace.Emit, Socket.To, BroadcastOperator.Emit) encodes
// its packet and its Engine.IO frames once, with the server's parser, and
// queues the same bytes to every recipient, so its cost in allocations does
// not grow with the number of recipients.
package socketio
