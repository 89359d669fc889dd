package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/chatd/chatd/socketio/parser"
)

// Args are the arguments of an incoming event or acknowledgement, in their
// wire form: JSON, with binary values as attachments. An Args value is
// immutable and safe to keep and to use from any goroutine.
type Args struct {
	raw         []json.RawMessage
	attachments [][]byte
}

// Len returns the number of arguments.
func (a Args) Len() int { return len(a.raw) }

// Raw returns argument i as JSON (a binary value appears as its placeholder
// object), or nil when there is no argument i.
func (a Args) Raw(i int) json.RawMessage {
	if i < 0 || i >= len(a.raw) {
		return nil
	}
	return a.raw[i]
}

// Binary returns argument i when it is a binary value.
func (a Args) Binary(i int) ([]byte, bool) {
	n, ok := parser.PlaceholderNum(a.Raw(i))
	if !ok || n >= len(a.attachments) {
		return nil, false
	}
	return a.attachments[n], true
}

// Attachments returns the binary attachments of the packet, in placeholder
// order.
func (a Args) Attachments() [][]byte { return a.attachments }

// Decode stores argument i into the value v points to, as json.Unmarshal
// does. A binary argument decodes into a *[]byte or a *any; binary values
// nested in objects or arrays are resolved when v is a *any (they become
// []byte). It is an error when argument i does not exist.
func (a Args) Decode(i int, v any) error {
	raw := a.Raw(i)
	if raw == nil {
		return fmt.Errorf("socket.io client: no argument %d", i)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errors.New("socket.io client: Decode needs a non-nil pointer")
	}
	return a.decodeValue(raw, rv.Elem())
}

var (
	bytesType = reflect.TypeFor[[]byte]()
	argsType  = reflect.TypeFor[Args]()
	ackType   = reflect.TypeFor[Ack]()
	errorType = reflect.TypeFor[error]()
)

func (a Args) decodeValue(raw json.RawMessage, dst reflect.Value) error {
	if n, ok := parser.PlaceholderNum(raw); ok && n < len(a.attachments) {
		b := a.attachments[n]
		switch {
		case dst.Type() == bytesType:
			dst.SetBytes(b)
			return nil
		case dst.Kind() == reflect.Interface && dst.NumMethod() == 0:
			dst.Set(reflect.ValueOf(b))
			return nil
		}
		return fmt.Errorf("socket.io client: a binary value cannot be stored in %s", dst.Type())
	}
	if dst.Kind() == reflect.Interface && dst.NumMethod() == 0 && len(a.attachments) > 0 {
		var tree any
		if err := json.Unmarshal(raw, &tree); err != nil {
			return err
		}
		v, err := parser.ResolvePlaceholders(tree, a.attachments)
		if err != nil {
			return err
		}
		if v == nil {
			dst.SetZero()
		} else {
			dst.Set(reflect.ValueOf(v))
		}
		return nil
	}
	return json.Unmarshal(raw, dst.Addr().Interface())
}

// Values decodes every argument into a Go value as json.Unmarshal does
// into an any, with binary values as []byte.
func (a Args) Values() ([]any, error) {
	out := make([]any, len(a.raw))
	for i := range a.raw {
		if err := a.Decode(i, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// String returns the arguments as a JSON array (binary values as
// placeholders), for logs.
func (a Args) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for i, r := range a.raw {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(r)
	}
	b.WriteByte(']')
	return b.String()
}

// Ack answers an event that the server emitted with an acknowledgement
// callback; the arguments are encoded like those of Socket.Emit. Only the
// first call sends anything; later calls return an error.
type Ack func(args ...any) error

// ArgError reports an event argument that could not be decoded into the
// parameter of its handler. The handler is not called.
type ArgError struct {
	Event string
	Index int
	Err   error
}

// Error implements error.
func (e *ArgError) Error() string {
	return fmt.Sprintf("socket.io client: event %q: argument %d: %v", e.Event, e.Index, e.Err)
}

// Unwrap returns the decoding error.
func (e *ArgError) Unwrap() error { return e.Err }

// eventHandler is a handler of an incoming event, in the form the socket
// calls it.
type eventHandler func(event string, args Args, ack Ack) error

// makeHandler adapts the function shapes that On accepts.
func makeHandler(fn any) eventHandler {
	switch f := fn.(type) {
	case func():
		return func(string, Args, Ack) error { f(); return nil }
	case func(Args):
		return func(_ string, a Args, _ Ack) error { f(a); return nil }
	case func(Args, Ack):
		return func(_ string, a Args, ack Ack) error { f(a, ack); return nil }
	}
	fv := reflect.ValueOf(fn)
	ft := fv.Type()
	if ft.Kind() != reflect.Func || ft.IsVariadic() || ft.NumOut() != 0 {
		panic(fmt.Sprintf("socket.io client: unsupported handler type %T", fn))
	}
	nin := ft.NumIn()
	withAck := nin > 0 && ft.In(nin-1) == ackType
	nargs := nin
	if withAck {
		nargs--
	}
	for i := range nargs {
		if t := ft.In(i); t == ackType || t == argsType {
			panic(fmt.Sprintf("socket.io client: unsupported handler type %T", fn))
		}
	}
	return func(event string, a Args, ack Ack) error {
		in := make([]reflect.Value, nin)
		for i := range nargs {
			v := reflect.New(ft.In(i)).Elem()
			if raw := a.Raw(i); raw != nil {
				if err := a.decodeValue(raw, v); err != nil {
					return &ArgError{Event: event, Index: i, Err: err}
				}
			}
			in[i] = v
		}
		if withAck {
			in[nargs] = reflect.ValueOf(ack)
		}
		fv.Call(in)
		return nil
	}
}
