// Command chatbench is a load generator for Socket.IO servers that speak
// the event protocol of cmd/siotestserver and cmd/benchserver: "join"
// (room, ack) joins a room, "to-room" (room, ...args) emits "room-msg" with
// args to every member of the room but the sender.
//
// It has two modes:
//
//   - -mode idle opens -n WebSocket connections that each join one room
//     and stay idle. It reports connections per second while connecting
//     (each connection counts once its join is acknowledged), then the
//     growth of the server's resident memory (and of its heap, when the
//     server answers GET /stats) divided by the number of connections.
//   - -mode fanout opens -n members of one room plus -senders separate
//     connections that are not members, and has the senders emit
//     "to-room" at -rate messages per second in total for -warmup plus
//     -duration. Each message carries its send time; members record the
//     delivery latency of every message sent after the warm-up. It
//     reports latency percentiles, deliveries per second, and messages
//     lost (deliveries expected minus deliveries seen once the room has
//     gone quiet).
//
// Both modes report the server's CPU use (user+system time over wall
// time, 1.0 being one core) and resident memory from /proc/PID/stat and
// /proc/PID/status, for the process given by -server-pid or started with
// -server-cmd, and the load generator's own CPU use (a load generator
// near 1.0 on its core is the limit of the measurement, not the server).
//
// The load uses either the module's Go client (-client go: socketio/client
// over WebSocket, one Manager per connection) or a lean built-in client
// (-client raw, the default: a hand-rolled WebSocket with one goroutine and
// a 2 KB read buffer per connection, frames parsed in place), which costs
// the load side far less CPU and memory so that one core can drive the
// server harder. Both send and receive the same frames. -cpuprofile FILE
// writes the load generator's own CPU profile, to see what limits it.
//
// Example, server and load on separate cores:
//
//	go build -o bin/ ./cmd/benchserver ./cmd/chatbench
//	taskset -c 1 bin/chatbench -mode fanout -n 1000 -rate 1000 \
//		-server-cmd "taskset -c 0 bin/benchserver"
//
// Every run is bounded: connections are opened within -connect-timeout,
// sending lasts -warmup plus -duration, and the wait for outstanding
// deliveries at most -drain. A server started with -server-cmd is stopped
// (SIGTERM, then SIGKILL after 5 seconds) when chatbench ends.
package main
