package socketio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/engine"
	"github.com/chatd/chatd/socketio/parser"
)

// Handshake describes the HTTP request and CONNECT packet a socket was
// created from (the reference's socket.handshake).
type Handshake = adapter.Handshake

// Socket is one client's connection to one namespace. Several sockets (one
// per namespace) may share one underlying connection.
//
// Concurrency: every method is safe to call from any goroutine. The
// socket's own callbacks (middlewares, connection handlers, event handlers,
// ack callbacks, disconnecting/disconnect handlers) run one at a time, in
// the order their packets arrived, on a goroutine of the socket's own that
// exists only while there is work; a slow handler delays that socket only.
// A handler may block, for instance in EmitWithAck: acknowledgements are
// read on the connection's read path, not on the handler goroutine.
type Socket struct {
	id   string
	ns   *Namespace
	conn *serverConn
	box  mailbox

	// The handshake is made on the first call of Handshake, from the
	// session's request, the creation time and the CONNECT payload.
	handshake atomic.Pointer[Handshake]
	issued    int64 // creation time, in milliseconds since the epoch
	auth      json.RawMessage

	ctx atomic.Pointer[socketContext] // made by the first call of Context

	connected atomic.Bool
	closing   atomic.Bool
	hasOut    atomic.Bool // outgoing catch-all handlers exist, kept under mu

	gone     bool // under joinMu: see joinMu
	acksDone bool // under mu: disconnected, no more acks will come
	ended    bool // under mu: disconnected, the context is cancelled once made
	held     bool // under mu: the connection's output is held for this socket's connect (holdConnect)

	// joinMu orders Join against the end of the socket: after gone is set
	// (under joinMu) the socket's rooms are removed and Join does nothing.
	joinMu sync.Mutex

	rec *socketRecovery // nil without connection state recovery

	mu           sync.Mutex
	data         any
	listeners    []listener   // every event's handlers, in the order added
	hooks        *socketHooks // made when the first one is added
	nextListener uint64
	acks         map[uint64]func(Args, error)
}

// socketHooks are a socket's handlers other than its event handlers,
// which many sockets do without.
type socketHooks struct {
	anyListeners    []anyListener
	outListeners    []anyListener
	packetMW        []func(event string, args Args) error
	onDisconnecting []func(Reason)
	onDisconnect    []func(Reason)
	onError         []func(error)
}

// hooksLocked returns s.hooks, made if needed. s.mu must be held.
func (s *Socket) hooksLocked() *socketHooks {
	if s.hooks == nil {
		s.hooks = new(socketHooks)
	}
	return s.hooks
}

// socketRecovery is a socket's state for connection state recovery.
type socketRecovery struct {
	pid      string                   // the private id the client resumes with
	restored *adapter.RecoverySession // the session this socket resumes, nil for a new one
}

// pid returns the socket's private id ("" without recovery).
func (s *Socket) pid() string {
	if s.rec == nil {
		return ""
	}
	return s.rec.pid
}

// restored returns the session the socket resumes, or nil.
func (s *Socket) restored() *adapter.RecoverySession {
	if s.rec == nil {
		return nil
	}
	return s.rec.restored
}

// socketContext is the context returned by Socket.Context.
type socketContext struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func newSocket(ns *Namespace, c *serverConn, auth json.RawMessage, restored *adapter.RecoverySession) *Socket {
	s := &Socket{
		id:     newID(),
		ns:     ns,
		conn:   c,
		box:    mailbox{max: int32(min(ns.server.opts.MaxPendingEvents, math.MaxInt32)), workers: &ns.server.workers},
		issued: time.Now().UnixMilli(),
		auth:   auth,
	}
	switch {
	case restored != nil:
		s.id = restored.SID
		s.rec = &socketRecovery{pid: restored.PID, restored: restored}
		s.data = restored.Data
	case ns.sessionStore() != nil && !c.v3:
		s.rec = &socketRecovery{pid: newID()}
	}
	if c.v3 {
		s.id = v4SocketID(ns.name, c.eio.ID())
	}
	return s
}

