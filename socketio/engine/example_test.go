package engine_test

import (
	"context"
	"log"
	"net/http"
	"slices"
	"time"

	"github.com/chatd/chatd/socketio/engine"
)

// echo sends every message back on the session it came from. It keeps no
// state per session, so it is the Conn of every session too.
type echo struct{}

func (echo) OnOpen(s *engine.Session) engine.Conn { return echo{} }

func (echo) OnMessage(s *engine.Session, data []byte, binary bool) {
	// data is only valid during the call: Send keeps its argument.
	s.Send(slices.Clone(data), binary)
}

func (echo) OnClose(s *engine.Session, reason engine.Reason) {
	log.Printf("session %s closed: %s", s.ID(), reason)
}

// Mount an Engine.IO server at /engine.io/ and shut it down gracefully.
func ExampleNewServer() {
	srv := engine.NewServer(echo{}, &engine.Options{
		PingInterval: 25 * time.Second,
		CORS:         &engine.CORS{Origins: []string{"https://chat.example"}, Credentials: true},
	})
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	hs := &http.Server{Addr: "127.0.0.1:8080", Handler: mux}
	// ... hs.ListenAndServe() runs until shutdown ...

	// On shutdown: close the sessions first (clients get a close packet),
	// then the HTTP server.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Close(ctx)
	_ = hs.Shutdown(ctx)
}

// Broadcast one pre-encoded frame to many sessions: the packet is encoded
// once, whatever the number of recipients and their transports.
func ExampleNewFrame() {
	var sessions []*engine.Session // e.g. the members of a room
	f := engine.NewFrame([]byte(`42["news","hello"]`), false)
	for _, s := range sessions {
		// false: the session is closed (or was just closed as a slow
		// consumer); nothing else to do.
		_ = s.SendFrame(f)
	}
}
