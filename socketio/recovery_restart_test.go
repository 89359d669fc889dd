package socketio_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/socketiotest"
)

// SaveRecovery after Close and LoadRecovery in the next server carry the
// sessions of the sockets the first one closed, and the packets they
// missed, across a restart: the client resumes on the new server with its
// id, rooms and data and gets what was broadcast after its offset.
func TestRecoveryAcrossRestart(t *testing.T) {
	checkGoroutines(t)
	newServer := func() (*socketio.Server, chan *socketio.Socket) {
		srv := socketio.NewServer(&socketio.Options{ConnectionStateRecovery: &socketio.RecoveryOptions{}})
		ready := make(chan *socketio.Socket, 1)
		srv.OnConnection(func(s *socketio.Socket) {
			if !s.Recovered() {
				s.Join("room")
				s.SetData(map[string]string{"user": "ann"})
			}
			ready <- s
		})
		srv.Of("/other") // a namespace of both servers with nothing to keep
		return srv, ready
	}
	offsetRe := regexp.MustCompile(`^42\["[a-z]+","([^"]+)"\]$`)
	offsetOf := func(frame string) string {
		t.Helper()
		m := offsetRe.FindStringSubmatch(frame)
		if m == nil {
			t.Fatalf("frame %q carries no offset", frame)
		}
		return m[1]
	}

	first, ready := newServer()
	base := startServer(t, first)
	c := dialWire(t, base)
	c.Send("40")
	var reply struct{ SID, PID string }
	if err := json.Unmarshal([]byte(c.ExpectMatch(`40\{"sid":"[^"]+","pid":"[^"]+"\}`)[2:]), &reply); err != nil {
		t.Fatal(err)
	}
	recv(t, ready)
	_ = first.To("room").Emit("hello")
	offset := offsetOf(c.ReadText())
	_ = c.WS.Close() // a drop: the client misses what follows
	testutil.Eventually(t, 5*time.Second, "the socket is gone", func() bool { return first.Sockets().Socket(reply.SID) == nil })
	_ = first.To("room").Emit("missed")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := first.Close(ctx); err != nil {
		t.Fatal(err)
	}
	state, err := first.SaveRecovery()
	if err != nil {
		t.Fatal(err)
	}

	second, ready2 := newServer()
	if err := second.LoadRecovery(state); err != nil {
		t.Fatal(err)
	}
	base2 := startServer(t, second)
	c2 := dialWire(t, base2)
	auth, _ := json.Marshal(map[string]string{"pid": reply.PID, "offset": offset})
	c2.Send("40" + string(auth))
	c2.Expect(`40{"sid":"` + reply.SID + `","pid":"` + reply.PID + `"}`)
	s := recv(t, ready2)
	if !s.Recovered() || !slices.Contains(s.Rooms(), "room") {
		t.Fatalf("recovered %v, rooms %v", s.Recovered(), s.Rooms())
	}
	if data, _ := s.Data().(json.RawMessage); string(data) != `{"user":"ann"}` {
		t.Fatalf("data %#v", s.Data())
	}
	if got := c2.ReadText(); offsetOf(got) == "" || got[:len(`42["missed"`)] != `42["missed"` {
		t.Fatalf("replayed %q, want the missed event", got)
	}

	// Broken state is an error; without recovery SaveRecovery keeps nothing.
	third, _ := newServer()
	if err := third.LoadRecovery([]byte(`{"/":{"sessions":[{"sid":""}]}}`)); err == nil {
		t.Error("LoadRecovery accepted a session without ids")
	}
	if err := third.LoadRecovery([]byte(`not json`)); err == nil {
		t.Error("LoadRecovery accepted text that is not JSON")
	}
	plain := socketio.NewServer(nil)
	if b, err := plain.SaveRecovery(); b != nil || err != nil {
		t.Errorf("SaveRecovery without recovery: %q, %v", b, err)
	}
	ctx3, cancel3 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel3()
	_ = third.Close(ctx3)
	_ = plain.Close(ctx3)
}