// newID returns a random 20-character id, as the reference's base64id.
func newID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// buildHandshake describes socket s. The request's data are shared, not
// copied: the header map is the session's own (see listHost), the query is
// parsed once per session at most, and the sockets of a session share the
// request fields of the first handshake made.
func buildHandshake(s *Socket) *Handshake {
	issued := time.UnixMilli(s.issued)
	h := &Handshake{Time: handshakeTime(issued), Issued: s.issued, Auth: s.auth}
	c := s.conn
	c.mu.Lock()
	defer c.mu.Unlock()
	if first := c.handshake; first != nil {
		h.Headers, h.Address, h.XDomain, h.Secure, h.URL, h.Query =
			first.Headers, first.Address, first.XDomain, first.Secure, first.URL, first.Query
		return h
	}
	if r := c.eio.Request(); r != nil {
		h.Headers = r.Header
		h.Address = r.RemoteAddr
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			h.Address = host
		}
		h.XDomain = len(r.Header["Origin"]) > 0
		h.Secure = r.TLS != nil
		h.URL = requestURI(r)
		h.Query = r.URL.Query()
	}
	c.handshake = h
	return h
}

// listHost adds the Host header to the header map of a session's request,
// once, when the session opens: net/http keeps Host out of the map, and the
// reference lists it with the others. The map is then shared by the
// handshakes of the session's sockets.
func listHost(r *http.Request) {
	if r == nil || r.Host == "" || len(r.Header["Host"]) > 0 {
		return
	}
	if r.Header == nil {
		r.Header = make(http.Header, 1)
	}
	r.Header["Host"] = []string{r.Host}
}

// requestURI returns r.URL.RequestURI(), without building it when the
// request line already holds it (the usual case).
func requestURI(r *http.Request) string {
	u := r.URL
	if uri := r.RequestURI; u.Opaque == "" && !u.ForceQuery && strings.HasPrefix(uri, "/") {
		if rest, ok := strings.CutPrefix(uri, u.EscapedPath()); ok {
			if rest == "" && u.RawQuery == "" || len(rest) > 1 && rest[0] == '?' && rest[1:] == u.RawQuery {
				return uri
			}
		}
	}
	return u.RequestURI()
}

// formattedTime is a handshake time, to the second, and its text.
type formattedTime struct {
	unix int64
	text string
}

var lastHandshakeTime atomic.Pointer[formattedTime]

// handshakeTime returns now as Handshake.Time, the same string for the
// handshakes of one second.
func handshakeTime(now time.Time) string {
	sec := now.Unix()
	if t := lastHandshakeTime.Load(); t != nil && t.unix == sec {
		return t.text
	}
	text := now.UTC().Format(time.RFC1123)
	lastHandshakeTime.Store(&formattedTime{unix: sec, text: text})
	return text
}

// ID returns the socket id (distinct from the Engine.IO session id), which
// is also the name of a room holding only this socket.
func (s *Socket) ID() string { return s.id }

// Namespace returns the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.ns }

// Handshake returns the handshake details. Do not modify them: its header
// map is shared with the connection's request.
func (s *Socket) Handshake() *Handshake {
	if h := s.handshake.Load(); h != nil {
		return h
	}
	h := buildHandshake(s)
	if !s.handshake.CompareAndSwap(nil, h) {
		return s.handshake.Load()
	}
	return h
}

// ConnID returns the id of the underlying Engine.IO session.
func (s *Socket) ConnID() string { return s.conn.eio.ID() }

// Conn returns the underlying Engine.IO session (the reference's
// socket.conn), shared by the sockets of every namespace the client joined
// over it. Its listeners are the events of socket.conn:
//
//	s.Conn().OnUpgrade(func(transport string) { ... }) // conn.on("upgrade")
//	s.Conn().OnClose(func(r engine.Reason) { ... })   // conn.on("close")
//	s.Conn().Transport()                              // conn.transport.name
//
// Sending on it directly bypasses Socket.IO: use the socket's methods.
func (s *Socket) Conn() *engine.Session { return s.conn.eio }

