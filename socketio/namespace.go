package socketio

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/engine"
	"github.com/chatd/chatd/socketio/parser"
)

// Middleware runs for every socket that asks to connect to a namespace,
// before the namespace's connection handlers, in the order they were added.
// Returning an error refuses the connection: the client receives a
// CONNECT_ERROR whose message is the error's text (use *ConnectError to add
// data), and the socket is dropped. A middleware may call s.Join and
// s.SetData. Middlewares of one socket run on that socket's handler
// goroutine, one after another.
type Middleware func(s *Socket) error

// Namespace is a communication channel multiplexed over the connections: it
// has its own middlewares, connection handlers, sockets and rooms (kept by
// its adapter). All methods are safe for concurrent use.
type Namespace struct {
	server  *Server
	name    string
	adapter adapter.Adapter

	// parent is set for a child namespace created from a dynamic one.
	parent *Namespace
	// match is set on a dynamic (parent) namespace.
	match func(name string, auth json.RawMessage) bool

	ackID atomic.Uint64

	// connecting counts the sockets between the lookup of the namespace
	// for their CONNECT and the end of their middlewares. It is
	// incremented under the server's lock, which removeChild holds, so
	// that an empty child is not removed while a socket is on its way in.
	connecting atomic.Int32

	mu          sync.RWMutex
	middlewares []Middleware
	onConnect   []func(*Socket)
	sockets     map[string]*Socket
	children    map[*Namespace]struct{}
	serverSide  []func(event string, args []json.RawMessage, ack func(any))

	// handlers are the namespace's event handlers (Handle), by event:
	// a map replaced, never changed, on each Handle.
	handlers atomic.Pointer[map[string]EventHandler]
}

// EventHandler handles an event of a socket; ack answers it (a no-op when
// the client asked for no acknowledgement).
type EventHandler func(s *Socket, args Args, ack Ack)

// newNamespace creates a namespace and its adapter. It fails when
// connection state recovery is on and the adapter cannot recover sessions.
func newNamespace(srv *Server, name string) (*Namespace, error) {
	ns := &Namespace{server: srv, name: name, sockets: make(map[string]*Socket)}
	ns.adapter = srv.opts.Adapter(emitter{ns})
	if r := srv.opts.ConnectionStateRecovery; r != nil {
		if err := ns.adapter.EnableRecovery(r.MaxDisconnectionDuration); err != nil {
			_ = ns.adapter.Close()
			return nil, fmt.Errorf("socketio: Options.ConnectionStateRecovery, namespace %q: %w", name, err)
		}
	}
	return ns, nil
}

// sessionStore returns the adapter, which keeps sessions and packets for
// recovery, when connection state recovery is on, and nil otherwise.
func (ns *Namespace) sessionStore() adapter.Adapter {
	if ns.server.opts.ConnectionStateRecovery == nil {
		return nil
	}
	return ns.adapter
}

// Name returns the namespace name, such as "/" or "/chat".
func (ns *Namespace) Name() string { return ns.name }

// Server returns the server the namespace belongs to.
func (ns *Namespace) Server() *Server { return ns.server }

// Adapter returns the namespace's adapter.
func (ns *Namespace) Adapter() adapter.Adapter { return ns.adapter }

// Use adds a connection middleware. On a dynamic namespace (OfRegexp,
// OfFunc) it applies to every child namespace.
func (ns *Namespace) Use(m Middleware) *Namespace {
	ns.mu.Lock()
	ns.middlewares = append(ns.middlewares, m)
	ns.mu.Unlock()
	return ns
}

