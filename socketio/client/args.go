package client

import (
	"encoding/json"
	"errors"

	evt "github.com/chatd/chatd/socketio/internal/event"
)

// Args are the arguments of an incoming event or acknowledgement, in their
// wire form: JSON, with binary values as attachments. It is the same type
// as the server package's Args (see its methods there).
type Args = evt.Args

// Ack answers an event that the server emitted with an acknowledgement
// callback; the arguments are encoded like those of Socket.Emit. Only the
// first call sends anything.
type Ack = evt.Ack

// ArgError reports an event argument that could not be decoded into the
// parameter of its handler. The handler is not called.
type ArgError = evt.ArgError

// eventHandler is a handler of an incoming event, in the form the socket
// calls it.
type eventHandler func(event string, args Args, ack Ack) error

// makeHandler adapts the function shapes that On accepts (those of the
// server package's Socket.On).
func makeHandler(fn any) eventHandler {
	h := evt.NewHandler("", fn)
	return func(name string, a Args, ack Ack) error {
		err := h(a, ack)
		var ae *ArgError
		if errors.As(err, &ae) {
			ae.Event = name
		}
		return err
	}
}

func newArgs(raw []json.RawMessage, attachments [][]byte) Args {
	return evt.NewArgs(raw, attachments)
}