// Request returns the first HTTP request of the connection (the Engine.IO
// handshake): its headers, cookies, URL and remote address. Its header map
// also lists Host, as the handshake's does (it is the same map). Its body
// is empty and its context is context.Background() (engine.Session.Request);
// use it for reading only.
func (s *Socket) Request() *http.Request { return s.conn.eio.Request() }

// Transport returns the current transport: "polling" or "websocket".
func (s *Socket) Transport() string { return s.conn.eio.Transport() }

// Context returns a context cancelled when the socket disconnects.
func (s *Socket) Context() context.Context {
	if c := s.ctx.Load(); c != nil {
		return c.ctx
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.ctx.Load(); c != nil {
		return c.ctx
	}
	ctx, cancel := context.WithCancel(context.Background())
	if s.ended {
		cancel()
	}
	s.ctx.Store(&socketContext{ctx: ctx, cancel: cancel})
	return ctx
}

// endContext cancels the socket's context, now if it exists, or as soon
// as it is made.
func (s *Socket) endContext() {
	s.mu.Lock()
	s.ended = true
	c := s.ctx.Load()
	s.mu.Unlock()
	if c != nil {
		c.cancel()
	}
}

// Recovered reports whether the socket resumed an earlier session (see
// Options.ConnectionStateRecovery).
func (s *Socket) Recovered() bool { return s.restored() != nil }

// Connected reports whether the socket is connected.
func (s *Socket) Connected() bool { return s.connected.Load() }

// SetData stores the socket's application data (the reference's
// socket.data), which FetchSockets reports.
func (s *Socket) SetData(v any) {
	s.mu.Lock()
	s.data = v
	s.mu.Unlock()
}

// Data returns the value stored by SetData.
func (s *Socket) Data() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// OnDisconnecting registers a handler called when the socket is about to
// disconnect, while it is still in its rooms.
func (s *Socket) OnDisconnecting(fn func(reason Reason)) {
	s.mu.Lock()
	h := s.hooksLocked()
	h.onDisconnecting = append(h.onDisconnecting, fn)
	s.mu.Unlock()
}

// OnDisconnect registers a handler called once the socket has disconnected
// and left its rooms.
func (s *Socket) OnDisconnect(fn func(reason Reason)) {
	s.mu.Lock()
	h := s.hooksLocked()
	h.onDisconnect = append(h.onDisconnect, fn)
	s.mu.Unlock()
}

// OnError registers a handler for errors of this socket (handler errors,
// undecodable arguments).
func (s *Socket) OnError(fn func(err error)) {
	s.mu.Lock()
	h := s.hooksLocked()
	h.onError = append(h.onError, fn)
	s.mu.Unlock()
}

func (s *Socket) reportError(err error) {
	var hs []func(error)
	s.mu.Lock()
	if s.hooks != nil {
		hs = s.hooks.onError
	}
	s.mu.Unlock()
	if len(hs) == 0 {
		s.ns.server.opts.Logger.Debug("socketio: socket error", "nsp", s.ns.name, "socket", s.id, "error", err)
	}
	for _, h := range hs {
		h(err)
	}
}

// Join adds the socket to the rooms.
//
// Joining after the socket has disconnected does nothing.
func (s *Socket) Join(rooms ...string) {
	s.joinMu.Lock()
	defer s.joinMu.Unlock()
	if s.gone {
		return
	}
	switch len(rooms) {
	case 0:
	case 1:
		// Without a slice through the interface: Join's variadic slice
		// stays on its caller's stack.
		s.ns.adapter.Add(s.id, rooms[0])
	default:
		s.ns.adapter.AddAll(s.id, slices.Clone(rooms)...)
	}
}

// markGone stops later joins; the caller then removes the socket's rooms.
func (s *Socket) markGone() {
	s.joinMu.Lock()
	s.gone = true
	s.joinMu.Unlock()
}

// Leave removes the socket from a room.
func (s *Socket) Leave(room string) { s.ns.adapter.Del(s.id, room) }

// Rooms returns the rooms the socket is in, its own id included.
func (s *Socket) Rooms() []string { return s.ns.adapter.SocketRooms(s.id) }

// In reports whether the socket is in the room.
func (s *Socket) In(room string) bool {
	for _, r := range s.Rooms() {
		if r == room {
			return true
		}
	}
	return false
}

// Emit sends an event to this socket. Arguments are encoded with
// encoding/json; []byte values (at any depth of []any and map[string]any)
// are sent as binary attachments.
func (s *Socket) Emit(event string, args ...any) error {
	return s.emit(event, args, 0, false, emitOpts{})
}

// Send emits the "message" event.
func (s *Socket) Send(args ...any) error { return s.Emit("message", args...) }

// EmitWithAck sends an event and waits for the client's acknowledgement,
// until ctx is done (ErrTimeout when its deadline passed) or the socket
// disconnects (ErrDisconnected).
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	return s.emitWithAck(ctx, event, args, emitOpts{})
}

