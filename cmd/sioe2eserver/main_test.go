package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio/socketiotest"
)

var listeningRe = regexp.MustCompile(`listening on (http://\S+)`)

// server is a run started by start.
type server struct {
	url    string
	stdout *testutil.Buffer
	stderr *testutil.Buffer
	stop   func() error
}

// start runs the server with args (on a free loopback port) in a goroutine
// and waits until it prints its listening line. stop cancels its context
// and returns what run returned; a cleanup stops it if the test has not.
func start(t *testing.T, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{stdout: &testutil.Buffer{}, stderr: &testutil.Buffer{}}
	var runErr error
	finished := make(chan struct{})
	argv := append([]string{"-addr", "127.0.0.1:0"}, args...)
	go func() {
		runErr = run(ctx, argv, s.stdout, s.stderr)
		close(finished)
	}()
	s.stop = func() error {
		cancel()
		select {
		case <-finished:
			return runErr
		case <-time.After(10 * time.Second):
			t.Errorf("run did not return after its context was cancelled")
			return nil
		}
	}
	t.Cleanup(func() { _ = s.stop() })
	testutil.Eventually(t, 10*time.Second, "the listening line", func() bool {
		select {
		case <-finished:
			t.Fatalf("run returned %v before listening; stderr:\n%s", runErr, s.stderr.String())
		default:
		}
		m := listeningRe.FindStringSubmatch(s.stdout.String())
		if m != nil {
			s.url = m[1]
		}
		return m != nil
	})
	if !strings.HasPrefix(s.url, "http://127.0.0.1:") || strings.HasSuffix(s.url, ":0") {
		t.Fatalf("listening on %q, want a free port on 127.0.0.1", s.url)
	}
	return s
}

// dial opens a Socket.IO connection to the server.
func (s *server) dial(t *testing.T) *socketiotest.Conn {
	t.Helper()
	return socketiotest.Dial(t, s.url+"/socket.io/", nil)
}

// welcome is the payload of the "welcome" event.
type welcome struct {
	Nsp       string          `json:"nsp"`
	ID        string          `json:"id"`
	Auth      json.RawMessage `json:"auth"`
	Recovered bool            `json:"recovered"`
}

// connect joins nsp with auth and returns the socket id after checking
// the "welcome" event that follows.
func connect(t *testing.T, c *socketiotest.Conn, nsp string, auth any, wantAuth string) string {
	t.Helper()
	sid := c.Connect(nsp, auth)
	ev := c.ReadEvent()
	if ev.Name != "welcome" || ev.Namespace != nsp || ev.ID != -1 || len(ev.Args) != 1 {
		t.Fatalf("after CONNECT to %s: got %+v, want one welcome", nsp, ev)
	}
	var w welcome
	ev.Decode(t, 0, &w)
	if w.Nsp != nsp || w.ID != sid || string(w.Auth) != wantAuth || w.Recovered {
		t.Fatalf("welcome in %s: %+v, want nsp %s, id %s, auth %s, not recovered", nsp, w, nsp, sid, wantAuth)
	}
	return sid
}

// expectAck reads the next frame and fails unless it is the ack id of
// nsp.
func expectAck(t *testing.T, c *socketiotest.Conn, nsp string, id int64) socketiotest.Event {
	t.Helper()
	ev := c.ReadEvent()
	if ev.Name != "" || ev.Namespace != nsp || ev.ID != id {
		t.Fatalf("got %+v, want the ack %d in %s", ev, id, nsp)
	}
	return ev
}

