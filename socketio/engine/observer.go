package engine

import "net/http"

// Observer receives notifications of engine events, for metrics, logging
// and the layer above (the reference server's "packet", "heartbeat",
// "upgrading", "upgrade", "connection_error", "initial_headers" and
// "headers" events). Methods are called synchronously on the goroutine
// handling the request or connection, never with a lock held; they must
// return quickly. Embed NopObserver to implement only some of them.
type Observer interface {
	// Packet is called for every packet received on a session's active
	// transport, before it is handled. p.Data is only valid during the call.
	Packet(s *Session, p Packet)
	// Heartbeat is called when a pong arrives.
	Heartbeat(s *Session)
	// Upgrading is called when the upgrade probe of a session succeeded.
	Upgrading(s *Session)
	// Upgrade is called when a session has switched to WebSocket.
	Upgrade(s *Session)
	// ConnectionError is called when a request is refused with one of the
	// Error* codes.
	ConnectionError(r *http.Request, code int, message string)
	// InitialHeaders may change the headers of a handshake response
	// (polling or WebSocket) before they are sent.
	InitialHeaders(h http.Header, r *http.Request)
	// Headers may change the headers of every response of a session
	// (handshake, polling GET and POST, WebSocket upgrade) before they are
	// sent. For a handshake it runs after InitialHeaders.
	Headers(h http.Header, r *http.Request)
	// PacketCreate is called for every message queued to a session (the
	// reference's "packetCreate"), after it was queued.
	PacketCreate(s *Session, f *Frame)
	// Flush is called when n queued messages are about to be written (a
	// WebSocket write or a polling response).
	Flush(s *Session, n int)
	// Drain is called when a write has emptied the session's queue.
	Drain(s *Session)
	// Close is called once when a session ends, before Handler.OnClose.
	Close(s *Session, reason Reason)
}

// NopObserver implements Observer with methods that do nothing.
type NopObserver struct{}

// Packet does nothing.
func (NopObserver) Packet(*Session, Packet) {}

// Heartbeat does nothing.
func (NopObserver) Heartbeat(*Session) {}

// Upgrading does nothing.
func (NopObserver) Upgrading(*Session) {}

// Upgrade does nothing.
func (NopObserver) Upgrade(*Session) {}

// ConnectionError does nothing.
func (NopObserver) ConnectionError(*http.Request, int, string) {}

// InitialHeaders does nothing.
func (NopObserver) InitialHeaders(http.Header, *http.Request) {}

// PacketCreate does nothing.
func (NopObserver) PacketCreate(*Session, *Frame) {}

// Flush does nothing.
func (NopObserver) Flush(*Session, int) {}

// Drain does nothing.
func (NopObserver) Drain(*Session) {}

// Close does nothing.
func (NopObserver) Close(*Session, Reason) {}

// Headers does nothing.
func (NopObserver) Headers(http.Header, *http.Request) {}

// obs returns the configured observer (never nil).
func (s *Server) obs() Observer { return s.observer }
