package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/clientfiles"
	"github.com/chatd/chatd/socketio/engine"
)

// Server is a Socket.IO v5 server (over Engine.IO v4). It is an
// http.Handler: mount it at its Path (by default "/socket.io/") in
// net/http's ServeMux, chi or any router:
//
//	io := socketio.NewServer(nil)
//	io.OnConnection(func(s *socketio.Socket) { ... })
//	mux.Handle("/socket.io/", io)
//
// All methods are safe for concurrent use.
type Server struct {
	opts   Options
	engine *engine.Server
	prefix string // Path + "/" ("/" for the root path)
	bare   string // Path without the slash, served with DisableTrailingSlash

	mu         sync.RWMutex
	namespaces map[string]*Namespace
	parents    []*Namespace
	onNew      []func(*Namespace)

	root    *Namespace
	closed  atomic.Bool
	workers workGroup

	offsetPrefix string
	offsets      atomic.Uint64

	stats serverStats // see Stats
}

// NewServer returns a server with the given options (nil for the
// defaults). The main namespace "/" always exists. NewServer panics when
// the options cannot work together: Options.ConnectionStateRecovery with
// an adapter that cannot recover sessions (such as redisadapter's, which
// would miss what the other nodes sent); the panic value is an error
// wrapping adapter.ErrRecoveryUnsupported.
func NewServer(opts *Options) *Server {
	s := &Server{opts: opts.withDefaults(), namespaces: make(map[string]*Namespace), offsetPrefix: newID()[:8]}
	s.bare = strings.TrimSuffix(s.opts.Path, "/")
	s.prefix = s.bare + "/"
	eopts := s.opts.Engine
	s.engine = engine.NewServer(engineHandler{s}, &eopts)
	s.root = s.Of("/")
	return s
}

// Engine returns the underlying Engine.IO server.
func (s *Server) Engine() *engine.Server { return s.engine }

// Path returns the path the server answers under, without a trailing slash.
func (s *Server) Path() string { return s.opts.Path }

// ServeHTTP serves the Engine.IO transports and, unless disabled, the
// official client bundles under Path + "/" (and on Path itself with
// Options.DisableTrailingSlash). Other paths get 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, s.prefix)
	if !ok && s.opts.DisableTrailingSlash && r.URL.Path == s.bare {
		rest, ok = "", true
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	if !s.opts.DisableClientFiles && clientfiles.Has(rest) {
		// The client bundles get the same CORS headers as Engine.IO
		// requests, as the reference server gives them.
		if !s.engine.ApplyCORS(w, r) {
			clientfiles.ServeFile(w, r, rest)
		}
		return
	}
	s.engine.ServeHTTP(w, r)
}

// Sockets returns the main namespace "/" (the reference's io.sockets).
func (s *Server) Sockets() *Namespace { return s.root }

// Of returns the namespace with this name, creating it if needed. A name
// without a leading slash gets one. It panics as NewServer does when the
// namespace's adapter cannot serve the options.
func (s *Server) Of(name string) *Namespace {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	s.mu.Lock()
	ns, ok := s.namespaces[name]
	var err error
	if !ok {
		ns, err = newNamespace(s, name)
		if err == nil {
			s.namespaces[name] = ns
		}
	}
	hooks := s.onNew
	s.mu.Unlock()
	if err != nil {
		panic(err)
	}
	if !ok {
		for _, h := range hooks {
			h(ns)
		}
	}
	return ns
}

// OfRegexp returns a dynamic namespace: a client connecting to a name that
// matches re, and that is not an existing namespace, creates a child
// namespace of that name. The dynamic namespace's middlewares and
// connection handlers apply to its children, and emitting on it reaches
// every child. The children get adapters from Options.Adapter; the dynamic
// namespace itself, which has no socket, gets the in-memory one.
func (s *Server) OfRegexp(re *regexp.Regexp) *Namespace {
	return s.addParent("regexp:"+re.String(), matchRegexp(re))
}

// OfFunc is OfRegexp with a function deciding which names (and CONNECT
// auth payloads) create a child namespace.
func (s *Server) OfFunc(match func(name string, auth json.RawMessage) bool) *Namespace {
	return s.addParent("func", match)
}

func (s *Server) addParent(label string, match func(string, json.RawMessage) bool) *Namespace {
	p := &Namespace{server: s, name: label, match: match, sockets: make(map[string]*Socket), children: make(map[*Namespace]struct{})}
	// A parent has no socket and no room of its own: its operations act
	// on its children, through their adapters. It gets the in-memory
	// adapter whatever Options.Adapter says, as the reference's parent
	// namespaces get an adapter of their own that only broadcasts to
	// their children: a cluster adapter would subscribe to channels
	// named after the label, shared by every function parent.
	p.adapter = adapter.NewMemory(emitter{p})
	s.mu.Lock()
	s.parents = append(s.parents, p)
	s.mu.Unlock()
	return p
}

// OnNewNamespace registers a hook called for every namespace created after
// it (static or dynamic children).
func (s *Server) OnNewNamespace(fn func(*Namespace)) {
	s.mu.Lock()
	s.onNew = append(s.onNew, fn)
	s.mu.Unlock()
}

