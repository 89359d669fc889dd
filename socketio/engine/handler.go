package engine

// Handler is the seam between the Engine.IO server and the layer above it
// (the Socket.IO server, or the echo application of cmd/siofixture): it is
// told of every new session and returns that session's Conn, which then
// receives the session's messages and its close. The upper layer's
// per-session state is its Conn, set once, so the engine hands each message
// straight to it (no lookup and no type assertion per message).
//
// The engine calls one session's methods strictly in order and never
// concurrently: OnOpen first, then Conn.OnMessage for every message packet
// in the order the client sent them, then Conn.OnClose exactly once. Calls
// for different sessions may run concurrently. These calls must not block
// for long: they run on the session's read path (the WebSocket reader, or
// the HTTP request carrying a polling POST), so a slow handler delays that
// session's later packets (never other sessions).
type Handler interface {
	// OnOpen is called once a session has been handshaken and its open
	// packet has been queued. Sending from OnOpen is allowed. It returns
	// the session's Conn; nil ignores the session's messages and close.
	OnOpen(s *Session) Conn
}

// Conn is the upper layer's side of one session, as returned by
// Handler.OnOpen. The session is passed again to every call, so that one
// stateless value may serve all sessions.
type Conn interface {
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

// nopConn is the Conn of a session whose OnOpen returned nil.
type nopConn struct{}

func (nopConn) OnMessage(*Session, []byte, bool) {}
func (nopConn) OnClose(*Session, Reason)         {}
