package socketio

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/socketio/engine"
)

// BenchmarkConnectJoin runs the Socket.IO side of one connection of
// cmd/benchserver's idle benchmark, per operation: a client made for an
// Engine.IO session, its CONNECT to the main namespace (socket, own room,
// CONNECT reply, a connection handler registering the benchmark's two
// event handlers), then the event ["join","bench"] with an ack id, decoded
// into (string, Ack), joining the room and acknowledging. The Engine.IO
// side is left out: every client shares one polling session, emptied
// outside the timed part. Sockets stay connected, as in the benchmark.
func BenchmarkConnectJoin(b *testing.B) {
	srv := NewServer(&Options{Engine: engine.Options{
		PingInterval:   time.Hour,
		PingTimeout:    time.Hour,
		MaxQueuedBytes: 64 << 20,
	}})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	}()
	connected := make(chan struct{}, 1)
	joined := make(chan struct{}, 1)
	srv.OnConnection(func(s *Socket) {
		s.On("join", func(room string, ack Ack) {
			s.Join(room)
			_ = ack(len(s.Rooms()))
			joined <- struct{}{}
		})
		s.On("to-room", func(args Args) {
			var room string
			if args.Decode(0, &room) != nil {
				return
			}
			_ = s.To(room).Emit("room-msg", args.Forward()[1:]...)
		})
		connected <- struct{}{}
	})

	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=polling", nil))
	body := rec.Body.String()
	at := strings.Index(body, `"sid":"`) + len(`"sid":"`)
	sid := body[at : at+strings.IndexByte(body[at:], '"')]
	sess := srv.engine.Session(sid)
	if sess == nil {
		b.Fatalf("no session after the handshake %q", body)
	}
	drain := func() {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=polling&sid="+sid, nil))
		if rec.Code != 200 {
			b.Fatalf("drain GET: %d %s", rec.Code, rec.Body)
		}
	}
	// The Socket.IO packets of "40" and `420["join","bench"]`, without the
	// Engine.IO message type "4".
	connect, join := []byte("0"), []byte(`20["join","bench"]`)
	run := func() {
		c := newServerConn(srv, sess)
		c.onMessage(connect, false)
		<-connected
		c.onMessage(join, false)
		<-joined
	}
	for range 16 { // warm-up
		run()
	}
	drain()
	start := srv.Sockets().SocketCount()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		run()
		if i%512 == 511 {
			b.StopTimer()
			drain()
			b.StartTimer()
		}
	}
	b.StopTimer()
	if got := srv.Sockets().SocketCount() - start; got != b.N {
		b.Fatalf("%d sockets connected, want %d", got, b.N)
	}
	if got := srv.Sockets().Adapter().RoomSize("bench"); got != b.N+16 {
		b.Fatalf("%d sockets in the room, want %d", got, b.N+16)
	}
}
