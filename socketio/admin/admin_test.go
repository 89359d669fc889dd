package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/admin"
	"github.com/chatd/chatd/socketio/socketiotest"
	"golang.org/x/crypto/bcrypt"
)

const adminNsp = "/socket.io-admin"

func hash(t testing.TB, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// setup serves io instrumented with opts (the namespace and an hour of
// stats interval by default) and returns the Socket.IO URL.
func setup(t *testing.T, io *socketio.Server, opts admin.Options) (string, *admin.Instrumentation) {
	t.Helper()
	leakcheck.Check(t)
	if opts.Namespace == "" {
		opts.Namespace = adminNsp
	}
	if opts.StatsInterval == 0 {
		opts.StatsInterval = time.Hour
	}
	ins, err := admin.Instrument(io, opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		_ = ins.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = io.Close(ctx)
		hs.Close()
	})
	return hs.URL + "/socket.io/", ins
}

// socketJSON is the part of the socket details the tests look at.
type socketJSON struct {
	ID        string          `json:"id"`
	ClientID  string          `json:"clientId"`
	Transport string          `json:"transport"`
	Nsp       string          `json:"nsp"`
	Data      json.RawMessage `json:"data"`
	Rooms     []string        `json:"rooms"`
	Handshake struct {
		Address string            `json:"address"`
		Headers map[string]string `json:"headers"`
		Query   map[string]string `json:"query"`
		URL     string            `json:"url"`
	} `json:"handshake"`
}

func TestInstrumentOptions(t *testing.T) {
	io := socketio.NewServer(nil)
	defer io.Close(context.Background())
	if _, err := admin.Instrument(io, admin.Options{}); err == nil {
		t.Fatal("no auth and no NoAuth: want an error")
	}
	if _, err := admin.Instrument(io, admin.Options{Auth: &admin.BasicAuth{Username: "a", PasswordHash: "plain"}}); err == nil {
		t.Fatal("a password that is not a bcrypt hash: want an error")
	}
	if _, err := admin.Instrument(io, admin.Options{NoAuth: true, Mode: "test"}); err == nil {
		t.Fatal("unknown mode: want an error")
	}
}

func TestAuth(t *testing.T) {
	io := socketio.NewServer(nil)
	url, _ := setup(t, io, admin.Options{Auth: &admin.BasicAuth{Username: "admin", PasswordHash: hash(t, "s3cret")}})

	for _, auth := range []string{``, `{}`, `{"username":"admin","password":"wrong"}`, `{"username":"other","password":"s3cret"}`, `{"sessionId":"0123456789abcdef"}`, `{"username":1}`} {
		c := socketiotest.Dial(t, url, nil)
		c.Send("40" + adminNsp + "," + auth)
		c.Expect(`44` + adminNsp + `,{"message":"invalid credentials"}`)
	}

	c := socketiotest.Dial(t, url, nil)
	c.Send("40" + adminNsp + `,{"username":"admin","password":"s3cret"}`)
	c.ExpectMatch(`^40` + adminNsp + `,\{"sid":"[^"]+"\}$`)
	ev := c.ReadEvent()
	if ev.Name != "session" {
		t.Fatalf("first event %q, want session", ev.Name)
	}
	var sessionID string
	ev.Decode(t, 0, &sessionID)
	ev, _ = c.ExpectEvent(adminNsp, "config")
	var cfg struct{ SupportedFeatures []string }
	ev.Decode(t, 0, &cfg)
	for _, f := range []string{"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"} {
		if !slices.Contains(cfg.SupportedFeatures, f) {
			t.Errorf("features %v lack %s", cfg.SupportedFeatures, f)
		}
	}
	c.ExpectEvent(adminNsp, "all_sockets")

	// The session id logs in again without the password.
	c2 := socketiotest.Dial(t, url, nil)
	c2.Connect(adminNsp, map[string]string{"sessionId": sessionID})
	c2.ExpectEvent(adminNsp, "config")
}