// emitWithAck is EmitWithAck with flags.
func (s *Socket) emitWithAck(ctx context.Context, event string, args []any, o emitOpts) (Args, error) {
	type result struct {
		args Args
		err  error
	}
	ch := make(chan result, 1)
	id := s.ns.ackID.Add(1) - 1
	s.addAck(id, func(a Args, err error) { ch <- result{a, err} })
	if err := s.emit(event, args, id, true, o); err != nil {
		s.dropAck(id)
		return Args{}, err
	}
	if !s.connected.Load() {
		s.dropAck(id)
		return Args{}, ErrDisconnected
	}
	select {
	case r := <-ch:
		return r.args, r.err
	case <-ctx.Done():
		s.dropAck(id)
		if ctx.Err() == context.DeadlineExceeded {
			s.ns.server.stats.ackTimeouts.Add(1)
			return Args{}, ErrTimeout
		}
		return Args{}, ctx.Err()
	}
}

// holdConnect holds the connection's output while the socket's
// connection handlers run (see runConnect).
func (s *Socket) holdConnect() {
	s.mu.Lock()
	s.held = true
	s.mu.Unlock()
	s.conn.eio.Hold()
}

// releaseConnect ends the hold of holdConnect, once: when the connection
// handlers have returned, or earlier when an acknowledgement is awaited
// from the client, which needs the CONNECT answer first.
func (s *Socket) releaseConnect() {
	s.mu.Lock()
	held := s.held
	s.held = false
	s.mu.Unlock()
	if held {
		s.conn.eio.Release()
	}
}

// addAck registers the callback of an acknowledgement. If the socket has
// already disconnected, the callback gets ErrDisconnected at once.
func (s *Socket) addAck(id uint64, fn func(Args, error)) {
	s.mu.Lock()
	if s.acksDone {
		s.mu.Unlock()
		fn(Args{}, ErrDisconnected)
		return
	}
	if s.acks == nil {
		s.acks = make(map[uint64]func(Args, error))
	}
	s.acks[id] = fn
	held := s.held
	s.held = false
	s.mu.Unlock()
	if held {
		s.conn.eio.Release()
	}
}

func (s *Socket) dropAck(id uint64) {
	s.mu.Lock()
	s.deleteAckLocked(id)
	s.mu.Unlock()
}

// deleteAckLocked forgets the callback of an acknowledgement, and the map
// of them once empty (a map does not shrink). s.mu must be held.
func (s *Socket) deleteAckLocked(id uint64) {
	delete(s.acks, id)
	if len(s.acks) == 0 {
		s.acks = nil
	}
}

// emitOpts are the flags of one emit.
type emitOpts struct {
	volatile   bool // neither kept for recovery nor given an offset
	noCompress bool // Compress(false)
	transient  bool // delivered, but neither kept for recovery nor given an offset (Transient)
}

