package socketio_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/engine"
)

// Over polling, the transport is writable only while a GET waits: a
// volatile event is dropped between two GETs, and only the first of two
// volatile events in a row goes out on a waiting GET (as the reference's
// "volatile over polling" tests).
func TestVolatileOverPolling(t *testing.T) {
	srv := socketio.NewServer(&socketio.Options{Engine: engine.Options{PingInterval: time.Hour, PingTimeout: time.Hour}})
	ready := make(chan *socketio.Socket, 1)
	srv.OnConnection(func(s *socketio.Socket) { ready <- s })
	base := startServer(t, srv)
	_, do := pollingSession(t, base)
	if code, body := do("POST", "40"); code != 200 || body != "ok" {
		t.Fatalf("POST: %d %q", code, body)
	}
	s := recv(t, ready)
	if code, body := do("GET", ""); code != 200 || !strings.HasPrefix(body, `40{"sid":"`) {
		t.Fatalf("GET: %d %q", code, body)
	}
	sess := srv.Engine().Session(s.ConnID())

	// No GET waits: volatile events are dropped, ordinary ones queued.
	if sess.Writable() {
		t.Fatal("writable without a waiting GET")
	}
	if err := s.Volatile().Emit("v", 1); err != nil {
		t.Fatal(err)
	}
	if err := srv.Volatile().Emit("v", 2); err != nil {
		t.Fatal(err)
	}
	if err := s.Broadcast().Volatile().Emit("v", 3); err != nil {
		t.Fatal(err)
	}
	_ = s.Emit("regular")
	if code, body := do("GET", ""); code != 200 || body != `42["regular"]` {
		t.Fatalf("GET after the volatile events: %d %q", code, body)
	}

	// A GET waits: the first volatile event answers it, the next one
	// finds the transport busy again.
	for i, emit := range []func(n int) error{
		func(n int) error { return s.Volatile().Emit("v", n) },
		func(n int) error { return srv.Volatile().Emit("v", n) },
	} {
		got := make(chan string, 1)
		go func() { _, body := do("GET", ""); got <- body }()
		testutil.Eventually(t, 5*time.Second, "a GET waits", sess.Writable)
		if err := emit(10 * i); err != nil {
			t.Fatal(err)
		}
		if err := emit(10*i + 1); err != nil {
			t.Fatal(err)
		}
		if body, want := recv(t, got), `42["v",`+itoa(10*i)+`]`; body != want {
			t.Fatalf("waiting GET %d: %q, want %q", i, body, want)
		}
	}
	_ = s.Emit("after")
	if code, body := do("GET", ""); code != 200 || body != `42["after"]` {
		t.Fatalf("last GET: %d %q", code, body)
	}
}

// With connection state recovery, a volatile event to one socket, like a
// volatile broadcast, carries no offset and is not kept for a resuming
// client (the reference stores no volatile packet); ordinary events carry
// one and are replayed.
func TestVolatileNotKeptForRecovery(t *testing.T) {
	srv := socketio.NewServer(&socketio.Options{ConnectionStateRecovery: &socketio.RecoveryOptions{}})
	ready := make(chan *socketio.Socket, 1)
	srv.OnConnection(func(s *socketio.Socket) { ready <- s })
	base := startServer(t, srv)

	connectRe := `40\{"sid":"[^"]+","pid":"[^"]+"\}`
	c := dialWire(t, base)
	c.Send("40")
	var reply struct{ SID, PID string }
	if err := json.Unmarshal([]byte(c.ExpectMatch(connectRe)[2:]), &reply); err != nil {
		t.Fatal(err)
	}
	s := recv(t, ready)
	offsetOf := func(frame, prefix string) string {
		t.Helper()
		m := regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `"([^"]+)"\]$`).FindStringSubmatch(frame)
		if m == nil {
			t.Fatalf("got %q, want %s followed by an offset", frame, prefix)
		}
		return m[1]
	}

	_ = s.Emit("first")
	offset := offsetOf(c.ReadText(), `42["first",`)
	_ = s.Volatile().Emit("v", 1)
	c.Expect(`42["v",1]`)
	_ = srv.Volatile().Emit("v", 2)
	c.Expect(`42["v",2]`)
	_ = s.Emit("second")
	offsetOf(c.ReadText(), `42["second",`)

	// Resuming from the offset of "first": "second" is replayed, the
	// volatile events are not.
	_ = c.WS.Close()
	testutil.Eventually(t, 5*time.Second, "the socket is gone", func() bool { return srv.Sockets().Socket(reply.SID) == nil })
	c2 := dialWire(t, base)
	auth, _ := json.Marshal(map[string]string{"pid": reply.PID, "offset": offset})
	c2.Send("40" + string(auth))
	c2.Expect(`40{"sid":"` + reply.SID + `","pid":"` + reply.PID + `"}`)
	if s2 := recv(t, ready); !s2.Recovered() {
		t.Fatal("the socket was not recovered")
	}
	offsetOf(c2.ReadText(), `42["second",`)
	_ = srv.Sockets().Socket(reply.SID).Emit("live")
	offsetOf(c2.ReadText(), `42["live",`)
}
