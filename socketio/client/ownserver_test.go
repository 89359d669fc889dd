package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/engine"
)

// startOwnServer runs this repository's Socket.IO server in-process with
// handlers equivalent to those of the reference test server, with a fast
// heartbeat (pings every 300ms, 200ms to answer).
func startOwnServer(t *testing.T) string {
	t.Helper()
	return startOwnServerWith(t, engine.Options{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond})
}

// startOwnServerWith is startOwnServer with the given engine options.
func startOwnServerWith(t *testing.T, eopts engine.Options) string {
	t.Helper()
	return startOwnServerOpts(t, socketio.Options{Engine: eopts})
}

// startOwnServerOpts is startOwnServer with the given server options.
func startOwnServerOpts(t *testing.T, opts socketio.Options) string {
	t.Helper()
	opts.DisableClientFiles = true
	io := socketio.NewServer(&opts)
	var (
		mu       sync.Mutex
		records  = []any{}
		receipts = map[string]int{}
	)
	io.OnConnection(func(s *socketio.Socket) {
		s.On("record", func(v any) {
			mu.Lock()
			records = append(records, v)
			mu.Unlock()
		})
		s.On("get-records", func(ack socketio.Ack) {
			mu.Lock()
			list := append([]any(nil), records...)
			mu.Unlock()
			_ = ack(list)
		})
		s.On("flaky", func(key string, ack socketio.Ack) {
			mu.Lock()
			receipts[key]++
			n := receipts[key]
			mu.Unlock()
			if n%2 == 0 {
				_ = ack(key, n)
			}
		})
		s.On("count", func(key string, ack socketio.Ack) {
			mu.Lock()
			n := receipts[key]
			mu.Unlock()
			_ = ack(n)
		})
		s.On("close-conn", func() { s.Disconnect(true) })
		s.On("echo", func(args socketio.Args, ack socketio.Ack) {
			if ack != nil {
				_ = ack(args.Forward()...)
			}
		})
		s.On("emit-back", func(args socketio.Args) {
			var event string
			if args.Decode(0, &event) == nil {
				_ = s.Emit(event, args.Forward()[1:]...)
			}
		})
		s.On("whoami", func(ack socketio.Ack) {
			_ = ack(map[string]any{"id": s.ID(), "nsp": s.Namespace().Name(), "connId": s.ConnID(),
				"transport": s.Transport(), "auth": s.Handshake().Auth})
		})
		s.On("request-ack", func(event string, n int, ack socketio.Ack) {
			ctx, cancel := context.WithTimeout(s.Context(), 5*time.Second)
			defer cancel()
			reply, err := s.EmitWithAck(ctx, event, n, []byte{7})
			if err != nil {
				_ = ack(map[string]string{"error": err.Error()})
				return
			}
			_ = ack(map[string]any{"reply": reply.Forward()})
		})
		s.On("disconnect-me", func() { s.Disconnect(false) })
		s.On("join", func(room string, ack socketio.Ack) {
			s.Join(room)
			if ack != nil {
				_ = ack()
			}
		})
		s.On("room-size", func(room string, ack socketio.Ack) {
			ids, _ := io.To(room).SocketIDs(s.Context())
			_ = ack(len(ids))
		})
		s.On("to-room", func(args socketio.Args) {
			var room, event string
			if args.Decode(0, &room) == nil && args.Decode(1, &event) == nil {
				_ = io.To(room).Emit(event, args.Forward()[2:]...)
			}
		})
	})
	io.Of("/chat").OnConnection(func(s *socketio.Socket) {
		s.On("echo", func(args socketio.Args, ack socketio.Ack) {
			if ack != nil {
				_ = ack(args.Forward()...)
			}
		})
		s.On("whoami", func(ack socketio.Ack) {
			_ = ack(map[string]any{"id": s.ID(), "nsp": s.Namespace().Name(), "connId": s.ConnID()})
		})
	})
	admin := io.Of("/admin")
	admin.Use(func(s *socketio.Socket) error {
		var auth struct{ Token string }
		_ = json.Unmarshal(s.Handshake().Auth, &auth)
		if auth.Token != "secret" {
			return socketio.NewConnectError("not authorized", map[string]any{"code": 401})
		}
		return nil
	})
	admin.OnConnection(func(s *socketio.Socket) {
		s.On("whoami", func(ack socketio.Ack) {
			_ = ack(map[string]any{"id": s.ID(), "nsp": s.Namespace().Name(), "connId": s.ConnID()})
		})
	})
	hs := httptest.NewServer(io)
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = io.Close(ctx)
	})
	return hs.URL
}