func TestReadOnly(t *testing.T) {
	io := socketio.NewServer(nil)
	// A handler of the test's own, answered after the commands sent
	// before it were handled (a socket's events run in order).
	io.Of(adminNsp).OnConnection(func(s *socketio.Socket) {
		s.On("sync", func(ack socketio.Ack) { ack() })
	})
	url, _ := setup(t, io, admin.Options{NoAuth: true, ReadOnly: true})

	user := socketiotest.Dial(t, url, nil)
	uid := user.Connect("/", nil)

	c := socketiotest.Dial(t, url, nil)
	c.Connect(adminNsp, nil)
	ev, _ := c.ExpectEvent(adminNsp, "config")
	var cfg struct{ SupportedFeatures []string }
	ev.Decode(t, 0, &cfg)
	if !slices.Equal(cfg.SupportedFeatures, []string{"AGGREGATED_EVENTS", "ALL_EVENTS"}) {
		t.Fatalf("read-only features: %v", cfg.SupportedFeatures)
	}
	c.Emit(adminNsp, -1, "join", "/", "r1", uid)
	c.Emit(adminNsp, -1, "_disconnect", "/", false, uid)
	c.Emit(adminNsp, 1, "sync")
	for {
		ev := c.ReadEvent()
		if ev.Name == "" && ev.ID == 1 {
			break
		}
	}
	s := io.Sockets().Socket(uid)
	if s == nil || !s.Connected() {
		t.Fatal("read-only: the user was disconnected")
	}
	if slices.Contains(s.Rooms(), "r1") {
		t.Fatal("read-only: the user joined r1")
	}
}

func TestEvents(t *testing.T) {
	io := socketio.NewServer(nil)
	io.OnConnection(func(s *socketio.Socket) {
		s.SetData(map[string]string{"user": "alice"})
		s.On("join", func(room string) { s.Join(room) })
		s.On("leave", func(room string) { s.Leave(room) })
		s.On("hello", func(text string, ack socketio.Ack) { _ = s.Emit("hi", text+"!"); ack() })
	})
	url, _ := setup(t, io, admin.Options{NoAuth: true})

	c := socketiotest.Dial(t, url, nil)
	c.Connect(adminNsp, nil)
	c.ExpectEvent(adminNsp, "all_sockets")

	hdr := http.Header{"Cookie": {"session=topsecret"}, "Authorization": {"Bearer topsecret"}, "X-Forwarded-For": {"203.0.113.7"}}
	user := socketiotest.Dial(t, url+"?token=abc", hdr)
	uid := user.Connect("/", map[string]string{"password": "topsecret"})

	var sock socketJSON
	var ev socketiotest.Event
	for sock.Nsp != "/" {
		ev, _ = c.ExpectEvent(adminNsp, "socket_connected")
		ev.Decode(t, 0, &sock)
	}
	if sock.ID != uid || sock.Nsp != "/" || sock.Transport != "websocket" || sock.ClientID == "" || !slices.Contains(sock.Rooms, uid) {
		t.Fatalf("socket_connected: %+v", sock)
	}
	if string(sock.Data) != `{"user":"alice"}` {
		t.Fatalf("data: %s", sock.Data)
	}
	if h := sock.Handshake.Headers; h["cookie"] != "[redacted]" || h["authorization"] != "[redacted]" {
		t.Fatalf("secret headers not redacted: %v", h)
	}
	if sock.Handshake.Address != "203.0.113.7" || sock.Handshake.Query["token"] != "abc" {
		t.Fatalf("handshake: %+v", sock.Handshake)
	}
	for _, a := range ev.Args {
		if strings.Contains(string(a), "topsecret") {
			t.Fatalf("a secret reached the dashboard: %s", a)
		}
	}
	if len(ev.Args) != 2 {
		t.Fatalf("socket_connected: %d arguments, want 2 (socket, timestamp)", len(ev.Args))
	}

	user.Emit("/", -1, "join", "r1")
	ev, _ = c.ExpectEvent(adminNsp, "room_joined")
	expectArgs(t, ev, "/", "r1", uid)

	user.Emit("/", 7, "hello", "x")
	ev, _ = c.ExpectEvent(adminNsp, "event_received")
	var nsp, id string
	var args []any
	ev.Decode(t, 0, &nsp)
	ev.Decode(t, 1, &id)
	ev.Decode(t, 2, &args)
	if nsp != "/" || id != uid || !slices.Equal(args, []any{"hello", "x"}) {
		t.Fatalf("event_received: %s %s %v", nsp, id, args)
	}
	ev, _ = c.ExpectEvent(adminNsp, "event_sent")
	ev.Decode(t, 2, &args)
	if !slices.Equal(args, []any{"hi", "x!"}) {
		t.Fatalf("event_sent: %v", args)
	}

	user.Emit("/", -1, "leave", "r1")
	ev, _ = c.ExpectEvent(adminNsp, "room_left")
	expectArgs(t, ev, "/", "r1", uid)

	user.Send("41")
	ev, _ = c.ExpectEvent(adminNsp, "socket_disconnected")
	expectArgs(t, ev, "/", uid, "client namespace disconnect")
}

