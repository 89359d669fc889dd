// Command chatbench is a load generator for Socket.IO servers. By default
// (-proto bench) it speaks the event protocol of cmd/sioe2eserver and
// cmd/benchserver: "join" (room, ack) joins a room, "to-room" (room,
// ...args) emits "room-msg" with args to every member of the room but the
// sender. With -proto chat it speaks the chat protocol of docs/protocol.md
// and measures cmd/chatd itself (see "The chat protocol" below).
//
// It has two modes for both protocols, and a third for the chat:
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
//   - -mode storm (-proto chat, with -server-cmd) connects -n clients, then
//     restarts the server and measures how fast they all come back; see
//     below.
//
// Every mode reports the server's CPU use (user+system time over wall
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
// # The chat protocol
//
// With -proto chat, chatbench first signs up -accounts accounts over HTTP
// (POST /signup with the form fields username and password; an account
// whose name is taken is logged in with POST /login instead), named
// -account-prefix and a number, and keeps their session cookies; this is
// not measured. Connection i then uses account i modulo -accounts (with
// -accounts 1, every connection is the same user). Each connection is the
// raw client: a WebSocket handshake (EIO=4, transport=websocket) carrying
// the Cookie header and no Origin (the server judges it by the session
// alone), the CONNECT of namespace -nsp (/user), then joinRoom(-room,
// "chat" by default) with an ack. The room defaults to "chat" and -senders
// to 10.
//
//   - -mode idle counts a connection once its joinRoom ack arrives, and
//     reports connections per second and the server's memory per
//     connection as for the benchmark protocol; it also reports the RSS
//     before the sign-ups, since password hashing leaves memory behind
//     that the server may reuse for connections.
//   - -mode fanout makes a room of -n members, the first -senders of them
//     the senders (members too, so each message reaches all -n). The
//     senders emit newMsg2Server({text}) with an ack at -rate messages per
//     second in total; the text starts with the send time, and every
//     member records the delivery latency of each comPeRoom. It reports
//     what the benchmark protocol does, plus the acks (with an id, with
//     an error, missing once the room is quiet) and the server's CPU time
//     per 1,000 deliveries. -polling M puts the last M members (never
//     senders) on HTTP long-polling instead of WebSocket: a lean client
//     with a handshake GET, one long-poll GET at a time, a POST per packet
//     sent, Engine.IO v4 payloads split at the record separator 0x1e, and
//     pongs for pings.
//   - -mode storm connects -n clients (each joined, its historyUpdate
//     received), then restarts the server: SIGTERM to the -server-cmd
//     process, a wait for its exit, and the same command again. Each
//     client starts reconnecting once the old server has exited, retrying
//     after a jittered -retry-delay, with -concurrency attempts in flight
//     at most; a client is back once it has reconnected, joined and
//     received its historyUpdate. It reports, from the moment the new
//     server printed "listening on", p50, p99 and the maximum of the time
//     until each client was back. For a restart to find the same data the
//     command names a database file; when it listens on port 0 the
//     clients follow the new address.
//
// chatd limits every user to 10 messages per second: start it with
// -msg-rate 0 for fan-out runs (and -log-level warn, so that it does not
// log every request). nodechat.js in this directory is the same subset of
// the chat protocol on socket.io 4.8.4 and better-sqlite3, for comparison:
//
//	go build -o bin/ ./cmd/chatd ./cmd/chatbench
//	taskset -c 1 bin/chatbench -proto chat -mode idle -n 10000 \
//		-server-cmd "taskset -c 0 bin/chatd -addr 127.0.0.1:0 -db bench.db -msg-rate 0 -log-level warn"
//	taskset -c 1 bin/chatbench -proto chat -mode idle -n 10000 \
//		-server-cmd "taskset -c 0 env NODE_PATH=e2e/node_modules node --expose-gc cmd/chatbench/nodechat.js 0 nodebench.db"
//
// Example, server and load on separate cores:
//
//	go build -o bin/ ./cmd/benchserver ./cmd/chatbench
//	taskset -c 1 bin/chatbench -mode fanout -n 1000 -rate 1000 \
//		-server-cmd "taskset -c 0 bin/benchserver"
//
// -json adds, after the text report, one line of JSON with the same
// figures in plain units (bytes, seconds, milliseconds, shares of a core)
// and the run's error, if any; -label names the line. cmd/benchreport
// runs chatbench this way and builds its tables from those lines.
//
// Every run is bounded: connections are opened within -connect-timeout,
// sending lasts -warmup plus -duration, and the wait for outstanding
// deliveries at most -drain. A server started with -server-cmd is stopped
// (SIGTERM, then SIGKILL after 5 seconds) when chatbench ends.
package main
