// Package event holds what the Socket.IO server and client packages share
// about event arguments: the Args type (arguments in their wire form, with
// binary attachments), the Ack function type, and the building of typed
// event handlers from Go functions. Both packages expose these types
// under their own names (type aliases), so they are one and the same.
package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"unicode/utf8"

	"github.com/chatd/chatd/socketio/parser"
)

// Args are the arguments of an incoming event or acknowledgement, still in
// their wire form: JSON, with binary values as attachments. An Args value
// is immutable and safe to keep and to use from any goroutine.
type Args struct {
	raw         []json.RawMessage
	attachments [][]byte
}

// NewArgs returns the Args of a packet: its arguments as raw JSON (binary
// values as placeholders) and its attachments.
func NewArgs(raw []json.RawMessage, attachments [][]byte) Args {
	return Args{raw: raw, attachments: attachments}
}

// Len returns the number of arguments.
func (a Args) Len() int { return len(a.raw) }

// Raw returns argument i as JSON text (a binary value appears as its
// placeholder object), or nil when there is no argument i.
func (a Args) Raw(i int) json.RawMessage {
	if i < 0 || i >= len(a.raw) {
		return nil
	}
	return a.raw[i]
}

// Binary returns argument i when it is a binary value.
func (a Args) Binary(i int) ([]byte, bool) { return a.placeholder(a.Raw(i)) }

// Attachments returns the binary attachments of the packet, in placeholder
// order.
func (a Args) Attachments() [][]byte { return a.attachments }

// First returns Args holding only the first argument (none if empty).
func (a Args) First() Args {
	return Args{raw: a.raw[:min(1, len(a.raw))], attachments: a.attachments}
}

var (
	bytesType  = reflect.TypeFor[[]byte]()
	stringType = reflect.TypeFor[string]()
	argsType   = reflect.TypeFor[Args]()
	ackType    = reflect.TypeFor[Ack]()
	errType    = reflect.TypeFor[error]()
)

// Decode stores argument i in the value v points to, as json.Unmarshal
// would. A binary argument decodes into a *[]byte or a *any ([]byte);
// binary values nested in objects and arrays decode into *any as []byte.
// A missing argument leaves v unchanged and returns an error.
func (a Args) Decode(i int, v any) error {
	raw := a.Raw(i)
	if raw == nil {
		return fmt.Errorf("no argument %d", i)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errors.New("Decode needs a non-nil pointer")
	}
	return a.decodeInto(raw, rv.Elem())
}

func (a Args) decodeInto(raw json.RawMessage, dst reflect.Value) error {
	if b, ok := a.placeholder(raw); ok {
		switch {
		case dst.Type() == bytesType:
			dst.SetBytes(b)
			return nil
		case dst.Kind() == reflect.Interface && dst.NumMethod() == 0:
			dst.Set(reflect.ValueOf(b))
			return nil
		}
		return fmt.Errorf("a binary value cannot be stored in %s", dst.Type())
	}
	if dst.Type() == stringType {
		if str, ok := PlainString(raw); ok {
			dst.SetString(str)
			return nil
		}
	}
	if dst.Kind() == reflect.Interface && dst.NumMethod() == 0 && len(a.attachments) > 0 {
		var tree any
		if err := json.Unmarshal(raw, &tree); err != nil {
			return err
		}
		resolved, err := parser.ResolvePlaceholders(tree, a.attachments)
		if err != nil {
			return err
		}
		if resolved == nil {
			dst.SetZero()
		} else {
			dst.Set(reflect.ValueOf(resolved))
		}
		return nil
	}
	return json.Unmarshal(raw, dst.Addr().Interface())
}

func (a Args) placeholder(raw json.RawMessage) ([]byte, bool) {
	if len(a.attachments) == 0 {
		return nil, false
	}
	n, ok := parser.PlaceholderNum(raw)
	if !ok || n < 0 || n >= len(a.attachments) {
		return nil, false
	}
	return a.attachments[n], true
}

// PlainString returns the JSON string raw when it needs no decoding: it
// is quoted, valid UTF-8, and holds no escape and no control character.
// The result is then what json.Unmarshal would store in a string. For any
// other input it returns "" and false.
func PlainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	in := raw[1 : len(raw)-1]
	for _, c := range in {
		if c < 0x20 || c == '"' || c == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(in) {
		return "", false
	}
	return string(in), true
}

