package socketio

import "github.com/chatd/chatd/socketio/internal/event"

// listener is a registered event handler, prepared once.
type listener struct {
	id   uint64
	once bool
	call event.Handler
}

// newListener validates fn (see Socket.On) and builds its caller.
func newListener(name string, fn any) listener {
	return listener{call: event.NewHandler(name, fn)}
}
