package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/socketio/parser"
)

var (
	// ErrReservedEvent is returned by Emit for the event names the protocol
	// reserves (connect, connect_error, disconnect, disconnecting,
	// newListener, removeListener).
	ErrReservedEvent = errors.New("socket.io client: reserved event name")
	// ErrDisconnected is returned by EmitWithAck when the connection is
	// lost or the socket is disconnected after the event was sent and
	// before its acknowledgement arrived.
	ErrDisconnected = errors.New("socket.io client: socket has been disconnected")
	// ErrNotConnected is returned by an Ack function when the socket is no
	// longer connected on the connection the event came from.
	ErrNotConnected = errors.New("socket.io client: socket is not connected")
	// ErrAckSent is returned by an Ack function called more than once.
	ErrAckSent = errors.New("socket.io client: acknowledgement already sent")
	// ErrNoAck is returned by the Ack function given to a handler of an
	// event that the server emitted without acknowledgement callback.
	ErrNoAck = errors.New("socket.io client: the event has no acknowledgement")
	// ErrAckTimeout is returned by EmitWithAck when no acknowledgement came
	// within SocketOptions.AckTimeout (after every retry, with Retries).
	ErrAckTimeout = errors.New("socket.io client: operation has timed out")
)

// ConnectError describes a failed connection: a CONNECT refused by the
// server (a CONNECT_ERROR packet, Message and Data as the server set them),
// or a connection attempt that failed (Err holds the cause; Message is
// "timeout" for an attempt that timed out).
type ConnectError struct {
	// Message is the error message.
	Message string `json:"message"`
	// Data is the "data" member the server attached to the error, as JSON
	// (nil when absent).
	Data json.RawMessage `json:"data,omitempty"`
	// Err is the transport error of a failed connection attempt.
	Err error `json:"-"`
}

// Error implements error.
func (e *ConnectError) Error() string { return e.Message }

// Unwrap returns the transport error, if any.
func (e *ConnectError) Unwrap() error { return e.Err }

// Refused reports whether the error is a CONNECT refused by the server
// (as opposed to a failed connection attempt).
func (e *ConnectError) Refused() bool { return e.Err == nil }

type ackResult struct {
	args Args
	err  error
}

type pendingAck struct {
	ch    chan ackResult // buffered, receives one result (plain acks)
	retry *retryItem     // set for the tries of a queued event
	timer *time.Timer    // the try's AckTimeout, if any
	sent  bool           // the event is on the wire (not in the send buffer)
}

// retryItem is an event of the retry queue (SocketOptions.Retries).
type retryItem struct {
	event   string
	args    []any
	tries   int
	pending bool           // a try is on the wire
	done    chan ackResult // buffered; nil for Emit
}

// buffered is an emit made while the socket was not connected.
type buffered struct {
	pkts   []packet
	ackID  uint64
	hasAck bool
}

// Socket is the client side of one namespace, multiplexed with the other
// namespaces of its Manager over one connection. Handlers registered on a
// Socket run one at a time, in the order of the packets, on a goroutine of
// the Socket (never the network reader), so a handler may block, emit, or
// wait for an acknowledgement. All methods are safe for concurrent use.
type Socket struct {
	m      *Manager
	nsp    string
	events serialQueue

	mu           sync.Mutex
	opts         SocketOptions
	queue        []*retryItem // with Retries: events waiting for their ack
	id           string
	eng          *engineConn // the connection the socket is connected or connecting on
	connected    bool
	active       bool
	sendBuf      []buffered
	acks         map[uint64]*pendingAck
	nextID       uint64
	handlers     map[string][]eventHandler
	anyHandlers  []func(event string, args Args)
	onConnect    []func()
	onConnectErr []func(err *ConnectError)
	onDisconnect []func(reason string)
	onError      []func(err error)
	waiters      []chan error

	// Connection state recovery: the private id the server gave (set
	// only when recovery is on there), the offset of the last event
	// received, and whether the last CONNECT resumed the session.
	pid        string
	lastOffset string
	recovered  bool
}

