package engine

// Handler is the seam between the Engine.IO server and the layer above it
// (the Socket.IO server, or the echo application of cmd/siofixture).
//
// The engine calls the methods of one Session strictly in order and never
// concurrently: OnOpen first, then OnMessage for every message packet in the
// order the client sent them, then OnClose exactly once. Calls for different
// sessions may run concurrently. A Handler must not block for long in these
// calls: they run on the session's read path (the WebSocket reader, or the
// HTTP request carrying a polling POST), so a slow handler delays that
// session's later packets (never other sessions).
type Handler interface {
	// OnOpen is called once a session has been handshaken and its open
	// packet has been queued. Sending from OnOpen is allowed.
	OnOpen(s *Session)

	// OnMessage is called for each message packet ("4" packet) from the
	// client. data is owned by the callee only for the duration of the call
	// unless binary is false and it is converted to a string; the engine
	// may reuse the buffer afterwards, so copy what must outlive the call.
	OnMessage(s *Session, data []byte, binary bool)

	// OnClose is called exactly once when a session that was opened ends,
	// with the reason. It runs on its own goroutine, after any call in
	// progress for the session has returned, so Session.Close may be
	// called from OnMessage. After OnClose the session sends nothing.
	OnClose(s *Session, reason Reason)
}
