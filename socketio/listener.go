package socketio

import (
	"fmt"
	"reflect"
)

// Ack answers an incoming event that asked for an acknowledgement. The
// arguments are encoded like those of Emit. Only the first call sends
// anything; calling an Ack for an event that asked for none does nothing.
// It returns ErrDisconnected when the socket is gone.
type Ack func(args ...any) error

// listener is a registered event handler, prepared once.
type listener struct {
	id   uint64
	once bool
	call func(args Args, ack Ack) error
}

var (
	argsType = reflect.TypeFor[Args]()
	ackType  = reflect.TypeFor[Ack]()
	errType  = reflect.TypeFor[error]()
)

// newListener validates fn and builds its caller. Accepted shapes, where
// T1..Tn are any types json.Unmarshal can fill (or []byte, for binary):
//
//	func(T1, ..., Tn)
//	func(T1, ..., Tn, Ack)
//	func(Args) / func(Args, Ack)
//
// Each may also return a single error, which is reported to the socket's
// error handlers.
func newListener(event string, fn any) listener {
	switch f := fn.(type) {
	case func():
		return listener{call: func(Args, Ack) error { f(); return nil }}
	case func(Args):
		return listener{call: func(a Args, _ Ack) error { f(a); return nil }}
	case func(Args, Ack):
		return listener{call: func(a Args, ack Ack) error { f(a, ack); return nil }}
	case func(Args, Ack) error:
		return listener{call: f}
	}
	v := reflect.ValueOf(fn)
	t := v.Type()
	if t.Kind() != reflect.Func || t.IsVariadic() {
		panic(fmt.Sprintf("socketio: handler for %q must be a non-variadic func, not %T", event, fn))
	}
	if t.NumOut() > 1 || (t.NumOut() == 1 && t.Out(0) != errType) {
		panic(fmt.Sprintf("socketio: handler for %q may only return an error", event))
	}
	n := t.NumIn()
	withAck := n > 0 && t.In(n-1) == ackType
	params := n
	if withAck {
		params--
	}
	for i := range params {
		if t.In(i) == ackType {
			panic(fmt.Sprintf("socketio: handler for %q: Ack must be the last parameter", event))
		}
		if t.In(i) == argsType && params != 1 {
			panic(fmt.Sprintf("socketio: handler for %q: Args must be the only argument parameter", event))
		}
	}
	call := func(a Args, ack Ack) error {
		in := make([]reflect.Value, n)
		for i := range params {
			pt := t.In(i)
			if pt == argsType {
				in[i] = reflect.ValueOf(a)
				continue
			}
			p := reflect.New(pt).Elem()
			if raw := a.Raw(i); raw != nil {
				if err := a.decodeInto(raw, p); err != nil {
					return &ArgError{Event: event, Index: i, Err: err}
				}
			}
			in[i] = p
		}
		if withAck {
			in[n-1] = reflect.ValueOf(ack)
		}
		out := v.Call(in)
		if len(out) == 1 && !out[0].IsNil() {
			return out[0].Interface().(error)
		}
		return nil
	}
	return listener{call: call}
}