// emit sends an event to the socket, with an ack id when hasID. A
// volatile event is neither kept for recovery nor given an offset, as in
// the reference.
func (s *Socket) emit(event string, args []any, id uint64, hasID bool, o emitOpts) error {
	if parser.IsReservedEvent(event) {
		return ErrReservedEvent
	}
	if !s.connected.Load() {
		return ErrDisconnected
	}
	if !hasID && !o.volatile && !o.transient && s.ns.sessionStore() != nil {
		// Kept for recovery, with an offset: through the room of the
		// socket's own id.
		return s.ns.op().To(s.id).Compress(!o.noCompress).emitTo(context.Background(), s.ns, event, args)
	}
	all := make([]any, 0, 1+len(args))
	all = append(all, event)
	all = append(all, args...)
	text, data, atts, err := argsPacket(parser.Event, s.ns.name, id, hasID, all)
	if err != nil {
		return err
	}
	if !s.conn.sendTextCompress(text, atts, !o.noCompress) {
		return ErrDisconnected
	}
	if s.hasOutgoing() {
		if _, a, ok := eventArgs(data, atts); ok {
			s.notifyOutgoing(event, a)
		}
	}
	return nil
}

// argsPacket encodes, in one buffer, the text form of an EVENT (t is
// parser.Event) or ACK (t is parser.Ack) packet whose payload is args, or
// of its binary variant when args hold binary values. data is the
// payload, the tail of text.
func argsPacket(t parser.Type, nsp string, id uint64, hasID bool, args []any) (text, data []byte, atts [][]byte, err error) {
	p := parser.Packet{Type: t, Namespace: nsp, ID: id, HasID: hasID}
	head := parser.AppendPacket(make([]byte, 0, 64+len(nsp)), &p)
	text, atts, err = parser.AppendData(head, args)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(atts) == 0 {
		return text, text[len(head):], nil, nil
	}
	// The header of a binary packet has the attachment count.
	p.Data, p.Attachments = text[len(head):], len(atts)
	if t == parser.Event {
		p.Type = parser.BinaryEvent
	} else {
		p.Type = parser.BinaryAck
	}
	text = p.Encode()
	return text, text[len(text)-len(p.Data):], atts, nil
}

// eventPacket encodes an EVENT (or BINARY_EVENT) packet.
func eventPacket(nsp, event string, args []any) (parser.Packet, [][]byte, error) {
	all := make([]any, 0, 1+len(args))
	all = append(all, event)
	all = append(all, args...)
	data, atts, err := parser.EncodeData(all)
	if err != nil {
		return parser.Packet{}, nil, err
	}
	p := parser.Packet{Type: parser.Event, Namespace: nsp, Data: data}
	if len(atts) > 0 {
		p.Type, p.Attachments = parser.BinaryEvent, len(atts)
	}
	return p, atts, nil
}

// Broadcast returns an operator that emits to every socket of the
// namespace but this one.
func (s *Socket) Broadcast() BroadcastOperator { return s.ns.op().Except(s.id) }

// To returns an operator that emits to the rooms, this socket excluded.
func (s *Socket) To(rooms ...string) BroadcastOperator { return s.Broadcast().To(rooms...) }

// Except returns an operator that emits to every socket of the namespace
// but this one and those in the rooms.
func (s *Socket) Except(rooms ...string) BroadcastOperator { return s.Broadcast().Except(rooms...) }

// Disconnect disconnects the socket from its namespace: the client is told
// (it sees "io server disconnect" and does not reconnect) and the socket's
// handlers get ReasonServerNamespaceDisconnect. With close, every socket of
// the same connection is disconnected and the connection is closed.
func (s *Socket) Disconnect(close bool) {
	if close {
		s.conn.disconnectAll()
		return
	}
	if !s.connected.Load() || s.closing.Load() {
		return
	}
	// The reason first: the client may close the connection as soon as it
	// gets the packet, and that close must not take the reason's place.
	s.postClose(ReasonServerNamespaceDisconnect)
	s.conn.sendPacket(&parser.Packet{Type: parser.Disconnect, Namespace: s.ns.name}, nil)
}