// lookup finds the namespace a CONNECT names, creating a dynamic child when
// a parent accepts it; nil means "Invalid namespace". The namespace found
// counts one more connecting socket (see Namespace.connecting).
func (s *Server) lookup(name string, auth json.RawMessage) *Namespace {
	s.mu.RLock()
	ns := s.namespaces[name]
	if ns != nil {
		ns.connecting.Add(1)
	}
	parents := s.parents
	s.mu.RUnlock()
	if ns != nil {
		return ns
	}
	for _, p := range parents {
		if !p.match(name, auth) {
			continue
		}
		s.mu.Lock()
		ns = s.namespaces[name]
		created := ns == nil
		if created {
			var err error
			if ns, err = newNamespace(s, name); err != nil {
				s.mu.Unlock()
				s.opts.Logger.Error("socketio: cannot create a child namespace", "nsp", name, "error", err)
				return nil
			}
			ns.parent = p
			s.namespaces[name] = ns
			p.mu.Lock()
			p.children[ns] = struct{}{}
			p.mu.Unlock()
		}
		ns.connecting.Add(1)
		hooks := s.onNew
		s.mu.Unlock()
		if created {
			for _, h := range hooks {
				h(ns)
			}
		}
		return ns
	}
	return nil
}

func (s *Server) removeChild(ns *Namespace) {
	s.mu.Lock()
	ns.mu.RLock()
	empty := len(ns.sockets) == 0 && ns.connecting.Load() == 0
	ns.mu.RUnlock()
	if empty && s.namespaces[ns.name] == ns {
		delete(s.namespaces, ns.name)
		ns.parent.mu.Lock()
		delete(ns.parent.children, ns)
		ns.parent.mu.Unlock()
	} else {
		empty = false
	}
	s.mu.Unlock()
	if empty {
		_ = ns.adapter.Close()
	}
}

// Use adds a middleware to the main namespace.
func (s *Server) Use(m Middleware) *Server { s.root.Use(m); return s }

// OnConnection adds a connection handler to the main namespace.
func (s *Server) OnConnection(fn func(*Socket)) *Server { s.root.OnConnection(fn); return s }

// Emit sends an event to every socket of the main namespace.
func (s *Server) Emit(event string, args ...any) error { return s.root.Emit(event, args...) }

// To selects rooms of the main namespace for a broadcast.
func (s *Server) To(rooms ...string) BroadcastOperator { return s.root.To(rooms...) }

// In is the same as To.
func (s *Server) In(rooms ...string) BroadcastOperator { return s.root.To(rooms...) }

// Except excludes rooms of the main namespace from a broadcast.
func (s *Server) Except(rooms ...string) BroadcastOperator { return s.root.Except(rooms...) }

// Local restricts a broadcast on the main namespace to this node.
func (s *Server) Local() BroadcastOperator { return s.root.Local() }

// Volatile makes a broadcast on the main namespace skip sockets that cannot
// write right away.
func (s *Server) Volatile() BroadcastOperator { return s.root.Volatile() }

// Compress sets the compress flag of a broadcast on the main namespace
// (io.compress(false).emit(...); see BroadcastOperator.Compress).
func (s *Server) Compress(on bool) BroadcastOperator { return s.root.Compress(on) }

// Timeout sets the acknowledgement timeout of a broadcast on the main
// namespace (see BroadcastOperator.EmitWithAck).
func (s *Server) Timeout(d time.Duration) BroadcastOperator { return s.root.op().Timeout(d) }

// FetchSockets describes the sockets of the main namespace, on every node.
func (s *Server) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return s.root.FetchSockets(ctx)
}

// SocketsJoin makes every socket of the main namespace join the rooms.
func (s *Server) SocketsJoin(ctx context.Context, rooms ...string) error {
	return s.root.op().SocketsJoin(ctx, rooms...)
}

// SocketsLeave makes every socket of the main namespace leave the rooms.
func (s *Server) SocketsLeave(ctx context.Context, rooms ...string) error {
	return s.root.op().SocketsLeave(ctx, rooms...)
}

// DisconnectSockets disconnects every socket of the main namespace.
func (s *Server) DisconnectSockets(ctx context.Context, close bool) error {
	return s.root.op().DisconnectSockets(ctx, close)
}

// ServerSideEmit sends an event to the other nodes (main namespace).
func (s *Server) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	return s.root.ServerSideEmit(ctx, event, args...)
}

// Close shuts the server down gracefully: every socket is disconnected with
// ReasonServerShuttingDown after the events already received (their
// handlers finish, and what they send is delivered), then every Engine.IO
// session is closed (clients see the close and reconnect later) and the
// adapters are closed. Close waits at most until ctx is done. Requests
// after Close are refused.
func (s *Server) Close(ctx context.Context) error {
	if s.closed.Swap(true) {
		return nil
	}
	s.mu.RLock()
	var all []*Namespace
	for _, ns := range s.namespaces {
		all = append(all, ns)
	}
	all = append(all, s.parents...)
	s.mu.RUnlock()
	for _, ns := range all {
		ns.mu.RLock()
		socks := make([]*Socket, 0, len(ns.sockets))
		for _, so := range ns.sockets {
			socks = append(socks, so)
		}
		ns.mu.RUnlock()
		for _, so := range socks {
			so.postClose(ReasonServerShuttingDown)
		}
	}
	// Let the handlers already running or queued finish, so that what
	// they send (acks of messages in flight) goes out before the
	// connections close.
	waitErr := s.waitWorkers(ctx)
	err := s.engine.Close(ctx)
	if err == nil {
		err = s.waitWorkers(ctx)
	}
	if err == nil {
		err = waitErr
	}
	for _, ns := range all {
		_ = ns.adapter.Close()
	}
	return err
}