func newSocket(m *Manager, nsp string, opts *SocketOptions) *Socket {
	s := &Socket{m: m, nsp: nsp, acks: map[uint64]*pendingAck{}, handlers: map[string][]eventHandler{}}
	if opts != nil {
		s.opts = *opts
	}
	return s
}

// Namespace returns the namespace name ("/", "/admin", ...).
func (s *Socket) Namespace() string { return s.nsp }

// Manager returns the Manager the socket belongs to.
func (s *Socket) Manager() *Manager { return s.m }

// ID returns the socket id the server assigned at the last connection
// ("" before the first one).
func (s *Socket) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// Recovered reports whether the last connection resumed the previous
// session (the server's connection state recovery): the socket kept its
// id and rooms, and the events broadcast while it was away were delivered
// on reconnection. As the official client, the socket sends the private
// id and the offset of the last event it received in every CONNECT once
// the server gave it one (its CONNECT reply carries a "pid"); an event's
// offset is its last argument, a string, which handlers still receive.
func (s *Socket) Recovered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recovered
}

// Connected reports whether the socket is connected to its namespace.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Active reports whether the socket is connected or trying to connect
// (including waiting to reconnect). It is false after Disconnect, after the
// server disconnected it and after a refused CONNECT.
func (s *Socket) Active() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

// Connect (re)connects the socket after Disconnect, a server-side
// disconnect or a refused CONNECT. It does nothing when the socket is
// active. The result is reported to the connect and connect_error handlers.
func (s *Socket) Connect() {
	s.mu.Lock()
	if s.active {
		s.mu.Unlock()
		return
	}
	s.active = true
	s.mu.Unlock()
	s.m.socketActivated(s)
}

// Disconnect disconnects the socket from its namespace ("io client
// disconnect"): a DISCONNECT packet is sent when connected, no automatic
// reconnection follows, and the connection is closed when no other Socket
// of the Manager uses it. Events emitted afterwards are buffered until
// Connect.
func (s *Socket) Disconnect() {
	s.mu.Lock()
	if !s.active && !s.connected {
		s.mu.Unlock()
		return
	}
	was, eng := s.connected, s.eng
	s.active, s.connected, s.eng = false, false, nil
	s.failSentAcksLocked()
	if was && eng != nil {
		eng.send(s.encode(parser.Packet{Type: parser.Disconnect, Namespace: s.nsp}, nil)...)
		s.emitDisconnectLocked(ReasonIOClientDisconnect)
	}
	s.mu.Unlock()
	s.m.socketDeactivated()
}

// Close disconnects the socket like Disconnect and, when no other Socket
// of its Manager is active, closes the Manager (see Manager.Close), waiting
// for its network goroutines to end.
func (s *Socket) Close() error {
	s.Disconnect()
	s.m.mu.Lock()
	idle := !s.m.anyActiveLocked()
	s.m.mu.Unlock()
	if idle {
		return s.m.Close()
	}
	return nil
}

// Emit sends an event with arguments. Arguments are marshaled to JSON with
// encoding/json, except []byte values (at the top level or nested in []any
// and map[string]any), which travel as binary attachments. When the socket
// is not connected the event is buffered and sent, in order, on the next
// connection. With SocketOptions.Retries, the event goes through the retry
// queue (see there).
func (s *Socket) Emit(event string, args ...any) error {
	s.mu.Lock()
	retries := s.opts.Retries
	s.mu.Unlock()
	if retries > 0 {
		_, err := s.enqueue(event, args, false)
		return err
	}
	return s.emit(event, args, false, false, 0)
}

// EmitVolatile sends an event like Emit, except that it is dropped instead
// of buffered when the socket is not connected or the connection is not
// ready to write (during an upgrade). It bypasses the retry queue.
func (s *Socket) EmitVolatile(event string, args ...any) error {
	return s.emit(event, args, true, false, 0)
}