// runConnect runs on the socket's goroutine: middlewares, then the CONNECT
// reply, then the connection handlers.
func (s *Socket) runConnect() {
	restored := s.restored()
	if s.ns.server.closed.Load() {
		s.conn.forget(s)
		s.ns.refuse()
		s.notResumed()
		return
	}
	middlewares := s.ns.middlewareChain()
	if restored != nil && !s.ns.server.opts.ConnectionStateRecovery.RunMiddlewares {
		middlewares = nil
	}
	if restored != nil {
		s.Join(restored.Rooms...)
	}
	for _, m := range middlewares {
		if err := m(s); err != nil {
			s.markGone()
			s.ns.adapter.DelAll(s.id)
			s.conn.forget(s)
			s.endContext()
			data := connectErrorData(err)
			if s.conn.v3 {
				data = v4ConnectErrorData(err)
			}
			s.conn.sendPacket(&parser.Packet{Type: parser.ConnectError, Namespace: s.ns.name, Data: data}, nil)
			s.ns.server.stats.connectErrs.Add(1)
			s.ns.refuse()
			s.notResumed()
			return
		}
		if s.closing.Load() {
			s.markGone()
			s.ns.adapter.DelAll(s.id)
			s.conn.forget(s)
			s.endContext()
			s.ns.refuse()
			s.notResumed()
			return
		}
	}
	// The CONNECT answer leaves with what the connection handlers do
	// (rooms joined, packets emitted): a client that sees itself connected
	// is already in the rooms its handlers join. It is queued before the
	// socket joins the namespace, so that no broadcast to the namespace
	// reaches the client before it.
	s.holdConnect()
	defer s.releaseConnect()
	if s.conn.v3 {
		s.conn.sendPacket(&parser.Packet{Type: parser.Connect, Namespace: s.ns.name}, nil)
	} else {
		s.conn.sendText(connectReply(s.ns.name, s.id, s.pid()), nil)
	}
	s.ns.add(s)
	s.ns.adapter.Add(s.id, s.id)
	s.connected.Store(true)
	s.conn.hasJoined()
	if restored != nil {
		for _, p := range restored.MissedPackets {
			pkt := p.Event(s.ns.name)
			s.conn.sendPacket(&pkt.Packet, pkt.Attachments)
		}
		restored.MissedPackets = nil
		// What was broadcast to its rooms since the adapter read the
		// missed packets.
		s.ns.adapter.ResumeSession(s.id, true)
	}
	for _, h := range s.ns.connectionHandlers() {
		h(s)
	}
}

// notResumed tells the adapter that the session this socket restored is
// not resumed after all (the socket did not connect).
func (s *Socket) notResumed() {
	if s.restored() != nil {
		s.ns.adapter.ResumeSession(s.id, false)
	}
}

// connectReply returns the text of the CONNECT packet that accepts a
// socket: {"sid":SID}, with "pid" when pid is not empty.
func connectReply(nsp, sid, pid string) []byte {
	p := parser.Packet{Type: parser.Connect, Namespace: nsp}
	if !jsonPlain(sid) || !jsonPlain(pid) {
		p.Data, _ = json.Marshal(struct {
			SID string `json:"sid"`
			PID string `json:"pid,omitempty"`
		}{sid, pid})
		return p.Encode()
	}
	b := make([]byte, 0, 3+len(nsp)+len(`{"sid":"","pid":""}`)+len(sid)+len(pid))
	b = parser.AppendPacket(b, &p)
	b = append(b, `{"sid":"`...)
	b = append(b, sid...)
	if pid != "" {
		b = append(b, `","pid":"`...)
		b = append(b, pid...)
	}
	return append(b, `"}`...)
}

// jsonPlain reports whether json.Marshal writes s unchanged between
// quotes (as it does for the ids this package makes).
func jsonPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