// expectArgs checks the first string arguments of ev.
func expectArgs(t *testing.T, ev socketiotest.Event, want ...string) {
	t.Helper()
	for i, w := range want {
		var got string
		ev.Decode(t, i, &got)
		if got != w {
			t.Fatalf("%s argument %d: %q, want %q", ev.Name, i, got, w)
		}
	}
}

func TestAllSocketsAndStats(t *testing.T) {
	io := socketio.NewServer(nil)
	io.Of("/chat")
	url, _ := setup(t, io, admin.Options{NoAuth: true, StatsInterval: 20 * time.Millisecond, ServerID: "node-1"})

	u1 := socketiotest.Dial(t, url, nil)
	id1 := u1.Connect("/chat", nil)
	u2 := socketiotest.Dial(t, url, nil)
	id2 := u2.Connect("/chat", nil)

	c := socketiotest.Dial(t, url, nil)
	c.Connect(adminNsp, nil)
	ev, _ := c.ExpectEvent(adminNsp, "all_sockets")
	var all []socketJSON
	ev.Decode(t, 0, &all)
	var ids []string
	for _, s := range all {
		if s.Nsp == "/chat" {
			ids = append(ids, s.ID)
		}
	}
	slices.Sort(ids)
	want := []string{id1, id2}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("all_sockets of /chat: %v, want %v", ids, want)
	}

	// The statistics, once they count the dashboard too.
	for {
		ev, _ = c.ExpectEvent(adminNsp, "server_stats")
		var st struct {
			ServerID            string  `json:"serverId"`
			Hostname            string  `json:"hostname"`
			PID                 int     `json:"pid"`
			Uptime              float64 `json:"uptime"`
			ClientsCount        int     `json:"clientsCount"`
			PollingClientsCount int     `json:"pollingClientsCount"`
			AggregatedEvents    []struct {
				Type  string `json:"type"`
				Count int    `json:"count"`
			} `json:"aggregatedEvents"`
			Namespaces []struct {
				Name         string `json:"name"`
				SocketsCount int    `json:"socketsCount"`
			} `json:"namespaces"`
		}
		ev.Decode(t, 0, &st)
		if st.ServerID != "node-1" || st.PID == 0 || st.AggregatedEvents == nil {
			t.Fatalf("server_stats: %+v", st)
		}
		counts := map[string]int{}
		for _, n := range st.Namespaces {
			counts[n.Name] = n.SocketsCount
		}
		if st.ClientsCount == 3 && counts["/chat"] == 2 && counts[adminNsp] == 1 {
			break
		}
	}
}

func TestCommands(t *testing.T) {
	io := socketio.NewServer(nil)
	url, _ := setup(t, io, admin.Options{NoAuth: true})

	c := socketiotest.Dial(t, url, nil)
	c.Connect(adminNsp, nil)
	c.ExpectEvent(adminNsp, "all_sockets")

	u1 := socketiotest.Dial(t, url, nil)
	id1 := u1.Connect("/", nil)
	u2 := socketiotest.Dial(t, url, nil)
	id2 := u2.Connect("/", nil)

	// join: one socket (its id as the filter), then all.
	c.Emit(adminNsp, -1, "join", "/", "r1", id1)
	ev, _ := c.ExpectEvent(adminNsp, "room_joined")
	expectArgs(t, ev, "/", "r1", id1)
	c.Emit(adminNsp, -1, "join", "/", "r2", nil)
	got := map[string]bool{}
	for len(got) < 2 {
		ev, _ = c.ExpectEvent(adminNsp, "room_joined")
		var room, id string
		ev.Decode(t, 1, &room)
		ev.Decode(t, 2, &id)
		got[room+":"+id] = true
	}
	if !got["r2:"+id1] || !got["r2:"+id2] {
		t.Fatalf("join of every socket: %v", got)
	}

	// leave: the sockets in r1.
	c.Emit(adminNsp, -1, "leave", "/", "r2", "r1")
	ev, _ = c.ExpectEvent(adminNsp, "room_left")
	expectArgs(t, ev, "/", "r2", id1)

	// emit to a room.
	c.Emit(adminNsp, -1, "emit", "/", "r1", "notice", "hello", 42)
	u1.Expect(`42["notice","hello",42]`)

	// a namespace that does not exist is not created.
	c.Emit(adminNsp, -1, "join", "/nowhere", "r1", nil)

	// _disconnect: the socket sees the server's disconnect.
	c.Emit(adminNsp, -1, "_disconnect", "/", false, id2)
	u2.Expect("41")
	ev, _ = c.ExpectEvent(adminNsp, "socket_disconnected")
	expectArgs(t, ev, "/", id2, "server namespace disconnect")
	if io.HasNamespace("/nowhere") {
		t.Fatal("a command created a namespace")
	}
}