// nextOffset returns a new recovery offset, unique to this server.
func (s *Server) nextOffset() string {
	return s.offsetPrefix + "-" + strconv.FormatUint(s.offsets.Add(1), 36)
}

// waitWorkers waits until no socket goroutine runs, or ctx is done.
func (s *Server) waitWorkers(ctx context.Context) error {
	select {
	case <-s.workers.zero():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// engineHandler connects the Engine.IO server to the Socket.IO layer: every
// session gets its serverConn, which the engine then calls directly.
type engineHandler struct{ s *Server }

func (h engineHandler) OnOpen(sess *engine.Session) engine.Conn { return newServerConn(h.s, sess) }

// OnMessage implements engine.Conn.
func (c *serverConn) OnMessage(_ *engine.Session, data []byte, binary bool) {
	c.onMessage(data, binary)
}

// OnClose implements engine.Conn.
func (c *serverConn) OnClose(_ *engine.Session, reason engine.Reason) { c.onClose(Reason(reason)) }

// HasNamespace reports whether a namespace of this name exists (static,
// or a dynamic child that has not been cleaned up).
func (s *Server) HasNamespace(name string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.namespaces[name]
	return ok
}

// Namespaces returns the namespaces that exist now (static ones, and the
// dynamic children not yet cleaned up; not the parents made by OfRegexp
// and OfFunc), sorted by name.
func (s *Server) Namespaces() []*Namespace {
	s.mu.RLock()
	out := make([]*Namespace, 0, len(s.namespaces))
	for _, ns := range s.namespaces {
		out = append(out, ns)
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Namespace) int { return strings.Compare(a.name, b.name) })
	return out
}

// recoveryKeeper is an adapter that keeps its connection state recovery
// state in the process and can encode it (adapter.Memory).
type recoveryKeeper interface {
	MarshalRecovery() ([]byte, error)
	UnmarshalRecovery([]byte) error
}

// SaveRecovery encodes what connection state recovery keeps in memory, in
// every namespace (the sessions of disconnected sockets and the packets of
// the window), so that a single node can keep it across a restart: call it
// after Close, which keeps the sessions of the sockets it closes ("server
// shutting down" is a recoverable reason), store the result where the
// application likes, and give it to LoadRecovery of the next process
// before it serves. Sessions hold the private ids clients resume with:
// keep the result as private as the server's own state. A socket's data
// must encode as JSON (it comes back as a json.RawMessage; run the
// middlewares again, RecoveryOptions.RunMiddlewares, to set it anew). It
// returns nil when recovery is off, and an error wrapping
// adapter.ErrRecoveryUnsupported for an adapter that keeps its sessions
// elsewhere (redisstreams keeps them in Redis, across restarts already).
func (s *Server) SaveRecovery() ([]byte, error) {
	if s.opts.ConnectionStateRecovery == nil {
		return nil, nil
	}
	out := map[string]json.RawMessage{}
	for _, ns := range s.Namespaces() {
		k, ok := ns.adapter.(recoveryKeeper)
		if !ok {
			return nil, fmt.Errorf("socketio: namespace %s: %w: its adapter keeps no state in the process", ns.name, adapter.ErrRecoveryUnsupported)
		}
		b, err := k.MarshalRecovery()
		if err != nil {
			return nil, fmt.Errorf("socketio: namespace %s: %w", ns.name, err)
		}
		out[ns.name] = b
	}
	return json.Marshal(out)
}

// LoadRecovery restores what SaveRecovery returned in an earlier process,
// into the namespaces of this server that exist (create them first, as
// the application does before serving); state of other namespaces is
// dropped. Clients of the earlier process then resume their sessions
// within MaxDisconnectionDuration of their disconnection, as after a
// short drop.
func (s *Server) LoadRecovery(b []byte) error {
	if s.opts.ConnectionStateRecovery == nil {
		return errors.New("socketio: LoadRecovery without ConnectionStateRecovery")
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("socketio: recovery state: %w", err)
	}
	for _, ns := range s.Namespaces() {
		state, ok := in[ns.name]
		if !ok {
			continue
		}
		k, ok := ns.adapter.(recoveryKeeper)
		if !ok {
			return fmt.Errorf("socketio: namespace %s: %w: its adapter keeps no state in the process", ns.name, adapter.ErrRecoveryUnsupported)
		}
		if err := k.UnmarshalRecovery(state); err != nil {
			return fmt.Errorf("socketio: namespace %s: %w", ns.name, err)
		}
	}
	return nil
}
