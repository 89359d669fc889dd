package socketio

import (
	"sync/atomic"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/engine"
	"github.com/chatd/chatd/socketio/parser"
)

// numTypes is the number of Socket.IO packet types.
const numTypes = int(parser.BinaryAck) + 1

// packetCount counts the packets of one type and their bytes. The
// received and sent counters of a type are kept on separate cache lines:
// readers and broadcasters run on different goroutines.
type packetCount struct {
	packets, bytes atomic.Uint64
	_              [48]byte
}

// serverStats are the counters behind Server.Stats: atomic additions on
// the read and send paths, once per packet received or sent (once per
// broadcast, whatever its number of recipients), never a lock or a map.
type serverStats struct {
	in, out     [numTypes]packetCount
	broadcasts  atomic.Uint64
	recipients  atomic.Uint64
	connectErrs atomic.Uint64
	ackTimeouts atomic.Uint64
	disconnects [len(disconnectReasons) + 1]atomic.Uint64 // the last: any other reason
}

// disconnectReasons are the reasons counted by Stats.Disconnects.
var disconnectReasons = [...]Reason{
	ReasonTransportError, ReasonTransportClose, ReasonForcedClose, ReasonPingTimeout,
	ReasonParseError, ReasonSlowConsumer, ReasonServerShuttingDown, ReasonForcedServerClose,
	ReasonClientNamespaceDisconnect, ReasonServerNamespaceDisconnect,
}

// received counts one packet received, of n bytes.
func (st *serverStats) received(t parser.Type, n int) {
	if int(t) < numTypes {
		st.in[t].packets.Add(1)
		st.in[t].bytes.Add(uint64(n))
	}
}

// receivedBytes counts the bytes of a binary attachment of a packet of
// type t, without counting a packet.
func (st *serverStats) receivedBytes(t parser.Type, n int) {
	if int(t) < numTypes {
		st.in[t].bytes.Add(uint64(n))
	}
}

// sent counts packets of the text form text (whose first byte is the
// type digit) and attachments atts queued to n connections.
func (st *serverStats) sent(text []byte, atts [][]byte, n int) {
	if len(text) == 0 || n == 0 {
		return
	}
	t := int(text[0]) - '0'
	if t < 0 || t >= numTypes {
		return
	}
	size := len(text)
	for _, a := range atts {
		size += len(a)
	}
	st.out[t].packets.Add(uint64(n))
	st.out[t].bytes.Add(uint64(n * size))
}

// delivered counts a broadcast of a packet of type t, encoded as frames,
// queued to n sockets.
func (st *serverStats) delivered(t parser.Type, frames []*engine.Frame, n int) {
	st.broadcasts.Add(1)
	if n == 0 || int(t) >= numTypes {
		return
	}
	st.recipients.Add(uint64(n))
	size := 0
	for _, f := range frames {
		size += f.Len()
		if !f.Binary() {
			size-- // the Engine.IO message type
		}
	}
	st.out[t].packets.Add(uint64(n))
	st.out[t].bytes.Add(uint64(n * size))
}

// disconnected counts a socket disconnected for reason.
func (st *serverStats) disconnected(reason Reason) {
	i := 0
	for i < len(disconnectReasons) && disconnectReasons[i] != reason {
		i++
	}
	st.disconnects[i].Add(1)
}

// PacketStats counts Socket.IO packets of one type and their bytes (the
// text of each packet with its binary attachments, before Engine.IO
// framing).
type PacketStats struct {
	Packets, Bytes uint64
}

// NamespaceStats describes one namespace at the time of Server.Stats.
type NamespaceStats struct {
	// Name is the namespace's name ("/", "/admin").
	Name string
	// Sockets is the number of connected sockets on this node.
	Sockets int
	// Rooms is the number of rooms of this node's sockets, not counting
	// the room named after each socket's id; -1 when the adapter does not
	// tell (it does not implement adapter.RoomCounter).
	Rooms int
	// Requests are the adapter's requests to other nodes, when it
	// implements adapter.RequestReporter (redisadapter does).
	Requests []adapter.RequestStats
}

// Stats is a snapshot of a server's state and counters, for metrics (see
// package socketio/metrics). Counters only grow during the server's life.
type Stats struct {
	// Engine describes the Engine.IO sessions.
	Engine engine.Stats
	// Namespaces lists the namespaces that exist, dynamic children
	// included, in no particular order.
	Namespaces []NamespaceStats
	// Received and Sent count packets by type (every type is present).
	// A broadcast counts once per recipient on this node.
	Received, Sent map[parser.Type]PacketStats
	// Broadcasts counts the packets delivered to this node's sockets by
	// the adapters (room and namespace emits, from this node or another
	// one; with connection state recovery, also each emit to one socket),
	// and BroadcastRecipients the sockets they reached.
	Broadcasts, BroadcastRecipients uint64
	// ConnectErrors counts the namespace connections refused with a
	// CONNECT_ERROR: by a middleware, or to an unknown namespace.
	ConnectErrors uint64
	// AckTimeouts counts the acknowledgements the server waited for in
	// vain until a timeout: Socket.EmitWithAck returning ErrTimeout, and
	// each acknowledgement missing when BroadcastOperator.EmitWithAck
	// returns ErrTimeout.
	AckTimeouts uint64
	// Disconnects counts the sockets disconnected, by reason (every Reason
	// constant is present; another reason is counted as "other").
	Disconnects map[Reason]uint64
}

// Stats returns a snapshot of the server's state and counters. The
// counters cost atomic additions on the hot paths; the gauges (sessions,
// sockets, rooms, queued bytes) are read from the server's state when
// Stats is called, under the locks that guard it: call it at scrape time.
func (s *Server) Stats() Stats {
	st := Stats{
		Engine:              s.engine.Stats(),
		Received:            make(map[parser.Type]PacketStats, numTypes),
		Sent:                make(map[parser.Type]PacketStats, numTypes),
		Broadcasts:          s.stats.broadcasts.Load(),
		BroadcastRecipients: s.stats.recipients.Load(),
		ConnectErrors:       s.stats.connectErrs.Load(),
		AckTimeouts:         s.stats.ackTimeouts.Load(),
		Disconnects:         make(map[Reason]uint64, len(disconnectReasons)+1),
	}
	for t := range numTypes {
		st.Received[parser.Type(t)] = PacketStats{s.stats.in[t].packets.Load(), s.stats.in[t].bytes.Load()}
		st.Sent[parser.Type(t)] = PacketStats{s.stats.out[t].packets.Load(), s.stats.out[t].bytes.Load()}
	}
	for i, r := range disconnectReasons {
		st.Disconnects[r] = s.stats.disconnects[i].Load()
	}
	st.Disconnects["other"] = s.stats.disconnects[len(disconnectReasons)].Load()
	s.mu.RLock()
	all := make([]*Namespace, 0, len(s.namespaces))
	for _, ns := range s.namespaces {
		all = append(all, ns)
	}
	s.mu.RUnlock()
	for _, ns := range all {
		n := NamespaceStats{Name: ns.name, Sockets: ns.SocketCount(), Rooms: -1}
		if rc, ok := ns.adapter.(adapter.RoomCounter); ok {
			n.Rooms = rc.RoomCount()
		}
		if rr, ok := ns.adapter.(adapter.RequestReporter); ok {
			n.Requests = rr.RequestStats()
		}
		st.Namespaces = append(st.Namespaces, n)
	}
	return st
}