// OnConnection adds a handler called for each socket that connects, after
// the middlewares have passed and the CONNECT reply has been queued. It
// runs on the socket's handler goroutine, so handlers registered in it with
// Socket.On see every event the client sends afterwards. The connection's
// output is held while the connection handlers run: the client gets its
// CONNECT reply together with what they did, so once connected it is in
// the rooms they joined (as with the reference server, whose handlers run
// in the same tick as the reply). The hold ends early when a handler
// waits for an acknowledgement from the client (EmitWithAck), which needs
// the reply first; a handler that blocks otherwise delays the reply. On a
// dynamic namespace it applies to every child namespace.
func (ns *Namespace) OnConnection(fn func(s *Socket)) *Namespace {
	ns.mu.Lock()
	ns.onConnect = append(ns.onConnect, fn)
	ns.mu.Unlock()
	return ns
}

// Handle sets the handler of an event for every socket of the namespace,
// replacing the one set before for that event (nil removes it). It runs
// on the socket's handler goroutine after the socket's own handlers of
// the event (Socket.On). Unlike Socket.On, which each socket pays for in
// memory, a namespace handler costs nothing per socket: an application
// with many sockets and the same events on all of them registers them
// here once. On a dynamic namespace it applies to every child namespace
// (a child's own handler of an event wins).
func (ns *Namespace) Handle(event string, fn EventHandler) *Namespace {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	next := map[string]EventHandler{}
	if cur := ns.handlers.Load(); cur != nil {
		maps.Copy(next, *cur)
	}
	if fn == nil {
		delete(next, event)
	} else {
		next[event] = fn
	}
	ns.handlers.Store(&next)
	return ns
}

// handler returns the namespace handler of event, or nil.
func (ns *Namespace) handler(event string) EventHandler {
	if m := ns.handlers.Load(); m != nil {
		if h := (*m)[event]; h != nil {
			return h
		}
	}
	if ns.parent != nil {
		return ns.parent.handler(event)
	}
	return nil
}

// Socket returns the local socket with this id, or nil.
func (ns *Namespace) Socket(id string) *Socket {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	return ns.sockets[id]
}

// SocketCount returns the number of sockets connected to this namespace on
// this node.
func (ns *Namespace) SocketCount() int {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	return len(ns.sockets)
}

// op returns the namespace-wide broadcast operator.
func (ns *Namespace) op() BroadcastOperator { return BroadcastOperator{ns: ns} }

// To selects the sockets in the rooms (any of them) for a broadcast.
func (ns *Namespace) To(rooms ...string) BroadcastOperator { return ns.op().To(rooms...) }

// In is the same as To.
func (ns *Namespace) In(rooms ...string) BroadcastOperator { return ns.op().To(rooms...) }

// Except excludes the sockets in the rooms from a broadcast.
func (ns *Namespace) Except(rooms ...string) BroadcastOperator { return ns.op().Except(rooms...) }

// Local restricts a broadcast to this node.
func (ns *Namespace) Local() BroadcastOperator { return ns.op().Local() }

// Volatile makes a broadcast skip sockets that cannot write right away.
func (ns *Namespace) Volatile() BroadcastOperator { return ns.op().Volatile() }

// Compress sets the compress flag of a broadcast (see
// BroadcastOperator.Compress).
func (ns *Namespace) Compress(on bool) BroadcastOperator { return ns.op().Compress(on) }

// Emit sends an event to every socket of the namespace.
func (ns *Namespace) Emit(event string, args ...any) error { return ns.op().Emit(event, args...) }

// FetchSockets describes the sockets of the namespace, on every node.
func (ns *Namespace) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return ns.op().FetchSockets(ctx)
}

// SocketIDs returns the ids of the namespace's sockets on every node (the
// reference's allSockets / clients).
func (ns *Namespace) SocketIDs(ctx context.Context) ([]string, error) {
	return ns.op().SocketIDs(ctx)
}

