package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/chatd/chatd/socketio/parser"
)

// Args are the arguments of an incoming event or acknowledgement, still in
// their wire form. An Args value is immutable and safe to keep.
type Args struct {
	raw         []json.RawMessage
	attachments [][]byte
}

// Len returns the number of arguments.
func (a Args) Len() int { return len(a.raw) }

// Raw returns argument i as JSON text (binary values appear as
// placeholders), or nil when i is out of range.
func (a Args) Raw(i int) json.RawMessage {
	if i < 0 || i >= len(a.raw) {
		return nil
	}
	return a.raw[i]
}

// Binary returns argument i when it is a binary value.
func (a Args) Binary(i int) ([]byte, bool) {
	n, ok := parser.PlaceholderNum(a.Raw(i))
	if !ok || n < 0 || n >= len(a.attachments) {
		return nil, false
	}
	return a.attachments[n], true
}

var (
	bytesType = reflect.TypeFor[[]byte]()
	anyType   = reflect.TypeFor[any]()
)

// Decode stores argument i in the value v points to, as json.Unmarshal
// would. A binary argument decodes into a *[]byte or a *any ([]byte); binary
// values nested in objects and arrays decode into *any as []byte. A missing
// argument leaves v unchanged and returns an error.
func (a Args) Decode(i int, v any) error {
	raw := a.Raw(i)
	if raw == nil {
		return fmt.Errorf("socketio: no argument %d", i)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errors.New("socketio: Decode needs a non-nil pointer")
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
		return fmt.Errorf("binary value cannot be stored in %s", dst.Type())
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
		if resolved != nil {
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

// MarshalJSON encodes the arguments as a JSON array (binary values as
// placeholders).
func (a Args) MarshalJSON() ([]byte, error) {
	if len(a.raw) == 0 {
		return []byte("[]"), nil
	}
	return json.Marshal(a.raw)
}

// json returns the arguments as a JSON array.
func (a Args) json() []byte {
	b, _ := a.MarshalJSON()
	return b
}

func (a Args) String() string {
	b, _ := a.MarshalJSON()
	return string(b)
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
