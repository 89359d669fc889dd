// Package pgadapter is a Socket.IO adapter for several servers sharing one
// PostgreSQL database: a broadcast on one server reaches the matching
// sockets of all of them, and FetchSockets, Sockets, AddSockets,
// DelSockets, DisconnectSockets, ServerSideEmit (with or without
// acknowledgements), BroadcastWithAck and ServerCount act on the whole
// cluster.
//
// It speaks the protocol of the reference Node.js adapter
// (@socket.io/postgres-adapter 0.5.x): same NOTIFY channels
// ("<prefix>#<nsp>"), same JSON payloads, same attachments table and its
// MessagePack rows, same heartbeats, so Go and Node.js servers can share
// one cluster. See wire.go for the message formats.
//
//	pool, _ := pgxpool.New(ctx, "postgres://...")
//	_ = pgadapter.CreateTable(ctx, pool, "")
//	srv := socketio.NewServer(&socketio.Options{
//		Adapter: pgadapter.New(pool, pgadapter.Options{}),
//	})
//
// # Connections
//
// Each Factory takes one connection out of the pool for as long as one of
// its adapters is open, and LISTENs on it to the channels of its
// namespaces; NOTIFY, the attachments and their cleanup use the pool. When
// the listening connection is lost the adapter takes another, after a
// pause growing up to 2 s, and LISTENs again: the notifications sent in
// between are lost, as with the reference.
//
// # Server count
//
// As in the reference, nodes know each other by their messages: a node
// counts the others it heard from within Options.HeartbeatTimeout, and
// sends a heartbeat when it has sent nothing for
// Options.HeartbeatInterval. FetchSockets and ServerSideEmitWithAck wait
// for an answer from each node counted when they start, or its leaving.
//
// Connection state recovery is not supported (EnableRecovery returns
// ErrRecovery), as in the reference.
//
// # Lock order
//
// cluster.mu and Adapter.mu are never held while calling PostgreSQL, the
// Emitter or application callbacks. Messages are handled on the listener's
// goroutine under Adapter.dmu (read), which Close takes to wait for them.
package pgadapter
