package socketio_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/engine"
	"github.com/chatd/chatd/socketio/socketiotest"
)

// startServer serves srv on a loopback httptest server and closes both at
// the end of the test.
func startServer(t testing.TB, srv *socketio.Server) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
		hs.Close()
	})
	return hs.URL
}

// dialWire opens a raw WebSocket session to the server at base.
func dialWire(t testing.TB, base string) *socketiotest.Conn {
	t.Helper()
	return socketiotest.Dial(t, base+"/socket.io/", nil)
}

// checkGoroutines fails the test if goroutines it started are still
// running once it is over (see internal/leakcheck).
func checkGoroutines(t *testing.T) { leakcheck.Check(t) }

// fixtureServer is the server of the protocol suites (cmd/siofixture).
func fixtureServer() *socketio.Server {
	srv := socketio.NewServer(&socketio.Options{
		ConnectTimeout: time.Second,
		Engine: engine.Options{
			PingInterval: 300 * time.Millisecond,
			PingTimeout:  200 * time.Millisecond,
		},
	})
	srv.OnConnection(func(s *socketio.Socket) {
		_ = s.Emit("auth", s.Handshake().Auth)
		s.On("message", func(args socketio.Args) { _ = s.Emit("message-back", args.Forward()...) })
		s.On("message-with-ack", func(args socketio.Args, ack socketio.Ack) { _ = ack(args.Forward()...) })
	})
	srv.Of("/custom").OnConnection(func(s *socketio.Socket) { _ = s.Emit("auth", s.Handshake().Auth) })
	return srv
}
