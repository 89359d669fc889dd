package socketio

import (
	"context"
	"slices"
	"time"

	"github.com/chatd/chatd/socketio/parser"
)

// anyListener is a catch-all handler, with an id for removal.
type anyListener struct {
	id uint64
	fn func(event string, args Args)
}

// On registers a handler for an incoming event and returns a function that
// removes it. fn is a function whose parameters receive the event's
// arguments, decoded from JSON into their types ([]byte for binary values);
// a last parameter of type Ack receives the acknowledgement function; a
// single Args parameter receives the raw arguments. Examples:
//
//	s.On("chat", func(text string) { ... })
//	s.On("move", func(p Point, ack socketio.Ack) { ack("ok") })
//	s.On("upload", func(name string, data []byte) { ... })
//	s.On("any", func(args socketio.Args, ack socketio.Ack) { ... })
//
// Missing arguments leave their parameters at the zero value; an argument
// that cannot be decoded skips the handler and reports an *ArgError to the
// OnError handlers. A handler may return an error, which is reported the
// same way. On panics if fn has another shape.
func (s *Socket) On(event string, fn any) (off func()) {
	// Small enough to be inlined: a caller that drops off does not
	// allocate it.
	return listenerRef{s, s.addListener(event, fn)}.remove
}

// Once is On for a handler called at most once.
func (s *Socket) Once(event string, fn any) (off func()) {
	return listenerRef{s, s.addOnceListener(event, fn)}.remove
}

// The socket's handler lists are copied on write, except that appending
// may fill spare capacity: a list taken under s.mu stays valid (its
// elements never change) after s.mu is released.

// addListener adds an event handler and returns its id.
func (s *Socket) addListener(event string, fn any) uint64 {
	return s.appendListener(newListener(event, fn))
}

// addOnceListener adds a one-shot event handler and returns its id.
func (s *Socket) addOnceListener(event string, fn any) uint64 {
	l := newListener(event, fn)
	l.once = true
	return s.appendListener(l)
}

// appendListener adds l, giving it its id.
func (s *Socket) appendListener(l listener) uint64 {
	s.mu.Lock()
	s.nextListener++
	l.id = s.nextListener
	if s.listeners == nil {
		// Room for a second one: sockets usually get several.
		s.listeners = make([]listener, 0, 2)
	}
	s.listeners = append(s.listeners, l)
	s.mu.Unlock()
	return l.id
}

// listenerRef designates an event handler of a socket.
type listenerRef struct {
	s  *Socket
	id uint64
}

// remove removes the handler, if still there.
func (r listenerRef) remove() {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	r.s.dropListeners(func(x *listener) bool { return x.id == r.id })
}

// dropListeners removes the event handlers that drop selects. s.mu must
// be held.
func (s *Socket) dropListeners(drop func(*listener) bool) {
	i := slices.IndexFunc(s.listeners, func(l listener) bool { return drop(&l) })
	if i < 0 {
		return
	}
	kept := make([]listener, i, len(s.listeners)-1)
	copy(kept, s.listeners[:i])
	for j := i + 1; j < len(s.listeners); j++ {
		if !drop(&s.listeners[j]) {
			kept = append(kept, s.listeners[j])
		}
	}
	if len(kept) == 0 {
		kept = nil
	}
	s.listeners = kept
}

// takeListeners returns the handlers of every event, in the order they
// were added, after removing the one-shot handlers of event from the
// socket (the caller calls those it gets). s.mu must be held.
func (s *Socket) takeListeners(event string) []listener {
	ls := s.listeners
	if slices.ContainsFunc(ls, func(l listener) bool { return l.once && l.event == event }) {
		s.dropListeners(func(l *listener) bool { return l.once && l.event == event })
	}
	return ls
}

// Off removes every handler of event.
func (s *Socket) Off(event string) {
	s.mu.Lock()
	s.dropListeners(func(l *listener) bool { return l.event == event })
	s.mu.Unlock()
}

// OnAny registers a handler called for every incoming event, before the
// event's own handlers, and returns a function that removes it.
func (s *Socket) OnAny(fn func(event string, args Args)) (off func()) {
	return s.addAny(false, fn, false)
}

// PrependAny is OnAny placing the handler before the others.
func (s *Socket) PrependAny(fn func(event string, args Args)) (off func()) {
	return s.addAny(false, fn, true)
}

// OffAny removes every catch-all handler of incoming events.
func (s *Socket) OffAny() {
	s.mu.Lock()
	if s.hooks != nil {
		s.hooks.anyListeners = nil
	}
	s.mu.Unlock()
}

// OnAnyOutgoing registers a handler called for every event sent to this
// socket (by Emit or by a broadcast), and returns a function that removes
// it. It runs on the socket's handler goroutine, after the event was
// queued.
func (s *Socket) OnAnyOutgoing(fn func(event string, args Args)) (off func()) {
	return s.addAny(true, fn, false)
}

// PrependAnyOutgoing is OnAnyOutgoing placing the handler before the others.
func (s *Socket) PrependAnyOutgoing(fn func(event string, args Args)) (off func()) {
	return s.addAny(true, fn, true)
}

// OffAnyOutgoing removes every catch-all handler of outgoing events.
func (s *Socket) OffAnyOutgoing() {
	s.mu.Lock()
	if s.hooks != nil {
		s.hooks.outListeners = nil
	}
	s.hasOut.Store(false)
	s.mu.Unlock()
}

