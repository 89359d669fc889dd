package socketio_test

import (
	"context"
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/chatd/chatd/socketio"
)

// Namespace.Handle serves an event for every socket of the namespace,
// after the socket's own handlers, with its acknowledgement; a later
// Handle replaces it, nil removes it; a dynamic namespace's handlers
// serve its children.
func TestNamespaceHandle(t *testing.T) {
	io := socketio.NewServer(nil)
	order := make(chan string, 8)
	io.Of("/chat").Handle("hello", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		var name string
		_ = args.Decode(0, &name)
		order <- "namespace"
		_ = ack("hello, " + name + " from " + s.Namespace().Name())
	}).OnConnection(func(s *socketio.Socket) {
		s.On("hello", func() { order <- "socket" })
	})
	io.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`)).Handle("echo", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		_ = ack(json.RawMessage(args.Raw(0)))
	})
	url, stop := serve(io)
	defer stop()

	c, err := dial(url+"/chat", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := c.EmitWithAck(ctx, "hello", "ann")
	if err != nil {
		t.Fatal(err)
	}
	var reply string
	if err := got.Decode(0, &reply); err != nil || reply != "hello, ann from /chat" {
		t.Fatalf("ack %q, %v", reply, err)
	}
	if a, b := <-order, <-order; a != "socket" || b != "namespace" {
		t.Fatalf("order %s, %s; want the socket's handler first", a, b)
	}

	io.Of("/chat").Handle("hello", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) { _ = ack("replaced") })
	got, err = c.EmitWithAck(ctx, "hello", "ann")
	if err != nil || got.Decode(0, &reply) != nil || reply != "replaced" {
		t.Fatalf("after a second Handle: %q, %v", reply, err)
	}
	<-order // the socket's own handler still runs
	io.Of("/chat").Handle("hello", nil)
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	if _, err := c.EmitWithAck(short, "hello", "ann"); err == nil {
		t.Fatal("an ack after Handle(nil)")
	}

	d, err := dial(url+"/dyn-7", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got, err = d.EmitWithAck(ctx, "echo", map[string]int{"n": 3})
	var echoed map[string]int
	if err != nil || got.Decode(0, &echoed) != nil || echoed["n"] != 3 {
		t.Fatalf("child namespace: %v, %v", echoed, err)
	}
}
