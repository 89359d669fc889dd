package socketio

import "github.com/chatd/chatd/socketio/engine"

// Reason says why a socket was disconnected. The strings are those of the
// reference server, so they can be compared with what clients report.
type Reason string

// The disconnect reasons a socket may see.
const (
	// The connection's reasons (from the Engine.IO layer).
	ReasonTransportError Reason = Reason(engine.ReasonTransportError)
	ReasonTransportClose Reason = Reason(engine.ReasonTransportClose)
	ReasonForcedClose    Reason = Reason(engine.ReasonForcedClose)
	ReasonPingTimeout    Reason = Reason(engine.ReasonPingTimeout)
	ReasonParseError     Reason = Reason(engine.ReasonParseError)
	// ReasonSlowConsumer: the client did not read fast enough and its
	// outbound queue overflowed (an extension of this package).
	ReasonSlowConsumer Reason = Reason(engine.ReasonSlowConsumer)

	// ReasonServerShuttingDown: Server.Close.
	ReasonServerShuttingDown Reason = "server shutting down"
	// ReasonForcedServerClose: the server closed the connection because
	// the client broke the order of the namespace protocol: a second
	// CONNECT to a namespace it is in (or connecting to), a packet for a
	// namespace it has not joined, or a CONNECT_ERROR packet, which only
	// servers send. The reference's client.close() gives this reason
	// (also when no namespace was joined within ConnectTimeout, which no
	// connected socket can see). A packet that cannot be decoded gives
	// ReasonParseError instead (the reference's sockets see "forced
	// close" then).
	ReasonForcedServerClose Reason = "forced server close"
	// ReasonClientNamespaceDisconnect: the client left the namespace.
	ReasonClientNamespaceDisconnect Reason = "client namespace disconnect"
	// ReasonServerNamespaceDisconnect: Socket.Disconnect.
	ReasonServerNamespaceDisconnect Reason = "server namespace disconnect"
)