// Values decodes every argument into plain Go values (as json.Unmarshal
// into any, with binary values as []byte).
func (a Args) Values() ([]any, error) {
	out := make([]any, len(a.raw))
	for i := range a.raw {
		if err := a.Decode(i, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Forward returns the arguments ready to be passed to an Emit or an Ack
// unchanged: JSON arguments stay raw JSON (key order kept), binary ones are
// []byte, and arguments with binary values nested inside are decoded with
// those values as []byte.
func (a Args) Forward() []any {
	out := make([]any, len(a.raw))
	for i, raw := range a.raw {
		if b, ok := a.placeholder(raw); ok {
			out[i] = b
			continue
		}
		if len(a.attachments) > 0 && bytes.Contains(raw, []byte(`"_placeholder"`)) {
			var v any
			if a.Decode(i, &v) == nil {
				out[i] = v
				continue
			}
		}
		out[i] = raw
	}
	return out
}

// MarshalJSON encodes the arguments as a JSON array (binary values as
// placeholders).
func (a Args) MarshalJSON() ([]byte, error) {
	if len(a.raw) == 0 {
		return []byte("[]"), nil
	}
	return json.Marshal(a.raw)
}

// String returns the arguments as a JSON array, for logs.
func (a Args) String() string {
	b, _ := a.MarshalJSON()
	return string(b)
}

// Ack answers an event that asked for an acknowledgement. The arguments
// are encoded like those of an emit. Only the first call sends anything.
type Ack func(args ...any) error

// ArgError reports an event argument that could not be decoded into the
// type its handler asked for; the handler is not called.
type ArgError struct {
	// Event is the event name.
	Event string
	// Index is the argument's position.
	Index int
	// Err is the decoding error.
	Err error
}

// Error implements error.
func (e *ArgError) Error() string {
	return fmt.Sprintf("socket.io: event %q: argument %d: %v", e.Event, e.Index, e.Err)
}

// Unwrap returns the decoding error.
func (e *ArgError) Unwrap() error { return e.Err }

// Handler is an event handler in the form the sockets call it.
type Handler func(args Args, ack Ack) error

// NewHandler validates fn and builds its caller. Accepted shapes, where
// T1..Tn are any types json.Unmarshal can fill (or []byte, for binary):
//
//	func(T1, ..., Tn)
//	func(T1, ..., Tn, Ack)
//	func(Args) / func(Args, Ack)
//
// Each may also return a single error. Missing arguments leave their
// parameters at the zero value; an argument that cannot be decoded makes
// the call return an *ArgError without calling fn. NewHandler panics if fn
// has another shape (a programming error, like a nil http.Handler).
func NewHandler(event string, fn any) Handler {
	if f, ok := fn.(func(Args, Ack) error); ok {
		return f
	}
	f := NewFunc(event, fn)
	return func(a Args, ack Ack) error { return f.Call(event, a, ack) }
}

// Func is a handler validated by NewFunc: the function and what its shape
// takes to call. Unlike a Handler, it needs no allocation of its own (the
// shape of a function type is found once and shared).
type Func struct {
	fn    any
	shape *shape // nil for the shapes called without reflection
}

// shape is what calling a function of one type by reflection takes.
type shape struct {
	t       reflect.Type
	n       int  // parameters
	params  int  // parameters receiving arguments (n without the Ack)
	withAck bool // the last parameter is an Ack
}

var shapes sync.Map // reflect.Type -> *shape

// NewFunc validates fn as NewHandler does (and panics in the same cases);
// event names it in the panic message.
func NewFunc(event string, fn any) Func {
	switch fn.(type) {
	case func(), func(Args), func(Args, Ack), func(Args, Ack) error,
		func(string), func(string, Ack):
		return Func{fn: fn}
	}
	t := reflect.TypeOf(fn)
	if sh, ok := shapes.Load(t); ok {
		return Func{fn: fn, shape: sh.(*shape)}
	}
	if t == nil || t.Kind() != reflect.Func || t.IsVariadic() {
		panic(fmt.Sprintf("socket.io: handler for %q must be a non-variadic func, not %T", event, fn))
	}
	if t.NumOut() > 1 || (t.NumOut() == 1 && t.Out(0) != errType) {
		panic(fmt.Sprintf("socket.io: handler for %q may only return an error", event))
	}
	n := t.NumIn()
	withAck := n > 0 && t.In(n-1) == ackType
	params := n
	if withAck {
		params--
	}
	for i := range params {
		if t.In(i) == ackType {
			panic(fmt.Sprintf("socket.io: handler for %q: Ack must be the last parameter", event))
		}
		if t.In(i) == argsType && params != 1 {
			panic(fmt.Sprintf("socket.io: handler for %q: Args must be the only argument parameter", event))
		}
	}
	sh, _ := shapes.LoadOrStore(t, &shape{t: t, n: n, params: params, withAck: withAck})
	return Func{fn: fn, shape: sh.(*shape)}
}

// stringArg decodes argument i into a string, as Call does for a string
// parameter: "" when the argument is missing, an *ArgError when it cannot
// be decoded.
func (a Args) stringArg(event string, i int) (string, error) {
	raw := a.Raw(i)
	if raw == nil {
		return "", nil
	}
	if str, ok := PlainString(raw); ok {
		return str, nil
	}
	var str string
	if err := a.decodeInto(raw, reflect.ValueOf(&str).Elem()); err != nil {
		return "", &ArgError{Event: event, Index: i, Err: err}
	}
	return str, nil
}

// Call calls the handler with the arguments of event (named in an
// *ArgError) and its acknowledgement function.
func (f Func) Call(event string, a Args, ack Ack) error {
	switch fn := f.fn.(type) {
	case func():
		fn()
		return nil
	case func(Args):
		fn(a)
		return nil
	case func(Args, Ack):
		fn(a, ack)
		return nil
	case func(Args, Ack) error:
		return fn(a, ack)
	case func(string):
		str, err := a.stringArg(event, 0)
		if err != nil {
			return err
		}
		fn(str)
		return nil
	case func(string, Ack):
		str, err := a.stringArg(event, 0)
		if err != nil {
			return err
		}
		fn(str, ack)
		return nil
	}
	sh := f.shape
	in := make([]reflect.Value, sh.n)
	for i := range sh.params {
		pt := sh.t.In(i)
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
	if sh.withAck {
		in[sh.n-1] = reflect.ValueOf(ack)
	}
	out := reflect.ValueOf(f.fn).Call(in)
	if len(out) == 1 && !out[0].IsNil() {
		return out[0].Interface().(error)
	}
	return nil
}
