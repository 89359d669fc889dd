package socketio_test

import (
	"context"
	"testing"
	"time"

	"github.com/chatd/chatd/socketio"
)

// A client that has its CONNECT answer is already in the rooms its
// connection handler joins, even when that handler is slow: a broadcast
// made as soon as the answer arrives reaches it, after what the handler
// emitted.
func TestConnectAnswerFollowsHandlers(t *testing.T) {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		time.Sleep(100 * time.Millisecond)
		s.Join("r")
		_ = s.Emit("welcome")
	})
	c := dialWire(t, startServer(t, srv))
	c.Send("40")
	c.ExpectMatch(`40\{"sid":"[^"]+"\}`)
	_ = srv.To("r").Emit("news")
	c.Expect(`42["welcome"]`)
	c.Expect(`42["news"]`)
}

// A connection handler that waits for an acknowledgement from its client
// does not wait for ever: the CONNECT answer goes out first.
func TestConnectHandlerAwaitsAck(t *testing.T) {
	srv := socketio.NewServer(nil)
	got := make(chan string, 1)
	srv.OnConnection(func(s *socketio.Socket) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		res, err := s.EmitWithAck(ctx, "ready?")
		if err != nil {
			got <- err.Error()
			return
		}
		var v string
		_ = res.Decode(0, &v)
		got <- v
	})
	c := dialWire(t, startServer(t, srv))
	c.Send("40")
	c.ExpectMatch(`40\{"sid":"[^"]+"\}`)
	c.Expect(`420["ready?"]`)
	c.Send(`430["yes"]`)
	select {
	case v := <-got:
		if v != "yes" {
			t.Errorf("handler got %q", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("handler still waiting")
	}
}

// A broadcast to the whole namespace made while a socket connects reaches
// its client after the CONNECT answer, never before it.
func TestConnectAnswerPrecedesBroadcasts(t *testing.T) {
	checkGoroutines(t)
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(*socketio.Socket) {})
	base := startServer(t, srv)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				_ = srv.Emit("tick")
			}
		}
	}()
	defer func() { close(stop); <-done }()
	for range 100 {
		c := dialWire(t, base)
		c.Send("40")
		c.ExpectMatch(`^40\{"sid":"[^"]+"\}$`)
		c.WS.Close()
	}
}
