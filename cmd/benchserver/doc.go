// Command benchserver is the Socket.IO server that cmd/chatbench measures:
// the socketio package with the events of the benchmark and nothing else,
// over WebSocket and long-polling, on the main namespace:
//
//   - "join" (room, ack): joins the room, acks the number of rooms of the
//     socket;
//   - "to-room" (room, ...args): emits "room-msg" with args to the room,
//     the sender excluded.
//
// GET /stats answers {"runtime":"go","heapBytes":N,"stackBytes":N,"rss":N,
// "sockets":N,"goroutines":N}: the heap and goroutine stacks in use
// (runtime.MemStats.HeapInuse and StackInuse, after a garbage collection
// when the query has gc=1), the resident set size and the number of
// connected sockets. With -pprof ADDR the net/http/pprof
// handlers are served on that (loopback) address.
//
// Usage:
//
//	benchserver [-addr 127.0.0.1:0] [-pprof 127.0.0.1:6060]
//
// It prints "listening on http://HOST:PORT" once it listens, and stops on
// SIGINT or SIGTERM.
package main
