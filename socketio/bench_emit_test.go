package socketio_test

import (
	"context"
	"testing"
)

// BenchmarkSocketEmit emits one event to one polling socket: the encoding
// and queueing cost of Socket.Emit.
func BenchmarkSocketEmit(b *testing.B) {
	srv, drain := roomOfPollingSockets(b, 1)
	ids, err := srv.Sockets().SocketIDs(context.Background())
	if err != nil || len(ids) != 1 {
		b.Fatal(ids, err)
	}
	s := srv.Sockets().Socket(ids[0])
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Emit("msg", "hello", 42, map[string]any{"a": true}); err != nil {
			b.Fatal(err)
		}
		if i%64 == 63 {
			b.StopTimer()
			drain()
			b.StartTimer()
		}
	}
}