func connectErrorData(err error) json.RawMessage {
	body := struct {
		Message string `json:"message"`
		Data    any    `json:"data,omitempty"`
	}{Message: err.Error()}
	var ce *ConnectError
	if errors.As(err, &ce) {
		body.Data = ce.Data
	}
	b, mErr := json.Marshal(body)
	if mErr != nil {
		b, _ = json.Marshal(struct {
			Message string `json:"message"`
		}{err.Error()})
	}
	return b
}

func (s *Socket) onEvent(event string, args Args, id uint64, hasID bool) {
	var ack Ack
	if hasID {
		var once atomic.Bool
		ack = func(vals ...any) error {
			if once.Swap(true) {
				return nil
			}
			if !s.connected.Load() {
				return ErrDisconnected
			}
			text, _, atts, err := argsPacket(parser.Ack, s.ns.name, id, true, vals)
			if err != nil {
				return err
			}
			if !s.conn.sendText(text, atts) {
				return ErrDisconnected
			}
			return nil
		}
	} else {
		ack = func(...any) error { return nil }
	}
	s.box.post(func() {
		if !s.connected.Load() {
			return
		}
		var (
			mws  []func(string, Args) error
			anys []anyListener
		)
		s.mu.Lock()
		if s.hooks != nil {
			mws, anys = s.hooks.packetMW, s.hooks.anyListeners
		}
		ls := s.takeListeners(event)
		s.mu.Unlock()
		for _, mw := range mws {
			if err := mw(event, args); err != nil {
				s.reportError(err)
				return
			}
		}
		for _, l := range anys {
			l.fn(event, args)
		}
		for _, l := range ls {
			if l.event != event {
				continue
			}
			if err := l.fn.Call(event, args, ack); err != nil {
				s.reportError(err)
			}
		}
		if h := s.ns.handler(event); h != nil {
			h(s, args, ack)
		}
	}, true)
}

func (s *Socket) onAck(id uint64, args Args) {
	s.mu.Lock()
	fn := s.acks[id]
	s.deleteAckLocked(id)
	s.mu.Unlock()
	if fn != nil {
		fn(args, nil)
	}
}

// postClose schedules the socket's disconnection on its goroutine, after
// the events already queued.
func (s *Socket) postClose(reason Reason) {
	if s.closing.Swap(true) {
		return
	}
	s.box.post(func() { s.finishClose(reason) }, false)
}

func (s *Socket) finishClose(reason Reason) {
	wasConnected := s.connected.Load()
	if wasConnected {
		var hs []func(Reason)
		s.mu.Lock()
		if s.hooks != nil {
			hs = s.hooks.onDisconnecting
		}
		s.mu.Unlock()
		for _, h := range hs {
			h(reason)
		}
	}
	var rooms []string
	if wasConnected && recoverable(reason) {
		rooms = s.Rooms()
	}
	s.markGone()
	s.ns.adapter.DelAll(s.id)
	s.connected.Store(false)
	if sa := s.ns.sessionStore(); sa != nil && rooms != nil {
		sa.PersistSession(adapter.RecoverySession{SID: s.id, PID: s.pid(), Rooms: rooms, Data: s.Data()})
	}
	s.conn.forget(s)
	s.ns.remove(s)
	s.endContext()
	s.mu.Lock()
	acks := s.acks
	s.acks = nil
	s.acksDone = true
	var hs []func(Reason)
	if s.hooks != nil {
		hs = s.hooks.onDisconnect
	}
	s.mu.Unlock()
	for _, fn := range acks {
		fn(Args{}, ErrDisconnected)
	}
	if wasConnected {
		s.ns.server.stats.disconnected(reason)
		for _, h := range hs {
			h(reason)
		}
	}
}

// recoverable reports whether a socket disconnected for this reason may
// resume its session.
func recoverable(r Reason) bool {
	switch r {
	case ReasonTransportError, ReasonTransportClose, ReasonForcedClose, ReasonPingTimeout,
		ReasonServerShuttingDown, ReasonForcedServerClose, ReasonSlowConsumer:
		return true
	}
	return false
}