// EmitWithAck sends an event and waits for the server's acknowledgement,
// returning its arguments. It returns ctx.Err() when ctx ends first (the
// event is then dropped from the send buffer if it was not sent yet),
// ErrAckTimeout after SocketOptions.AckTimeout, and ErrDisconnected when
// the connection is lost after the event was sent. With
// SocketOptions.Retries the event is retried instead (see there).
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	s.mu.Lock()
	timeout, retries := s.opts.AckTimeout, s.opts.Retries
	s.mu.Unlock()
	if retries > 0 {
		item, err := s.enqueue(event, args, true)
		if err != nil {
			return Args{}, err
		}
		select {
		case r := <-item.done:
			return r.args, r.err
		case <-ctx.Done():
			s.mu.Lock()
			s.dropItemLocked(item)
			s.mu.Unlock()
			return Args{}, ctx.Err()
		}
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, ErrAckTimeout)
		defer cancel()
	}
	s.mu.Lock()
	s.nextID++
	id := s.nextID
	pa := &pendingAck{ch: make(chan ackResult, 1)}
	s.acks[id] = pa
	s.mu.Unlock()
	if err := s.emit(event, args, false, true, id); err != nil {
		s.mu.Lock()
		delete(s.acks, id)
		s.mu.Unlock()
		return Args{}, err
	}
	select {
	case r := <-pa.ch:
		return r.args, r.err
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.acks, id)
		s.sendBuf = slices.DeleteFunc(s.sendBuf, func(b buffered) bool { return b.hasAck && b.ackID == id })
		s.mu.Unlock()
		select {
		case r := <-pa.ch: // the ack won the race
			return r.args, r.err
		default:
		}
		return Args{}, context.Cause(ctx)
	}
}

// enqueue validates an event and adds it to the retry queue.
func (s *Socket) enqueue(event string, args []any, withAck bool) (*retryItem, error) {
	if _, err := s.encodeEvent(event, args, false, 0); err != nil {
		return nil, err
	}
	item := &retryItem{event: event, args: args}
	if withAck {
		item.done = make(chan ackResult, 1)
	}
	s.mu.Lock()
	s.queue = append(s.queue, item)
	s.drainLocked(false)
	s.mu.Unlock()
	return item, nil
}

// drainLocked sends the head of the retry queue when connected and, unless
// force is set, when no try of it is on the wire.
func (s *Socket) drainLocked(force bool) {
	if !s.connected || s.eng == nil || len(s.queue) == 0 {
		return
	}
	item := s.queue[0]
	if item.pending && !force {
		return
	}
	item.pending = true
	item.tries++
	s.nextID++
	id := s.nextID
	pkts, _ := s.encodeEvent(item.event, item.args, true, id) // validated by enqueue
	pa := &pendingAck{retry: item, sent: true}
	s.acks[id] = pa
	if d := s.opts.AckTimeout; d > 0 {
		pa.timer = time.AfterFunc(d, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.acks[id] == pa {
				delete(s.acks, id)
				s.retryResultLocked(item, ackResult{err: ErrAckTimeout})
			}
		})
	}
	s.eng.send(pkts...)
}

// retryResultLocked handles the outcome of one try of a queued event.
func (s *Socket) retryResultLocked(item *retryItem, r ackResult) {
	if len(s.queue) == 0 || s.queue[0] != item {
		return // already settled (a late ack of an earlier try)
	}
	item.pending = false
	if r.err != nil && item.tries <= s.opts.Retries {
		s.drainLocked(false) // try again (now, or on the next connection)
		return
	}
	s.queue = s.queue[1:]
	if item.done != nil {
		item.done <- r
	}
	s.drainLocked(false)
}

// dropItemLocked removes an event from the retry queue (its EmitWithAck
// gave up).
func (s *Socket) dropItemLocked(item *retryItem) {
	i := slices.Index(s.queue, item)
	if i < 0 {
		return
	}
	s.queue = slices.Delete(s.queue, i, i+1)
	for id, pa := range s.acks {
		if pa.retry == item {
			delete(s.acks, id)
			if pa.timer != nil {
				pa.timer.Stop()
			}
		}
	}
	if i == 0 {
		s.drainLocked(false)
	}
}