// middlewareChain returns the middlewares to run for a socket: the parent's
// first, then the namespace's own.
//
// Without a parent it is the namespace's own list, shared: Use only
// appends, so the elements of a list taken under ns.mu never change.
func (ns *Namespace) middlewareChain() []Middleware {
	if ns.parent == nil {
		ns.mu.RLock()
		defer ns.mu.RUnlock()
		return ns.middlewares
	}
	ns.parent.mu.RLock()
	chain := append([]Middleware(nil), ns.parent.middlewares...)
	ns.parent.mu.RUnlock()
	ns.mu.RLock()
	chain = append(chain, ns.middlewares...)
	ns.mu.RUnlock()
	return chain
}

// connectionHandlers returns the connection handlers to run for a
// socket: the parent's first, then the namespace's own (shared, as in
// middlewareChain, without a parent).
func (ns *Namespace) connectionHandlers() []func(*Socket) {
	if ns.parent == nil {
		ns.mu.RLock()
		defer ns.mu.RUnlock()
		return ns.onConnect
	}
	ns.parent.mu.RLock()
	hs := append([]func(*Socket){}, ns.parent.onConnect...)
	ns.parent.mu.RUnlock()
	ns.mu.RLock()
	hs = append(hs, ns.onConnect...)
	ns.mu.RUnlock()
	return hs
}

// add makes a socket whose middlewares passed one of the namespace's
// sockets; it is no longer counted as connecting.
func (ns *Namespace) add(s *Socket) {
	ns.mu.Lock()
	ns.sockets[s.id] = s
	ns.mu.Unlock()
	ns.connecting.Add(-1)
}

// refuse ends the connection attempt of a socket that did not pass the
// middlewares (or whose connection ended meanwhile).
func (ns *Namespace) refuse() {
	ns.connecting.Add(-1)
	ns.cleanupIfEmpty()
}

func (ns *Namespace) remove(s *Socket) {
	ns.mu.Lock()
	delete(ns.sockets, s.id)
	ns.mu.Unlock()
	ns.cleanupIfEmpty()
}

// cleanupIfEmpty removes a child namespace that has no socket, connected
// or connecting, when Options.CleanupEmptyChildNamespaces is set.
func (ns *Namespace) cleanupIfEmpty() {
	if ns.parent == nil || !ns.server.opts.CleanupEmptyChildNamespaces {
		return
	}
	ns.mu.RLock()
	empty := len(ns.sockets) == 0
	ns.mu.RUnlock()
	if empty && ns.connecting.Load() == 0 {
		ns.server.removeChild(ns)
	}
}

// deliver queues frames to the listed sockets; before each, register (when
// not nil) may record the socket (for acknowledgements).
func (ns *Namespace) deliver(frames []*engine.Frame, pkt *adapter.Packet, ids []string, flags adapter.Flags, register func(*Socket)) int {
	n := 0
	var (
		parsed bool
		event  string
		args   Args
		ok     bool
	)
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	for _, id := range ids {
		s := ns.sockets[id]
		if s == nil || !s.connected.Load() {
			continue
		}
		if flags.Volatile && !s.conn.eio.Writable() {
			continue
		}
		if register != nil {
			register(s)
		}
		if !s.conn.sendFrames(frames) {
			continue
		}
		n++
		if s.hasOutgoing() {
			if !parsed {
				event, args, ok = eventArgs(pkt.Data, pkt.Attachments)
				parsed = true
			}
			if ok {
				s.notifyOutgoing(event, args)
			}
		}
	}
	ns.server.stats.delivered(pkt.Packet.Type, frames, n)
	return n
}

// emitter is the namespace's side of its adapter (adapter.Emitter): the
// adapter reaches the local sockets through it. It is a type of its own so
// that its methods stay off the public Namespace.
type emitter struct{ ns *Namespace }

var _ adapter.Emitter = emitter{}

// Name implements adapter.Emitter.
func (e emitter) Name() string { return e.ns.name }

// Deliver implements adapter.Emitter: it encodes pkt once and queues the
// same frames to every listed local socket.
func (e emitter) Deliver(pkt *adapter.Packet, ids []string, flags adapter.Flags) int {
	return e.ns.deliver(e.ns.server.encodeFrames(&pkt.Packet, pkt.Attachments, flags.NoCompress), pkt, ids, flags, nil)
}

