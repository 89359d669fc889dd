package socketio

import "github.com/chatd/chatd/socketio/internal/event"

// listener is a registered event handler, validated once.
type listener struct {
	event string
	id    uint64
	once  bool
	fn    event.Func
}

// newListener validates fn (see Socket.On).
func newListener(name string, fn any) listener {
	return listener{event: name, fn: event.NewFunc(name, fn)}
}