// Every behaviour the package documents, against run listening on a free
// loopback port, and run returning nil once its context is cancelled.
func TestBehaviours(t *testing.T) {
	leakcheck.Check(t)
	srv := start(t, "-v")

	// The test page on the server's origin.
	res, err := http.Get(srv.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || string(page) != testPage {
		t.Errorf("GET /: %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), page)
	}

	a := srv.dial(t)
	b := srv.dial(t)
	aID := connect(t, a, "/", map[string]string{"user": "a"}, `{"user":"a"}`)
	bID := connect(t, b, "/", nil, `{}`)
	if aID == bID {
		t.Fatalf("two sockets with the id %s", aID)
	}

	t.Run("echo", func(t *testing.T) {
		// Without an ack: only the "echo" event.
		a.Emit("/", -1, "echo", "hi", 1, map[string]any{"x": []bool{true}})
		a.Expect(`42["echo","hi",1,{"x":[true]}]`)
		// With an ack: the event, then the ack with the same arguments.
		a.Emit("/", 7, "echo", "again", nil)
		a.Expect(`42["echo","again",null]`)
		a.Expect(`437["again",null]`)
		// No arguments at all.
		a.Emit("/", 8, "echo")
		a.Expect(`42["echo"]`)
		a.Expect(`438[]`)
	})

	t.Run("join and to-room", func(t *testing.T) {
		a.Emit("/", 1, "join", "r1")
		a.Expect(`431[2]`) // its own room and r1
		b.Emit("/", 2, "join", "r1")
		b.Expect(`432[2]`)
		b.Emit("/", -1, "to-room", "r1", "hello", 42)
		a.Expect(`42["room-msg","hello",42]`)
		a.Emit("/", -1, "to-room", "r1", "back")
		b.Expect(`42["room-msg","back"]`)
		// The senders got nothing of their own: their next packets are
		// the answers to "rooms".
		a.Emit("/", 3, "rooms")
		ev := expectAck(t, a, "/", 3)
		var rooms []string
		ev.Decode(t, 0, &rooms)
		if !sameSet(rooms, []string{aID, "r1"}) {
			t.Errorf("rooms of a: %q, want %q and r1", rooms, aID)
		}
		b.Emit("/", 4, "rooms")
		ev = expectAck(t, b, "/", 4)
		ev.Decode(t, 0, &rooms)
		if !sameSet(rooms, []string{bID, "r1"}) {
			t.Errorf("rooms of b: %q, want %q and r1", rooms, bID)
		}
	})

	t.Run("broadcast", func(t *testing.T) {
		a.Emit("/", -1, "broadcast", "all", 3)
		b.Expect(`42["broadcast-msg","all",3]`)
		// Not to the sender, and not to other namespaces.
		c := srv.dial(t)
		connect(t, c, "/custom", nil, `{}`)
		b.Emit("/", -1, "broadcast", "x")
		a.Expect(`42["broadcast-msg","x"]`)
		c.Emit("/custom", 5, "echo", "mine")
		c.Expect(`42/custom,["echo","mine"]`)
		c.Expect(`43/custom,5["mine"]`)
		a.Emit("/", 9, "echo", "after")
		a.Expect(`42["echo","after"]`)
		a.Expect(`439["after"]`)
	})

	t.Run("private", func(t *testing.T) {
		c := srv.dial(t)
		c.Send(`40/private,`)
		c.Expect(`44/private,{"message":"not authorized","data":{"reason":"bad token"}}`)
		c.Send(`40/private,{"token":"wrong"}`)
		c.Expect(`44/private,{"message":"not authorized","data":{"reason":"bad token"}}`)
		connect(t, c, "/private", map[string]string{"token": "secret"}, `{"token":"secret"}`)
		c.Emit("/private", 1, "echo", "in")
		c.Expect(`42/private,["echo","in"]`)
		c.Expect(`43/private,1["in"]`)
	})

	t.Run("dynamic namespace", func(t *testing.T) {
		c := srv.dial(t)
		connect(t, c, "/dyn-1", nil, `{}`)
		c.Emit("/dyn-1", 2, "echo", "dyn")
		c.Expect(`42/dyn-1,["echo","dyn"]`)
		c.Expect(`43/dyn-1,2["dyn"]`)
		// Names outside ^/dyn-\d+$ are not namespaces.
		c.Send(`40/dyn-x,`)
		c.Expect(`44/dyn-x,{"message":"Invalid namespace"}`)
	})

	t.Run("ask", func(t *testing.T) {
		a.Emit("/", 10, "ask", "question", 5000, "what", 1)
		ev := a.ReadEvent()
		if ev.Name != "question" || ev.ID < 0 || len(ev.Args) != 2 || string(ev.Args[0]) != `"what"` || string(ev.Args[1]) != `1` {
			t.Fatalf("got %+v, want question(\"what\", 1) with an ack id", ev)
		}
		b, _ := json.Marshal(ev.ID)
		a.Send(`43` + string(b) + `["yes",{"n":2}]`)
		a.Expect(`4310[{"answer":["yes",{"n":2}]}]`)

		// No answer within the timeout: the error.
		a.Emit("/", 11, "ask", "ignored", 50)
		ev = a.ReadEvent()
		if ev.Name != "ignored" || ev.ID < 0 || len(ev.Args) != 0 {
			t.Fatalf("got %+v, want ignored() with an ack id", ev)
		}
		ev = expectAck(t, a, "/", 11)
		var reply map[string]string
		ev.Decode(t, 0, &reply)
		if _, ok := reply["answer"]; ok || reply["error"] == "" {
			t.Errorf("ask without an answer: %q, want an error", reply)
		}
	})

	t.Run("disconnect-me and last-reason", func(t *testing.T) {
		c := srv.dial(t)
		connect(t, c, "/custom", nil, `{}`)
		connect(t, c, "/dyn-2", nil, `{}`)
		c.Emit("/dyn-2", 1, "last-reason")
		c.Expect(`43/dyn-2,1[""]`) // nobody left /dyn-2 yet

		// Without close: the server leaves the namespace, the connection
		// stays.
		c.Emit("/custom", -1, "disconnect-me", false)
		c.Expect(`41/custom,`)
		c.Emit("/dyn-2", 2, "echo", "still")
		c.Expect(`42/dyn-2,["echo","still"]`)
		c.Expect(`43/dyn-2,2["still"]`)
		d := srv.dial(t)
		connect(t, d, "/custom", nil, `{}`)
		lastReason(t, d, "/custom", "server namespace disconnect")

		// The client leaves.
		c.Send(`41/dyn-2,`)
		d2 := srv.dial(t)
		connect(t, d2, "/dyn-2", nil, `{}`)
		lastReason(t, d2, "/dyn-2", "client namespace disconnect")

		// With close: every namespace of the connection is left, then the
		// connection closes.
		e := srv.dial(t)
		connect(t, e, "/", nil, `{}`)
		connect(t, e, "/dyn-3", nil, `{}`)
		e.Emit("/", -1, "disconnect-me", true)
		left := map[string]bool{}
		for {
			frame, _, err := e.Next()
			if err != nil {
				break
			}
			switch frame {
			case "41", "41/dyn-3,":
				left[frame] = true
			case "1": // the Engine.IO close
			default:
				t.Fatalf("got %q, want DISCONNECT packets and the close", frame)
			}
		}
		if !left["41"] || !left["41/dyn-3,"] {
			t.Errorf("disconnect-me true: DISCONNECT packets %v, want / and /dyn-3", left)
		}
		d3 := srv.dial(t)
		connect(t, d3, "/dyn-3", nil, `{}`)
		lastReason(t, d3, "/dyn-3", "server namespace disconnect")
	})

	// Cancelling the context stops run, which returns nil and closes the
	// open connections.
	if err := srv.stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	a.ExpectClosed()
	b.ExpectClosed()
	if !strings.Contains(srv.stderr.String(), "level=DEBUG") {
		t.Errorf("-v: no debug messages on stderr:\n%s", srv.stderr.String())
	}
}

// lastReason polls "last-reason" in nsp over c until it acks want (the
// reason is recorded when the disconnect is handled, which is
// asynchronous to the packets the client sees).
func lastReason(t *testing.T, c *socketiotest.Conn, nsp, want string) {
	t.Helper()
	var id int64 = 100
	var got string
	testutil.Eventually(t, 5*time.Second, "last-reason "+want, func() bool {
		id++
		c.Emit(nsp, id, "last-reason")
		ev := expectAck(t, c, nsp, id)
		ev.Decode(t, 0, &got)
		return got == want
	})
}

func sameSet(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[string]bool{}
	for _, s := range got {
		seen[s] = true
	}
	for _, s := range want {
		if !seen[s] {
			return false
		}
	}
	return true
}

// With -recovery, events without an ack carry an offset, and a socket
// that reconnects with its private session id and last offset is
// recovered, which "welcome" says.
func TestRecovery(t *testing.T) {
	leakcheck.Check(t)
	srv := start(t, "-recovery", "-ping-interval", "1500ms", "-ping-timeout", "700ms")
	watcher := srv.dial(t)
	if !strings.Contains(watcher.Open, `"pingInterval":1500`) || !strings.Contains(watcher.Open, `"pingTimeout":700`) {
		t.Errorf("open packet %s: want the ping flags' values", watcher.Open)
	}
	watcher.Send(`40`)
	watcher.ExpectMatch(`40\{"sid":"[^"]+","pid":"[^"]+"\}`)
	watcher.ExpectEvent("/", "welcome")

	// welcomeOf reads "welcome" with its offset.
	welcomeOf := func(c *socketiotest.Conn) (welcome, string) {
		t.Helper()
		ev := c.ReadEvent()
		if ev.Name != "welcome" || ev.ID != -1 || len(ev.Args) != 2 {
			t.Fatalf("got %+v, want welcome with its offset", ev)
		}
		var w welcome
		var offset string
		ev.Decode(t, 0, &w)
		ev.Decode(t, 1, &offset)
		if offset == "" {
			t.Fatalf("welcome %+v without an offset", w)
		}
		return w, offset
	}

	c := srv.dial(t)
	c.Send(`40`)
	var reply struct{ SID, PID string }
	if err := json.Unmarshal([]byte(c.ExpectMatch(`40\{"sid":"[^"]+","pid":"[^"]+"\}`)[2:]), &reply); err != nil {
		t.Fatal(err)
	}
	if w, _ := welcomeOf(c); w.Recovered || w.ID != reply.SID {
		t.Fatalf("first welcome %+v, want id %s, not recovered", w, reply.SID)
	}
	// An event without an ack carries the offset; its ack does not.
	c.Emit("/", 1, "echo", "before")
	ev := c.ReadEvent()
	var offset string
	if ev.Name != "echo" || len(ev.Args) != 2 || string(ev.Args[0]) != `"before"` {
		t.Fatalf("got %+v, want echo(\"before\", offset)", ev)
	}
	ev.Decode(t, 1, &offset)
	c.Expect(`431["before"]`)

	// The transport drops: the session is kept. Once the socket has gone
	// (the watcher sees its reason), the client resumes from its offset.
	_ = c.WS.Close()
	lastReason(t, watcher, "/", "transport close")
	r := srv.dial(t)
	auth, _ := json.Marshal(map[string]string{"pid": reply.PID, "offset": offset})
	r.Send(`40` + string(auth))
	r.Expect(`40{"sid":"` + reply.SID + `","pid":"` + reply.PID + `"}`)
	if w, _ := welcomeOf(r); !w.Recovered || w.ID != reply.SID || w.Nsp != "/" {
		t.Errorf("welcome after recovery: %+v, want recovered with id %s", w, reply.SID)
	}

	// An unknown session is a new socket.
	n := srv.dial(t)
	n.Send(`40{"pid":"nope","offset":"0-0"}`)
	n.ExpectMatch(`40\{"sid":"[^"]+","pid":"[^"]+"\}`)
	if w, _ := welcomeOf(n); w.Recovered || w.ID == reply.SID {
		t.Errorf("welcome with an unknown session: %+v", w)
	}

	if err := srv.stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
}

// Bad flags and an address it cannot listen on are errors, and nothing
// listens then; a bad flag prints the usage to stderr.
func TestRunErrors(t *testing.T) {
	leakcheck.Check(t)
	for _, args := range [][]string{
		{"-nope"},
		{"-ping-interval", "soon"},
		{"-recovery=maybe"},
		{"-addr", "256.0.0.1:0"},
		{"-addr", "127.0.0.1:notaport"},
	} {
		var stdout, stderr testutil.Buffer
		if err := run(context.Background(), args, &stdout, &stderr); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
		if strings.Contains(stdout.String(), "listening on") {
			t.Errorf("run(%q) printed %q", args, stdout.String())
		}
	}
	var stderr testutil.Buffer
	if err := run(context.Background(), []string{"-nope"}, io.Discard, &stderr); err == nil || !strings.Contains(stderr.String(), "-recovery") {
		t.Errorf("bad flag: err %v, usage %q", err, stderr.String())
	}
}
