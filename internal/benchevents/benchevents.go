// Package benchevents holds the Socket.IO events that cmd/chatbench
// speaks, so that every server it can measure (cmd/benchserver,
// cmd/sioe2eserver) and the in-process benchmarks of the socketio package
// handle them the same way.
package benchevents

import "github.com/chatd/chatd/socketio"

// Register adds the benchmark's event handlers to s:
//
//   - "join" (room, ack): joins the room and acks the number of rooms of
//     the socket;
//   - "to-room" (room, ...args): emits "room-msg" with args to the room,
//     the sender excluded.
func Register(s *socketio.Socket) {
	s.On("join", func(room string, ack socketio.Ack) {
		s.Join(room)
		_ = ack(len(s.Rooms()))
	})
	s.On("to-room", func(args socketio.Args) {
		var room string
		if args.Decode(0, &room) != nil {
			return
		}
		_ = s.To(room).Emit("room-msg", args.Forward()[1:]...)
	})
}
