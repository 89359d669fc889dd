// Package engine implements an Engine.IO protocol v4 server over net/http
// and github.com/gorilla/websocket. It knows nothing of Socket.IO: the layer
// above sees sessions through the Handler interface.
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
// # Goroutines and locks
//
// Each WebSocket has exactly one reader goroutine (started when the
// connection opens; the HTTP handler returns after the upgrade) and at most
// one writer goroutine, started on demand when something is queued and
// exiting when the queue is still empty after it has yielded the processor
// once, so an idle WebSocket costs one goroutine, a 512-byte read buffer
// and no write buffer. When the writer
// wakes it takes everything queued for the connection (control frames, then
// Engine.IO packets) and writes all of it, one WebSocket frame per
// Engine.IO packet, with a single vectored write (net.Buffers) on the
// hijacked connection under a write deadline of WriteTimeout. Gorilla is
// used for the handshake and for reading frames only: its ping and close
// handlers are replaced so that pongs and close frames are queued to the
// writer. (Should gorilla write a close frame itself after a protocol
// error, a write lock on the connection keeps it from interleaving with the
// writer; no other code takes that lock.)
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
// OnMessage in the order packets were read, then OnClose, which runs on its
// own goroutine once any call in progress has returned. Calls for
// different sessions run concurrently. Closing a session leaves no
// goroutine behind once its connections are closed and OnClose returned.
//
// A long-poll GET waits up to PingInterval for data, so an http.Server
// serving the engine needs a WriteTimeout (if any) longer than that.
//
// Session ids are 20 characters of base64url from crypto/rand; a new id is
// checked against the live sessions.
package engine