// TestOwnServer runs the basic flows against the server of this repository.
func TestOwnServer(t *testing.T) {
	for _, mode := range transportModes {
		t.Run(mode.name, func(t *testing.T) {
			checkGoroutines(t)
			url := startOwnServer(t)
			opts := mode.opts
			opts.Auth = map[string]int{"n": 5}
			s := dial(t, url, &opts)
			testutil.Eventually(t, 15*time.Second, "transport "+mode.final, func() bool { return s.Manager().Transport() == mode.final })
			w := askWhoami(t, s)
			if w.ID != s.ID() || w.Transport != mode.final || w.Auth["n"] != 5.0 {
				t.Fatalf("whoami %+v", w)
			}

			args, err := s.EmitWithAck(ctxT(t), "echo", "a", 1, []byte{1, 2}, map[string]any{"b": []byte{3}})
			if err != nil {
				t.Fatal(err)
			}
			vals, err := args.Values()
			if err != nil {
				t.Fatal(err)
			}
			want := []any{"a", 1.0, []byte{1, 2}, map[string]any{"b": []byte{3}}}
			if !reflect.DeepEqual(vals, want) {
				t.Fatalf("echo %#v", vals)
			}

			s.On("q", func(n int, b []byte, ack Ack) { _ = ack(n*2, append(b, 8)) })
			args, err = s.EmitWithAck(ctxT(t), "request-ack", "q", 21)
			if err != nil {
				t.Fatal(err)
			}
			var reply any
			if err := args.Decode(0, &reply); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(reply, map[string]any{"reply": []any{42.0, []byte{7, 8}}}) {
				t.Fatalf("reply %#v", reply)
			}

			admin := s.Manager().Socket("/admin", &SocketOptions{Auth: map[string]string{"token": "secret"}})
			if aw := askWhoami(t, admin); aw.ConnID != w.ConnID || aw.Nsp != "/admin" {
				t.Fatalf("admin whoami %+v", aw)
			}
			_, err = Dial(ctxT(t), url+"/admin", &Options{ForceNew: true, Transports: opts.Transports})
			var cerr *ConnectError
			if !errors.As(err, &cerr) || cerr.Message != "not authorized" || string(cerr.Data) != `{"code":401}` {
				t.Fatalf("refused connect: %v", err)
			}

			// Heartbeat: the connection outlives several ping intervals.
			time.Sleep(time.Second)
			if !s.Connected() {
				t.Fatal("disconnected by the heartbeat")
			}

			reasons := make(chan string, 1)
			s.On("disconnect", func(r string) { reasons <- r })
			_ = s.Emit("disconnect-me")
			if r := recv(t, reasons, "disconnect"); r != ReasonIOServerDisconnect {
				t.Fatalf("reason %q", r)
			}
			if !admin.Connected() {
				t.Fatal("admin disconnected with /")
			}
		})
	}
}

// testServers are the servers the shared flows run against: the Node
// reference server (skipped without Node, see requireNode) and the one of
// this repository, with the default heartbeat.
var testServers = []struct {
	name  string
	start func(t *testing.T) string
}{
	{"reference", func(t *testing.T) string { return startRef(t, "0").URL }},
	{"own", func(t *testing.T) string { return startOwnServerWith(t, engine.Options{}) }},
}

// TestConnectReusesManager: Connect shares the Manager of an earlier call
// to the same server, unless ForceNew, a namespace already active on it,
// or a closed Manager says otherwise.
func TestConnectReusesManager(t *testing.T) {
	checkGoroutines(t)
	url := startOwnServerWith(t, engine.Options{})
	opts := &Options{Transports: []string{TransportWebSocket}, Path: "/socket.io"}
	root, err := Dial(ctxT(t), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Manager().Close()
	chat, err := Dial(ctxT(t), url+"/chat", opts)
	if err != nil {
		t.Fatal(err)
	}
	if chat.Manager() != root.Manager() || chat.Namespace() != "/chat" {
		t.Fatal("Connect to another namespace of the same server made a new Manager")
	}
	if aw, w := askWhoami(t, root), askWhoami(t, chat); aw.ConnID != w.ConnID {
		t.Fatalf("namespaces on two connections: %q, %q", aw.ConnID, w.ConnID)
	}
	again, err := Dial(ctxT(t), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Manager().Close()
	if again.Manager() == root.Manager() {
		t.Fatal("a second Socket for an active namespace shares the Manager")
	}
	forced := *opts
	forced.ForceNew = true
	other, err := Dial(ctxT(t), url+"/chat", &forced)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Manager().Close()
	if other.Manager() == root.Manager() || other.Manager() == again.Manager() {
		t.Fatal("ForceNew shares a Manager")
	}
	m := root.Manager()
	m.Close()
	after, err := Dial(ctxT(t), url+"/chat", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer after.Manager().Close()
	if after.Manager() == m {
		t.Fatal("Connect reused a closed Manager")
	}
}
