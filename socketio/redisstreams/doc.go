// Package redisstreams is a Socket.IO adapter for several servers sharing
// one Redis through a Redis stream: a broadcast on one server reaches the
// matching sockets of all of them, FetchSockets, Sockets, AddSockets,
// DelSockets, DisconnectSockets, ServerSideEmit and ServerCount act on the
// whole cluster, and connection state recovery works across servers: a
// client that comes back to any of them gets its session and the packets
// it missed.
//
// It speaks the protocol of the reference Node.js adapter
// (@socket.io/redis-streams-adapter 0.3.x): same stream and its entry
// fields, same channels, same message types, same MessagePack and JSON
// encodings, same session keys, so Go and Node.js servers can share one
// cluster. See wire.go for the message formats and recovery.go for the
// sessions.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	srv := socketio.NewServer(&socketio.Options{
//		Adapter: redisstreams.New(rdb, redisstreams.Options{}),
//		ConnectionStateRecovery: &socketio.RecoveryOptions{
//			MaxDisconnectionDuration: 2 * time.Minute,
//		},
//	})
//
// # What goes where
//
// Broadcasts without acknowledgement, AddSockets, DelSockets and
// DisconnectSockets are appended to the stream (XADD MAXLEN ~ MaxLen) and
// read by every node with XREAD BLOCK: one reader per stream and Factory,
// which keeps the id of the last entry it handled and, after a Redis
// outage or a lost connection, reads on from it, so that every entry still
// in the stream is handled once and in order. Requests that wait for
// answers (FetchSockets, ServerSideEmitWithAck, BroadcastWithAck) and their
// answers go over Redis pub/sub, as in the reference: they are not kept.
// ServerCount is the number of subscribers of the namespace's channel.
//
// The XADDs of concurrent callers share round trips: one goes at once, and
// those that arrive while it is on its way go together in one pipeline
// (up to 128), in the order they arrived. A wave of joins with connection
// state recovery on, where every socket's first packets are broadcasts to
// its own room, then costs a round trip per batch. The reader wakes the
// broadcasts waiting for their entries once per XREAD answer.
//
// A broadcast's entry is written straight from the packet's JSON text (a
// packet with binary attachments goes as base64 MessagePack, as in the
// reference). The reader delivers the node's own broadcasts from memory,
// without decoding their entries, and reads only the opts of another
// node's broadcast first: its packet is decoded only when a socket of
// this node is selected.
//
// # The adapter contract
//
// Adapter implements adapter.Adapter by embedding the *adapter.Memory that
// keeps the local rooms; it overrides what crosses nodes, and implements
// the recovery methods (EnableRecovery, StorePacket, PersistSession,
// RestoreSession, ResumeSession) on Redis: from RestoreSession to
// ResumeSession the reader leaves the restored socket out, then the socket
// gets the entries the reader handled in between, read back with XRANGE. Without recovery, Broadcast delivers to the
// local sockets first, then appends to the stream. With recovery, the
// local sockets receive the node's own broadcasts from the stream reader,
// like those of the other nodes, so that every socket of the cluster sees
// the broadcasts in the stream's order and the entry id is a faithful
// offset; Broadcast then returns once its packet was delivered here.
//
// # Failures
//
// Local delivery never depends on Redis: a broadcast that cannot be added
// to the stream, or, with recovery, that the stream reader cannot read back
// because Redis has been unreachable since the adapter started, is
// delivered to the local sockets directly (without offset) and the failure
// is logged. The reader retries, with a growing pause, until Redis answers
// again, then reads on from the last entry it handled. Operations that need the answers of other nodes
// return what they gathered, at least the local part, with an error: the
// Redis error, or one wrapping ErrTimeout.
//
// # Lock order
//
// Adapter.mu guards the pending requests and the recovery state; it is
// never held while calling Redis, the Emitter or application callbacks.
// Messages are handled under Adapter.dmu (read), which Close takes to wait
// for them.
package redisstreams
