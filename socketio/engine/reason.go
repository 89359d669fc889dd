package engine

// Reason says why a session ended. Its string is the reason the reference
// Engine.IO server gives, so the same value can reach logs, metrics and the
// Socket.IO "disconnect" handlers unchanged.
type Reason string

// The reasons a session ends.
const (
	// ReasonTransportError: the transport failed (a read or write error
	// such as a reset connection, a malformed WebSocket frame, an aborted
	// long-poll request).
	ReasonTransportError Reason = "transport error"
	// ReasonTransportClose: the client closed the connection (a WebSocket
	// close frame, an Engine.IO close packet, or the WebSocket's TCP
	// connection ending without a close frame, as the reference reports
	// it).
	ReasonTransportClose Reason = "transport close"
	// ReasonForcedClose: the server closed the session (Session.Close).
	ReasonForcedClose Reason = "forced close"
	// ReasonPingTimeout: no pong arrived within PingTimeout after a ping.
	ReasonPingTimeout Reason = "ping timeout"
	// ReasonParseError: the client sent something that is not valid
	// Engine.IO v4 (a bad payload, an unknown packet type, a client ping,
	// a duplicate long-poll GET).
	ReasonParseError Reason = "parse error"
	// ReasonSlowConsumer: the session's outbound queue exceeded
	// MaxQueuedBytes because the client did not read fast enough. This is
	// an extension of this package; the reference server has no such limit.
	ReasonSlowConsumer Reason = "slow consumer"
	// ReasonServerClosing: the server is shutting down (Server.Close).
	ReasonServerClosing Reason = "server shutting down"
)
