// Package engine implements an Engine.IO protocol v4 server over net/http,
// and, with Options.AllowEIO3, protocol v3 for older clients (their
// length-prefixed polling payloads, binary payloads, and a heartbeat in
// which the client pings; Session.Protocol tells them apart).
// It knows nothing of Socket.IO: the layer above sees sessions through the
// Handler interface and the Conn it returns for each session.
//
// # Transports
//
// A Server serves HTTP long-polling (GET waits for packets, POST delivers
// them; packets joined by U+001E, binary as 'b' + base64), JSONP polling
// (the j query parameter; responses ___eio[j]("..."); and POST bodies
// form-encoded as d=...), and WebSocket (one packet per frame, binary
// messages as binary frames without a type byte). A polling session can
// upgrade to WebSocket: the client probes with "2probe", the server answers
// "3probe" and ends pending polls with a noop "6" (after 50ms, so that an
// upgrade packet already on its way wins), the client sends "5", and
// packets queued meanwhile go out on the WebSocket in order.
//
// Errors follow the reference server: HTTP 400 (403 for Forbidden) with
// {"code":N,"message":"..."}, codes 0 to 5 (the Error* constants); 413 for
// a POST over MaxPayload; close code 1009 for a WebSocket message over it.
//
// A WebSocket carrying the sid of a session that is already upgrading or
// upgraded completes its handshake and is then closed (an empty close
// frame), as with the reference server; the session is not affected.
//
// # Sessions
//
// Every session has one outbound queue of *Frame values, bounded by
// MaxQueuedBytes. Session.Send and Session.SendFrame never block: they
// append to the queue and wake the transport. A session whose queue would
// exceed the bound is closed with ReasonSlowConsumer on another goroutine
// (its connection is dropped at once). A broadcast builds one Frame with
// NewFrame and hands the same value to every session: the WebSocket payload
// is built once, and the polling form of a binary message is built on first
// use and shared.
//
// The server sends a ping every PingInterval after the open packet and
// after each pong, and closes the session with ReasonPingTimeout when no
// pong arrives within PingTimeout. Each session uses one time.AfterFunc
// timer for this, never a goroutine.
//
// # WebSocket
//
// The server's WebSocket framing (RFC 6455) is the engine's own, on the
// hijacked connection, rather than a WebSocket library's: a library
// connection is read by a blocking call and written one message per call,
// so every connection, idle or not, holds a reader goroutine with its stack
// and buffers, and a broadcast costs one system call per message. The
// engine's reads are driven by readiness (no goroutine and no buffer while
// a connection is idle) and its writes are coalesced (everything queued for
// a connection goes out in one writev), which is what lets one process hold
// many mostly idle connections cheaply. gorilla/websocket remains where a
// goroutine per connection is the natural shape: the Go client
// (socketio/client).
//
// The engine handles the opening handshake (version 13 and a 16-byte key
// required; its 101 response goes out together with the open packet, in one
// system call), masked client frames, fragmented messages, ping, pong and
// close. It fails the connection with close code 1002 on a protocol error
// (reserved bits or opcodes, an unmasked or malformed frame, a fragmented or
// oversized control frame, a bad close code), 1007 on a text message or
// close reason that is not valid UTF-8, and 1009 on a message over
// MaxPayload (checked on each frame header, so a large frame is refused
// before its payload arrives). After its close frame the server half-closes
// the connection and drops what the peer still sends until the peer closes
// its side, for at most two seconds, so that the peer reads the close frame
// rather than a reset.
//
// With Options.PerMessageDeflate the engine negotiates permessage-deflate
// (RFC 7692) with clients that offer it. It never uses context takeover
// for its own messages, so a Frame is compressed once, by the first writer
// that sends it, and its compressed payload is shared like the rest of the
// Frame; it asks clients for client_no_context_takeover unless told
// otherwise, and inflates their messages (RSV1 on the first frame of a
// message; RSV1 on a continuation or control frame is a protocol error)
// with pooled decompressors, within MaxPayload once inflated (1009
// beyond, 1007 on corrupt data). Compressors and decompressors are pooled,
// so an idle connection holds neither. Frames made by NewUncompressedFrame
// are never compressed.
//
// # Listeners
//
// Besides the server-wide Observer, each Session takes listeners of its
// own (OnPacket, OnPacketCreate, OnFlush, OnDrain, OnHeartbeat,
// OnUpgrading, OnUpgrade, OnClose: the reference socket's events), and
// Server.OnConnection is told of every new session. A session without
// listeners pays one atomic load per event.
//
// # Goroutines and locks
//
// How the engine keeps an idle connection free of goroutines and buffers:
//
//   - Reading. On Linux every WebSocket is registered, one-shot, with a
//     process-wide epoll instance that the Go runtime's network poller
//     watches like any descriptor (so no thread blocks in epoll_wait). When
//     a connection has data, a worker reads what has arrived without
//     waiting, into a pooled 8 KiB buffer, handles the complete frames,
//     keeps only the bytes of an incomplete frame, and re-arms the
//     connection. The poller's goroutine runs only while connections are
//     registered. Elsewhere, and for connections that are not plain TCP
//     (TLS served by the http.Server itself), one goroutine per connection
//     reads, with an idle deadline of a heartbeat round.
//   - Writing. A writer runs only when something is queued: it takes
//     everything queued for the connection (control frames, then Engine.IO
//     packets) and writes all of it, one WebSocket frame per Engine.IO
//     packet, with a single writev under a write deadline of WriteTimeout,
//     then yields the processor once and exits if nothing more came. Its
//     vector and frame headers come from a pool; a writer going idle
//     returns its queue arrays to a pool.
//   - Readers, writers and the Socket.IO layer's handlers run on pooled
//     worker goroutines (socketio/internal/workers) that keep their grown
//     stacks between tasks and exit after half a second without one.
//
// An idle WebSocket thus holds its descriptor, its session state and a
// heartbeat timer, and nothing else.
//
// A long-polling session has no goroutine of its own: a pending GET waits
// in its HTTP handler for a wake-up, then takes what is queued (up to
// MaxPayload bytes) and writes one response. Only one GET may be pending: a
// second one closes the session (the pending GET gets a close packet, the
// new one a 400). A GET whose client goes away closes the session. A POST
// overlapping another closes the session.
//
// Session state is guarded by one mutex per session, which is never held
// across network I/O or a Handler call. The Server's mutex guards the
// session table only; the two are never held together. Handler calls for one
// session are serialized by a second per-session mutex: OnOpen, then
// Conn.OnMessage in the order packets were read, then Conn.OnClose, which
// runs on its own goroutine once any call in progress has returned. Calls for
// different sessions run concurrently. Closing a session leaves no
// goroutine behind once its connections are closed and OnClose returned.
//
// A long-poll GET waits up to PingInterval for data, so an http.Server
// serving the engine needs a WriteTimeout (if any) longer than that.
//
// Session ids are 20 characters of base64url from crypto/rand; a new id is
// checked against the live sessions.
package engine
