// Package redisadapter is a Socket.IO adapter for several servers sharing
// one Redis: a broadcast on one server reaches the matching sockets of all
// of them, and FetchSockets, Sockets, AddSockets, DelSockets,
// DisconnectSockets and ServerCount act on the whole cluster.
//
// It speaks the protocol of the reference Node.js adapter
// (@socket.io/redis-adapter 8.x): same channels, same MessagePack and JSON
// messages, same request numbers, so Go and Node.js servers can share
// rooms, broadcasts and fetch-sockets on one Redis. See wire.go for the
// message formats.
//
// Each Adapter embeds an *adapter.Memory holding the rooms of the local
// sockets, and reaches the other nodes through a PubSub: Redis (NewRedis,
// NewRedisPubSub) or, for several servers in one process, a MemoryBroker.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	srv := socketio.NewServer(&socketio.Options{
//		Adapter: redisadapter.NewRedis(rdb, redisadapter.Options{}),
//	})
//
// The adapter of a namespace is then ns.Adapter().(*redisadapter.Adapter),
// whose extra methods (AllRooms, UID, Ready) go beyond adapter.Adapter.
//
// # The adapter contract
//
// Adapter implements adapter.Adapter by embedding the *adapter.Memory that
// keeps the local rooms: the room methods, the local part of every
// operation and the local delivery are Memory's; Adapter overrides only
// what crosses nodes (Broadcast, BroadcastWithAck, Sockets, FetchSockets,
// AddSockets, DelSockets, DisconnectSockets, ServerCount, ServerSideEmit,
// ServerSideEmitWithAck, Close) and EnableRecovery, which refuses:
// connection state recovery does not work across nodes yet. It reaches the
// namespace only through adapter.Emitter: packets from other nodes are
// delivered with Deliver or DeliverWithAck, their server-side events go to
// ReceiveServerSideEmit.
//
// # Failures
//
// Local delivery never depends on Redis. Broadcast delivers to the local
// sockets first and then publishes; a publish failure is logged and not
// returned. Operations that need the other nodes' answers (FetchSockets,
// Sockets, AllRooms, ServerSideEmitWithAck) return what they gathered, at
// least the local part, with an error: the Redis error, or one wrapping
// ErrTimeout when some node did not answer within
// Options.RequestsTimeout. AddSockets, DelSockets and DisconnectSockets
// apply to the local sockets at once and return a publish failure.
//
// Subscriptions survive Redis restarts: the go-redis connection is
// re-established, and the subscriptions renewed, as soon as Redis answers
// again; messages published meanwhile are lost, as with any Redis pub/sub.
//
// # Lock order
//
// Adapter.mu guards the pending requests only; it is never held while
// calling the PubSub, the Emitter or application callbacks.
package redisadapter