func (s *Socket) emit(event string, args []any, volatile, hasAck bool, id uint64) error {
	pkts, err := s.encodeEvent(event, args, hasAck, id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.connected && s.eng != nil {
		if volatile && !s.eng.writable() {
			return nil
		}
		if s.eng.send(pkts...) && hasAck {
			if pa := s.acks[id]; pa != nil {
				pa.sent = true
			}
		}
		return nil
	}
	if volatile {
		return nil
	}
	s.sendBuf = append(s.sendBuf, buffered{pkts: pkts, ackID: id, hasAck: hasAck})
	return nil
}

// encodeEvent returns the Engine.IO messages of an event.
func (s *Socket) encodeEvent(event string, args []any, hasAck bool, id uint64) ([]packet, error) {
	if parser.IsReservedEvent(event) {
		return nil, fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	all := make([]any, 0, len(args)+1)
	all = append(all, event)
	all = append(all, args...)
	data, atts, err := parser.EncodeData(all)
	if err != nil {
		return nil, fmt.Errorf("socket.io client: encoding %q: %w", event, err)
	}
	typ := parser.Event
	if len(atts) > 0 {
		typ = parser.BinaryEvent
	}
	return s.encode(parser.Packet{Type: typ, Namespace: s.nsp, ID: id, HasID: hasAck, Attachments: len(atts), Data: data}, atts), nil
}

// encode returns the Engine.IO messages of a Socket.IO packet.
func (s *Socket) encode(p parser.Packet, atts [][]byte) []packet {
	if pr := s.m.cfg.Parser; pr != nil {
		msgs, err := pr.Encode(nil, &p, atts)
		if err != nil {
			return nil // not from the packets this client makes
		}
		pkts := make([]packet, len(msgs))
		for i, m := range msgs {
			if m.Binary {
				pkts[i] = binaryMessage(m.Data)
			} else {
				pkts[i] = textMessage(m.Data)
			}
		}
		return pkts
	}
	text := append([]byte(nil), 0)[:0]
	text = parser.AppendPacket(text, &p)
	pkts := make([]packet, 0, 1+len(atts))
	pkts = append(pkts, textMessage(text))
	for _, a := range atts {
		pkts = append(pkts, binaryMessage(a))
	}
	return pkts
}

// On registers a handler for an event. fn is one of:
//
//	func(args Args)                 the raw arguments
//	func(args Args, ack Ack)        with the acknowledgement function
//	func(a T1, b T2, ...)           arguments decoded from JSON into the
//	                                parameter types ([]byte for binary)
//	func(a T1, ..., ack Ack)        the same, with the acknowledgement
//
// Missing arguments leave their parameters at the zero value; an argument
// that cannot be decoded skips the handler and reports an *ArgError to the
// OnError handlers. The reserved events are also accepted: "connect" with
// func(), "disconnect" with func(reason string), "connect_error" with
// func(err *ConnectError) or func(err error). On panics on any other shape.
func (s *Socket) On(event string, fn any) {
	switch event {
	case "connect":
		if f, ok := fn.(func()); ok {
			s.OnConnect(f)
			return
		}
	case "disconnect":
		if f, ok := fn.(func(string)); ok {
			s.OnDisconnect(f)
			return
		}
	case "connect_error":
		switch f := fn.(type) {
		case func(*ConnectError):
			s.OnConnectError(f)
			return
		case func(error):
			s.OnConnectError(func(e *ConnectError) { f(e) })
			return
		}
	}
	if parser.IsReservedEvent(event) {
		panic(fmt.Sprintf("socket.io client: unsupported handler type %T for event %q", fn, event))
	}
	h := makeHandler(fn)
	s.mu.Lock()
	s.handlers[event] = append(s.handlers[event], h)
	s.mu.Unlock()
}

// Once registers a handler like On, called for the first occurrence of the
// event only. Reserved events are not accepted.
func (s *Socket) Once(event string, fn any) {
	if parser.IsReservedEvent(event) {
		panic(fmt.Sprintf("socket.io client: Once does not accept the reserved event %q", event))
	}
	h := makeHandler(fn)
	var fired atomic.Bool
	s.mu.Lock()
	s.handlers[event] = append(s.handlers[event], func(event string, args Args, ack Ack) error {
		if fired.Swap(true) {
			return nil
		}
		return h(event, args, ack)
	})
	s.mu.Unlock()
}

// Off removes every handler of an event registered with On or Once.
func (s *Socket) Off(event string) {
	s.mu.Lock()
	delete(s.handlers, event)
	s.mu.Unlock()
}

// OnAny registers a handler called for every incoming event, before the
// handlers of the event itself.
func (s *Socket) OnAny(fn func(event string, args Args)) {
	s.mu.Lock()
	s.anyHandlers = append(s.anyHandlers, fn)
	s.mu.Unlock()
}

// OffAny removes every handler registered with OnAny.
func (s *Socket) OffAny() {
	s.mu.Lock()
	s.anyHandlers = nil
	s.mu.Unlock()
}

// OnConnect registers fn, called each time the socket connects to its
// namespace (after the events buffered while disconnected were sent).
func (s *Socket) OnConnect(fn func()) {
	s.mu.Lock()
	s.onConnect = append(s.onConnect, fn)
	s.mu.Unlock()
}

// OnConnectError registers fn, called when the server refuses the CONNECT
// (no reconnection follows) and when a connection attempt fails while the
// socket is not connected.
func (s *Socket) OnConnectError(fn func(err *ConnectError)) {
	s.mu.Lock()
	s.onConnectErr = append(s.onConnectErr, fn)
	s.mu.Unlock()
}

// OnDisconnect registers fn, called with the reason (ReasonIOServerDisconnect,
// ReasonIOClientDisconnect, ReasonPingTimeout, ReasonTransportClose,
// ReasonTransportError, ReasonParseError) each time a connected socket is
// disconnected.
func (s *Socket) OnDisconnect(fn func(reason string)) {
	s.mu.Lock()
	s.onDisconnect = append(s.onDisconnect, fn)
	s.mu.Unlock()
}

// OnError registers fn, called with an *ArgError when an event argument
// cannot be decoded for a handler.
func (s *Socket) OnError(fn func(err error)) {
	s.mu.Lock()
	s.onError = append(s.onError, fn)
	s.mu.Unlock()
}

// addWaiter registers a channel that receives the result of the next
// connection: nil on connect, the error on connect_error.
func (s *Socket) addWaiter() chan error {
	ch := make(chan error, 1)
	s.mu.Lock()
	if s.connected {
		ch <- nil
	} else {
		s.waiters = append(s.waiters, ch)
	}
	s.mu.Unlock()
	return ch
}

// waitConnect waits for the result that ch, from addWaiter, receives.
func (s *Socket) waitConnect(ctx context.Context, ch chan error) error {
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		s.mu.Lock()
		s.waiters = slices.DeleteFunc(s.waiters, func(c chan error) bool { return c == ch })
		s.mu.Unlock()
		return ctx.Err()
	}
}

func (s *Socket) notifyWaitersLocked(err error) {
	for _, ch := range s.waiters {
		ch <- err
	}
	s.waiters = nil
}

// onManagerOpen sends the CONNECT packet on a new connection.
func (s *Socket) onManagerOpen(eng *engineConn) {
	s.mu.Lock()
	if !s.active || s.eng == eng {
		s.mu.Unlock()
		return
	}
	s.eng = eng
	s.connected = false
	authFunc, auth := s.opts.AuthFunc, s.opts.Auth
	pid, offset := s.pid, s.lastOffset
	s.mu.Unlock()
	if authFunc != nil {
		auth = authFunc()
	}
	p := parser.Packet{Type: parser.Connect, Namespace: s.nsp}
	if auth != nil || pid != "" {
		data, err := connectPayload(auth, pid, offset)
		if err != nil {
			s.mu.Lock()
			s.eng = nil
			s.active = false
			s.emitConnectErrorLocked(&ConnectError{Message: "auth: " + err.Error(), Err: err})
			s.mu.Unlock()
			s.m.socketDeactivated()
			return
		}
		p.Data = data
	}
	s.mu.Lock()
	if s.eng == eng {
		eng.send(s.encode(p, nil)...)
	}
	s.mu.Unlock()
}

// onManagerClose handles the loss of the connection.
func (s *Socket) onManagerClose(eng *engineConn, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.eng != eng {
		return
	}
	s.eng = nil
	was := s.connected
	s.connected = false
	s.failSentAcksLocked()
	if was {
		s.emitDisconnectLocked(reason)
	}
}

// onManagerError reports a failed connection attempt.
func (s *Socket) onManagerError(err *ConnectError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active && !s.connected {
		s.emitConnectErrorLocked(err)
	}
}

// onPacket handles a packet of the socket's namespace.
func (s *Socket) onPacket(eng *engineConn, p parser.Packet, atts [][]byte) {
	switch p.Type {
	case parser.Connect:
		var body struct {
			SID string `json:"sid"`
			PID string `json:"pid"`
		}
		if err := json.Unmarshal(p.Data, &body); err != nil || body.SID == "" {
			eng.terminate(ReasonParseError, fmt.Errorf("socket.io client: bad CONNECT reply %q", p.Data))
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.active && s.eng == nil {
			// Disconnected while the CONNECT was in flight: release the
			// server-side socket.
			eng.send(s.encode(parser.Packet{Type: parser.Disconnect, Namespace: s.nsp}, nil)...)
			return
		}
		if s.eng != eng || s.connected || !s.active {
			return
		}
		s.connected = true
		s.id = body.SID
		s.recovered = body.PID != "" && body.PID == s.pid
		s.pid = body.PID
		if !s.recovered {
			s.lastOffset = ""
		}
		for _, b := range s.sendBuf {
			eng.send(b.pkts...)
			if b.hasAck {
				if pa := s.acks[b.ackID]; pa != nil {
					pa.sent = true
				}
			}
		}
		s.sendBuf = nil
		s.drainLocked(true)
		s.notifyWaitersLocked(nil)
		cbs := s.onConnect
		s.events.push(func() {
			for _, fn := range cbs {
				fn()
			}
		})
	case parser.ConnectError:
		cerr := &ConnectError{}
		if err := json.Unmarshal(p.Data, cerr); err != nil {
			var msg string // a plain string, as very old servers sent
			_ = json.Unmarshal(p.Data, &msg)
			cerr = &ConnectError{Message: msg}
		}
		if string(cerr.Data) == "null" {
			cerr.Data = nil
		}
		s.mu.Lock()
		if s.eng != eng {
			s.mu.Unlock()
			return
		}
		s.eng, s.active, s.connected = nil, false, false
		s.emitConnectErrorLocked(cerr)
		s.mu.Unlock()
		s.m.socketDeactivated()
	case parser.Disconnect:
		s.mu.Lock()
		if s.eng != eng {
			s.mu.Unlock()
			return
		}
		was := s.connected
		s.eng, s.active, s.connected = nil, false, false
		s.failSentAcksLocked()
		if was {
			s.emitDisconnectLocked(ReasonIOServerDisconnect)
		}
		s.mu.Unlock()
		s.m.socketDeactivated()
	case parser.Event, parser.BinaryEvent:
		s.onEvent(eng, p, atts)
	case parser.Ack, parser.BinaryAck:
		raw, err := parser.SplitArray(p.Data)
		if err != nil || !p.HasID {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		pa := s.acks[p.ID]
		delete(s.acks, p.ID)
		if pa != nil {
			pa.settleLocked(s, ackResult{args: newArgs(raw, atts)})
		}
	}
}

func (s *Socket) onEvent(eng *engineConn, p parser.Packet, atts [][]byte) {
	raw, err := parser.SplitArray(p.Data)
	if err != nil || len(raw) == 0 {
		return
	}
	var event string
	if err := json.Unmarshal(raw[0], &event); err != nil {
		var num json.Number // the protocol allows a numeric event name
		if json.Unmarshal(raw[0], &num) != nil {
			return
		}
		event = num.String()
	}
	args := newArgs(raw[1:], atts)
	if len(raw) > 1 {
		s.noteOffset(raw[len(raw)-1])
	}
	ack := Ack(func(...any) error { return ErrNoAck })
	if p.HasID {
		ack = s.makeAck(eng, p.ID)
	}
	s.mu.Lock()
	anys := s.anyHandlers
	hs := s.handlers[event]
	errs := s.onError
	s.mu.Unlock()
	s.events.push(func() {
		for _, fn := range anys {
			fn(event, args)
		}
		for _, h := range hs {
			if err := h(event, args, ack); err != nil {
				for _, fn := range errs {
					fn(err)
				}
			}
		}
	})
}

func (s *Socket) makeAck(eng *engineConn, id uint64) Ack {
	var done atomic.Bool
	return func(args ...any) error {
		if !done.CompareAndSwap(false, true) {
			return ErrAckSent
		}
		if args == nil {
			args = []any{}
		}
		data, atts, err := parser.EncodeData(args)
		if err != nil {
			return fmt.Errorf("socket.io client: encoding ack: %w", err)
		}
		typ := parser.Ack
		if len(atts) > 0 {
			typ = parser.BinaryAck
		}
		pkts := s.encode(parser.Packet{Type: typ, Namespace: s.nsp, ID: id, HasID: true, Attachments: len(atts), Data: data}, atts)
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.connected || s.eng != eng || !eng.send(pkts...) {
			return ErrNotConnected
		}
		return nil
	}
}

func (s *Socket) failSentAcksLocked() {
	for id, pa := range s.acks {
		if pa.sent {
			delete(s.acks, id)
			pa.settleLocked(s, ackResult{err: ErrDisconnected})
		}
	}
}

// settleLocked delivers the outcome of an acknowledgement request, already
// removed from s.acks.
func (pa *pendingAck) settleLocked(s *Socket, r ackResult) {
	if pa.timer != nil {
		pa.timer.Stop()
	}
	if pa.retry != nil {
		s.retryResultLocked(pa.retry, r)
		return
	}
	pa.ch <- r
}

func (s *Socket) emitDisconnectLocked(reason string) {
	cbs := s.onDisconnect
	s.events.push(func() {
		for _, fn := range cbs {
			fn(reason)
		}
	})
}

func (s *Socket) emitConnectErrorLocked(err *ConnectError) {
	s.notifyWaitersLocked(err)
	cbs := s.onConnectErr
	s.events.push(func() {
		for _, fn := range cbs {
			fn(err)
		}
	})
}

// noteOffset keeps the last argument of an event as the offset to resume
// from when the server recovers connection state (a pid was given) and
// the argument is a string.
func (s *Socket) noteOffset(last json.RawMessage) {
	if len(last) == 0 || last[0] != '"' {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pid == "" {
		return
	}
	var offset string
	if json.Unmarshal(last, &offset) == nil {
		s.lastOffset = offset
	}
}

// connectPayload is the CONNECT payload: auth, and with a private id the
// pid and offset to resume from, which keys of auth override (as the
// official client's Object.assign({pid, offset}, auth)). auth must then
// encode as a JSON object (or be nil).
func connectPayload(auth any, pid, offset string) (json.RawMessage, error) {
	data, err := json.Marshal(auth)
	if err != nil || pid == "" {
		return data, err
	}
	fields := map[string]json.RawMessage{}
	if auth != nil {
		if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
			return nil, fmt.Errorf("socket.io client: with connection state recovery, auth must be a JSON object, not %s", data)
		}
	}
	for k, v := range map[string]string{"pid": pid, "offset": offset} {
		if _, ok := fields[k]; !ok && v != "" { // no offset before the first event, as there
			b, _ := json.Marshal(v)
			fields[k] = b
		}
	}
	return json.Marshal(fields)
}