// A transient event is delivered without an offset and is not replayed to
// a resuming client; ordinary events around it are.
func TestTransientNotKeptForRecovery(t *testing.T) {
	srv := socketio.NewServer(&socketio.Options{ConnectionStateRecovery: &socketio.RecoveryOptions{}})
	ready := make(chan *socketio.Socket, 1)
	srv.OnConnection(func(s *socketio.Socket) { ready <- s })
	base := startServer(t, srv)
	c := dialWire(t, base)
	c.Send("40")
	var reply struct{ SID, PID string }
	if err := json.Unmarshal([]byte(c.ExpectMatch(`40\{"sid":"[^"]+","pid":"[^"]+"\}`)[2:]), &reply); err != nil {
		t.Fatal(err)
	}
	s := recv(t, ready)
	_ = s.Emit("first")
	m := regexp.MustCompile(`^42\["first","([^"]+)"\]$`).FindStringSubmatch(c.ReadText())
	if m == nil {
		t.Fatal("first event without an offset")
	}
	if err := s.Transient().Emit("state", 1); err != nil {
		t.Fatal(err)
	}
	c.Expect(`42["state",1]`)
	_ = s.Transient().Emit("state", 2)
	_ = s.Emit("second")
	c.ReadText()
	c.ReadText()
	_ = c.WS.Close()
	testutil.Eventually(t, 5*time.Second, "the socket is gone", func() bool { return srv.Sockets().Socket(reply.SID) == nil })
	c2 := dialWire(t, base)
	auth, _ := json.Marshal(map[string]string{"pid": reply.PID, "offset": m[1]})
	c2.Send("40" + string(auth))
	c2.Expect(`40{"sid":"` + reply.SID + `","pid":"` + reply.PID + `"}`)
	recv(t, ready)
	if got := c2.ReadText(); !regexp.MustCompile(`^42\["second","[^"]+"\]$`).MatchString(got) {
		t.Fatalf("replayed %q, want only the second event", got)
	}
}

// A broadcast sent while a recovered socket runs its middlewares (after
// the adapter read its missed packets, before it is connected) reaches
// it once, after the missed ones and before the later ones; a socket the
// middlewares refuse leaves nothing behind that would keep broadcasts
// from a later socket.
func TestRecoveryBroadcastDuringMiddlewares(t *testing.T) {
	checkGoroutines(t)
	srv := socketio.NewServer(&socketio.Options{ConnectionStateRecovery: &socketio.RecoveryOptions{RunMiddlewares: true}})
	entered := make(chan struct{}, 1)
	release := make(chan error, 1)
	srv.Use(func(s *socketio.Socket) error {
		if !s.Recovered() {
			return nil
		}
		entered <- struct{}{}
		return <-release
	})
	ready := make(chan *socketio.Socket, 1)
	srv.OnConnection(func(s *socketio.Socket) {
		if !s.Recovered() {
			s.Join("room")
		}
		ready <- s
	})
	base := startServer(t, srv)
	eventRe := regexp.MustCompile(`^42\["([a-z0-9]+)","([^"]+)"\]$`)
	// next reads an event and returns its name and offset.
	next := func(c interface{ ReadText() string }) (string, string) {
		t.Helper()
		got := c.ReadText()
		m := eventRe.FindStringSubmatch(got)
		if m == nil {
			t.Fatalf("frame %q: want an event with an offset", got)
		}
		return m[1], m[2]
	}
	connect := func(auth string) (*socketiotest.Conn, string, string) {
		c := dialWire(t, base)
		c.Send("40" + auth)
		var reply struct{ SID, PID string }
		if err := json.Unmarshal([]byte(c.ExpectMatch(`40\{"sid":"[^"]+","pid":"[^"]+"\}`)[2:]), &reply); err != nil {
			t.Fatal(err)
		}
		return c, reply.SID, reply.PID
	}
	// away connects, gets one event, drops and misses one.
	away := func() (sid, pid, offset string) {
		c, sid, pid := connect("")
		recv(t, ready)
		_ = srv.To("room").Emit("hello")
		_, offset = next(c)
		_ = c.WS.Close()
		testutil.Eventually(t, 5*time.Second, "the socket is gone", func() bool { return srv.Sockets().Socket(sid) == nil })
		_ = srv.To("room").Emit("missed")
		return sid, pid, offset
	}
	resumeAuth := func(pid, offset string) string {
		b, _ := json.Marshal(map[string]string{"pid": pid, "offset": offset})
		return string(b)
	}

	sid, pid, offset := away()
	c := dialWire(t, base)
	c.Send("40" + resumeAuth(pid, offset))
	recv(t, entered)
	_ = srv.To("room").Emit("gap1")
	_ = srv.Emit("gap2")
	_ = srv.To("elsewhere").Emit("notforit")
	release <- nil
	c.Expect(`40{"sid":"` + sid + `","pid":"` + pid + `"}`)
	if s := recv(t, ready); !s.Recovered() {
		t.Fatal("not recovered")
	}
	_ = srv.To("room").Emit("after")
	for _, want := range []string{"missed", "gap1", "gap2", "after"} {
		if name, _ := next(c); name != want {
			t.Fatalf("got %q, want %q", name, want)
		}
	}
	_ = c.WS.Close()
	testutil.Eventually(t, 5*time.Second, "the socket is gone", func() bool { return srv.Sockets().Socket(sid) == nil })

	// Refused by the middleware: the client connects anew, and its new
	// socket gets every broadcast.
	_, pid2, offset2 := away()
	c3 := dialWire(t, base)
	c3.Send("40" + resumeAuth(pid2, offset2))
	recv(t, entered)
	release <- errors.New("no")
	c3.ExpectMatch(`^44\{"message":"no"\}$`)
	c4, _, _ := connect("")
	recv(t, ready)
	_ = srv.Emit("welcome")
	if name, _ := next(c4); name != "welcome" {
		t.Fatalf("got %q, want welcome", name)
	}
}