// addAny adds a catch-all handler of incoming events, or of outgoing ones
// with out.
func (s *Socket) addAny(out bool, fn func(string, Args), prepend bool) func() {
	s.mu.Lock()
	h := s.hooksLocked()
	list := &h.anyListeners
	if out {
		list = &h.outListeners
	}
	s.nextListener++
	l := anyListener{id: s.nextListener, fn: fn}
	if prepend {
		*list = append([]anyListener{l}, *list...)
	} else {
		*list = append(*list, l)
	}
	s.hasOut.Store(len(h.outListeners) > 0)
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		*list = slices.DeleteFunc(slices.Clone(*list), func(x anyListener) bool { return x.id == l.id })
		s.hasOut.Store(len(h.outListeners) > 0)
	}
}

// hasOutgoing reports whether outgoing catch-all handlers are registered,
// without a lock: broadcasts ask it for every recipient.
func (s *Socket) hasOutgoing() bool { return s.hasOut.Load() }

// notifyOutgoing runs the outgoing handlers on the socket's goroutine.
func (s *Socket) notifyOutgoing(event string, args Args) {
	s.box.post(func() {
		var ls []anyListener
		s.mu.Lock()
		if s.hooks != nil {
			ls = s.hooks.outListeners
		}
		s.mu.Unlock()
		for _, l := range ls {
			l.fn(event, args)
		}
	}, false)
}

// Use adds a middleware run for every incoming event before its handlers
// (the reference's socket.use). Returning an error drops the event: its
// handlers are not called and the error goes to the OnError handlers
// (nothing is sent to the client).
func (s *Socket) Use(fn func(event string, args Args) error) {
	s.mu.Lock()
	h := s.hooksLocked()
	h.packetMW = append(h.packetMW, fn)
	s.mu.Unlock()
}

// SocketEmitter emits to one socket with flags. It is an immutable value.
type SocketEmitter struct {
	s          *Socket
	volatile   bool
	noCompress bool
	transient  bool
	timeout    time.Duration
}

// Volatile returns an emitter whose events are dropped when the socket's
// transport cannot write right away.
func (s *Socket) Volatile() SocketEmitter { return SocketEmitter{s: s, volatile: true} }

// Timeout returns an emitter whose EmitWithAck gives up after d.
func (s *Socket) Timeout(d time.Duration) SocketEmitter { return SocketEmitter{s: s, timeout: d} }

// Transient returns an emitter whose events are delivered as usual but,
// with connection state recovery, carry no offset and are not kept for a
// resuming client: a client that resumes its session after missing one
// does not get it again. Use it for state the server sends anew on every
// connection, recovered or not (a list of rooms, counters): recovery would
// replay an outdated copy, after keeping it in memory for the whole
// window. Not a feature of the reference server (where only volatile
// events are not kept); without recovery it changes nothing.
func (s *Socket) Transient() SocketEmitter { return SocketEmitter{s: s, transient: true} }

// Compress returns an emitter with the compress flag (the reference's
// socket.compress): with false, its events are sent without WebSocket
// compression (permessage-deflate, engine.Options.PerMessageDeflate), and
// a polling response holding only such packets is not HTTP-compressed.
// Events are compressed by default, when the extension was negotiated and
// they reach its threshold.
func (s *Socket) Compress(on bool) SocketEmitter { return SocketEmitter{s: s, noCompress: !on} }

// Volatile sets the volatile flag.
func (e SocketEmitter) Volatile() SocketEmitter { e.volatile = true; return e }

// Transient sets the transient flag (see Socket.Transient).
func (e SocketEmitter) Transient() SocketEmitter { e.transient = true; return e }

// Timeout sets the acknowledgement timeout.
func (e SocketEmitter) Timeout(d time.Duration) SocketEmitter { e.timeout = d; return e }

// Compress sets the compress flag (see Socket.Compress).
func (e SocketEmitter) Compress(on bool) SocketEmitter { e.noCompress = !on; return e }

// Emit sends an event, as Socket.Emit; a volatile event that cannot be
// written right away is dropped without error, and with connection state
// recovery it carries no offset and is not kept for a resuming client.
func (e SocketEmitter) Emit(event string, args ...any) error {
	o := emitOpts{volatile: e.volatile, noCompress: e.noCompress, transient: e.transient}
	if !e.volatile {
		return e.s.emit(event, args, 0, false, o)
	}
	if parser.IsReservedEvent(event) {
		return ErrReservedEvent
	}
	if !e.s.conn.eio.Writable() {
		return nil
	}
	return e.s.emit(event, args, 0, false, o)
}

// EmitWithAck sends an event and waits for the acknowledgement, at most
// the emitter's timeout (when set) and until ctx is done.
func (e SocketEmitter) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	if e.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.timeout)
		defer cancel()
	}
	return e.s.emitWithAck(ctx, event, args, emitOpts{noCompress: e.noCompress})
}

// eventArgs splits an EVENT packet's payload into its name and arguments.
func eventArgs(data []byte, atts [][]byte) (string, Args, bool) {
	raw, err := parser.SplitArray(data)
	if err != nil || len(raw) == 0 {
		return "", Args{}, false
	}
	name, ok := eventName(raw[0])
	return name, newArgs(raw[1:], atts), ok
}
