package socketio

import (
	"encoding/json"

	"github.com/chatd/chatd/socketio/internal/event"
)

// Args are the arguments of an incoming event or acknowledgement, still in
// their wire form: JSON, with binary values as attachments. An Args value
// is immutable and safe to keep. Its methods: Len, Raw, Binary,
// Attachments, Decode, Values, Forward (re-emit unchanged), First,
// MarshalJSON and String. The client package's Args is the same type.
type Args = event.Args

// Ack answers an incoming event that asked for an acknowledgement. The
// arguments are encoded like those of Emit. Only the first call sends
// anything; calling an Ack for an event that asked for none does nothing.
// It returns ErrDisconnected when the socket is gone.
type Ack = event.Ack

// ArgError reports an incoming event argument that could not be decoded
// into the type its handler asked for.
type ArgError = event.ArgError

func newArgs(raw []json.RawMessage, attachments [][]byte) Args {
	return event.NewArgs(raw, attachments)
}

// mustJSON returns the arguments as a JSON array.
func mustJSON(a Args) []byte {
	b, _ := a.MarshalJSON()
	return b
}
