package socketiotest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/socketiotest"
)

// serve starts a Socket.IO server whose sockets echo "ping" events with
// an ack, send a text and a binary event on "gift", and disconnect on
// "bye"; it returns the server's Socket.IO URL.
func serve(t *testing.T) string {
	t.Helper()
	io := socketio.NewServer(nil)
	handler := func(s *socketio.Socket) {
		s.On("ping", func(v any, ack socketio.Ack) { _ = ack(v) })
		s.On("gift", func() {
			_ = s.Emit("note", "hello", 2)
			_ = s.Emit("blob", []byte{0xde, 0xad})
		})
		s.On("bye", func() { s.Disconnect(true) })
	}
	io.OnConnection(handler)
	io.Of("/chat").OnConnection(handler)
	mux := http.NewServeMux()
	mux.Handle(io.Path()+"/", io)
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = io.Close(ctx)
		ts.Close()
	})
	return ts.URL + io.Path() + "/"
}

// The transcript helpers against a real server: connect to two
// namespaces, events and acks decoded, binary frames, and the close.
func TestConnTranscript(t *testing.T) {
	url := serve(t)
	c := socketiotest.Dial(t, url, nil)
	if c.Open == "" {
		t.Fatal("no open packet")
	}
	if sid := c.Connect("/", nil); sid == "" {
		t.Fatal("no socket id for /")
	}
	if sid := c.Connect("/chat", map[string]string{"token": "x"}); sid == "" {
		t.Fatal("no socket id for /chat")
	}

	c.Emit("/chat", 7, "ping", map[string]int{"n": 1})
	ack := c.ReadEvent()
	if ack.Namespace != "/chat" || ack.ID != 7 || ack.Name != "" {
		t.Fatalf("ack %+v", ack)
	}
	var got map[string]int
	ack.Decode(t, 0, &got)
	if got["n"] != 1 {
		t.Fatalf("ack argument %v", got)
	}

	c.Emit("/", -1, "gift")
	note, skipped := c.ExpectEvent("/", "note")
	var word string
	note.Decode(t, 0, &word)
	if word != "hello" || len(skipped) != 0 || note.ID != -1 {
		t.Fatalf("note %+v, skipped %v", note, skipped)
	}
	c.ExpectMatch(`451-\["blob",\{"_placeholder":true,"num":0\}\]`)
	c.ExpectBinary([]byte{0xde, 0xad})

	c.Send(`42/chat,["gift"]`)
	c.Expect(`42/chat,["note","hello",2]`)
	c.ReadText() // the blob's placeholder packet
	if _, bin, err := c.Next(); err != nil || !bin {
		t.Fatalf("Next: binary %v, %v; want the blob", bin, err)
	}
	c.Send(`451-/chat,["ping",{"_placeholder":true,"num":0}]`)
	c.SendBinary([]byte{7})
	c.Emit("/chat", 8, "ping", "after")
	if ev := c.ReadEvent(); ev.ID != 8 {
		t.Fatalf("after a binary event: %+v", ev)
	}

	c2 := socketiotest.Dial(t, url, nil)
	c2.Connect("/", nil)
	c2.Emit("/", -1, "bye")
	c2.ExpectClosed()
}

// DialErr reports a refused WebSocket handshake as an error.
func TestDialErr(t *testing.T) {
	url := serve(t)
	if _, err := socketiotest.DialErr(t, url+"?EIO=3", nil); err == nil {
		t.Fatal("EIO=3 accepted")
	}
	if socketiotest.NamespacePrefix("/") != "" || socketiotest.NamespacePrefix("/a") != "/a," {
		t.Fatal("NamespacePrefix")
	}
}