// DeliverWithAck implements adapter.Emitter: the packet goes out with one
// ack id of the namespace, and each socket's first acknowledgement is
// passed to onAck until flags.Timeout (when set) has passed.
func (e emitter) DeliverWithAck(pkt *adapter.Packet, ids []string, flags adapter.Flags, onAck func(id string, ack adapter.Ack)) int {
	ns := e.ns
	id := ns.ackID.Add(1) - 1
	p := pkt.Packet
	p.ID, p.HasID = id, true
	frames := ns.server.encodeFrames(&p, pkt.Attachments, flags.NoCompress)
	var registered []*Socket
	n := ns.deliver(frames, pkt, ids, flags, func(s *Socket) {
		sid := s.id
		s.addAck(id, func(a Args, err error) {
			if err == nil {
				onAck(sid, adapter.Ack{Args: mustJSON(a), Attachments: a.Attachments()})
			}
		})
		registered = append(registered, s)
	})
	if flags.Timeout > 0 && len(registered) > 0 {
		time.AfterFunc(flags.Timeout, func() {
			for _, s := range registered {
				s.dropAck(id)
			}
		})
	}
	return n
}

// Socket implements adapter.Emitter.
func (e emitter) Socket(id string) (adapter.SocketInfo, bool) {
	s := e.ns.Socket(id)
	if s == nil {
		return adapter.SocketInfo{}, false
	}
	return adapter.SocketInfo{ID: s.id, Handshake: s.Handshake(), Rooms: s.Rooms(), Data: s.Data(), Local: true}, true
}

// DisconnectSocket implements adapter.Emitter.
func (e emitter) DisconnectSocket(id string, close bool) {
	if s := e.ns.Socket(id); s != nil {
		s.Disconnect(close)
	}
}

// ReceiveServerSideEmit implements adapter.Emitter: the event goes to the
// namespace's OnServerSideEmit handlers.
func (e emitter) ReceiveServerSideEmit(args []json.RawMessage, ack func(any)) {
	if len(args) == 0 {
		return
	}
	event, ok := eventName(args[0])
	if !ok {
		return
	}
	e.ns.mu.RLock()
	hs := e.ns.serverSide
	e.ns.mu.RUnlock()
	for _, h := range hs {
		h(event, args[1:], ack)
	}
}

// encodeFrames encodes a packet and its attachments as Engine.IO frames
// with the server's parser, once, for any number of recipients; with
// noCompress, frames that are never compressed. A compressed frame is
// compressed once too, by the first WebSocket writer that sends it. A
// packet that the parser cannot encode is logged and gives no frame.
func (s *Server) encodeFrames(p *parser.Packet, attachments [][]byte, noCompress bool) []*engine.Frame {
	newFrame := engine.NewFrame
	if noCompress {
		newFrame = engine.NewUncompressedFrame
	}
	if pr := s.opts.Parser; pr != nil {
		var buf [2]parser.Message
		msgs, err := pr.Encode(buf[:0], p, attachments)
		if err != nil {
			s.opts.Logger.Error("socketio: packet not sent", "nsp", p.Namespace, "type", p.Type.String(), "error", err)
			return nil
		}
		frames := make([]*engine.Frame, len(msgs))
		for i, m := range msgs {
			frames[i] = newFrame(m.Data, m.Binary)
		}
		return frames
	}
	frames := make([]*engine.Frame, 0, 1+len(attachments))
	frames = append(frames, newFrame(p.Encode(), false))
	for _, a := range attachments {
		frames = append(frames, newFrame(a, true))
	}
	return frames
}

// matchRegexp builds the matcher of OfRegexp.
func matchRegexp(re *regexp.Regexp) func(string, json.RawMessage) bool {
	return func(name string, _ json.RawMessage) bool { return re.MatchString(name) }
}
